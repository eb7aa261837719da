#include "troupe/bridges/hub.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#if defined(__x86_64__)
#  include <x86intrin.h>
#endif

#include <spdlog/spdlog.h>

#include "caf/actor_cast.hpp"
#include "caf/actor_config.hpp"
#include "caf/actor_registry.hpp"
#include "caf/actor_system.hpp"
#include "caf/execution_unit.hpp"
#include "caf/exit_reason.hpp"
#include "caf/mailbox_element.hpp"
#include "caf/make_actor.hpp"
#include "caf/proxy_registry.hpp"
#include "caf/scheduler/abstract_coordinator.hpp"
#include "caf/sec.hpp"
#include "caf/system_messages.hpp"

#include "troupe/bridges/codec.hpp"
#include "troupe/bridges/detail/log_limiter.hpp"
#include "troupe/bridges/detail/peer.hpp"
#include "troupe/bridges/multi_transport.hpp"
#include "troupe/bridges/proxy.hpp"
#include "troupe/errc.hpp"
#include "troupe/events.hpp"

namespace troupe::detail {

using bridges::conn_id;
using bridges::frame_kind;
using clock_type = std::chrono::steady_clock;

/// How long `stop` waits for peers to confirm its goodbye.
constexpr auto goodbye_timeout = std::chrono::milliseconds{250};

namespace {

// Lets the decoder turn actor handles of other nodes into proxies: CAF's `load_actor` asks the
// execution unit of the deserializer for its proxy registry.
class hub_execution_unit final : public caf::execution_unit {
public:
  hub_execution_unit(caf::actor_system& sys, caf::proxy_registry* reg) : caf::execution_unit(&sys) {
    proxy_registry_ptr(reg);
  }

  void exec_later(caf::resumable* ptr) override {
    system().scheduler().enqueue(ptr);
  }
};

/// A resumable whose inline runs took longer than the budget twice in a row stays off the I/O
/// thread this long, so that a slow handler stalls the thread twice rather than on every frame.
/// Twice: a single overrun is as likely the I/O thread being preempted (the transport's own
/// threads share its core) as a slow handler.
constexpr auto slow_cooloff = std::chrono::milliseconds{100};

/// Upper bound of inline runs per frame, whatever their duration.
constexpr size_t max_inline_runs = 64;

// The clock of inline runs, read twice per frame that wakes an actor: on x86-64 the TSC (the
// kernel's clocksource on these machines; a read costs a fraction of steady_clock's vDSO call,
// which was the top symbol of the I/O thread's profile), calibrated once against steady_clock;
// elsewhere steady_clock. Only differences of two readings on one thread are used, against
// budgets of tens of microseconds.
class run_clock {
public:
  using ticks = uint64_t;

  static ticks now() noexcept {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return static_cast<ticks>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
  }

  /// Returns `d` in ticks.
  static ticks from(std::chrono::nanoseconds d) {
    static const double per_ns = ticks_per_ns();
    return static_cast<ticks>(static_cast<double>(d.count()) * per_ns);
  }

  /// Returns `later - earlier`, or 0 if the counter went backwards (another core's TSC).
  static ticks elapsed(ticks earlier, ticks later) noexcept {
    return later > earlier ? later - earlier : 0;
  }

private:
  static double ticks_per_ns() {
#if defined(__x86_64__)
    // 200 us of spinning, once per process: both readings bracket the same interval, so a
    // preemption in between does not skew the ratio.
    auto t0 = std::chrono::steady_clock::now();
    auto c0 = __rdtsc();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::microseconds{200}) {
      // spin
    }
    auto c1 = __rdtsc();
    auto t1 = std::chrono::steady_clock::now();
    auto ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    return c1 > c0 && ns > 0 ? static_cast<double>(c1 - c0) / ns : 1.0;
#else
    using period = std::chrono::steady_clock::period;
    return static_cast<double>(period::den) / (1e9 * static_cast<double>(period::num));
#endif
  }
};

// The execution unit of one I/O thread of one hub: CAF's `scheduled_actor::enqueue` calls
// `exec_later` for an actor it woke with this unit, and `run_queued` then resumes those actors
// on the I/O thread right after the frame instead of waking a scheduler worker (a cross-core
// wakeup, plus CAF 0.17's double wakeup). Detached actors (private thread) and blocking actors
// (scoped_actor: own condition variable) never reach `exec_later`.
// @note One unit per thread: `queue_`, `draining_` and `slow_` are touched only by the thread for
//       which `tl_running` points at this unit; `exec_later` from any other thread (an actor's
//       stale `context()` after its inline run) forwards to the scheduler. Units are pooled and
//       never freed, because such stale pointers may outlive the hub.
class io_execution_unit final : public caf::execution_unit {
public:
  void assign(caf::actor_system& sys, caf::proxy_registry* reg, std::chrono::microseconds budget) {
    system_ = &sys;
    proxy_registry_ptr(reg);
    budget_ = budget;
    budget_ticks_ = run_clock::from(budget);
    cooloff_ticks_ = run_clock::from(slow_cooloff);
  }

  void retire() {
    proxy_registry_ptr(nullptr);
    budget_ = std::chrono::microseconds{0};
    last_sender = sender_cache{};
    last_conn = conn_cache{};
    slow_.fill(slow_entry{}); // the next hub's actors may reuse these addresses
  }

  /// The remote sender this thread resolved last: frames of one sender come in runs, and the
  /// proxy registry costs a mutex and two map lookups (one hashing the node id) per frame.
  /// Dropped on that sender's `down` (the only erasure of a single proxy, and it arrives on the
  /// same connection, hence thread); a lost session is a new `peer`.
  struct sender_cache {
    std::shared_ptr<peer> session;
    caf::actor_id aid = 0;
    caf::strong_actor_ptr proxy;
  } last_sender;

  /// The session of the connection this thread read last, valid while the hub's `conn_gen_` is
  /// `gen` (saves the hub mutex and a map lookup per frame).
  struct conn_cache {
    conn_id conn = 0;
    uint64_t gen = 0;
    std::shared_ptr<peer> session;
  } last_conn;

  void exec_later(caf::resumable* ptr) override;

  /// Resumes the queued actors within the budget and hands the rest to the scheduler. Returns at
  /// once when called from inside one of those runs (the outer loop picks up what they queue).
  void run_queued();

private:
  struct slow_entry {
    caf::resumable* job = nullptr;
    bool strike = false; // the last run overran the budget
    run_clock::ticks until = 0;
  };

  void forward(caf::resumable* job) {
    // The job's own system: a stale context may point at a unit reassigned to another hub.
    if (auto a = dynamic_cast<caf::abstract_actor*>(job))
      a->home_system().scheduler().enqueue(job);
    else
      system().scheduler().enqueue(job);
  }

