#include "troupe/supervisor.hpp"

#include <algorithm>
#include <deque>
#include <exception>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/result.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "troupe/errc.hpp"
#include "troupe/events.hpp"
#include "troupe/introspection.hpp"
#include "troupe/logging.hpp"
#include "troupe/relay.hpp"

namespace troupe {

std::string to_string(restart_strategy x) {
  switch (x) {
    case restart_strategy::one_for_one: return "one_for_one";
    case restart_strategy::one_for_all: return "one_for_all";
    case restart_strategy::rest_for_one: return "rest_for_one";
  }
  return "restart_strategy(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(restart_type x) {
  switch (x) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
  }
  return "restart_type(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(child_state x) {
  switch (x) {
    case child_state::running: return "running";
    case child_state::restarting: return "restarting";
    case child_state::stopped: return "stopped";
  }
  return "child_state(" + std::to_string(static_cast<int>(x)) + ")";
}

std::optional<restart_strategy> parse_strategy(std::string_view text) {
  for (auto x : {restart_strategy::one_for_one, restart_strategy::one_for_all,
                 restart_strategy::rest_for_one})
    if (text == to_string(x))
      return x;
  return std::nullopt;
}

std::optional<restart_type> parse_restart_type(std::string_view text) {
  for (auto x : {restart_type::permanent, restart_type::transient, restart_type::temporary})
    if (text == to_string(x))
      return x;
  return std::nullopt;
}

namespace {

/// `(sup_start, uint64 gen)`: a backoff delay ended; start the children scheduled under `gen`.
using start_atom = caf::atom_constant<caf::atom("sup_start")>;
/// `(sup_kill, uint64 gen)`: the child being stopped did not stop in time.
using kill_atom = caf::atom_constant<caf::atom("sup_kill")>;

struct child {
  child_spec spec;
  /// The supervisor spawned the relay and ends it with itself.
  bool owns_relay = false;
  /// The current incarnation; invalid while not running.
  caf::actor actor;
  child_state state = child_state::stopped;
  uint64_t restarts = 0;
  bool started_once = false;
  /// The supervisor asked this incarnation to exit, so its down is no failure.
  bool stopping = false;
  /// Generation of the pending start that will start this child; 0 when none is pending.
  uint64_t start_gen = 0;
  caf::actor_clock::time_point started_at;
  /// Number of backoff doublings for the next restart.
  uint32_t backoff_level = 0;
  /// An incarnation ran since the last backoff was computed (failed starts do not count).
  bool ran = false;
  /// How the last incarnation ended, or why the last start failed.
  std::string last_exit;
};

struct supervisor_state {
  std::string sup;
  restart_strategy strategy = restart_strategy::one_for_one;
  size_t max_restarts = 3;
  timespan within{0};
  timespan backoff_initial{0};
  timespan backoff_max{0};
  timespan shutdown_timeout{0};
  std::vector<child> children;
  std::shared_ptr<spdlog::logger> log;
  /// Times of the restarts inside the intensity window, oldest first.
  std::deque<caf::actor_clock::time_point> restart_times;
  /// A stop sequence runs: children are stopped one by one in `stop_queue` order.
  bool stopping = false;
  std::deque<size_t> stop_queue;
  /// The child whose down the stop sequence waits for.
  std::optional<size_t> awaiting;
  uint64_t kill_gen = 0;
  /// The awaited child was sent `exit_reason::kill` already.
  bool killed = false;
  /// What to do once the stop sequence is done.
  std::function<void()> after_stop;
  /// Events that arrived during a stop sequence, handled after it in arrival order.
  std::deque<std::function<void()>> deferred;
  bool shutting_down = false;
  /// Why it shuts down (answers `supervisor_status` from then on).
  caf::error shutdown_reason;
  uint64_t last_start_gen = 0;

  supervisor_state() = default;
  supervisor_state(const supervisor_state&) = delete;
  supervisor_state& operator=(const supervisor_state&) = delete;

