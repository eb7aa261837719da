#include "troupe/bridges/zmq_transport.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.hpp>

#include "troupe/bridges/detail/log_limiter.hpp"
#include "troupe/errc.hpp"

#include <spdlog/spdlog.h>

namespace troupe::bridges {

transport_listener::~transport_listener() {
  // nop
}

transport::~transport() {
  // nop
}

namespace {

// Wraps eventfd(2) so that failures surface as `expected` instead of errno checks at call sites.
caf::expected<int> make_eventfd() {
  auto fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0)
    return make_error(errc::system_error, std::string{"eventfd: "} + std::strerror(errno));
  return fd;
}

class zmq_transport final : public transport {
public:
  explicit zmq_transport(transport_options opts)
    : opts_(opts), log_(opts_.logger ? opts_.logger : spdlog::default_logger()) {
    // nop
  }

  ~zmq_transport() override {
    stop();
    if (wakeup_fd_ >= 0)
      ::close(wakeup_fd_);
  }

  caf::error start(transport_listener* listener) override {
    if (thread_.joinable())
      return make_error(errc::invalid_state, "transport already started");
    auto fd = make_eventfd();
    if (!fd)
      return fd.error();
    wakeup_fd_ = *fd;
    if (!opts_.curve_public_key.empty()) {
      // The ZAP handler of this context: libzmq asks it about every CURVE client that connects
      // to our ROUTER; it lives on the I/O thread (created here, before that thread starts).
      if (zmq_has("curve") == 0)
        return make_error(errc::bad_config, "curve keys given, but libzmq lacks CURVE support");
      if (opts_.curve_public_key.size() != 40
          || zmq_z85_decode(curve_public_bin_, opts_.curve_public_key.c_str()) == nullptr)
        return make_error(errc::bad_config, "invalid CURVE public key");
      try {
        zap_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::rep);
        zap_->set(zmq::sockopt::linger, 0);
        zap_->bind("inproc://zeromq.zap.01");
      } catch (const zmq::error_t& e) {
        return make_error(errc::system_error, std::string{"ZAP handler: "} + e.what());
      }
    }
    listener_ = listener;
    running_ = true;
    thread_ = std::thread{[this] { run(); }};
    return caf::none;
  }

