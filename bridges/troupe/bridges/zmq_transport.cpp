#include "troupe/bridges/zmq_transport.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <zmq.hpp>

#include "troupe/errc.hpp"

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
  explicit zmq_transport(transport_options opts) : opts_(opts) {
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
          configure(*router_);
          router_fd_ = router_->get(zmq::sockopt::fd);
          router_lock_ = std::make_shared<sock_lock>();
        }
        // Senders may be using the ROUTER for accepted peers right now.
        std::lock_guard<std::mutex> guard{router_lock_->mtx};
        router_->bind(endpoint);
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
        configure(*sock);
        auto mon_addr = "inproc://troupe-monitor-" + std::to_string(id);
        if (zmq_socket_monitor(sock->handle(), mon_addr.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
          throw zmq::error_t{};
        auto mon = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
        mon->set(zmq::sockopt::linger, 0);
        mon->connect(mon_addr);
        sock->connect(endpoint);
        auto& c = conns_[id];
        c.fd = sock->get(zmq::sockopt::fd);
        c.monitor_fd = mon->get(zmq::sockopt::fd);
        c.out = std::make_shared<out_conn>();
        c.out->lock = std::make_shared<sock_lock>();
        c.out->sock = sock.get();
        c.dealer = std::move(sock);
        c.monitor = std::move(mon);
        c.endpoint = endpoint;
        publish(id, c.out);
        return id;
      } catch (const zmq::error_t& e) {
        return make_error(errc::system_error, "connect " + endpoint + ": " + e.what());
      }
    });
  }

  caf::error send(conn_id conn, std::vector<char> frame) override {
    if (frame.size() > opts_.max_frame_size)
      return make_error(errc::bad_frame, "frame exceeds max_frame_size");
    auto oc = find_out(conn);
    if (!oc)
      return enqueue(conn, std::move(frame), nullptr);
    auto now = std::chrono::steady_clock::now();
    auto io = on_io_thread();
    std::unique_lock<std::mutex> guard{oc->lock->mtx};
    // A frame right after another one on the same connection is part of a burst: the I/O thread
    // sends bursts in batches, which keeps libzmq's own I/O thread from waking (and, on a shared
    // core, preempting the sender) every few frames.
    bool burst = now - oc->last_send < burst_gap;
    oc->last_send = now;
    // Fast path: straight to the socket on the caller's thread, unless frames of this connection
    // wait in the queue (order) or the socket refuses (EAGAIN, unreachable: the I/O thread then
    // deals with it as with any queued frame). Not on the I/O thread itself: it flushes its queue
    // right after the current batch anyway (no wakeup to save), and a socket call in the middle
    // of an actor it runs inline wakes ZMQbg, which then preempts that actor on a shared core and
    // makes its run look slow (measured: +3 thread switches and +30 % per round trip, actors
    // pushed back to the scheduler).
    if (!burst && !io && oc->sock != nullptr && oc->queued == 0
        && send_now(*oc, frame) == send_result::sent) {
      // The call may have consumed the edge of ZMQ_FD that the I/O thread waits for; if the
      // socket has work for it now, hand it over.
      auto events = oc->sock->get(zmq::sockopt::events);
      bool hand_over
        = (events & ZMQ_POLLIN) != 0 || ((events & ZMQ_POLLOUT) != 0 && oc->lock->queued > 0);
      guard.unlock();
      if (hand_over)
        wake();
      return caf::none;
    }
    // Queued while holding the socket lock, so that no direct send overtakes this frame.
    return enqueue(conn, std::move(frame), oc.get());
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
  struct item {
    conn_id conn;
    std::vector<char> frame;
    std::function<void()> cmd;
  };

  /// Guards one socket: senders and the I/O thread touch it only under `mtx`.
  struct sock_lock {
    std::mutex mtx;
    /// Frames queued (inbox or backlog) for connections on this socket; guarded by `mtx`.
    size_t queued = 0;
  };

  /// What a sending thread needs of a connection. Guarded by `lock->mtx`.
  struct out_conn {
    std::shared_ptr<sock_lock> lock; // the dealer's own, or the ROUTER's for accepted peers
    zmq::socket_t* sock = nullptr;   // null once the connection is closed
    std::string routing_id;          // accepted peers
    /// Frames of this connection in the inbox or backlog: direct sends wait until it is 0.
    size_t queued = 0;
    /// When `send` was last called for this connection.
    std::chrono::steady_clock::time_point last_send;
  };

  /// Frames closer together than this on one connection go through the I/O thread (see `send`).
  static constexpr std::chrono::microseconds burst_gap{20};

  struct connection {
    std::shared_ptr<out_conn> out;
    int fd = -1;                           // ZMQ_FD of the dealer
    int monitor_fd = -1;                   // ZMQ_FD of the monitor
    std::unique_ptr<zmq::socket_t> dealer; // null for peers accepted by the ROUTER
    // Receives the dealer's ZMQ_EVENT_DISCONNECTED: a killed peer's kernel closes the TCP or ipc
    // connection at once, long before a heartbeat timeout would notice.
    std::unique_ptr<zmq::socket_t> monitor;
    std::string routing_id; // set for peers accepted by the ROUTER
    std::string endpoint;
    std::deque<std::vector<char>> backlog; // frames the socket refused with EAGAIN
  };

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
      inbox_.push_back(item{0, {}, std::move(cmd)});
    }
    wake();
    return true;
  }

  // -- sending ----------------------------------------------------------------------------------

  // Queues `frame` for the I/O thread. With `oc` (whose lock the caller holds), counts it as
  // pending for the connection so that direct sends wait for it.
  caf::error enqueue(conn_id conn, std::vector<char> frame, out_conn* oc) {
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
      inbox_.push_back(item{conn, std::move(frame), nullptr});
    }
    if (oc != nullptr) {
      ++oc->queued;
      ++oc->lock->queued;
    }
    wake();
    return caf::none;
  }

  enum class send_result { sent, again, failed };

  // Hands `frame` to the socket of `oc` without blocking: `again` on EAGAIN (back-pressure, or a
  // dealer without a completed connection), `failed` on any error (EHOSTUNREACH: the ROUTER
  // forgot the peer). The caller holds `oc.lock->mtx` and checked `oc.sock`.
  static send_result send_now(out_conn& oc, std::vector<char>& frame) {
    try {
      if (!oc.routing_id.empty()
          && !oc.sock->send(zmq::buffer(oc.routing_id),
                            zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return send_result::again;
      // After an accepted routing id the body cannot fail with EAGAIN (multi-part atomicity).
      return send_body(*oc.sock, frame) ? send_result::sent : send_result::again;
    } catch (const zmq::error_t&) {
      return send_result::failed;
    }
  }

  /// Frames of at least this size go to libzmq without a copy (`zmq_msg_init_data` with a free
  /// callback). Smaller ones are copied: for them the copy costs less than the second allocation
  /// a zero-copy message needs (the frame's holder besides libzmq's own content block).
  static constexpr size_t zero_copy_min = 1024;

  static void free_frame(void*, void* hint) {
    delete static_cast<std::vector<char>*>(hint);
  }

  // Sends `frame` as one message part; moves it into the message when it is large. On EAGAIN
  // (false) or an exception, `frame` still holds the bytes.
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

  std::shared_ptr<out_conn> find_out(conn_id conn) const {
    std::shared_lock<std::shared_mutex> guard{out_mtx_};
    auto i = out_.find(conn);
    return i != out_.end() ? i->second : nullptr;
  }

  void publish(conn_id conn, std::shared_ptr<out_conn> oc) {
    std::unique_lock<std::shared_mutex> guard{out_mtx_};
    out_[conn] = std::move(oc);
  }

  void unpublish(conn_id conn) {
    std::unique_lock<std::shared_mutex> guard{out_mtx_};
    out_.erase(conn);
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
    auto& c = i->second;
    drop_backlog(c);
    unpublish(id);
    if (c.out) {
      // From here on no sender touches the socket (senders check `sock` under the lock).
      std::lock_guard<std::mutex> guard{c.out->lock->mtx};
      c.out->sock = nullptr;
      c.out->lock->queued -= c.out->queued;
      c.out->queued = 0;
    }
    if (!c.routing_id.empty())
      routing_ids_.erase(c.routing_id);
    // zmq_close returns at once; a short linger lets frames already handed to libzmq (e.g. the
    // confirmation of a goodbye) still leave.
    if (c.dealer)
      c.dealer->set(zmq::sockopt::linger, 100);
    stop_monitor(c);
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

  // Drops the queued frames of `c` (the I/O thread's backlog; inbox items of a closed connection
  // are dropped by drain_inbox).
  void drop_backlog(connection& c) {
    if (c.backlog.empty())
      return;
    std::unique_lock<std::mutex> guard;
    if (c.out)
      guard = std::unique_lock<std::mutex>{c.out->lock->mtx};
    for (auto& f : c.backlog) {
      queued_frames_.fetch_sub(1);
      queued_bytes_.fetch_sub(f.size());
      if (c.out) {
        --c.out->queued;
        --c.out->lock->queued;
      }
    }
    c.backlog.clear();
  }

  // Tries to hand the backlog of `c` to its socket; returns false if the peer is unreachable.
  // Sets `progress` when at least one frame left.
  bool flush(connection& c, bool* progress = nullptr) {
    if (c.backlog.empty())
      return true;
    if (!c.out)
      return false;
    auto& oc = *c.out;
    std::lock_guard<std::mutex> guard{oc.lock->mtx};
    if (oc.sock == nullptr)
      return false;
    while (!c.backlog.empty()) {
      auto& f = c.backlog.front();
      auto size = f.size();
      auto res = send_now(oc, f);
      if (res == send_result::again)
        return true; // back-pressure: retry when writable
      if (res == send_result::failed)
        return false; // the frame cannot go out: the peer is unreachable
      queued_frames_.fetch_sub(1);
      queued_bytes_.fetch_sub(size);
      --oc.queued;
      --oc.lock->queued;
      c.backlog.pop_front();
      if (progress != nullptr)
        *progress = true;
    }
    return true;
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
        continue;
      }
      i->second.backlog.push_back(std::move(x.frame));
    }
  }

  void flush_all() {
    std::vector<conn_id> lost;
    for (auto& [id, c] : conns_)
      if (!flush(c))
        lost.push_back(id);
    for (auto id : lost) {
      close_conn(id);
      if (listener_)
        listener_->on_unreachable(id);
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
    c.out = std::make_shared<out_conn>();
    c.out->lock = router_lock_;
    c.out->sock = router_.get();
    c.out->routing_id = rid;
    publish(id, c.out);
    return id;
  }

  // Returns ZMQ_EVENTS of `sock` read under `lock`, or 0 if a sender holds the lock: that sender
  // checks ZMQ_EVENTS itself after its call and wakes this thread if it sleeps (`send`). Not
  // waiting matters with one core per process: the sender may have been preempted inside its
  // locked section (by the ZMQbg thread it just woke), and blocking on it costs two switches.
  static int events_of(sock_lock& lock, zmq::socket_t& sock) {
    std::unique_lock<std::mutex> guard{lock.mtx, std::try_to_lock};
    return guard.owns_lock() ? sock.get(zmq::sockopt::events) : 0;
  }

  // Reads up to 256 messages from the ROUTER (under its lock), then delivers them without the
  // lock: a listener callback may send on this socket. Returns whether anything was read.
  bool read_router() {
    struct part {
      std::string rid;
      zmq::message_t body;
    };
    std::vector<part> parts;
    {
      std::lock_guard<std::mutex> guard{router_lock_->mtx};
      for (int n = 0; n < 256; ++n) {
        zmq::message_t rid;
        if (!router_->recv(rid, zmq::recv_flags::dontwait))
          break;
        auto r = rid.to_string();
        // A well-behaved peer sends exactly one part; a raw peer may send any number, and each
        // part is then judged (and rejected) by the decoder on its own.
        while (router_->get(zmq::sockopt::rcvmore)) {
          zmq::message_t body;
          if (!router_->recv(body, zmq::recv_flags::dontwait))
            break;
          parts.push_back(part{r, std::move(body)});
        }
      }
    }
    for (auto& p : parts) {
      auto id = conn_for_routing_id(p.rid);
      listener_->on_frame(id, static_cast<const char*>(p.body.data()), p.body.size());
    }
    return !parts.empty();
  }

  // Like read_router for the dealer of connection `id`.
  bool read_dealer(conn_id id) {
    std::vector<zmq::message_t> parts;
    {
      auto i = conns_.find(id);
      if (i == conns_.end() || !i->second.dealer)
        return false;
      std::lock_guard<std::mutex> guard{i->second.out->lock->mtx};
      for (int n = 0; n < 256; ++n) {
        zmq::message_t part;
        if (!i->second.dealer->recv(part, zmq::recv_flags::dontwait))
          break;
        parts.push_back(std::move(part));
      }
    }
    for (auto& part : parts)
      listener_->on_frame(id, static_cast<const char*>(part.data()), part.size());
    return !parts.empty();
  }

  // One pass over every socket: reads what is readable, flushes backlogs that became writable,
  // handles monitor events. Returns whether anything happened. Every socket call here is followed
  // by a ZMQ_EVENTS check (the next pass or `pending_input`), as edge-triggered ZMQ_FD requires.
  bool service() {
    bool work = false;
    if (router_) {
      auto ev = events_of(*router_lock_, *router_);
      if (ev & ZMQ_POLLIN)
        work = read_router() || work;
    }
    // Backlogs: every pass retries them (flush_all), so only record whether that helped.
    std::vector<conn_id> disconnected;
    std::vector<conn_id> lost;
    ids_.clear();
    for (auto& [id, c] : conns_)
      if (c.dealer)
        ids_.push_back(id);
      else if (!c.backlog.empty() && !flush(c, &work))
        lost.push_back(id);
    for (auto id : ids_) {
      auto i = conns_.find(id); // callbacks may have added or closed connections
      if (i == conns_.end())
        continue;
      auto ev = events_of(*i->second.out->lock, *i->second.dealer);
      if (ev & ZMQ_POLLIN)
        work = read_dealer(id) || work;
      i = conns_.find(id);
      if (i == conns_.end())
        continue;
      auto& c = i->second;
      if ((ev & ZMQ_POLLOUT) != 0 && !c.backlog.empty() && !flush(c, &work))
        lost.push_back(id);
      if (c.monitor && (c.monitor->get(zmq::sockopt::events) & ZMQ_POLLIN) != 0 && read_monitor(c))
        disconnected.push_back(id);
    }
    for (auto id : lost) {
      close_conn(id);
      listener_->on_unreachable(id);
    }
    for (auto id : disconnected)
      if (conns_.count(id) > 0)
        listener_->on_unreachable(id);
    return work || !lost.empty() || !disconnected.empty();
  }

  bool any_backlog() const {
    for (auto& [id, c] : conns_)
      if (!c.backlog.empty())
        return true;
    return false;
  }

  // Whether any socket has something for the I/O thread; called after announcing the sleep.
  bool pending_input() {
    if (router_) {
      // Not POLLOUT: with ROUTER_MANDATORY it means that *some* peer is writable, not the one
      // with the backlog (the sleep is capped instead, see run()).
      if ((events_of(*router_lock_, *router_) & ZMQ_POLLIN) != 0)
        return true;
    }
    for (auto& [id, c] : conns_) {
      if (!c.dealer)
        continue;
      auto ev = events_of(*c.out->lock, *c.dealer);
      if ((ev & ZMQ_POLLIN) != 0 || ((ev & ZMQ_POLLOUT) != 0 && !c.backlog.empty()))
        return true;
      if (c.monitor && (c.monitor->get(zmq::sockopt::events) & ZMQ_POLLIN) != 0)
        return true;
    }
    return false;
  }

  // The I/O thread waits in poll(2) on the eventfd and the ZMQ_FD of every socket, never in
  // zmq_poll: zmq_poll would touch the sockets without their locks while senders use them.
  void run() {
    io_thread_id_ = std::this_thread::get_id();
    ::pthread_setname_np(::pthread_self(), "troupe.zmq.io"); // for top -H, perf, /proc
    auto next_tick = std::chrono::steady_clock::now();
    std::vector<pollfd> fds;
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
        listener_->on_tick(now);
        next_tick = now + opts_.tick_interval;
      }
      if (service())
        continue;
      // Announce the sleep, then re-check the inbox and the sockets: a sender that saw
      // `sleeping_ == false` queued its item or consumed a ZMQ_FD edge before this check, one
      // that sees `true` writes the eventfd.
      sleeping_.store(true);
      bool pending;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        pending = !inbox_.empty() || !running_;
      }
      pending = pending || pending_input();
      // Round up: poll's timeout has ms resolution, and a truncated one returns just before the
      // tick, after which every pass polls with timeout 0 until the tick is due (a busy loop of
      // up to 1 ms per tick, 1.6 % of a core on an idle node).
      auto timeout = std::chrono::ceil<std::chrono::milliseconds>(
        next_tick - std::chrono::steady_clock::now());
      if (timeout.count() < 0 || pending)
        timeout = std::chrono::milliseconds{0};
      // A backlog waits for POLLOUT; ZMQ_FD signals it, but only for the socket as a whole (and
      // for a ROUTER not per peer): retry at least every millisecond meanwhile (overload only).
      if (any_backlog() && timeout > std::chrono::milliseconds{1})
        timeout = std::chrono::milliseconds{1};
      fds.clear();
      fds.push_back({wakeup_fd_, POLLIN, 0});
      if (router_)
        fds.push_back({router_fd_, POLLIN, 0});
      for (auto& [id, c] : conns_) {
        if (c.dealer)
          fds.push_back({c.fd, POLLIN, 0});
        if (c.monitor)
          fds.push_back({c.monitor_fd, POLLIN, 0});
      }
      ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())); // EINTR: loop again
      sleeping_.store(false);
      if (fds[0].revents & POLLIN) {
        uint64_t cnt;
        auto res = ::read(wakeup_fd_, &cnt, sizeof(cnt));
        static_cast<void>(res);
      }
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
    for (auto& [id, c] : conns_) {
      drop_backlog(c);
      unpublish(id);
      if (c.out) {
        std::lock_guard<std::mutex> guard{c.out->lock->mtx};
        c.out->sock = nullptr;
      }
    }
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

  // Connections by id for sending threads; entries are added and removed by the I/O thread.
  mutable std::shared_mutex out_mtx_;
  std::unordered_map<conn_id, std::shared_ptr<out_conn>> out_;

  // I/O thread only (the sockets themselves only under their `sock_lock`).
  std::unique_ptr<zmq::socket_t> router_;
  std::shared_ptr<sock_lock> router_lock_;
  int router_fd_ = -1;
  std::vector<conn_id> ids_;
  std::unordered_map<conn_id, connection> conns_;
  std::unordered_map<std::string, conn_id> routing_ids_;
  conn_id next_conn_ = 1;
};

} // namespace

std::unique_ptr<transport> make_zmq_transport(transport_options opts) {
  return std::make_unique<zmq_transport>(opts);
}

} // namespace troupe::bridges
