#include "troupe/bridges/shm_transport.hpp"

#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "troupe/bridges/detail/shm_layout.hpp"
#include "troupe/bridges/shm_segment.hpp"
#include "troupe/errc.hpp"

#include <spdlog/spdlog.h>

namespace troupe::bridges {

namespace {

using namespace detail;

uint64_t now_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// A per-connection writer lock: try-lock, bounded spin, then yield (the holder only copies bytes).
class spin_lock {
public:
  void lock() {
    for (int i = 0; flag_.exchange(true, std::memory_order_acquire); ++i) {
      if (i < 4096)
        detail::cpu_relax();
      else
        ::sched_yield();
    }
  }
  void unlock() {
    flag_.store(false, std::memory_order_release);
  }

private:
  std::atomic<bool> flag_{false};
};

struct connection {
  conn_id id = 0;
  int my_side = 0;
  shm_segment seg;
  pair_layout* pair = nullptr;
  uint64_t capacity = 0;
  std::string listen_name; // connector: the listen segment to ring until attached
  shm_segment peer_door_seg;
  shm_waiter placeholder; // door used until the peer's door is known
  std::atomic<bool> attached{false};
  std::atomic<bool> lost{false};

  // Writer state, guarded by `wlock`.
  spin_lock wlock;
  bool closed = false;
  shm_ring_producer tx;
  struct pending {
    std::vector<char> frame;
    size_t offset;
  };
  std::deque<pending> backlog;
  std::atomic<bool> has_backlog{false};
  size_t backlog_bytes = 0;
  // Set while the backlog is over the per-peer budget: the peer's inbound ring is then left
  // unread (back-pressure on a peer that floods us but never reads), and after
  // `stalled_peer_timeout` the connection is dropped.
  std::atomic<bool> over_budget{false};
  std::chrono::steady_clock::time_point over_budget_since;

  // I/O thread only.
  shm_ring_consumer rx;
  bool reported = false;
  std::string segment_name; // for log lines (the name is unlinked once both sides attached)
  std::string listen_error; // connector: the last reason the listen segment was refused

  side_layout& me() {
    return pair->side[my_side];
  }
  side_layout& peer() {
    return pair->side[1 - my_side];
  }
  shm_ring_header* ring_out() {
    return ring_at(pair, capacity, my_side);
  }
  shm_ring_header* ring_in() {
    return ring_at(pair, capacity, 1 - my_side);
  }
};

class shm_transport final : public transport {
public:
  shm_transport(transport_options opts, shm_transport_options shm_opts)
    : opts_(opts), shm_(std::move(shm_opts)),
      log_(opts_.logger ? opts_.logger : spdlog::default_logger()) {
    if (shm_.name.empty())
      shm_.name = "p" + std::to_string(::getpid());
    shm_.name = shm_short_name(shm_name_part(shm_.name), max_name_part);
    for (auto& slot : table_)
      slot.store(nullptr);
  }

  ~shm_transport() override {
    stop();
  }

  caf::error start(transport_listener* listener) override {
    if (thread_.joinable())
      return make_error(errc::invalid_state, "transport already started");
    if (!shm_ring_header::valid_capacity(shm_.ring_capacity))
      return make_error(errc::bad_config, "shm ring_capacity must be a power of two >= 1 KiB");
    static_cast<void>(remove_stale_segments(shm_.prefix));
    static std::atomic<uint32_t> instances{0};
    auto name = shm_.prefix + shm_.name + "." + std::to_string(::getpid()) + "."
                + std::to_string(instances++) + ".door";
    auto seg = shm_segment::create(name, sizeof(door_layout));
    if (!seg)
      return seg.error();
    door_seg_ = std::move(*seg);
    auto* d = new (door_seg_.data()) door_layout;
    door_ = &d->door;
    connects_ = &d->connects;
    door_seg_.init_header(shm_segment_header::kind_door, 0);
    listener_ = listener;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      running_ = true;
    }
    thread_ = std::thread{[this] { run(); }};
    return caf::none;
  }