  ~supervisor_state() {
    // Normally every child is stopped by now; after `exit_reason::kill` (which cannot be
    // trapped) this is the last chance not to leave orphans behind.
    for (auto i = children.rbegin(); i != children.rend(); ++i) {
      if (i->actor)
        caf::anon_send_exit(i->actor, caf::exit_reason::kill);
      if (!i->spec.relay)
        continue;
      if (i->owns_relay)
        caf::anon_send_exit(i->spec.relay, caf::exit_reason::user_shutdown);
      else
        // As the relay itself: relays take control only from a sender of their own node.
        caf::send_as(i->spec.relay, i->spec.relay, relay_clear_atom::value, std::string{"stopped"});
    }
  }

  static inline const char* name = "supervisor";
};

using self_ptr = caf::stateful_actor<supervisor_state>*;

bool is_normal(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal || reason == caf::exit_reason::user_shutdown;
}

void set_state(child& c, self_ptr self, child_state state) {
  c.state = state;
  if (state != child_state::running && c.spec.relay)
    self->send(c.spec.relay, relay_clear_atom::value, to_string(state));
}

supervisor_status make_status(const supervisor_state& st) {
  supervisor_status out;
  out.name = st.sup;
  out.strategy = to_string(st.strategy);
  for (auto& c : st.children)
    out.children.push_back(child_status{c.spec.name, to_string(c.spec.restart), to_string(c.state),
                                        c.restarts, c.actor ? c.actor.id() : 0, c.last_exit});
  return out;
}

/// Starts one incarnation of child `i`; returns the factory's error on failure.
caf::error start_child(self_ptr self, size_t i) {
  auto& st = self->state;
  auto& c = st.children[i];
  caf::expected<caf::actor> res{caf::actor{}};
  try {
    if (c.spec.start)
      res = c.spec.start();
    else
      res = make_error(errc::bad_config, "no factory");
  } catch (const std::exception& ex) {
    // Factories are user code; a throw must not escape the handler.
    res = make_error(errc::system_error, std::string{"factory threw: "} + ex.what());
  }
  if (!res) {
    c.last_exit = "failed to start: " + describe(res.error());
    return std::move(res.error());
  }
  if (!*res)
    return make_error(errc::invalid_state, "factory returned an invalid handle");
  c.actor = std::move(*res);
  self->monitor(c.actor);
  c.state = child_state::running;
  c.stopping = false;
  if (c.started_once)
    ++c.restarts;
  c.started_once = true;
  c.ran = true;
  c.started_at = self->clock().now();
  if (c.spec.relay)
    self->send(c.spec.relay, relay_set_atom::value, c.actor);
  st.log->info("supervisor {}: started {} (actor {}, restarts {})", st.sup, c.spec.name,
               c.actor.id(), c.restarts);
  if (c.restarts > 0)
    emit_event("child_restarted", {{"supervisor", st.sup},
                                   {"child", c.spec.name},
                                   {"restarts", c.restarts},
                                   {"actor", c.actor.id()}});
  return {};
}

void next_stop(self_ptr self);

/// Stops the children in `order` one at a time, each after the previous one is down, then runs
/// `then`. OTP does the same: a child may depend on those started before it.
void stop_children(self_ptr self, std::vector<size_t> order, std::function<void()> then) {
  auto& st = self->state;
  st.stopping = true;
  st.stop_queue.assign(order.begin(), order.end());
  st.after_stop = std::move(then);
  next_stop(self);
}

void run_deferred(self_ptr self) {
  auto& st = self->state;
  while (!st.stopping && !st.shutting_down && !st.deferred.empty()) {
    auto f = std::move(st.deferred.front());
    st.deferred.pop_front();
    f();
  }
}

void next_stop(self_ptr self) {
  auto& st = self->state;
  if (st.awaiting)
    return;
  while (!st.stop_queue.empty()) {
    auto i = st.stop_queue.front();
    st.stop_queue.pop_front();
    auto& c = st.children[i];
    if (!c.actor)
      continue;
    c.stopping = true;
    st.awaiting = i;
    st.killed = false;
    st.log->info("supervisor {}: stopping {}", st.sup, c.spec.name);
    if (st.shutdown_timeout.count() <= 0) {
      self->send_exit(c.actor, caf::exit_reason::kill);
    } else {
      self->send_exit(c.actor, caf::exit_reason::user_shutdown);
      self->delayed_send(self, st.shutdown_timeout, kill_atom::value, ++st.kill_gen);
    }
    return;
  }
  st.stopping = false;
  auto then = std::move(st.after_stop);
  st.after_stop = nullptr;
  if (then)
    then();
  run_deferred(self);
}

/// Stops every child in reverse start order, then terminates with `reason`.
void shutdown(self_ptr self, caf::error reason) {
  auto& st = self->state;
  if (st.shutting_down)
    return;
  st.shutting_down = true;
  st.shutdown_reason = reason;
  st.deferred.clear();
  std::vector<size_t> order;
  for (size_t i = st.children.size(); i-- > 0;) {
    auto& c = st.children[i];
    c.start_gen = 0; // cancels pending restarts
    set_state(c, self, child_state::stopped);
    if (c.actor && !c.stopping)
      order.push_back(i);
  }
  auto quit = [self, reason]() mutable { self->quit(std::move(reason)); };
  if (st.stopping) {
    // A group restart is stopping siblings: keep waiting for the current one, then go on with
    // everyone else instead of starting the group again.
    st.stop_queue.assign(order.begin(), order.end());
    st.after_stop = std::move(quit);
  } else {
    stop_children(self, std::move(order), std::move(quit));
  }
}

/// Returns the backoff delay for the next restart of `c` and advances its level.
timespan next_backoff(supervisor_state& st, child& c, caf::actor_clock::time_point now) {
  if (st.backoff_initial.count() <= 0)
    return timespan{0};
  // A child that stayed up for a whole intensity period has recovered: start over.
  if (c.ran && now - c.started_at >= st.within)
    c.backoff_level = 0;
  c.ran = false;
  auto delay = st.backoff_initial;
  for (uint32_t k = 0; k < c.backoff_level && delay < st.backoff_max; ++k)
    delay = std::min(delay * 2, st.backoff_max);
  if (c.backoff_level < 64)
    ++c.backoff_level;
  return delay;
}

void start_group(self_ptr self, uint64_t gen);

/// Child `i` terminated abnormally (or is permanent) or failed to start: restart it and, per
/// the strategy, its siblings; or give up when the intensity is exceeded.
void on_failure(self_ptr self, size_t i, const caf::error& reason) {
  auto& st = self->state;
  if (st.shutting_down)
    return;
  auto now = self->clock().now();
  st.restart_times.push_back(now);
  while (!st.restart_times.empty() && now - st.restart_times.front() >= st.within)
    st.restart_times.pop_front();
  if (st.restart_times.size() > st.max_restarts) {
    auto ctx = st.sup + ": restart intensity exceeded: " + std::to_string(st.restart_times.size())
               + " restarts in " + to_string_duration(st.within)
               + " (last: " + st.children[i].spec.name + ": " + describe(reason) + ")";
    st.log->error("supervisor {}; stopping all children", ctx);
    emit_event("supervisor_gave_up", {{"supervisor", st.sup}, {"reason", ctx}});
    shutdown(self, make_error(errc::invalid_state, std::move(ctx)));
    return;
  }
  auto delay = next_backoff(st, st.children[i], now);
  size_t first = 0;
  size_t last = st.children.size();
  switch (st.strategy) {
    case restart_strategy::one_for_one:
      first = i;
      last = i + 1;
      break;
    case restart_strategy::one_for_all: break;
    case restart_strategy::rest_for_one: first = i; break;
  }
  auto gen = ++st.last_start_gen;
  std::vector<size_t> stop_order;
  std::string names;
  for (size_t j = first; j < last; ++j) {
    auto& c = st.children[j];
    // A child that already ended for good stays ended; a temporary sibling is stopped for good.
    if (j != i && c.state == child_state::stopped)
      continue;
    if (j != i && c.spec.restart == restart_type::temporary) {
      c.start_gen = 0;
      set_state(c, self, child_state::stopped);
    } else {
      c.start_gen = gen; // also makes any older pending start of this child stale
      set_state(c, self, child_state::restarting);
      names += names.empty() ? c.spec.name : ", " + c.spec.name;
    }
    if (c.actor && !c.stopping)
      stop_order.push_back(j);
  }
  std::reverse(stop_order.begin(), stop_order.end());
  st.log->warn("supervisor {}: {} failed: {}; restarting [{}] in {} ({} of {} restarts within {})",
               st.sup, st.children[i].spec.name, describe(reason), names, to_string_duration(delay),
               st.restart_times.size(), st.max_restarts, to_string_duration(st.within));
  stop_children(self, std::move(stop_order), [self, gen, delay] {
    if (delay.count() <= 0)
      start_group(self, gen);
    else
      self->delayed_send(self, delay, start_atom::value, gen);
  });
}

/// Starts, in start order, the children scheduled under `gen`.
void start_group(self_ptr self, uint64_t gen) {
  auto& st = self->state;
  if (st.shutting_down)
    return;
  if (st.stopping) {
    st.deferred.push_back([self, gen] { start_group(self, gen); });
    return;
  }
  for (size_t j = 0; j < st.children.size(); ++j) {
    auto& c = st.children[j];
    if (c.start_gen != gen || c.state != child_state::restarting)
      continue;
    c.start_gen = 0;
    if (auto err = start_child(self, j)) {
      st.log->error("supervisor {}: restart of {} failed: {}", st.sup, c.spec.name, describe(err));
      emit_event("child_start_failed",
                 {{"supervisor", st.sup}, {"child", c.spec.name}, {"reason", describe(err)}});
      // Reschedules this child and, per the strategy, those after it in this group.
      on_failure(self, j, err);
      return;
    }
  }
}

/// Child `i` terminated on its own with `reason`.
void on_exit(self_ptr self, size_t i, const caf::error& reason) {
  auto& st = self->state;
  auto& c = st.children[i];
  if (c.actor || c.state != child_state::running)
    return; // superseded while deferred
  bool restart = c.spec.restart == restart_type::permanent
                 || (c.spec.restart == restart_type::transient && !is_normal(reason));
  if (!restart) {
    st.log->info("supervisor {}: {} ({}) ended: {}; not restarted", st.sup, c.spec.name,
                 to_string(c.spec.restart), describe(reason));
    set_state(c, self, child_state::stopped);
    return;
  }
  on_failure(self, i, reason);
}

caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self, supervisor_spec spec,
                         std::vector<bool> owned, std::shared_ptr<spdlog::logger> log) {
  auto& st = self->state;
  st.sup = std::move(spec.name);
  st.strategy = spec.strategy;
  st.max_restarts = spec.max_restarts;
  st.within = spec.within;
  st.backoff_initial = spec.backoff_initial;
  st.backoff_max = std::max(spec.backoff_max, spec.backoff_initial);
  st.shutdown_timeout = spec.shutdown_timeout;
  st.log = log ? std::move(log) : null_logger();
  for (size_t i = 0; i < spec.children.size(); ++i) {
    child c;
    c.spec = std::move(spec.children[i]);
    c.owns_relay = i < owned.size() && owned[i];
    st.children.push_back(std::move(c));
  }
  // Exits are trapped so that a parent's `send_exit` stops the children in order first.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.reason)
      shutdown(self, std::move(msg.reason));
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    auto it = std::find_if(s.children.begin(), s.children.end(), [&](const child& c) {
      return c.actor && c.actor.address() == dm.source;
    });
    if (it == s.children.end())
      return;
    auto i = static_cast<size_t>(it - s.children.begin());
    it->actor = nullptr;
    it->last_exit = describe(dm.reason);
    if (it->stopping) {
      it->stopping = false;
      if (s.awaiting == i) {
        s.awaiting.reset();
        next_stop(self);
      }
      return;
    }
    s.log->warn("supervisor {}: {} terminated: {}", s.sup, it->spec.name, describe(dm.reason));
    emit_event("child_exited",
               {{"supervisor", s.sup}, {"child", it->spec.name}, {"reason", it->last_exit}});
    if (s.shutting_down) {
      set_state(*it, self, child_state::stopped);
      return;
    }
    if (s.stopping) {
      // Part of the group being stopped anyway: its restart is already planned.
      if (std::find(s.stop_queue.begin(), s.stop_queue.end(), i) != s.stop_queue.end())
        return;
      s.deferred.push_back([self, i, reason = dm.reason] { on_exit(self, i, reason); });
      return;
    }
    on_exit(self, i, dm.reason);
  });
  for (size_t i = 0; i < st.children.size(); ++i) {
    if (auto err = start_child(self, i)) {
      auto ctx
        = st.sup + ": child " + st.children[i].spec.name + " failed to start: " + describe(err);
      st.log->error("supervisor {}", ctx);
      emit_event("supervisor_gave_up", {{"supervisor", st.sup}, {"reason", ctx}});
      shutdown(self, make_error(errc::invalid_state, std::move(ctx)));
      break;
    }
  }
  return {
    [self](start_atom, uint64_t gen) { start_group(self, gen); },
    [self](kill_atom, uint64_t gen) {
      auto& s = self->state;
      if (gen != s.kill_gen || !s.awaiting)
        return;
      auto i = *s.awaiting;
      auto& c = s.children[i];
      if (!c.actor)
        return;
      if (!s.killed) {
        s.log->warn("supervisor {}: {} did not stop within {}; killing it", s.sup, c.spec.name,
                    to_string_duration(s.shutdown_timeout));
        s.killed = true;
        self->send_exit(c.actor, caf::exit_reason::kill);
        self->delayed_send(self, s.shutdown_timeout, kill_atom::value, ++s.kill_gen);
        return;
      }
      // Even a kill is a message in CAF: an actor stuck in a blocking call never reads it.
      // Abandon it rather than let one stuck child block every restart and the shutdown.
      s.log->error("supervisor {}: {} did not terminate after a kill; abandoning it", s.sup,
                   c.spec.name);
      self->demonitor(c.actor);
      c.actor = nullptr;
      c.stopping = false;
      s.awaiting.reset();
      next_stop(self);
    },
    [self](supervisor_status_atom) -> caf::result<std::string> {
      // A supervisor that is giving up (or failed to start a child) no longer serves: its node's
      // start must not count it as started.
      if (self->state.shutting_down && self->state.shutdown_reason)
        return self->state.shutdown_reason;
      return to_json(make_status(self->state));
    },
    [self](children_atom) { return make_status(self->state); },
    [self](relay_of_atom, const std::string& name) -> caf::result<caf::actor> {
      for (auto& c : self->state.children)
        if (c.spec.name == name)
          return c.spec.relay;
      return make_error(errc::not_found, self->state.sup + " has no child " + name);
    },
  };
}

} // namespace