  slow_entry* find_slow(caf::resumable* job) {
    for (auto& e : slow_)
      if (e.job == job)
        return &e;
    return nullptr;
  }

  bool is_slow(caf::resumable* job, run_clock::ticks now) {
    auto e = find_slow(job);
    return e != nullptr && now < e->until;
  }

  // Records a run of `job` and whether it overran the budget.
  void record_run(caf::resumable* job, bool overran, run_clock::ticks now) {
    auto e = find_slow(job);
    if (!overran) {
      if (e != nullptr)
        e->strike = false;
      return;
    }
    if (e == nullptr) {
      // A pointer reused by a new actor only costs that actor a strike or a cool-off.
      e = &slow_[next_slow_++ % slow_.size()];
      *e = slow_entry{job, true, 0};
      return;
    }
    if (e->strike)
      e->until = now + cooloff_ticks_;
    e->strike = true;
  }

  std::chrono::microseconds budget_{0};
  run_clock::ticks budget_ticks_ = 0;
  run_clock::ticks cooloff_ticks_ = 0;
  std::vector<caf::resumable*> queue_;
  size_t head_ = 0;
  bool draining_ = false;
  std::array<slow_entry, 8> slow_{};
  size_t next_slow_ = 0;
};

// The unit whose frame this thread is handling right now, if any.
thread_local io_execution_unit* tl_running = nullptr;

/// The session whose frame the I/O thread is handling: the last hop towards actors of nodes this
/// node has no session with (a delegated request's original sender, handles inside the payload).
thread_local std::shared_ptr<troupe::detail::peer>* tl_last_hop = nullptr;

void io_execution_unit::exec_later(caf::resumable* ptr) {
  if (tl_running != this || budget_.count() == 0
      || ptr->subtype() != caf::resumable::scheduled_actor) {
    forward(ptr);
    return;
  }
  queue_.push_back(ptr);
}

void io_execution_unit::run_queued() {
  if (draining_ || head_ == queue_.size())
    return;
  draining_ = true;
  auto start = run_clock::now();
  auto last = start;
  size_t runs = 0;
  // Index loop: resumed actors append to `queue_` (local sends, `resume_later`).
  while (head_ < queue_.size()) {
    auto job = queue_[head_++];
    if (runs > 0 && (run_clock::elapsed(start, last) >= budget_ticks_ || runs >= max_inline_runs)) {
      forward(job); // keeps the reference CAF took for the wakeup
      continue;
    }
    if (is_slow(job, last)) {
      forward(job);
      continue;
    }
    auto before = last;
    // One message per run: the budget is checked between messages, never inside a handler.
    auto res = job->resume(this, 1);
    ++runs;
    last = run_clock::now();
    record_run(job, run_clock::elapsed(before, last) > budget_ticks_, last);
    switch (res) {
      case caf::resumable::resume_later: queue_.push_back(job); break;
      case caf::resumable::done:
        if (auto e = find_slow(job))
          *e = slow_entry{}; // its address may be reused by a new actor
        caf::intrusive_ptr_release(job);
        break;
      case caf::resumable::awaiting_message:
        // As CAF's worker does: drop the reference taken when the actor was woken.
        caf::intrusive_ptr_release(job);
        break;
      default: break; // shutdown_execution_unit: only the scheduler's own shutdown job
    }
  }
  queue_.clear();
  head_ = 0;
  draining_ = false;
}

// Marks the calling thread as handling a frame with `eu` and, on leaving, runs what the frame
// woke. Nested scopes (a frame delivered from inside an inline run) leave the running to the
// outermost one.
class inline_scope {
public:
  explicit inline_scope(io_execution_unit& eu) : eu_(eu), prev_(std::exchange(tl_running, &eu)) {
    // nop
  }

  inline_scope(const inline_scope&) = delete;
  inline_scope& operator=(const inline_scope&) = delete;

  ~inline_scope() {
    eu_.run_queued();
    tl_running = prev_;
  }

private:
  io_execution_unit& eu_;
  io_execution_unit* prev_;
};

// Units outlive their hub (see io_execution_unit); a retired one serves the next hub.
struct io_unit_pool {
  std::mutex mtx;
  std::vector<std::unique_ptr<io_execution_unit>> all;
  std::vector<io_execution_unit*> idle;

  io_execution_unit* acquire() {
    std::lock_guard<std::mutex> guard{mtx};
    if (!idle.empty()) {
      auto result = idle.back();
      idle.pop_back();
      return result;
    }
    all.emplace_back(std::make_unique<io_execution_unit>());
    return all.back().get();
  }

  void release(io_execution_unit* eu) {
    eu->retire();
    std::lock_guard<std::mutex> guard{mtx};
    idle.push_back(eu);
  }

  static io_unit_pool& instance() {
    static auto* pool = new io_unit_pool; // never destroyed: stale contexts may outlive main
    return *pool;
  }
};

std::atomic<uint64_t> next_hub_id{1};

/// Microseconds of the steady clock: the timestamp of heartbeat probes (never 0).
uint64_t steady_us() {
  auto t = std::chrono::steady_clock::now().time_since_epoch();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(t).count())
         | 1u;
}

std::vector<char> make_frame(frame_kind kind, caf::actor_id sender, caf::actor_id receiver,
                             uint64_t mid) {
  std::vector<char> frame;
  bridges::encode_header(frame, kind, sender, receiver, {}, mid);
  return frame;
}

} // namespace

class hub_core final : public bridges::transport_listener, public caf::proxy_registry::backend {
public:
  hub_core(caf::actor_system& sys, std::string name, bridges::hub_options opts,
           bridges::hub::name_resolver resolver)
    : sys_(sys), name_(std::move(name)), opts_(std::move(opts)), resolve_(std::move(resolver)),
      log_(opts_.logger ? opts_.logger : spdlog::default_logger()), proxies_(sys, *this),
      eu_(sys, &proxies_), my_types_(bridges::registered_type_names(sys)) {
    bridges::transport_options topts;
    topts.max_frame_size = opts_.max_frame_size;
    topts.max_queued_frames = opts_.max_queued_frames;
    topts.max_queued_bytes = opts_.max_queued_bytes;
    topts.logger = log_;
    topts.curve_public_key = opts_.curve_public_key;
    topts.curve_secret_key = opts_.curve_secret_key;
    topts.tick_interval
      = std::max(std::chrono::milliseconds{5},
                 std::min(std::chrono::milliseconds{50}, opts_.heartbeat_interval / 2));
    auto sopts = opts_.shm;
    if (sopts.name.empty())
      sopts.name = name_;
    sopts.peer_timeout = opts_.heartbeat_timeout;
    tr_ = bridges::make_multi_transport(topts, std::move(sopts));
    if (auto err = tr_->start(this))
      log_->error("[{}] cannot start transport: {}", name_, describe(err));
  }