  caf::expected<std::string> listen(const std::string& endpoint) override {
    auto name = parse(endpoint);
    if (!name)
      return name.error();
    return call<std::string>([this, endpoint, n = *name]() -> caf::expected<std::string> {
      auto seg_name = shm_.prefix + n;
      static_cast<void>(remove_stale_segments(seg_name));
      auto seg = shm_segment::create(seg_name, sizeof(listen_layout));
      if (!seg)
        return make_error(errc::system_error, "listen " + endpoint + ": " + describe(seg.error()));
      auto* l = new (seg->data()) listen_layout;
      copy_name(l->door, door_seg_.name());
      seg->init_header(shm_segment_header::kind_listen, 0);
      listens_.push_back(listen_entry{seg_name + ".", std::move(*seg)});
      accept_all();
      return endpoint;
    });
  }

  caf::expected<conn_id> connect(const std::string& endpoint) override {
    auto name = parse(endpoint);
    if (!name)
      return name.error();
    return call<conn_id>([this, n = *name]() -> caf::expected<conn_id> {
      static std::atomic<uint32_t> counter{0};
      auto cap = shm_.ring_capacity;
      auto seg_name = shm_.prefix + n + "." + shm_.name + "." + std::to_string(::getpid()) + "."
                      + std::to_string(counter++);
      auto seg
        = shm_segment::create(seg_name, sizeof(pair_layout) + 2 * shm_ring_header::bytes(cap));
      if (!seg)
        return seg.error();
      auto c = std::make_unique<connection>();
      c->my_side = 0;
      c->capacity = cap;
      c->segment_name = seg->name();
      c->listen_name = shm_.prefix + n;
      c->pair = new (seg->data()) pair_layout;
      shm_ring_header::init(ring_at(c->pair, cap, 0), cap);
      shm_ring_header::init(ring_at(c->pair, cap, 1), cap);
      c->me().pid.store(::getpid());
      c->me().heartbeat_ms.store(now_ms());
      copy_name(c->me().door, door_seg_.name());
      c->me().state.store(side_attached);
      seg->init_header(shm_segment_header::kind_pair, cap);
      c->seg = std::move(*seg);
      c->tx = shm_ring_producer{c->ring_out(), &c->placeholder, door_, cap};
      c->rx = shm_ring_consumer{c->ring_in(), door_, &c->placeholder, opts_.max_frame_size, cap};
      auto id = add(std::move(c));
      if (id == 0)
        return make_error(errc::overloaded, "too many shm connections");
      ring_listener(*find(id));
      return id;
    });
  }