  caf::expected<std::string> listen(const std::string& endpoint) override {
    return call<std::string>([this, endpoint]() -> caf::expected<std::string> {
      try {
        if (!router_) {
          router_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::router);
          router_->set(zmq::sockopt::router_mandatory, 1);
          router_->set(zmq::sockopt::router_handover, 1);
          if (zap_) {
            router_->set(zmq::sockopt::curve_server, 1);
            router_->set(zmq::sockopt::curve_secretkey, opts_.curve_secret_key);
            router_->set(zmq::sockopt::zap_domain, "troupe");
          }
          configure(*router_);
        }
        // libzmq unlinks whatever file an ipc path names before binding: refuse a path that
        // names anything but a socket (a stale socket of an earlier run is replaced as before).
        std::string ipc_path;
        if (endpoint.rfind("ipc://", 0) == 0 && endpoint.size() > 6 && endpoint[6] != '@') {
          ipc_path = endpoint.substr(6);
          struct stat st;
          if (::lstat(ipc_path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
            return make_error(errc::system_error, "bind " + endpoint
                                                    + ": the path names an existing file that is "
                                                      "not a socket (not replaced)");
        }
        router_->bind(endpoint);
        // Only the owner may connect: the socket file otherwise follows the umask.
        if (!ipc_path.empty() && ::chmod(ipc_path.c_str(), 0600) != 0)
          return make_error(errc::system_error,
                            "chmod 0600 " + ipc_path + ": " + std::strerror(errno));
        return router_->get(zmq::sockopt::last_endpoint);
      } catch (const zmq::error_t& e) {
        return make_error(errc::system_error, "bind " + endpoint + ": " + e.what());
      }
    });
  }

  caf::expected<conn_id> connect(const std::string& endpoint) override {
    return call<conn_id>([this, endpoint]() -> caf::expected<conn_id> {
      try {
        auto id = next_conn_++;
        auto sock = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
        // Queue only on completed connections: a hello sent while the peer is down is dropped
        // (and retried by the hub) instead of piling up and arriving in a burst later.
        sock->set(zmq::sockopt::immediate, 1);
        if (zap_) {
          // Every node of the app holds the one key pair: the server must prove it has the
          // secret, and so must we (the server's ZAP handler checks our public key).
          sock->set(zmq::sockopt::curve_serverkey, opts_.curve_public_key);
          sock->set(zmq::sockopt::curve_publickey, opts_.curve_public_key);
          sock->set(zmq::sockopt::curve_secretkey, opts_.curve_secret_key);
        }
        configure(*sock);
        auto mon_addr = "inproc://troupe-monitor-" + std::to_string(id);
        if (zmq_socket_monitor(sock->handle(), mon_addr.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
          throw zmq::error_t{};
        auto mon = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
        mon->set(zmq::sockopt::linger, 0);
        mon->connect(mon_addr);
        sock->connect(endpoint);
        auto& c = conns_[id];
        c.dealer = std::move(sock);
        c.monitor = std::move(mon);
        c.endpoint = endpoint;
        c.budget = add_budget(id);
        return id;
      } catch (const zmq::error_t& e) {
        return make_error(errc::system_error, "connect " + endpoint + ": " + e.what());
      }
    });
  }

  caf::error send(conn_id conn, std::vector<char> frame) override {
    if (frame.size() > opts_.max_frame_size)
      return make_error(errc::bad_frame, "frame exceeds max_frame_size");
    auto size = frame.size();
    // Reserve room first; roll back on overflow so that concurrent senders never overshoot.
    auto frames = queued_frames_.fetch_add(1) + 1;
    auto bytes = queued_bytes_.fetch_add(size) + size;
    if (frames > opts_.max_queued_frames || bytes > opts_.max_queued_bytes) {
      queued_frames_.fetch_sub(1);
      queued_bytes_.fetch_sub(size);
      return make_error(errc::overloaded, "outbound queue full");
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!running_) {
        queued_frames_.fetch_sub(1);
        queued_bytes_.fetch_sub(size);
        return make_error(errc::invalid_state, "transport stopped");
      }
      std::shared_ptr<peer_budget> b;
      if (auto i = budgets_.find(conn); i != budgets_.end()) {
        b = i->second;
        // One peer that does not read may use up its own share, never the others'.
        if (b->frames.load() >= opts_.max_queued_frames_per_peer
            || b->bytes.load() + size > opts_.max_queued_bytes_per_peer) {
          b->over.store(true);
          queued_frames_.fetch_sub(1);
          queued_bytes_.fetch_sub(size);
          return make_error(errc::overloaded, "outbound queue of this peer full");
        }
        b->frames.fetch_add(1);
        b->bytes.fetch_add(size);
      }
      inbox_.push_back(item{conn, std::move(frame), nullptr, std::move(b)});
    }
    wake();
    return caf::none;
  }

  void disconnect(conn_id conn) override {
    post([this, conn] { close_conn(conn); });
  }

  void stop() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!running_)
        return;
      running_ = false;
    }
    wake_always();
    if (thread_.joinable())
      thread_.join();
  }

  size_t queue_depth() const override {
    return queued_frames_.load();
  }

  bool on_io_thread() const override {
    return std::this_thread::get_id() == io_thread_id_.load();
  }