  ~hub_core() override {
    stop();
    // The I/O threads are joined: no frame handler uses these units any more.
    std::lock_guard<std::mutex> guard{units_mtx_};
    for (auto& [tid, eu] : units_)
      io_unit_pool::instance().release(eu);
    units_.clear();
  }

  const std::string& name() const {
    return name_;
  }

  // -- public API -----------------------------------------------------------------------------

  caf::expected<std::string> listen(const std::string& endpoint) {
    if (stopped_)
      return make_error(errc::invalid_state, "hub stopped");
    auto res = tr_->listen(endpoint);
    if (res)
      log_->info("[{}] listening on {}", name_, *res);
    return res;
  }

  caf::error connect(const std::string& peer_node, const std::string& endpoint) {
    if (stopped_)
      return make_error(errc::invalid_state, "hub stopped");
    if (tr_->on_io_thread())
      return make_error(errc::invalid_state, "connect called on the I/O thread");
    {
      // One session per pair of nodes: while the hub re-establishes a lost session by itself (or
      // another caller connects), wait for that attempt instead of opening a second connection
      // that would knock the first one out.
      std::unique_lock<std::mutex> guard{mtx_};
      auto attempt_pending = [&] {
        return std::any_of(outgoing_.begin(), outgoing_.end(), [&](auto& kvp) {
          return kvp.second.peer_name == peer_node && !kvp.second.session && !kvp.second.failure;
        });
      };
      if (by_name_.count(peer_node) > 0)
        return caf::none;
      if (attempt_pending()) {
        cv_.wait_for(guard, opts_.connect_timeout, [&] {
          return stopped_ || by_name_.count(peer_node) > 0 || !attempt_pending();
        });
        if (by_name_.count(peer_node) > 0)
          return caf::none;
        if (attempt_pending())
          return make_error(errc::timeout, "no handshake from " + peer_node + " at " + endpoint
                                             + " (reconnecting)");
      }
    }
    auto conn = tr_->connect(endpoint);
    if (!conn)
      return conn.error();
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto& o = outgoing_[*conn];
      o.peer_name = peer_node;
      o.endpoint = endpoint;
      o.last_hello = clock_type::now();
    }
    send_hello(*conn, false);
    std::unique_lock<std::mutex> guard{mtx_};
    // The I/O thread may replace a connection that broke before its handshake (see on_tick).
    auto current = [&] {
      auto c = *conn;
      for (auto r = replaced_.find(c); r != replaced_.end(); r = replaced_.find(c))
        c = r->second;
      return c;
    };
    auto ok = cv_.wait_for(guard, opts_.connect_timeout, [&] {
      auto i = outgoing_.find(current());
      return i == outgoing_.end() || i->second.session != nullptr || i->second.failure;
    });
    auto cur = current();
    for (auto c = *conn; c != cur;) {
      auto r = replaced_.find(c);
      c = r->second;
      replaced_.erase(r);
    }
    auto i = outgoing_.find(cur);
    if (i == outgoing_.end())
      return make_error(errc::invalid_state, "hub stopped while connecting");
    if (ok && i->second.session)
      return caf::none;
    auto err = i->second.failure
                 ? i->second.failure
                 : make_error(errc::timeout, "no handshake from " + peer_node + " at " + endpoint);
    outgoing_.erase(i);
    guard.unlock();
    tr_->disconnect(cur);
    return err;
  }

  bool connected(const std::string& peer_node) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return by_name_.count(peer_node) > 0;
  }

  caf::expected<caf::actor> remote_lookup(const std::string& peer_node, const std::string& name,
                                          std::chrono::milliseconds timeout) {
    // The reply would have to be read by this very thread: fail now instead of stalling every
    // peer for `timeout` (an actor run inline by a frame lands here).
    if (tr_->on_io_thread())
      return make_error(errc::invalid_state, "remote_lookup called on the I/O thread");
    std::shared_ptr<peer> p;
    uint64_t id;
    std::future<caf::expected<caf::actor>> fut;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = by_name_.find(peer_node);
      if (i == by_name_.end())
        return make_error(errc::peer_lost, "not connected to node " + peer_node);
      p = i->second;
      id = next_lookup_++;
      auto& st = lookups_[id];
      st.peer_name = peer_node;
      fut = st.promise.get_future();
    }
    auto frame = make_frame(frame_kind::lookup, 0, 0, id);
    bridges::encode_str_body(frame, name);
    if (auto err = p->send(std::move(frame))) {
      std::lock_guard<std::mutex> guard{mtx_};
      lookups_.erase(id);
      return err;
    }
    if (fut.wait_for(timeout) == std::future_status::ready)
      return fut.get();
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = lookups_.find(id);
    if (i == lookups_.end())
      return fut.get(); // answered in the meantime
    lookups_.erase(i);
    return make_error(errc::timeout, "no lookup reply from " + peer_node + " for " + name);
  }

  void stop() {
    if (stopped_.exchange(true))
      return;
    auto peers = all_peers();
    for (auto& p : peers) {
      auto frame = make_frame(frame_kind::goodbye, 0, 0, 0);
      bridges::encode_nil_body(frame);
      static_cast<void>(p->send(std::move(frame)));
    }
    // Wait (bounded) for every peer to confirm: closing a socket right after the last send loses
    // that frame in libzmq now and then, and the peer would then wait for its heartbeat timeout.
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait_for(guard, goodbye_timeout, [&] {
        return std::none_of(peers.begin(), peers.end(), [](auto& p) { return p->alive(); });
      });
    }
    tr_->stop();
    {
      // The I/O threads are gone: release what their caches hold.
      std::lock_guard<std::mutex> guard{units_mtx_};
      for (auto& [tid, eu] : units_) {
        eu->last_sender = {};
        eu->last_conn = {};
      }
    }
    for (auto& p : peers)
      peer_lost(p, "local node stopped");
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto& kvp : lookups_)
        kvp.second.promise.set_value(make_error(errc::peer_lost, "local node stopped"));
      lookups_.clear();
      outgoing_.clear();
      replaced_.clear();
    }
    cv_.notify_all();
    proxies_.clear();
  }

  bridges::hub_stats stats() const {
    bridges::hub_stats result;
    result.bad_frames = bad_frames_.load();
    result.queue_depth = tr_->queue_depth();
    std::vector<std::shared_ptr<peer>> peers;
    {
      // Copy first: `proxies_` takes its own lock, which must never nest inside `mtx_`.
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto& kvp : by_name_)
        peers.push_back(kvp.second);
    }
    for (auto& p : peers) {
      bridges::peer_stats ps;
      ps.node = p->name();
      ps.connected = p->alive();
      ps.frames_in = p->counters.frames_in.load();
      ps.frames_out = p->counters.frames_out.load();
      ps.bytes_in = p->counters.bytes_in.load();
      ps.bytes_out = p->counters.bytes_out.load();
      ps.errors = p->counters.errors.load();
      ps.dropped = p->counters.dropped.load();
      ps.pending_requests = p->pending_requests();
      ps.rtt_last_us = p->counters.rtt_last_us.load();
      ps.rtt_sum_us = p->counters.rtt_sum_us.load();
      ps.rtt_count = p->counters.rtt_count.load();
      for (auto& b : p->counters.rtt_buckets)
        ps.rtt_buckets.push_back(b.load());
      result.proxies += proxies_.count_proxies(p->node());
      result.peers.emplace_back(std::move(ps));
    }
    return result;
  }

  // -- proxy_registry::backend ----------------------------------------------------------------

  caf::strong_actor_ptr make_proxy(caf::node_id nid, caf::actor_id aid) override {
    if (!nid || aid == 0)
      return nullptr;
    std::shared_ptr<peer> p;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = by_node_.find(nid);
      if (i != by_node_.end())
        p = i->second;
    }
    bool routed = false;
    if ((!p || !p->alive()) && tl_last_hop != nullptr && *tl_last_hop && (*tl_last_hop)->alive()) {
      // No session with that node, but the frame naming it came through a peer that has one (a
      // delegated request from a third node, a handle passed along): reach it through that hop.
      p = *tl_last_hop;
      routed = true;
      std::lock_guard<std::mutex> guard{mtx_};
      routed_via_[p->node()].insert(nid);
    }
    // No route at all: the handle decodes as invalid rather than as a proxy that could never
    // deliver.
    if (!p || !p->alive())
      return nullptr;
    // Called under the proxy registry's lock: count in the peer, never ask the registry.
    if (p->counters.proxies.load(std::memory_order_relaxed) >= opts_.max_proxies_per_peer)
      return nullptr; // handle_message rejects the frame and logs it
    p->counters.proxies.fetch_add(1, std::memory_order_relaxed);
    caf::actor_config cfg;
    auto result
      = caf::make_actor<bridges::remote_proxy, caf::strong_actor_ptr>(aid, nid, &sys_, cfg, p);
    if (routed)
      return result; // the hop forwards messages, but does not report the actor's termination
    // Watch the real actor: the peer answers with `down` when it terminates.
    auto frame = make_frame(frame_kind::monitor, 0, aid, 0);
    bridges::encode_nil_body(frame);
    static_cast<void>(p->send(std::move(frame)));
    return result;
  }

  void set_last_hop(caf::node_id*) override {
    // Routing is direct (one session per node pair); there is no last hop to remember.
  }

  // -- transport_listener (I/O thread) --------------------------------------------------------

  void on_frame(conn_id conn, const char* data, size_t size) override {
    auto& eu = local_unit();
    inline_scope scope{eu}; // runs the actors this frame woke, on leaving
    auto p = cached_peer_for(eu, conn);
    auto env = bridges::decode_envelope(data, size, opts_.max_frame_size);
    if (!env) {
      reject(p, conn, env.error());
      return;
    }
    if (p) {
      // No clock here: `on_tick` turns a change of `frames_in` into `last_seen`.
      p->counters.frames_in.fetch_add(1, std::memory_order_relaxed);
      p->counters.bytes_in.fetch_add(size, std::memory_order_relaxed);
    }
    switch (env->kind) {
      case frame_kind::hello:
      case frame_kind::hello_ack:
        handle_hello(conn, *env, env->kind == frame_kind::hello_ack);
        return;
      case frame_kind::hello_reject: {
        auto why = bridges::decode_str_body(env->body, env->body_size);
        log_->warn("[{}] peer on connection {} rejected our hello: {}", name_, conn,
                   why ? *why : std::string{"(no reason)"});
        return;
      }
      default: break;
    }
    if (!p) {
      if (session_ended_on(conn)) {
        // In flight when the session ended (e.g. the `down`s a stopping peer sends while its
        // actors terminate): late, not malformed.
        log_->debug("[{}] dropped a {} frame that arrived after its session ended", name_,
                    bridges::to_string(env->kind));
        return;
      }
      reject(p, conn,
             make_error(errc::bad_frame, std::string{"frame of kind "}
                                           + bridges::to_string(env->kind) + " before hello"));
      return;
    }
    struct hop_scope {
      explicit hop_scope(std::shared_ptr<peer>* x) : prev(std::exchange(tl_last_hop, x)) {}
      ~hop_scope() {
        tl_last_hop = prev;
      }
      std::shared_ptr<peer>* prev;
    } hop{&p};
    switch (env->kind) {
      case frame_kind::message: handle_message(p, *env); break;
      case frame_kind::monitor: handle_monitor(p, *env); break;
      case frame_kind::down: handle_down(p, *env); break;
      case frame_kind::link:
      case frame_kind::unlink: handle_link(p, *env, env->kind == frame_kind::link); break;
      case frame_kind::lookup: handle_lookup(p, *env); break;
      case frame_kind::lookup_reply: handle_lookup_reply(p, *env); break;
      case frame_kind::heartbeat: handle_heartbeat(p, *env); break;
      case frame_kind::goodbye:
        if (env->mid == 0) {
          // Confirm (mid 1), so that the closing side can close its socket without losing frames.
          auto ack = make_frame(frame_kind::goodbye, 0, 0, 1);
          bridges::encode_nil_body(ack);
          static_cast<void>(p->send(std::move(ack)));
        }
        peer_lost(p, "goodbye");
        break;
      default: break;
    }
  }

  void on_unreachable(conn_id conn) override {
    if (auto p = peer_for(conn)) {
      peer_lost(p, "connection unreachable");
      return;
    }
    // An outgoing connection that broke before its handshake completed (over shm: the listener
    // attached and went away, e.g. while it was stopping). The next tick opens a fresh one.
    std::lock_guard<std::mutex> guard{mtx_};
    auto o = outgoing_.find(conn);
    if (o != outgoing_.end() && !o->second.session)
      o->second.broken = true;
  }

  void on_tick(clock_type::time_point now) override {
    // With several transports every I/O thread ticks; each one watches only its own sessions, so
    // `last_seen` and `last_heartbeat` stay confined to the thread that receives the peer's frames.
    for (auto& p : all_peers()) {
      if (!tr_->on_io_thread_of(p->conn()))
        continue;
      auto frames = p->counters.frames_in.load(std::memory_order_relaxed);
      if (frames != p->frames_at_tick) {
        p->frames_at_tick = frames;
        p->last_seen = now;
      }
      if (now - p->last_seen > opts_.heartbeat_timeout) {
        peer_lost(p, "heartbeat timeout");
      } else if (now - p->last_heartbeat >= opts_.heartbeat_interval) {
        p->last_heartbeat = now;
        // A probe: mid carries our clock (µs), the peer echoes it (see handle_heartbeat).
        auto frame = make_frame(frame_kind::heartbeat, 0, 0, steady_us());
        bridges::encode_nil_body(frame);
        static_cast<void>(p->send(std::move(frame)));
      }
    }
    std::vector<conn_id> hellos;
    std::vector<std::pair<conn_id, outgoing>> broken;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto i = outgoing_.begin(); i != outgoing_.end();) {
        auto& [conn, o] = *i;
        if (o.session || !tr_->on_io_thread_of(conn)) {
          ++i;
        } else if (o.broken) {
          broken.emplace_back(conn, std::move(o));
          i = outgoing_.erase(i);
        } else {
          if (now - o.last_hello >= opts_.heartbeat_interval) {
            o.last_hello = now;
            hellos.push_back(conn);
          }
          ++i;
        }
      }
    }
    for (auto conn : hellos)
      send_hello(conn, false);
    for (auto& [old_conn, o] : broken) {
      tr_->disconnect(old_conn);
      if (stopped_)
        continue;
      auto nc = tr_->connect(o.endpoint);
      std::lock_guard<std::mutex> guard{mtx_};
      if (!nc) {
        log_->warn("[{}] cannot reconnect to {}: {}", name_, o.peer_name, describe(nc.error()));
        continue; // a waiting `connect` finds no entry and fails
      }
      o.broken = false;
      o.last_hello = clock_type::time_point{}; // hello at the next tick
      outgoing_[*nc] = std::move(o);
      replaced_[old_conn] = *nc;
    }
    if (!broken.empty())
      cv_.notify_all();
  }

