#include "troupe/bridges/multi_transport.hpp"

#include <atomic>
#include <mutex>
#include <vector>

#include <unistd.h>

#include "troupe/bridges/zmq_transport.hpp"
#include "troupe/errc.hpp"

namespace troupe::bridges {

namespace {

constexpr conn_id shm_bit = conn_id{1} << 63;

bool is_shm(const std::string& endpoint) {
  return endpoint.rfind("shm://", 0) == 0;
}

// Translates the connection ids of one inner transport for the outer listener.
class tagging_listener final : public transport_listener {
public:
  tagging_listener(transport_listener* outer, conn_id tag) : outer_(outer), tag_(tag) {
    // nop
  }

  void on_frame(conn_id conn, const char* data, size_t size) override {
    outer_->on_frame(conn | tag_, data, size);
  }

  void on_unreachable(conn_id conn) override {
    outer_->on_unreachable(conn | tag_);
  }

  void on_tick(std::chrono::steady_clock::time_point now) override {
    outer_->on_tick(now);
  }

private:
  transport_listener* outer_;
  conn_id tag_;
};

class multi_transport final : public transport {
public:
  multi_transport(transport_options opts, shm_transport_options shm_opts)
    : opts_(opts), shm_opts_(std::move(shm_opts)), zmq_(make_zmq_transport(opts)) {
    // nop
  }

  ~multi_transport() override {
    stop();
  }

  caf::error start(transport_listener* listener) override {
    zmq_listener_ = std::make_unique<tagging_listener>(listener, 0);
    shm_listener_ = std::make_unique<tagging_listener>(listener, shm_bit);
    return zmq_->start(zmq_listener_.get());
  }

  caf::expected<std::string> listen(const std::string& endpoint) override {
    if (!is_shm(endpoint)) {
      auto res = zmq_->listen(endpoint);
      if (res && res->rfind("ipc://", 0) == 0) {
        std::lock_guard<std::mutex> guard{mtx_};
        ipc_files_.push_back(res->substr(6));
      }
      return res;
    }
    auto tr = shm();
    if (!tr)
      return tr.error();
    return (*tr)->listen(endpoint);
  }

  caf::expected<conn_id> connect(const std::string& endpoint) override {
    if (!is_shm(endpoint))
      return zmq_->connect(endpoint);
    auto tr = shm();
    if (!tr)
      return tr.error();
    auto conn = (*tr)->connect(endpoint);
    if (!conn)
      return conn.error();
    return *conn | shm_bit;
  }

  caf::error send(conn_id conn, std::vector<char> frame) override {
    if ((conn & shm_bit) == 0)
      return zmq_->send(conn, std::move(frame));
    if (auto* tr = started_shm())
      return tr->send(conn & ~shm_bit, std::move(frame));
    return make_error(errc::invalid_state, "unknown shm connection");
  }

  void disconnect(conn_id conn) override {
    if ((conn & shm_bit) == 0)
      zmq_->disconnect(conn);
    else if (auto* tr = started_shm())
      tr->disconnect(conn & ~shm_bit);
  }

  void stop() override {
    zmq_->stop();
    if (auto* tr = started_shm())
      tr->stop();
    // libzmq leaves the socket file of a bound ipc endpoint behind.
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& path : ipc_files_)
      ::unlink(path.c_str());
    ipc_files_.clear();
  }

  size_t queue_depth() const override {
    auto* tr = started_shm();
    return zmq_->queue_depth() + (tr ? tr->queue_depth() : 0);
  }

  bool on_io_thread() const override {
    auto* tr = started_shm();
    return zmq_->on_io_thread() || (tr && tr->on_io_thread());
  }

  bool on_io_thread_of(conn_id conn) const override {
    if ((conn & shm_bit) == 0)
      return zmq_->on_io_thread();
    auto* tr = started_shm();
    return tr && tr->on_io_thread();
  }

private:
  // The shm transport if it was started; lock-free after the first use.
  transport* started_shm() const {
    return shm_ptr_.load(std::memory_order_acquire);
  }

  caf::expected<transport*> shm() {
    if (auto* tr = started_shm())
      return tr;
    std::lock_guard<std::mutex> guard{mtx_};
    if (!shm_) {
      if (!shm_listener_)
        return make_error(errc::invalid_state, "transport not started");
      auto tr = make_shm_transport(opts_, shm_opts_);
      if (auto err = tr->start(shm_listener_.get()))
        return err;
      shm_ = std::move(tr);
      shm_ptr_.store(shm_.get(), std::memory_order_release);
    }
    return shm_.get();
  }

  transport_options opts_;
  shm_transport_options shm_opts_;
  std::unique_ptr<transport> zmq_;
  std::unique_ptr<tagging_listener> zmq_listener_;
  std::unique_ptr<tagging_listener> shm_listener_;
  std::mutex mtx_; // guards creating `shm_` and `ipc_files_`
  std::vector<std::string> ipc_files_;
  std::unique_ptr<transport> shm_;
  std::atomic<transport*> shm_ptr_{nullptr};
};

} // namespace

std::unique_ptr<transport> make_multi_transport(transport_options opts,
                                                shm_transport_options shm_opts) {
  return std::make_unique<multi_transport>(opts, std::move(shm_opts));
}

} // namespace troupe::bridges