  caf::error send(conn_id conn, std::vector<char> frame) override {
    if (frame.size() > opts_.max_frame_size)
      return make_error(errc::bad_frame, "frame exceeds max_frame_size");
    auto* c = find(conn);
    if (c == nullptr)
      return make_error(errc::invalid_state, "unknown shm connection");
    if (c->lost.load(std::memory_order_relaxed))
      return make_error(errc::peer_lost, "shm peer lost");
    std::unique_lock<spin_lock> guard{c->wlock};
    if (c->closed)
      return make_error(errc::peer_lost, "shm connection closed");
    size_t offset = 0;
    if (c->backlog.empty() && c->tx.push_some(frame.data(), frame.size(), offset))
      return caf::none; // the fast path: straight into the ring, no syscall if the peer is awake
    // A partially written frame must be completed whatever the bounds say (the ring holds its
    // prefix); only a frame not started yet may be refused.
    auto size = frame.size();
    if (offset == 0
        && (c->backlog.size() >= opts_.max_queued_frames_per_peer
            || c->backlog_bytes + size > opts_.max_queued_bytes_per_peer)) {
      // This peer does not read what we send it: its budget is used up, the others' is not.
      if (!c->over_budget.exchange(true))
        c->over_budget_since = std::chrono::steady_clock::now();
      return make_error(errc::overloaded, "outbound shm queue of this peer full");
    }
    auto frames = queued_frames_.fetch_add(1) + 1;
    auto bytes = queued_bytes_.fetch_add(size) + size;
    if (offset == 0 && (frames > opts_.max_queued_frames || bytes > opts_.max_queued_bytes)) {
      queued_frames_.fetch_sub(1);
      queued_bytes_.fetch_sub(size);
      return make_error(errc::overloaded, "outbound shm queue full");
    }
    c->backlog.push_back(connection::pending{std::move(frame), offset});
    c->backlog_bytes += size;
    c->has_backlog.store(true);
    // If the reader freed space meanwhile it will not ring: let the I/O thread flush at once.
    if (c->tx.request_space())
      c->ring_out()->want_space.store(0);
    guard.unlock();
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
    stopping_ = true;
    wake();
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
  struct listen_entry {
    std::string pair_prefix; // without slash
    shm_segment seg;
    bool broken = false; // the name was taken from us and could not be recreated (logged once)
  };

  // Longest name parts: a door name ("PREFIX" + name + ".PID.N.door") must fit the 128 bytes of
  // its shared field, a pair name ("PREFIX" + listen + "." + name + ".PID.N") NAME_MAX.
  static constexpr size_t max_name_part = 48;
  static constexpr size_t max_listen_part = 96;

  static caf::expected<std::string> parse(const std::string& endpoint) {
    const std::string scheme = "shm://";
    if (endpoint.compare(0, scheme.size(), scheme) != 0 || endpoint.size() == scheme.size())
      return make_error(errc::bad_config, "not an shm endpoint: " + endpoint);
    return shm_short_name(shm_name_part(endpoint.substr(scheme.size())), max_listen_part);
  }

  // -- connection table: lookups from any thread without a lock --------------------------------

  conn_id add(std::unique_ptr<connection> c) {
    for (int attempt = 0; attempt < 2 * static_cast<int>(table_size); ++attempt) {
      auto id = next_id_++;
      auto& slot = table_[id % table_size];
      if (slot.load() != nullptr)
        continue;
      c->id = id;
      auto* raw = c.get();
      conns_.push_back(std::move(c));
      slot.store(raw, std::memory_order_release);
      return id;
    }
    return 0;
  }

  connection* find(conn_id id) const {
    auto* c = table_[id % table_size].load(std::memory_order_acquire);
    return c != nullptr && c->id == id ? c : nullptr;
  }

  // -- commands ----------------------------------------------------------------------------------

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
      commands_.push_back(std::move(cmd));
    }
    wake();
    return true;
  }

  void wake() {
    pending_.store(true);
    if (door_ != nullptr)
      shm_notify(*door_);
  }