private:
  struct outgoing {
    std::string peer_name;
    std::string endpoint;
    std::shared_ptr<peer> session;
    clock_type::time_point last_hello;
    caf::error failure;
    /// The transport reported the connection gone before the handshake completed.
    bool broken = false;
  };

  struct lookup_state {
    std::string peer_name;
    std::promise<caf::expected<caf::actor>> promise;
  };

  // Returns the execution unit of the calling (I/O) thread, creating it on first use.
  io_execution_unit& local_unit() {
    thread_local uint64_t tl_hub = 0;
    thread_local io_execution_unit* tl_unit = nullptr;
    if (tl_hub == id_)
      return *tl_unit;
    auto tid = std::this_thread::get_id();
    std::lock_guard<std::mutex> guard{units_mtx_};
    auto i = std::find_if(units_.begin(), units_.end(), [&](auto& x) { return x.first == tid; });
    if (i == units_.end()) {
      auto eu = io_unit_pool::instance().acquire();
      eu->assign(sys_, &proxies_, opts_.inline_budget);
      i = units_.emplace(units_.end(), tid, eu);
    }
    tl_hub = id_;
    tl_unit = i->second;
    return *tl_unit;
  }

  std::shared_ptr<peer> cached_peer_for(io_execution_unit& eu, conn_id conn) {
    auto& cache = eu.last_conn;
    // Read before the lookup: a change in between leaves a stale `gen` behind, never a stale peer.
    auto gen = conn_gen_.load(std::memory_order_acquire);
    if (cache.session && cache.conn == conn && cache.gen == gen)
      return cache.session;
    auto result = peer_for(conn);
    cache = {conn, gen, result};
    return result;
  }

  bool session_ended_on(conn_id conn) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return ended_.count(conn) > 0;
  }

  std::shared_ptr<peer> peer_for(conn_id conn) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = by_conn_.find(conn);
    return i != by_conn_.end() ? i->second : nullptr;
  }

  std::vector<std::shared_ptr<peer>> all_peers() const {
    std::vector<std::shared_ptr<peer>> result;
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& kvp : by_conn_)
      result.push_back(kvp.second);
    return result;
  }

  void reject(const std::shared_ptr<peer>& p, conn_id conn, const caf::error& err) {
    auto n = bad_frames_.fetch_add(1) + 1;
    if (p)
      p->counters.errors.fetch_add(1, std::memory_order_relaxed);
    // Rate-limited per time window (not per node life) and per connection: a hostile peer must
    // not be able to flood the log nor hide another peer's rejects, and later attacks still leave
    // a trace once the window has passed.
    uint64_t suppressed = 0;
    if (!reject_log_.allow(conn, suppressed))
      return;
    if (suppressed > 0)
      log_->warn("[{}] {} rejected frame(s) not logged in the last window", name_, suppressed);
    log_->warn("[{}] rejected frame from {} (#{}): {}", name_,
               p ? p->name() : "connection " + std::to_string(conn), n, describe(err));
  }

  // 20 lines per 10 s for the node, 5 of them per connection.
  troupe::detail::log_limiter reject_log_{20, 5, std::chrono::seconds{10}};
  // Session lines (hello, established, lost) are triggered by peers too: 20k hellos once wrote
  // 86 MB of log. 50 lines per 10 s for the node, 10 per connection.
  troupe::detail::log_limiter session_log_{50, 10, std::chrono::seconds{10}};

  // Whether a session line about `conn` may be logged (see `session_log_`).
  bool session_log_ok(conn_id conn) {
    uint64_t suppressed = 0;
    auto ok = session_log_.allow(conn, suppressed);
    if (suppressed > 0)
      log_->warn("[{}] {} session log line(s) not logged in the last window", name_, suppressed);
    return ok;
  }

  /// Tells the sender of a `hello` why it gets no session (docs/PROTOCOL.md §4).
  void send_hello_reject(conn_id conn, const std::string& reason) {
    auto frame = make_frame(frame_kind::hello_reject, 0, 0, 0);
    bridges::encode_str_body(frame, reason);
    static_cast<void>(tr_->send(conn, std::move(frame)));
  }

  void send_hello(conn_id conn, bool ack) {
    bridges::hello_body hb{name_, sys_.node(),
                           static_cast<uint32_t>(opts_.heartbeat_interval.count()), my_types_};
    if (ack) // tells clients when this node drops a silent session (docs/PROTOCOL.md §4)
      hb.heartbeat_timeout_ms = static_cast<uint32_t>(opts_.heartbeat_timeout.count());
    auto frame = make_frame(ack ? frame_kind::hello_ack : frame_kind::hello, 0, 0, 0);
    bridges::encode_hello(frame, hb);
    static_cast<void>(tr_->send(conn, std::move(frame)));
  }

  void handle_hello(conn_id conn, const bridges::envelope& env, bool ack) {
    if (stopped_)
      return; // stopping: no new sessions (a peer's reconnect would otherwise slip in)
    auto hb = bridges::decode_hello(env.body, env.body_size);
    if (!hb) {
      reject(peer_for(conn), conn, hb.error());
      if (!ack)
        send_hello_reject(conn, describe(hb.error()));
      return;
    }
    if (hb->node == sys_.node() || hb->node_name == name_) {
      reject(nullptr, conn, make_error(errc::bad_frame, "hello from this very node"));
      if (!ack)
        send_hello_reject(conn, "hello from this very node (same node id or name)");
      return;
    }
    auto now = clock_type::now();
    if (ack) {
      std::lock_guard<std::mutex> guard{mtx_};
      auto o = outgoing_.find(conn);
      if (o == outgoing_.end()) {
        bad_frames_.fetch_add(1);
        return;
      }
      if (o->second.peer_name != hb->node_name) {
        o->second.failure = make_error(errc::bad_config, "expected node " + o->second.peer_name
                                                           + ", found " + hb->node_name);
        cv_.notify_all();
        return;
      }
    }
    std::shared_ptr<peer> existing;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = by_name_.find(hb->node_name);
      if (i != by_name_.end())
        existing = i->second;
    }
    if (existing && existing->node() == hb->node) {
      // Same incarnation: a repeated hello or a socket that reconnected under a new routing id.
      auto old_conn = existing->conn();
      bool drop_old = false;
      if (old_conn != conn) {
        std::lock_guard<std::mutex> guard{mtx_};
        by_conn_.erase(old_conn);
        by_conn_[conn] = existing;
        conn_gen_.fetch_add(1, std::memory_order_release);
        existing->conn(conn);
        if (ack) {
          // A second outgoing connection reached the same incarnation: it carries the session
          // now (so that its loss is noticed and re-established), and the first one goes.
          if (auto o = outgoing_.find(conn); o != outgoing_.end())
            o->second.session = existing;
          if (auto o = outgoing_.find(old_conn); o != outgoing_.end()) {
            outgoing_.erase(o);
            drop_old = true;
          }
        }
      }
      if (drop_old) {
        cv_.notify_all();
        tr_->disconnect(old_conn);
      }
      existing->last_seen = now;
      if (!ack)
        send_hello(conn, true);
      return;
    }
    if (existing)
      peer_lost(existing, "replaced by a new incarnation of the node");
    if (auto other = peer_for(conn))
      peer_lost(other, "connection reused by another node");
    auto types = hb->types;
    std::sort(types.begin(), types.end());
    auto p = std::make_shared<peer>(hb->node_name, hb->node, conn, tr_.get(), types);
    p->last_seen = now;
    p->last_heartbeat = now;
    std::vector<std::string> missing;
    std::set_difference(my_types_.begin(), my_types_.end(), types.begin(), types.end(),
                        std::back_inserter(missing));
    if (!missing.empty() && session_log_ok(conn)) {
      std::string list;
      for (size_t i = 0; i < missing.size() && i < 5; ++i)
        list += (list.empty() ? "" : ", ") + missing[i];
      if (missing.size() > 5)
        list += ", ...";
      log_->warn("[{}] node {} cannot decode {} of our types (messages with them are refused): {}",
                 name_, hb->node_name, missing.size(), list);
    }
    if (!ack)
      send_hello(conn, true);
    std::string how = "incoming";
    bool again = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      by_conn_[conn] = p;
      ended_.erase(conn);
      conn_gen_.fetch_add(1, std::memory_order_release);
      by_node_[p->node()] = p;
      by_name_[p->name()] = p;
      again = !ever_connected_.insert(p->name()).second;
      if (ack) {
        auto o = outgoing_.find(conn);
        if (o != outgoing_.end()) {
          o->second.session = p;
          how = "outgoing, " + o->second.endpoint;
        }
      }
    }
    cv_.notify_all();
    if (session_log_ok(conn))
      log_->info("[{}] session with {} established ({})", name_, p->name(), how);
    emit_event(again ? "peer_reconnected" : "peer_connected",
               {{"node", name_}, {"peer", p->name()}, {"how", how}});
  }

  caf::strong_actor_ptr resolve_sender(const std::shared_ptr<peer>& p,
                                       const bridges::envelope& env) {
    if (env.sender == 0)
      return nullptr;
    if (!env.sender_node) {
      auto& cache = tl_running->last_sender; // only called from `on_frame`
      if (cache.session == p && cache.aid == env.sender)
        return cache.proxy;
      auto result = proxies_.get_or_put(p->node(), env.sender);
      if (result)
        cache = {p, env.sender, result};
      return result;
    }
    if (env.sender_node == sys_.node())
      return sys_.registry().get(env.sender);
    return proxies_.get_or_put(env.sender_node, env.sender);
  }

  caf::strong_actor_ptr resolve_receiver(const std::shared_ptr<peer>& p,
                                         const bridges::envelope& env) {
    if (!env.receiver_name.empty()) {
      if (!resolve_)
        return nullptr;
      auto h = resolve_(env.receiver_name);
      return caf::actor_cast<caf::strong_actor_ptr>(h);
    }
    return local_by_id(p, env.receiver);
  }

  caf::strong_actor_ptr local_by_id(const std::shared_ptr<peer>& p, caf::actor_id aid) {
    if (auto result = sys_.registry().get(aid))
      return result;
    return p->linked_local(aid);
  }

  void handle_message(const std::shared_ptr<peer>& p, const bridges::envelope& env) {
    auto mid = caf::message_id{env.mid};
    auto src = resolve_sender(p, env);
    if (!src && env.sender != 0
        && p->counters.proxies.load(std::memory_order_relaxed) >= opts_.max_proxies_per_peer) {
      reject(p, p->conn(),
             make_error(errc::overloaded, "node " + p->name() + " named more than "
                                            + std::to_string(opts_.max_proxies_per_peer)
                                            + " distinct actors (max_proxies_per_peer)"));
      return;
    }
    auto msg = bridges::decode_payload(sys_, &eu_, env.body, env.body_size);
    if (env.receiver_node && env.receiver_node != sys_.node()) {
      forward(p, env, std::move(src), mid, std::move(msg));
      return;
    }
    if (!msg) {
      reject(p, p->conn(), msg.error());
      if (src && mid.is_request())
        src->enqueue(
          caf::make_mailbox_element(nullptr, mid.response_id(), {}, caf::make_message(msg.error())),
          nullptr);
      return;
    }
    if (mid.is_response())
      p->complete_request(env.receiver, mid.request_id().integer_value());
    auto dest = resolve_receiver(p, env);
    if (!dest) {
      if (src && mid.is_request())
        src->enqueue(caf::make_mailbox_element(
                       nullptr, mid.response_id(), {},
                       caf::make_message(caf::make_error(caf::sec::request_receiver_down))),
                     nullptr);
      return;
    }
    if (msg->match_elements<caf::exit_msg>()) {
      // The remote end of a link terminated: its proxy must not deliver a second exit_msg to
      // `dest` when it is killed by the `down` frame that follows.
      auto source = caf::actor_cast<caf::strong_actor_ptr>(msg->get_as<caf::exit_msg>(0).source);
      if (auto rp
          = dynamic_cast<bridges::remote_proxy*>(caf::actor_cast<caf::abstract_actor*>(source)))
        rp->remove_backlink_local(caf::actor_cast<caf::abstract_actor*>(dest));
    }
    // With the I/O thread's unit, CAF hands the actor to `exec_later` when this wakes it.
    dest->enqueue(caf::make_mailbox_element(std::move(src), mid, {}, std::move(*msg)), tl_running);
  }

  // A message for an actor of another node, routed through this one: hand it to the proxy of the
  // session with that node, which sends it on with the original sender (node-qualified).
  void forward(const std::shared_ptr<peer>& p, const bridges::envelope& env,
               caf::strong_actor_ptr src, caf::message_id mid, caf::expected<caf::message> msg) {
    if (!msg) {
      reject(p, p->conn(), msg.error());
      return;
    }
    if (mid.is_response())
      p->complete_request(env.receiver, mid.request_id().integer_value());
    caf::strong_actor_ptr dest;
    bool direct = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = by_node_.find(env.receiver_node);
      direct = i != by_node_.end() && i->second != p;
    }
    // Only over a direct session: forwarding back through the hop it came from would loop.
    if (direct) {
      auto* saved = std::exchange(tl_last_hop, nullptr);
      dest = proxies_.get_or_put(env.receiver_node, env.receiver);
      tl_last_hop = saved;
    }
    if (!dest) {
      if (src && mid.is_request())
        src->enqueue(caf::make_mailbox_element(
                       nullptr, mid.response_id(), {},
                       caf::make_message(make_error(
                         errc::peer_lost, "no route to the receiver's node from node " + name_))),
                     nullptr);
      return;
    }
    dest->enqueue(caf::make_mailbox_element(std::move(src), mid, {}, std::move(*msg)), tl_running);
  }

  void handle_monitor(const std::shared_ptr<peer>& p, const bridges::envelope& env) {
    watch(p, env.receiver, local_by_id(p, env.receiver));
  }

  // Sends `down` to `p` once local actor `aid` terminates (at once if it already did or is
  // unknown). Idempotent per peer and actor.
  void watch(const std::shared_ptr<peer>& p, caf::actor_id aid, const caf::strong_actor_ptr& dest) {
    if (!p->mark_monitored(aid))
      return;
    auto send_down = [wp = std::weak_ptr<peer>(p), sys = &sys_, aid](const caf::error& reason) {
      auto pp = wp.lock();
      if (!pp)
        return;
      std::vector<char> frame;
      bridges::encode_header(frame, frame_kind::down, aid, 0, {}, 0);
      if (bridges::encode_payload(*sys, sys->dummy_execution_unit(), caf::make_message(reason),
                                  frame))
        return;
      static_cast<void>(pp->send(std::move(frame)));
    };
    if (!dest) {
      send_down(caf::make_error(caf::exit_reason::unknown));
      return;
    }
    // Runs at once if the actor already terminated.
    caf::actor_cast<caf::abstract_actor*>(dest)->attach_functor(std::move(send_down));
  }

  void handle_down(const std::shared_ptr<peer>& p, const bridges::envelope& env) {
    auto msg = bridges::decode_payload(sys_, &eu_, env.body, env.body_size);
    caf::error reason = caf::exit_reason::unknown;
    if (msg && msg->match_elements<caf::error>())
      reason = msg->get_as<caf::error>(0);
    else if (!msg)
      reject(p, p->conn(), msg.error());
    auto& cache = tl_running->last_sender;
    if (cache.session == p && cache.aid == env.sender)
      cache = {};
    proxies_.erase(p->node(), env.sender, std::move(reason));
  }

  void handle_link(const std::shared_ptr<peer>& p, const bridges::envelope& env, bool link) {
    auto local = local_by_id(p, env.receiver);
    if (!local)
      return; // the `down` answering the proxy's monitor already covers a dead target
    auto remote = proxies_.get_or_put(p->node(), env.sender);
    auto rp = dynamic_cast<bridges::remote_proxy*>(caf::actor_cast<caf::abstract_actor*>(remote));
    if (!rp)
      return;
    auto la = caf::actor_cast<caf::abstract_actor*>(local);
    // Both halves of the link, without echoing a frame back: `local` dying notifies the proxy
    // (and thus the remote actor), the proxy dying (peer lost) notifies `local`.
    if (link) {
      la->add_backlink(rp);
      rp->add_backlink_local(la);
    } else {
      la->remove_backlink(rp);
      rp->remove_backlink_local(la);
    }
  }

  void handle_lookup(const std::shared_ptr<peer>& p, const bridges::envelope& env) {
    auto name = bridges::decode_str_body(env.body, env.body_size);
    if (!name) {
      reject(p, p->conn(), name.error());
      return;
    }
    caf::actor_id aid = 0;
    if (resolve_) {
      if (auto h = resolve_(*name)) {
        aid = h->id();
        auto ptr = caf::actor_cast<caf::strong_actor_ptr>(h);
        sys_.registry().put(aid, ptr);
        // Watch it now rather than on the proxy's monitor frame: an actor terminating in between
        // would otherwise be reported with reason `unknown` instead of its real one.
        watch(p, aid, ptr);
      }
    }
    auto frame = make_frame(frame_kind::lookup_reply, 0, 0, env.mid);
    bridges::encode_uint_body(frame, aid);
    static_cast<void>(p->send(std::move(frame)));
  }

  void handle_lookup_reply(const std::shared_ptr<peer>& p, const bridges::envelope& env) {
    auto aid = bridges::decode_uint_body(env.body, env.body_size);
    if (!aid) {
      reject(p, p->conn(), aid.error());
      return;
    }
    caf::expected<caf::actor> result = make_error(errc::not_found);
    if (*aid != 0) {
      auto ptr = proxies_.get_or_put(p->node(), static_cast<caf::actor_id>(*aid));
      if (ptr)
        result = caf::actor_cast<caf::actor>(ptr);
      else
        result = make_error(errc::peer_lost, "node " + p->name());
    }
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = lookups_.find(env.mid);
    if (i == lookups_.end() || i->second.peer_name != p->name())
      return; // timed out meanwhile, or a reply we never asked this peer for
    i->second.promise.set_value(std::move(result));
    lookups_.erase(i);
  }

  /// A heartbeat with `mid != 0` is a probe (sender 0), answered by an echo (sender 1) carrying
  /// the same `mid`; an echo gives the round trip. Plain heartbeats (mid 0) need no answer.
  void handle_heartbeat(const std::shared_ptr<peer>& p, const bridges::envelope& env) {
    if (env.mid == 0)
      return;
    if (env.sender == 0) {
      auto echo = make_frame(frame_kind::heartbeat, 1, 0, env.mid);
      bridges::encode_nil_body(echo);
      static_cast<void>(p->send(std::move(echo)));
    } else if (auto now = steady_us(); now >= env.mid) {
      p->counters.record_rtt(now - env.mid);
    }
  }

  void peer_lost(const std::shared_ptr<peer>& p, const std::string& why) {
    peer::pending_list pending;
    auto reason = make_error(errc::peer_lost, "node " + p->name() + ": " + why);
    if (!p->mark_lost(reason, pending))
      return;
    if (session_log_ok(p->conn()))
      log_->info("[{}] session with {} lost: {} ({} pending requests failed)", name_, p->name(),
                 why, pending.size());
    emit_event("peer_lost", {{"node", name_}, {"peer", p->name()}, {"reason", why}});
    auto conn = p->conn();
    std::string reconnect_to;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto c = by_conn_.find(conn);
      if (c != by_conn_.end() && c->second == p) {
        by_conn_.erase(c);
        conn_gen_.fetch_add(1, std::memory_order_release);
        if (ended_.size() >= 1024)
          ended_.clear(); // a bound; forgetting only makes a late frame count as bad
        ended_.insert(conn);
      }
      auto n = by_node_.find(p->node());
      if (n != by_node_.end() && n->second == p)
        by_node_.erase(n);
      auto m = by_name_.find(p->name());
      if (m != by_name_.end() && m->second == p)
        by_name_.erase(m);
      for (auto i = lookups_.begin(); i != lookups_.end();) {
        if (i->second.peer_name == p->name()) {
          i->second.promise.set_value(reason);
          i = lookups_.erase(i);
        } else {
          ++i;
        }
      }
      auto o = outgoing_.find(conn);
      if (o != outgoing_.end() && o->second.session == p) {
        if (!stopped_)
          reconnect_to = o->second.endpoint;
        outgoing_.erase(o);
      }
    }
    cv_.notify_all(); // `stop` waits for peers to be gone
    // Monitors get down_msg and links exit_msg (remote_link_unreachable), requests fail at once.
    proxies_.erase(p->node());
    std::set<caf::node_id> routed;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto r = routed_via_.find(p->node());
      if (r != routed_via_.end()) {
        for (auto& nid : r->second)
          if (by_node_.count(nid) == 0) // a node with its own session has no routed proxies
            routed.insert(nid);
        routed_via_.erase(r);
      }
    }
    // Proxies reached through this peer lose their route (remote_link_unreachable).
    for (auto& nid : routed)
      proxies_.erase(nid);
    for (auto& [requester, mid] : pending)
      if (auto s = requester.lock())
        s->enqueue(
          caf::make_mailbox_element(nullptr, mid.response_id(), {}, caf::make_message(reason)),
          nullptr);
    if (stopped_)
      return;
    tr_->disconnect(conn);
    if (!reconnect_to.empty()) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        for (auto& kvp : outgoing_)
          if (kvp.second.peer_name == p->name() && !kvp.second.session)
            return; // someone connects already: one session per pair
      }
      // A fresh socket, so that nothing queued for the lost incarnation reaches a new one.
      auto nc = tr_->connect(reconnect_to);
      if (!nc) {
        log_->warn("[{}] cannot reconnect to {}: {}", name_, p->name(), describe(nc.error()));
        return;
      }
      std::lock_guard<std::mutex> guard{mtx_};
      auto& o = outgoing_[*nc];
      o.peer_name = p->name();
      o.endpoint = reconnect_to;
      o.last_hello = clock_type::time_point{};
    }
  }

  const uint64_t id_ = next_hub_id++;
  caf::actor_system& sys_;
  std::string name_;
  bridges::hub_options opts_;
  bridges::hub::name_resolver resolve_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<bridges::transport> tr_;
  caf::proxy_registry proxies_;
  hub_execution_unit eu_;
  const std::vector<std::string> my_types_;
  std::atomic<uint64_t> bad_frames_{0};
  std::atomic<bool> stopped_{false};

  // Guards the maps below; never held while calling into `proxies_` or an actor.
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::unordered_map<conn_id, std::shared_ptr<peer>> by_conn_;
  std::atomic<uint64_t> conn_gen_{1}; // bumped on every change of `by_conn_`
  std::map<caf::node_id, std::shared_ptr<peer>> by_node_;
  /// Nodes reached through a peer (routed proxies), by the peer's node.
  std::map<caf::node_id, std::set<caf::node_id>> routed_via_;
  std::unordered_map<std::string, std::shared_ptr<peer>> by_name_;
  /// Names of every peer that ever had a session (tells a reconnect from a first connect).
  std::set<std::string> ever_connected_;
  std::unordered_map<conn_id, outgoing> outgoing_;
  /// Connections whose session ended; their late frames are dropped quietly.
  std::unordered_set<conn_id> ended_;
  /// Broken outgoing connections and the ones that replaced them, for a `connect` waiting on one.
  std::unordered_map<conn_id, conn_id> replaced_;
  std::unordered_map<uint64_t, lookup_state> lookups_;
  uint64_t next_lookup_ = 1;

  // One execution unit per thread that delivered frames (see io_execution_unit).
  std::mutex units_mtx_;
  std::vector<std::pair<std::thread::id, io_execution_unit*>> units_;
};

} // namespace troupe::detail

namespace troupe::bridges {

hub::hub(caf::actor_system& sys, std::string node_name, hub_options opts,
         name_resolver resolve_local_name)
  : core_(std::make_shared<detail::hub_core>(sys, std::move(node_name), std::move(opts),
                                             std::move(resolve_local_name))) {
  // nop
}

hub::~hub() {
  stop();
}

const std::string& hub::node_name() const {
  return core_->name();
}

caf::expected<std::string> hub::listen(const std::string& endpoint) {
  return core_->listen(endpoint);
}

caf::error hub::connect(const std::string& peer_node, const std::string& endpoint) {
  return core_->connect(peer_node, endpoint);
}

bool hub::connected(const std::string& peer_node) const {
  return core_->connected(peer_node);
}

caf::expected<caf::actor> hub::remote_lookup(const std::string& peer_node, const std::string& name,
                                             std::chrono::milliseconds timeout) {
  return core_->remote_lookup(peer_node, name, timeout);
}

void hub::stop() {
  core_->stop();
}

hub_stats hub::stats() const {
  return core_->stats();
}

} // namespace troupe::bridges