void make_relays(caf::actor_system& sys, supervisor_spec& spec) {
  for (auto& c : spec.children)
    if (!c.relay)
      c.relay = spawn_relay(sys, c.name);
}

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_spec spec,
                            std::shared_ptr<spdlog::logger> log, bool detached) {
  std::vector<bool> owned;
  for (auto& c : spec.children)
    owned.push_back(!c.relay);
  make_relays(sys, spec);
  if (detached)
    return sys.spawn<caf::detached>(supervisor, std::move(spec), std::move(owned), std::move(log));
  return sys.spawn(supervisor, std::move(spec), std::move(owned), std::move(log));
}

std::string to_json(const supervisor_status& x) {
  std::string out = "{\"supervisor\":\"" + json_escape(x.name) + "\",\"strategy\":\""
                    + json_escape(x.strategy) + "\",\"children\":[";
  bool first = true;
  for (auto& c : x.children) {
    out += first ? "" : ",";
    first = false;
    out += "{\"name\":\"" + json_escape(c.name) + "\",\"restart\":\"" + json_escape(c.restart)
           + "\",\"state\":\"" + json_escape(c.state)
           + "\",\"restarts\":" + std::to_string(c.restarts) + ",\"id\":" + std::to_string(c.id)
           + ",\"last_exit\":\"" + json_escape(c.last_exit) + "\"}";
  }
  out += "]}";
  return out;
}

std::string render(const supervisor_status& x) {
  std::string out = x.name + " (" + x.strategy + ")\n";
  for (auto& c : x.children)
    out += "  " + c.name + "  " + c.state + "  " + c.restart
           + "  restarts=" + std::to_string(c.restarts) + "  id=" + std::to_string(c.id)
           + (c.last_exit.empty() ? "" : "  last exit: " + c.last_exit) + "\n";
  return out;
}

void add_supervisor_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<supervisor_status>("troupe.supervisor_status");
}

} // namespace troupe