private:
  /// What one peer has queued; shared by `send` (any thread, under `mtx_`) and the I/O thread.
  struct peer_budget {
    std::atomic<size_t> frames{0};
    std::atomic<size_t> bytes{0};
    /// Set by `send` when the peer's share is used up; cleared once its backlog halved.
    std::atomic<bool> over{false};

    void release(size_t size) {
      frames.fetch_sub(1);
      bytes.fetch_sub(size);
    }
  };

  struct item {
    conn_id conn;
    std::vector<char> frame;
    std::function<void()> cmd;
    std::shared_ptr<peer_budget> budget;
  };

  struct connection {
    std::unique_ptr<zmq::socket_t> dealer; // null for peers accepted by the ROUTER
    // Receives the dealer's ZMQ_EVENT_DISCONNECTED: a killed peer's kernel closes the TCP or ipc
    // connection at once, long before a heartbeat timeout would notice.
    std::unique_ptr<zmq::socket_t> monitor;
    std::string routing_id; // set for peers accepted by the ROUTER
    std::string endpoint;
    std::deque<std::vector<char>> backlog; // frames the socket refused with EAGAIN
    std::shared_ptr<peer_budget> budget;
    // Over budget: since when its frames are dropped (zero: not throttled), how many were dropped
    // meanwhile, and when a frame last left the backlog for it (a slow reader makes progress, a
    // flooder that never reads does not: only the latter is throttled).
    std::chrono::steady_clock::time_point over_since{};
    uint64_t dropped_in = 0;
    bool over_seen = false;
    std::chrono::steady_clock::time_point last_progress{};
    // A ROUTER peer whose pipe is full: retry at `retry_at` with a growing back-off (the ROUTER
    // socket reports POLLOUT whenever any peer can take frames, so polling for it would spin).
    std::chrono::steady_clock::time_point retry_at{};
    std::chrono::microseconds backoff{0};
  };

  std::shared_ptr<peer_budget> add_budget(conn_id id) {
    auto b = std::make_shared<peer_budget>();
    std::lock_guard<std::mutex> guard{mtx_};
    budgets_[id] = b;
    return b;
  }

  std::string peer_label(conn_id id, const connection& c) const {
    return c.endpoint.empty() ? "accepted connection " + std::to_string(id)
                              : "connection " + std::to_string(id) + " to " + c.endpoint;
  }

  /// A peer over its budget whose backlog did not move for this long is throttled.
  static constexpr std::chrono::seconds throttle_after{1};

  // Called on the I/O thread: drops frames of a peer that is over its budget and has not taken
  // a frame for `throttle_after` (reads them, does not decode them); `check_stalled` disconnects
  // one that took nothing for `stalled_peer_timeout`. Returns true when the frames of `c` are to
  // be dropped.
  bool throttled(conn_id id, connection& c, std::chrono::steady_clock::time_point now) {
    if (!c.budget || !c.budget->over.load(std::memory_order_relaxed)) {
      c.over_seen = false;
      if (c.over_since != std::chrono::steady_clock::time_point{}) {
        log_->info("[zmq] peer on {} reads again; {} of its frames were dropped meanwhile",
                   peer_label(id, c), c.dropped_in);
        c.over_since = {};
        c.dropped_in = 0;
      }
      return false;
    }
    if (!c.over_seen) {
      c.over_seen = true; // the grace period starts now, however long the peer was idle before
      c.last_progress = std::max(c.last_progress, now);
    }
    if (now - c.last_progress < throttle_after)
      return false; // a slow reader that still takes frames: refused sends are its back-pressure
    if (c.over_since == std::chrono::steady_clock::time_point{}) {
      c.over_since = now;
      log_->warn("[zmq] peer on {} does not read its replies ({} frames queued for it, over its "
                 "budget): its frames are dropped until it catches up",
                 peer_label(id, c), c.budget->frames.load());
    }
    return true;
  }

  void check_stalled(std::chrono::steady_clock::time_point now) {
    std::vector<conn_id> stalled;
    for (auto& [id, c] : conns_) {
      throttled(id, c, now);
      if (c.over_since != std::chrono::steady_clock::time_point{}
          && now - c.last_progress > opts_.stalled_peer_timeout)
        stalled.push_back(id);
    }
    for (auto id : stalled) {
      auto& c = conns_[id];
      log_->warn("[zmq] peer on {} did not read its replies for {} ms ({} frames dropped): "
                 "disconnected",
                 peer_label(id, c), opts_.stalled_peer_timeout.count(), c.dropped_in);
      // A ROUTER cannot close one peer's pipe: close_conn ignores its routing id for a while.
      close_conn(id);
      if (listener_)
        listener_->on_unreachable(id);
    }
  }

  static constexpr size_t max_banned = 1024;
  static constexpr std::chrono::seconds ban_time{30};

  void configure(zmq::socket_t& sock) {
    sock.set(zmq::sockopt::linger, 0);
    sock.set(zmq::sockopt::sndhwm, 10000);
    sock.set(zmq::sockopt::rcvhwm, 10000);
    sock.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(opts_.max_frame_size) + 64);
  }

  // Runs `f` on the I/O thread and waits for its result.
  template <class T, class F>
  caf::expected<T> call(F f) {
    if (on_io_thread())
      return f();
    auto prom = std::make_shared<std::promise<caf::expected<T>>>();
    auto fut = prom->get_future();
    if (!post([prom, f]() mutable { prom->set_value(f()); }))
      return make_error(errc::invalid_state, "transport not running");
    return fut.get();
  }

  bool post(std::function<void()> cmd) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!running_)
        return false;
      inbox_.push_back(item{0, {}, std::move(cmd), nullptr});
    }
    wake();
    return true;
  }

  void wake() {
    // Only a sleeping I/O thread needs the syscall; a busy one drains the inbox before polling.
    if (sleeping_.exchange(false))
      wake_always();
  }

  void wake_always() {
    uint64_t one = 1;
    auto res = ::write(wakeup_fd_, &one, sizeof(one));
    static_cast<void>(res); // EAGAIN means the counter is already non-zero: still awake.
  }

  void close_conn(conn_id id) {
    auto i = conns_.find(id);
    if (i == conns_.end())
      return;
    drop_backlog(i->second);
    if (!i->second.routing_id.empty()) {
      routing_ids_.erase(i->second.routing_id);
      // A throttled peer's session ended (here or by the hub's heartbeat timeout, as its frames
      // were dropped): the same pipe must not come back as a fresh, unthrottled connection.
      if (i->second.over_since != std::chrono::steady_clock::time_point{}) {
        if (banned_.size() >= max_banned)
          banned_.clear();
        banned_[i->second.routing_id] = std::chrono::steady_clock::now() + ban_time;
      }
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      budgets_.erase(id);
    }
    // zmq_close returns at once; a short linger lets frames already handed to libzmq (e.g. the
    // confirmation of a goodbye) still leave.
    if (i->second.dealer)
      i->second.dealer->set(zmq::sockopt::linger, 100);
    stop_monitor(i->second);
    conns_.erase(i);
  }

  void stop_monitor(connection& c) {
    if (c.dealer && c.monitor)
      zmq_socket_monitor(c.dealer->handle(), nullptr, 0);
    c.monitor.reset();
  }

  // Returns true if the monitor of `c` reported a disconnect.
  bool read_monitor(connection& c) {
    bool disconnected = false;
    for (;;) {
      zmq::message_t event;
      if (!c.monitor->recv(event, zmq::recv_flags::dontwait))
        return disconnected;
      // libzmq's event message: [uint16 event, uint32 value][endpoint]
      if (event.size() >= 2) {
        uint16_t id;
        std::memcpy(&id, event.data(), sizeof(id));
        if (id == ZMQ_EVENT_DISCONNECTED)
          disconnected = true;
      }
      while (c.monitor->get(zmq::sockopt::rcvmore)) {
        zmq::message_t rest;
        if (!c.monitor->recv(rest, zmq::recv_flags::dontwait))
          break;
      }
    }
  }

  void drop_backlog(connection& c) {
    for (auto& f : c.backlog) {
      queued_frames_.fetch_sub(1);
      queued_bytes_.fetch_sub(f.size());
      if (c.budget)
        c.budget->release(f.size());
    }
    c.backlog.clear();
  }

  // Tries to hand the backlog of `c` to its socket; returns false if the peer is unreachable.
  bool flush(conn_id id, connection& c) {
    auto ok = flush_backlog(c);
    // Half the budget free again: the peer may be sent to (and read from) as before.
    if (c.budget && c.budget->over.load(std::memory_order_relaxed)
        && c.budget->frames.load() <= opts_.max_queued_frames_per_peer / 2
        && c.budget->bytes.load() <= opts_.max_queued_bytes_per_peer / 2)
      c.budget->over.store(false);
    static_cast<void>(id);
    return ok;
  }

  bool flush_backlog(connection& c) {
    if (!c.dealer && !c.backlog.empty() && c.retry_at > std::chrono::steady_clock::now())
      return true;
    while (!c.backlog.empty()) {
      auto& f = c.backlog.front();
      auto size = f.size();
      try {
        if (c.dealer) {
          if (!send_body(*c.dealer, f))
            return true; // EAGAIN: back-pressure, retry when writable
        } else {
          if (!router_)
            return false;
          if (!router_->send(zmq::buffer(c.routing_id),
                             zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            c.backoff = std::min(std::chrono::microseconds{50000},
                                 std::max(std::chrono::microseconds{500}, 2 * c.backoff));
            c.retry_at = std::chrono::steady_clock::now() + c.backoff;
            return true;
          }
          // After an accepted routing id the body cannot fail with EAGAIN (multi-part atomicity).
          send_body(*router_, f);
        }
      } catch (const zmq::error_t&) {
        // EHOSTUNREACH (the ROUTER forgot the peer) or any other error: the frame cannot go out.
        return false;
      }
      queued_frames_.fetch_sub(1);
      queued_bytes_.fetch_sub(size);
      if (c.budget)
        c.budget->release(size);
      c.backlog.pop_front();
      c.backoff = std::chrono::microseconds{0};
      if (c.over_seen) // only then does anybody look at it
        c.last_progress = std::chrono::steady_clock::now();
    }
    return true;
  }

  /// Frames of at least this size go to libzmq without a copy (`zmq_msg_init_data` with a free
  /// callback). Smaller ones are copied: for them the copy costs less than the second allocation
  /// a zero-copy message needs (the frame's holder besides libzmq's own content block).
  static constexpr size_t zero_copy_min = 1024;

  static void free_frame(void*, void* hint) {
    delete static_cast<std::vector<char>*>(hint);
  }

  // Sends `frame` as one message part without blocking; moves it into the message when it is
  // large. On EAGAIN (false) or an exception, `frame` still holds the bytes.
  static bool send_body(zmq::socket_t& sock, std::vector<char>& frame) {
    if (frame.size() < zero_copy_min)
      return static_cast<bool>(sock.send(zmq::buffer(frame), zmq::send_flags::dontwait));
    auto* holder = new std::vector<char>(std::move(frame));
    zmq::message_t msg{holder->data(), holder->size(), free_frame, holder};
    try {
      if (sock.send(msg, zmq::send_flags::dontwait))
        return true; // libzmq owns the bytes now and frees them on its own thread
    } catch (const zmq::error_t&) {
      frame = std::move(*holder);
      throw;
    }
    // Not taken: give the bytes back; `msg` then frees the empty holder.
    frame = std::move(*holder);
    return false;
  }

  void drain_inbox() {
    std::deque<item> batch;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      batch.swap(inbox_);
    }
    for (auto& x : batch) {
      if (x.cmd) {
        // Frames queued before the command go out first (e.g. a goodbye confirmation before the
        // disconnect that follows it).
        flush_all();
        x.cmd();
        continue;
      }
      auto i = conns_.find(x.conn);
      if (i == conns_.end()) {
        queued_frames_.fetch_sub(1);
        queued_bytes_.fetch_sub(x.frame.size());
        if (x.budget)
          x.budget->release(x.frame.size());
        continue;
      }
      i->second.backlog.push_back(std::move(x.frame));
    }
  }

  void flush_all() {
    std::vector<conn_id> lost;
    for (auto& [id, c] : conns_)
      if (!flush(id, c))
        lost.push_back(id);
    for (auto id : lost) {
      close_conn(id);
      if (listener_)
        listener_->on_unreachable(id);
    }
  }

  // Answers the ZAP requests libzmq makes for CURVE clients: only the app's own key passes.
  void serve_zap() {
    for (int n = 0; n < 64; ++n) {
      std::vector<zmq::message_t> req;
      zmq::message_t part;
      if (!zap_->recv(part, zmq::recv_flags::dontwait))
        return;
      req.push_back(std::move(part));
      while (zap_->get(zmq::sockopt::rcvmore)) {
        zmq::message_t more;
        if (!zap_->recv(more, zmq::recv_flags::dontwait))
          break;
        req.push_back(std::move(more));
      }
      // version, request id, domain, address, identity, mechanism, credentials...
      bool ok = req.size() >= 7 && req[5].to_string() == "CURVE" && req[6].size() == 32
                && std::memcmp(req[6].data(), curve_public_bin_, 32) == 0;
      if (!ok) {
        uint64_t suppressed = 0;
        if (zap_log_.allow(0, suppressed))
          log_->warn("[zmq] refused a {} client from {}: not the app's CURVE key{}",
                     req.size() > 5 ? req[5].to_string() : std::string{"?"},
                     req.size() > 3 ? req[3].to_string() : std::string{"?"},
                     suppressed > 0 ? " (" + std::to_string(suppressed) + " more not logged)"
                                    : std::string{});
      }
      auto request_id = req.size() > 1 ? req[1].to_string() : std::string{};
      try {
        zap_->send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
        zap_->send(zmq::buffer(request_id), zmq::send_flags::sndmore);
        zap_->send(ok ? zmq::str_buffer("200") : zmq::str_buffer("400"), zmq::send_flags::sndmore);
        zap_->send(ok ? zmq::str_buffer("OK") : zmq::str_buffer("unknown key"),
                   zmq::send_flags::sndmore);
        zap_->send(zmq::str_buffer(""), zmq::send_flags::sndmore);
        zap_->send(zmq::str_buffer(""), zmq::send_flags::none);
      } catch (const zmq::error_t&) {
        // The REP socket's state machine only fails if libzmq went away: nothing to answer.
      }
    }
  }

  conn_id conn_for_routing_id(const std::string& rid) {
    auto i = routing_ids_.find(rid);
    if (i != routing_ids_.end())
      return i->second;
    auto id = next_conn_++;
    routing_ids_.emplace(rid, id);
    auto& c = conns_[id];
    c.routing_id = rid;
    c.budget = add_budget(id);
    return id;
  }

  void read_router() {
    auto now = std::chrono::steady_clock::now();
    for (int n = 0; n < 256; ++n) {
      zmq::message_t rid;
      if (!router_->recv(rid, zmq::recv_flags::dontwait))
        return;
      auto rid_str = rid.to_string();
      bool drop = false;
      if (!banned_.empty()) {
        auto b = banned_.find(rid_str);
        if (b != banned_.end()) {
          if (b->second > now)
            drop = true;
          else
            banned_.erase(b);
        }
      }
      conn_id id = 0;
      if (!drop) {
        id = conn_for_routing_id(rid_str);
        auto& c = conns_[id];
        if (throttled(id, c, now)) {
          drop = true;
          ++c.dropped_in;
        }
      }
      if (drop) {
        while (router_->get(zmq::sockopt::rcvmore)) {
          zmq::message_t part;
          if (!router_->recv(part, zmq::recv_flags::dontwait))
            break;
        }
        continue;
      }
      // A well-behaved peer sends exactly one part; a raw peer may send any number, and each
      // part is then judged (and rejected) by the decoder on its own.
      while (router_->get(zmq::sockopt::rcvmore)) {
        zmq::message_t part;
        if (!router_->recv(part, zmq::recv_flags::dontwait))
          break;
        listener_->on_frame(id, static_cast<const char*>(part.data()), part.size());
      }
    }
  }

  void read_dealer(conn_id id, connection& c) {
    auto now = std::chrono::steady_clock::now();
    for (int n = 0; n < 256; ++n) {
      zmq::message_t part;
      if (!c.dealer->recv(part, zmq::recv_flags::dontwait))
        return;
      if (throttled(id, c, now)) {
        ++c.dropped_in;
        continue;
      }
      listener_->on_frame(id, static_cast<const char*>(part.data()), part.size());
    }
  }

  void run() {
    io_thread_id_ = std::this_thread::get_id();
    ::pthread_setname_np(::pthread_self(), "troupe.zmq.io"); // for top -H, perf, /proc
    auto next_tick = std::chrono::steady_clock::now();
    std::vector<zmq::pollitem_t> items;
    std::vector<conn_id> item_conns;
    for (;;) {
      drain_inbox();
      flush_all();
      {
        std::lock_guard<std::mutex> guard{mtx_};
        if (!running_)
          break;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= next_tick) {
        check_stalled(now);
        listener_->on_tick(now);
        next_tick = now + opts_.tick_interval;
      }
      items.clear();
      item_conns.clear();
      items.push_back({nullptr, wakeup_fd_, ZMQ_POLLIN, 0});
      item_conns.push_back(0);
      // ROUTER peers with a backlog are retried at their own pace (see `retry_at`).
      auto wake_at = next_tick;
      for (auto& [id, c] : conns_) {
        if (c.dealer) {
          short events = ZMQ_POLLIN;
          if (!c.backlog.empty())
            events |= ZMQ_POLLOUT;
          items.push_back({c.dealer->handle(), 0, events, 0});
          item_conns.push_back(id);
          if (c.monitor) {
            items.push_back({c.monitor->handle(), 0, ZMQ_POLLIN, 0});
            item_conns.push_back(id);
          }
        } else if (!c.backlog.empty()) {
          wake_at = std::min(wake_at, c.retry_at);
        }
      }
      if (router_) {
        items.push_back({router_->handle(), 0, ZMQ_POLLIN, 0});
        item_conns.push_back(0);
      }
      if (zap_) {
        items.push_back({zap_->handle(), 0, ZMQ_POLLIN, 0});
        item_conns.push_back(0);
      }
      // Round up: poll's timeout has ms resolution, and a truncated one returns just before the
      // tick, after which every pass polls with timeout 0 until the tick is due (a busy loop of
      // up to 1 ms per tick, 1.6 % of a core on an idle node).
      auto timeout
        = std::chrono::ceil<std::chrono::milliseconds>(wake_at - std::chrono::steady_clock::now());
      if (timeout.count() < 0)
        timeout = std::chrono::milliseconds{0};
      // Announce the sleep, then re-check the inbox: a sender that saw `sleeping_ == false`
      // queued its item before this check, one that sees `true` writes the eventfd.
      sleeping_.store(true);
      bool pending;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        pending = !inbox_.empty() || !running_;
      }
      if (pending)
        timeout = std::chrono::milliseconds{0};
      try {
        zmq::poll(items.data(), items.size(), timeout);
      } catch (const zmq::error_t&) {
        // EINTR: loop again.
      }
      sleeping_.store(false);
      if (items[0].revents & ZMQ_POLLIN) {
        uint64_t cnt;
        auto res = ::read(wakeup_fd_, &cnt, sizeof(cnt));
        static_cast<void>(res);
      }
      std::vector<conn_id> disconnected;
      for (size_t i = 1; i < items.size(); ++i) {
        if ((items[i].revents & ZMQ_POLLIN) == 0)
          continue;
        if (items[i].socket == (router_ ? router_->handle() : nullptr)) {
          read_router();
          continue;
        }
        if (zap_ && items[i].socket == zap_->handle()) {
          serve_zap();
          continue;
        }
        auto c = conns_.find(item_conns[i]);
        if (c == conns_.end())
          continue;
        if (c->second.monitor && items[i].socket == c->second.monitor->handle()) {
          if (read_monitor(c->second))
            disconnected.push_back(c->first);
        } else if (c->second.dealer) {
          read_dealer(c->first, c->second);
        }
      }
      for (auto id : disconnected)
        if (conns_.count(id) > 0)
          listener_->on_unreachable(id);
    }
    shutdown();
  }

  void shutdown() {
    // Bounded flush: libzmq drops what is still queued when a socket closes with linger 0, and
    // waiting for a dead peer must not hang the node.
    drain_inbox();
    auto deadline = std::chrono::steady_clock::now() + opts_.flush_timeout;
    while (queued_frames_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      flush_all();
      if (queued_frames_.load() == 0)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    for (auto& [id, c] : conns_)
      drop_backlog(c);
    // Give libzmq a short linger so that frames already handed over (e.g. goodbye) leave.
    for (auto& [id, c] : conns_)
      if (c.dealer) {
        stop_monitor(c);
        c.dealer->set(zmq::sockopt::linger, 100);
        c.dealer->close();
      }
    conns_.clear();
    routing_ids_.clear();
    if (router_) {
      router_->set(zmq::sockopt::linger, 100);
      router_->close();
      router_.reset();
    }
    zap_.reset();
    // Commands posted after the last drain still wait for their promise: run them (they fail
    // cleanly because the sockets are gone or the state says stopped).
    std::deque<item> rest;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      rest.swap(inbox_);
    }
    for (auto& x : rest) {
      if (x.cmd)
        x.cmd();
      else {
        queued_frames_.fetch_sub(1);
        queued_bytes_.fetch_sub(x.frame.size());
      }
    }
    ctx_.shutdown();
  }

  transport_options opts_;
  std::shared_ptr<spdlog::logger> log_;
  zmq::context_t ctx_{1};
  transport_listener* listener_ = nullptr;
  std::thread thread_;
  std::atomic<std::thread::id> io_thread_id_{};
  int wakeup_fd_ = -1;
  std::atomic<bool> sleeping_{false};
  std::atomic<size_t> queued_frames_{0};
  std::atomic<size_t> queued_bytes_{0};

  // Guards `inbox_` and `running_`; never held during a socket call.
  std::mutex mtx_;
  std::deque<item> inbox_;
  bool running_ = false;
  std::unordered_map<conn_id, std::shared_ptr<peer_budget>> budgets_;

  // I/O thread only.
  std::unique_ptr<zmq::socket_t> router_;
  std::unique_ptr<zmq::socket_t> zap_; // CURVE only: the ZAP handler (inproc://zeromq.zap.01)
  uint8_t curve_public_bin_[32] = {};
  troupe::detail::log_limiter zap_log_{10, 10, std::chrono::seconds{10}};
  std::unordered_map<conn_id, connection> conns_;
  std::unordered_map<std::string, conn_id> routing_ids_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> banned_;
  conn_id next_conn_ = 1;
};

} // namespace

std::unique_ptr<transport> make_zmq_transport(transport_options opts) {
  return std::make_unique<zmq_transport>(opts);
}

} // namespace troupe::bridges