  bool run_commands() {
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      batch.swap(commands_);
    }
    for (auto& f : batch)
      f();
    return !batch.empty();
  }

  // -- accepting ---------------------------------------------------------------------------------

  void accept_all() {
    for (auto& l : listens_) {
      auto names = list_segments(l.pair_prefix);
      if (!names)
        continue;
      for (auto& n : *names)
        if (rejected_.count(n) == 0)
          accept(n);
    }
  }

  void accept(const std::string& name) {
    auto seg = shm_segment::attach(name, shm_segment_header::kind_pair);
    if (!seg) {
      // Half-built segments become valid soon; anything else is remembered and skipped.
      if (seg.error() && to_string(seg.error()).find("not initialized") == std::string::npos)
        reject(name, describe(seg.error()));
      return;
    }
    auto cap = seg->header()->ring_capacity;
    auto* pair = static_cast<pair_layout*>(seg->data());
    if (!shm_ring_header::valid_capacity(cap)
        || seg->size() != sizeof(pair_layout) + 2 * shm_ring_header::bytes(cap)) {
      reject(name, "ring capacity " + std::to_string(cap) + " does not match the segment size "
                     + std::to_string(seg->size()));
      return;
    }
    // The rings' own capacity fields must agree with the header; from here on only `cap`, checked
    // against the size of our own mapping, is used (the peer may rewrite the fields any time).
    if (ring_at(pair, cap, 0)->capacity != cap || ring_at(pair, cap, 1)->capacity != cap) {
      reject(name, "a ring header claims a capacity other than the segment header's "
                     + std::to_string(cap));
      return;
    }
    auto c = std::make_unique<connection>();
    c->my_side = 1;
    c->capacity = cap;
    c->pair = pair;
    c->segment_name = seg->name();
    if (c->peer().state.load(std::memory_order_acquire) != side_attached
        || c->me().state.load() != side_none || !process_alive(c->peer().pid.load())) {
      rejected_.insert(name); // a connector that died or a segment already taken: not an attack
      return;
    }
    auto door = shm_segment::attach(read_name(c->peer().door), shm_segment_header::kind_door);
    if (!door) {
      reject(name, "its door: " + describe(door.error()));
      return;
    }
    c->peer_door_seg = std::move(*door);
    auto* peer_door = &static_cast<door_layout*>(c->peer_door_seg.data())->door;
    c->me().pid.store(::getpid());
    c->me().heartbeat_ms.store(now_ms());
    copy_name(c->me().door, door_seg_.name());
    seg->header()->attacher_pid.store(::getpid());
    c->me().state.store(side_attached, std::memory_order_release);
    // Both sides have it mapped now: drop the name so that nothing is left even after kill -9.
    seg->unlink();
    c->seg = std::move(*seg);
    c->tx = shm_ring_producer{c->ring_out(), peer_door, door_, cap};
    c->rx = shm_ring_consumer{c->ring_in(), door_, peer_door, opts_.max_frame_size, cap};
    c->attached = true;
    add(std::move(c));
    shm_notify(*peer_door);
  }

  // Listener side: a pair segment that will never be attached; logged once per name.
  void reject(const std::string& name, const std::string& why) {
    if (rejected_.insert(name).second)
      log_->warn("[shm] refused connection segment /{}: {}", name, why);
  }

  // Connector side: asks the listener (if it exists yet) to scan for our pair segment.
  void ring_listener(connection& c) {
    auto l = shm_segment::attach(c.listen_name, shm_segment_header::kind_listen);
    if (!l) {
      // Absent means "not started yet"; anything else (a foreign or broken segment under the
      // listener's name) is worth one log line per distinct reason.
      auto why = describe(l.error());
      if (why.find("No such file") == std::string::npos && why != c.listen_error) {
        c.listen_error = why;
        log_->warn("[shm] cannot connect through listen segment /{}: {}", c.listen_name, why);
      }
      return;
    }
    if (!process_alive(l->header()->creator_pid))
      return;
    auto door = shm_segment::attach(read_name(static_cast<listen_layout*>(l->data())->door),
                                    shm_segment_header::kind_door);
    if (!door)
      return;
    auto* d = static_cast<door_layout*>(door->data());
    d->connects.fetch_add(1);
    shm_notify(d->door);
  }

  // Connector side: the listener attached; switch to its door.
  bool complete_attach(connection& c) {
    if (c.peer().state.load(std::memory_order_acquire) == side_none)
      return false;
    auto door = shm_segment::attach(read_name(c.peer().door), shm_segment_header::kind_door);
    if (!door) {
      corrupt(c, "the listener's door: " + describe(door.error()));
      return true;
    }
    c.peer_door_seg = std::move(*door);
    auto* peer_door = &static_cast<door_layout*>(c.peer_door_seg.data())->door;
    {
      std::lock_guard<spin_lock> guard{c.wlock};
      c.tx = shm_ring_producer{c.ring_out(), peer_door, door_, c.capacity};
    }
    c.rx = shm_ring_consumer{c.ring_in(), door_, peer_door, opts_.max_frame_size, c.capacity};
    c.attached = true;
    c.seg.unlink();         // normally done by the listener already
    shm_notify(*peer_door); // frames written before the attach are waiting
    return true;
  }

  // -- I/O
  // -----------------------------------------------------------------------------------------

  size_t drain(connection& c, size_t max_records) {
    auto n = c.rx.poll(
      [&](const char* data, size_t size) { listener_->on_frame(c.id, data, size); }, max_records);
    if (c.rx.corrupt())
      corrupt(c, c.rx.corrupt_reason());
    return n;
  }

  bool flush(connection& c) {
    std::lock_guard<spin_lock> guard{c.wlock};
    bool progress = false;
    while (!c.backlog.empty() && !c.closed) {
      auto& p = c.backlog.front();
      auto before = p.offset;
      if (c.tx.push_some(p.frame.data(), p.frame.size(), p.offset)) {
        queued_frames_.fetch_sub(1);
        queued_bytes_.fetch_sub(p.frame.size());
        c.backlog_bytes -= p.frame.size();
        c.backlog.pop_front();
        progress = true;
        continue;
      }
      progress = progress || p.offset != before;
      if (!c.tx.request_space())
        break;
    }
    c.has_backlog.store(!c.backlog.empty());
    if (c.over_budget.load(std::memory_order_relaxed)
        && c.backlog.size() <= opts_.max_queued_frames_per_peer / 2
        && c.backlog_bytes <= opts_.max_queued_bytes_per_peer / 2)
      c.over_budget.store(false);
    return progress;
  }

  // Whether a backlog can make progress: the reader freed space and cleared the flag, or the
  // ring has room whatever the flag says. The second case matters: a sender that raises the flag
  // against a freshly loaded tail (e.g. right after the attach replaced the producer) sees no
  // freed space and keeps the flag, and a reader with nothing left to read never clears it.
  static bool can_flush(connection& c) {
    auto* r = c.ring_out();
    if (r->want_space.load(std::memory_order_relaxed) == 0)
      return true;
    auto fill = r->head.load(std::memory_order_acquire) - r->tail.load(std::memory_order_acquire);
    return fill <= r->capacity / 2;
  }

  bool service(connection& c) {
    if (c.lost.load(std::memory_order_relaxed))
      return false;
    bool work = false;
    if (!c.attached.load(std::memory_order_relaxed)) {
      if (!complete_attach(c))
        return false;
      work = true;
    }
    // A peer over its budget is not read: it must take our replies before it may send more.
    if (!c.over_budget.load(std::memory_order_relaxed))
      work = drain(c, 64) > 0 || work;
    if (c.has_backlog.load() && can_flush(c))
      work = flush(c) || work;
    return work;
  }

  bool ready() {
    if (pending_.load(std::memory_order_relaxed)
        || connects_->load(std::memory_order_relaxed) != seen_connects_)
      return true;
    for (auto& c : conns_) {
      if (c->seg.data() == nullptr || c->lost.load(std::memory_order_relaxed))
        continue;
      if (!c->attached.load(std::memory_order_relaxed)) {
        if (c->peer().state.load(std::memory_order_relaxed) != side_none)
          return true;
        continue;
      }
      if (!c->over_budget.load(std::memory_order_relaxed) && c->rx.readable())
        return true;
      if (c->has_backlog.load(std::memory_order_relaxed) && can_flush(*c))
        return true;
    }
    return false;
  }

  // The peer broke the shared layout: end this session (never the node) with a log line.
  void corrupt(connection& c, const std::string& why) {
    if (c.lost.load())
      return;
    log_->warn("[shm] session on {} (peer pid {}) is corrupt: {}; session ended", c.segment_name,
               c.peer().pid.load(), why);
    lose(c);
  }

  void lose(connection& c) {
    if (c.lost.exchange(true))
      return;
    drop_backlog(c);
    if (!c.reported) {
      c.reported = true;
      listener_->on_unreachable(c.id);
    }
  }

  void drop_backlog(connection& c) {
    std::lock_guard<spin_lock> guard{c.wlock};
    for (auto& p : c.backlog) {
      queued_frames_.fetch_sub(1);
      queued_bytes_.fetch_sub(p.frame.size());
    }
    c.backlog.clear();
    c.backlog_bytes = 0;
    c.has_backlog.store(false);
  }

  // Our own door and listen segments are 0600, yet a process of the same user may scribble on
  // them (or unlink them); without a repair the node would be unreachable for new connections
  // for ever. Checked every tick (a few loads), the names once a second.
  void check_own_segments() {
    auto verify = [this](shm_segment& seg, uint32_t kind, const char* what) {
      auto* h = seg.header();
      if (h->magic == shm_segment_header::magic_value
          && h->version == shm_segment_header::layout_version && h->kind == kind
          && h->total_size == seg.size() && h->creator_pid == static_cast<int32_t>(::getpid())
          && h->ready.load() == 1)
        return true;
      log_->warn("[shm] our {} segment {} was overwritten by another process; repaired", what,
                 seg.name());
      seg.init_header(kind, 0);
      return false;
    };
    verify(door_seg_, shm_segment_header::kind_door, "door");
    for (auto& l : listens_) {
      auto* layout = static_cast<listen_layout*>(l.seg.data());
      bool ok = verify(l.seg, shm_segment_header::kind_listen, "listen");
      if (read_name(layout->door) != door_seg_.name()) {
        if (ok)
          log_->warn("[shm] our listen segment {} was overwritten by another process; repaired",
                     l.seg.name());
        copy_name(layout->door, door_seg_.name());
      }
    }
    if (++name_checks_ % name_check_every != 0)
      return;
    for (auto& l : listens_) {
      if (l.seg.name_still_ours())
        continue;
      // Unlinked or replaced: publish a fresh listen segment under the same name if we can.
      auto fresh = shm_segment::create(l.seg.name(), sizeof(listen_layout));
      if (!fresh) {
        if (!l.broken)
          log_->error("[shm] listen segment {} was removed or replaced and cannot be recreated: "
                      "{}; new connections cannot reach this node",
                      l.seg.name(), describe(fresh.error()));
        l.broken = true;
        continue;
      }
      auto* layout = new (fresh->data()) listen_layout;
      copy_name(layout->door, door_seg_.name());
      fresh->init_header(shm_segment_header::kind_listen, 0);
      log_->warn("[shm] listen segment {} was removed or replaced by another process; recreated",
                 fresh->name());
      l.seg.keep(); // the old name is not ours any more: never unlink it
      l.seg = std::move(*fresh);
      l.broken = false;
    }
    // A connector whose doorbell ring got lost (a scribbled door) is found by a rescan.
    accept_all();
  }

  void tick() {
    check_own_segments();
    auto now = now_ms();
    auto timeout = static_cast<uint64_t>(shm_.peer_timeout.count());
    // By index: `lose` reports to the listener, which may reconnect at once and so append to
    // `conns_` (a range-for would walk a reallocated vector).
    for (size_t i = 0; i < conns_.size(); ++i) {
      auto& c = *conns_[i];
      if (c.seg.data() == nullptr || c.lost.load())
        continue;
      c.me().heartbeat_ms.store(now, std::memory_order_relaxed);
      if (!c.attached.load()) {
        ring_listener(c); // the listener may have (re)started meanwhile
        continue;
      }
      if (c.over_budget.load()) {
        std::chrono::steady_clock::time_point since;
        size_t frames = 0;
        {
          std::lock_guard<spin_lock> guard{c.wlock};
          since = c.over_budget_since;
          frames = c.backlog.size();
        }
        if (std::chrono::steady_clock::now() - since > opts_.stalled_peer_timeout) {
          log_->warn("[shm] peer pid {} on {} has not read its replies for {} ms ({} frames "
                     "queued, over its budget): session dropped",
                     c.peer().pid.load(), c.segment_name, opts_.stalled_peer_timeout.count(),
                     frames);
          lose(c);
          continue;
        }
      }
      auto& peer = c.peer();
      bool gone = peer.state.load(std::memory_order_acquire) == side_closed
                  || !process_alive(peer.pid.load())
                  || now > peer.heartbeat_ms.load(std::memory_order_relaxed) + timeout;
      if (gone) {
        // Deliver what the peer wrote before it went away (e.g. its last responses).
        while (drain(c, 1024) > 0 && !c.lost.load())
          ;
        lose(c);
      }
    }
  }

  void close_conn(conn_id id) {
    auto* c = find(id);
    if (c == nullptr)
      return;
    table_[id % table_size].store(nullptr, std::memory_order_release);
    drop_backlog(*c);
    {
      // Waits for a sender inside the ring; later senders see `closed` (or no table entry).
      std::lock_guard<spin_lock> guard{c->wlock};
      c->closed = true;
      c->tx = shm_ring_producer{};
    }
    if (c->seg.data() != nullptr) {
      c->me().state.store(side_closed, std::memory_order_release);
      if (c->peer_door_seg)
        shm_notify(static_cast<door_layout*>(c->peer_door_seg.data())->door);
    }
    c->rx = shm_ring_consumer{};
    c->peer_door_seg = shm_segment{};
    c->seg = shm_segment{}; // unmaps; the creator also unlinks (if the listener never attached)
    c->lost = true;
  }

  void run() {
    io_thread_id_ = std::this_thread::get_id();
    auto next_tick = std::chrono::steady_clock::now();
    for (;;) {
      pending_.store(false);
      bool work = run_commands();
      auto connects = connects_->load();
      if (connects != seen_connects_) {
        seen_connects_ = connects;
        accept_all();
        work = true;
      }
      for (size_t i = 0; i < conns_.size(); ++i) // service() may add nothing; index is stable
        work = service(*conns_[i]) || work;
      auto now = std::chrono::steady_clock::now();
      if (now >= next_tick) {
        tick();
        listener_->on_tick(now);
        next_tick = now + opts_.tick_interval;
      }
      if (stopping_.load())
        break;
      if (work)
        continue;
      if (detail::spin_until([this] { return ready(); }, shm_.wait.spin))
        continue;
      shm_wait(
        *door_, [this] { return ready(); }, next_tick - std::chrono::steady_clock::now());
    }
    shutdown();
  }

  void shutdown() {
    // Bounded flush of the backlogs: a dead or stuck peer must not hang the node.
    auto deadline = std::chrono::steady_clock::now() + opts_.flush_timeout;
    while (queued_frames_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      for (auto& c : conns_)
        if (!c->lost.load() && c->attached.load())
          flush(*c);
      if (queued_frames_.load() == 0)
        break;
      shm_wait(
        *door_, [this] { return ready(); }, std::chrono::milliseconds{1});
    }
    for (auto& c : conns_)
      if (find(c->id) == c.get())
        close_conn(c->id);
    listens_.clear(); // unlinks the listen segments
    std::deque<std::function<void()>> rest;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      rest.swap(commands_);
    }
    for (auto& f : rest)
      f();
    door_seg_ = shm_segment{}; // after the last use of door_ on this thread
    door_ = nullptr;
  }

  static constexpr size_t table_size = 1024;

  transport_options opts_;
  shm_transport_options shm_;
  std::shared_ptr<spdlog::logger> log_;
  transport_listener* listener_ = nullptr;
  std::thread thread_;
  std::atomic<std::thread::id> io_thread_id_{};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> pending_{false};
  std::atomic<size_t> queued_frames_{0};
  std::atomic<size_t> queued_bytes_{0};

  shm_segment door_seg_;
  shm_waiter* door_ = nullptr;
  std::atomic<uint32_t>* connects_ = nullptr;

  // Guards `commands_` and `running_`.
  std::mutex mtx_;
  std::deque<std::function<void()>> commands_;
  bool running_ = false;

  // Lookup by id from any thread; entries are never freed before the destructor (a closed
  // connection keeps only its small object), so a racing sender never touches freed memory.
  std::array<std::atomic<connection*>, table_size> table_;

  // I/O thread only.
  std::vector<std::unique_ptr<connection>> conns_;
  std::vector<listen_entry> listens_;
  std::set<std::string> rejected_;
  uint32_t seen_connects_ = 0;
  uint64_t name_checks_ = 0;
  static constexpr uint64_t name_check_every = 20;
  conn_id next_id_ = 1;
};

} // namespace

std::unique_ptr<transport> make_shm_transport(transport_options opts,
                                              shm_transport_options shm_opts) {
  return std::make_unique<shm_transport>(opts, std::move(shm_opts));
}

} // namespace troupe::bridges
