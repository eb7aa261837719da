#define CAF_SUITE runtime.supervisor

#include "troupe/supervisor.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "caf/test/dsl.hpp"

#include "troupe/errc.hpp"
#include "troupe/logging.hpp"
#include "troupe/relay.hpp"
#include "troupe_test.hpp"

using namespace caf;
using namespace std::chrono_literals;
using troupe::child_spec;
using troupe::errc;
using troupe::restart_strategy;
using troupe::restart_type;
using troupe::supervisor_spec;
using troupe::supervisor_status;

namespace {

using crash_atom = atom_constant<atom("crash")>;
using finish_atom = atom_constant<atom("finish")>;
using shut_atom = atom_constant<atom("shut")>;
using ask_atom = atom_constant<atom("ask")>;

using event_log = std::shared_ptr<std::vector<std::string>>;

/// A child that answers `x` with `x + offset` and writes "stop NAME" to the event log when it
/// terminates, so tests can check the order of stops and starts.
struct worker_state {
  std::string name;
  event_log events;

  ~worker_state() {
    if (events)
      events->push_back("stop " + name);
  }
};

behavior worker(stateful_actor<worker_state>* self, std::string name, event_log events,
                int32_t offset, bool stubborn) {
  self->state.name = std::move(name);
  self->state.events = std::move(events);
  if (stubborn) // ignores the supervisor's user_shutdown; only a kill ends it
    self->set_exit_handler([](exit_msg&) {});
  return {
    [offset](int32_t x) { return x + offset; },
    [self](crash_atom) { self->quit(troupe::make_error(errc::system_error, "boom")); },
    [self](finish_atom) { self->quit(); },
    [self](shut_atom) { self->quit(exit_reason::user_shutdown); },
  };
}

/// Monitors an actor and keeps its exit reason.
struct watcher_state {
  std::vector<error> reasons;
};

behavior watcher(stateful_actor<watcher_state>* self, actor target) {
  self->monitor(target);
  self->set_down_handler([self](down_msg& dm) { self->state.reasons.push_back(dm.reason); });
  return {
    [](int32_t) {},
  };
}

/// Calls `dest` with requests and keeps the answers.
struct client_state {
  std::vector<int32_t> values;
  std::vector<error> errors;
};

behavior client(stateful_actor<client_state>* self, actor dest) {
  return {
    [self, dest](ask_atom, int32_t x) {
      self->request(dest, infinite, x)
        .then([self](int32_t y) { self->state.values.push_back(y); },
              [self](error& err) { self->state.errors.push_back(std::move(err)); });
    },
  };
}

struct fixture : test_coordinator_fixture<> {
  event_log events = std::make_shared<std::vector<std::string>>();
  /// Every incarnation of each child, oldest first.
  std::map<std::string, std::vector<actor>> spawned;
  /// The next N starts of a child fail.
  std::map<std::string, int> failures;
  std::set<std::string> stubborn;
  /// Each incarnation answers `x` with `x + offset`, and the offset grows with each start, so a
  /// reply tells which incarnation answered.
  int32_t next_offset = 1;
  std::vector<actor> others;
  actor sut;

  ~fixture() {
    if (sut)
      anon_send_exit(sut, exit_reason::user_shutdown);
    for (auto& a : others)
      anon_send_exit(a, exit_reason::user_shutdown);
    run();
    for (auto& [name, xs] : spawned)
      for (auto& x : xs)
        anon_send_exit(x, exit_reason::kill);
    run();
  }

  child_spec child(const std::string& name, restart_type rt = restart_type::permanent) {
    child_spec out;
    out.name = name;
    out.restart = rt;
    out.start = [this, name]() -> expected<actor> {
      if (failures[name] > 0) {
        --failures[name];
        events->push_back("fail " + name);
        return troupe::make_error(errc::system_error, "cannot start " + name);
      }
      auto a = sys.spawn(worker, name, events, next_offset, stubborn.count(name) > 0);
      next_offset *= 10;
      spawned[name].push_back(a);
      events->push_back("start " + name);
      return a;
    };
    return out;
  }

  supervisor_spec make_spec(restart_strategy strategy, std::vector<child_spec> children) {
    supervisor_spec out;
    out.name = "sup";
    out.strategy = strategy;
    out.children = std::move(children);
    return out;
  }

  void start(supervisor_spec spec) {
    sut = troupe::spawn_supervisor(sys, std::move(spec), troupe::null_logger());
    sched.run();
  }

  actor current(const std::string& name) {
    return spawned.at(name).back();
  }

  size_t incarnations(const std::string& name) {
    return spawned.count(name) ? spawned[name].size() : 0u;
  }

  /// Makes the current incarnation of `name` exit with `what` (crash, finish or shut) and runs
  /// every message, but fires no timer.
  template <class Atom>
  void make_exit(const std::string& name, Atom what) {
    anon_send(current(name), what);
    sched.run();
  }

  supervisor_status status(const actor& sup) {
    self->send(sup, troupe::children_atom::value);
    sched.run();
    supervisor_status out;
    self->receive([&](supervisor_status& x) { out = std::move(x); });
    return out;
  }

  std::string state_of(const std::string& child) {
    for (auto& c : status(sut).children)
      if (c.name == child)
        return c.state;
    return "absent";
  }

  uint64_t restarts_of(const std::string& child) {
    for (auto& c : status(sut).children)
      if (c.name == child)
        return c.restarts;
    return 0;
  }

  actor relay_of(const std::string& child) {
    self->send(sut, troupe::relay_of_atom::value, child);
    sched.run();
    actor out;
    self->receive([&](actor& x) { out = std::move(x); });
    return out;
  }

  actor spawn_watcher(const actor& target) {
    auto w = sys.spawn(watcher, target);
    others.push_back(w);
    sched.run();
    return w;
  }

  std::vector<error>& reasons(const actor& w) {
    return deref<stateful_actor<watcher_state>>(w).state.reasons;
  }

  /// The events since the last call.
  std::vector<std::string> take_events() {
    auto out = std::move(*events);
    events->clear();
    return out;
  }

  bool alive(const actor& a) {
    auto* ptr = actor_cast<abstract_actor*>(a);
    return !static_cast<monitorable_actor*>(ptr)->getf(abstract_actor::is_terminated_flag);
  }
};

using strings = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(parse and to_string round trip and reject unknown names) {
  for (auto x : {restart_strategy::one_for_one, restart_strategy::one_for_all,
                 restart_strategy::rest_for_one})
    CAF_CHECK(troupe::parse_strategy(troupe::to_string(x)) == x);
  for (auto x : {restart_type::permanent, restart_type::transient, restart_type::temporary})
    CAF_CHECK(troupe::parse_restart_type(troupe::to_string(x)) == x);
  CAF_CHECK(!troupe::parse_strategy("one_for_some"));
  CAF_CHECK(!troupe::parse_restart_type("Permanent"));
}

CAF_TEST(children start in order and are reported as running) {
  start(make_spec(restart_strategy::one_for_one, {child("a"), child("b"), child("c")}));
  CAF_CHECK_EQUAL(take_events(), (strings{"start a", "start b", "start c"}));
  auto st = status(sut);
  CAF_CHECK_EQUAL(st.name, "sup");
  CAF_CHECK_EQUAL(st.strategy, "one_for_one");
  CAF_REQUIRE_EQUAL(st.children.size(), 3u);
  CAF_CHECK_EQUAL(st.children[1].name, "b");
  CAF_CHECK_EQUAL(st.children[1].state, "running");
  CAF_CHECK_EQUAL(st.children[1].restart, "permanent");
  CAF_CHECK_EQUAL(st.children[1].restarts, 0u);
  CAF_CHECK_EQUAL(st.children[1].id, current("b").id());
  CAF_CHECK(relay_of("b") != nullptr);
  CAF_CHECK(relay_of("b") != current("b"));
}

CAF_TEST(status renders as JSON and text) {
  start(make_spec(restart_strategy::rest_for_one, {child("a", restart_type::transient)}));
  self->send(sut, troupe::supervisor_status_atom::value);
  sched.run();
  std::string json;
  self->receive([&](std::string& x) { json = std::move(x); });
  auto id = std::to_string(current("a").id());
  CAF_CHECK_EQUAL(json, "{\"supervisor\":\"sup\",\"strategy\":\"rest_for_one\",\"children\":[{"
                        "\"name\":\"a\",\"restart\":\"transient\",\"state\":\"running\","
                        "\"restarts\":0,\"id\":"
                          + id + ",\"last_exit\":\"\"}]}");
  CAF_CHECK_EQUAL(troupe::render(status(sut)),
                  "sup (rest_for_one)\n  a  running  transient  restarts=0  id=" + id + "\n");
}

CAF_TEST(relay_of an unknown child is not_found) {
  start(make_spec(restart_strategy::one_for_one, {child("a")}));
  self->send(sut, troupe::relay_of_atom::value, std::string{"zz"});
  sched.run();
  error err;
  self->receive([](actor&) {}, [&](error& x) { err = std::move(x); });
  CAF_CHECK_EQUAL(err, troupe::make_error(errc::not_found));
}

CAF_TEST(one_for_one restarts only the failed child) {
  start(make_spec(restart_strategy::one_for_one, {child("a"), child("b"), child("c")}));
  auto a = current("a");
  auto c = current("c");
  take_events();
  make_exit("b", crash_atom::value);
  CAF_CHECK_EQUAL(take_events(), (strings{"stop b", "start b"}));
  CAF_CHECK(current("a") == a);
  CAF_CHECK(current("c") == c);
  CAF_CHECK_EQUAL(incarnations("b"), 2u);
  CAF_CHECK_EQUAL(state_of("b"), "running");
  CAF_CHECK_EQUAL(restarts_of("b"), 1u);
  CAF_CHECK_EQUAL(restarts_of("a"), 0u);
}

CAF_TEST(one_for_all stops the others in reverse order and starts all in order) {
  start(make_spec(restart_strategy::one_for_all, {child("a"), child("b"), child("c")}));
  take_events();
  make_exit("b", crash_atom::value);
  CAF_CHECK_EQUAL(take_events(),
                  (strings{"stop b", "stop c", "stop a", "start a", "start b", "start c"}));
  for (auto name : {"a", "b", "c"}) {
    CAF_CHECK_EQUAL(incarnations(name), 2u);
    CAF_CHECK_EQUAL(restarts_of(name), 1u);
    CAF_CHECK_EQUAL(state_of(name), "running");
  }
}

CAF_TEST(one_for_all waits for each sibling to stop before stopping the next) {
  start(make_spec(restart_strategy::one_for_all, {child("a"), child("b"), child("c")}));
  take_events();
  anon_send(current("a"), crash_atom::value);
  expect((crash_atom), to(current("a")));
  expect((down_msg), to(sut));
  // Only c is asked to stop; b gets its exit only after c is down.
  expect((exit_msg), from(sut).to(current("c")));
  disallow((exit_msg), from(sut).to(current("b")));
  expect((down_msg), to(sut));
  expect((exit_msg), from(sut).to(current("b")));
  expect((down_msg), to(sut));
  CAF_CHECK_EQUAL(take_events(),
                  (strings{"stop a", "stop c", "stop b", "start a", "start b", "start c"}));
}

CAF_TEST(rest_for_one restarts the failed child and those started after it) {
  start(
    make_spec(restart_strategy::rest_for_one, {child("a"), child("b"), child("c"), child("d")}));
  auto a = current("a");
  take_events();
  make_exit("b", crash_atom::value);
  CAF_CHECK_EQUAL(take_events(),
                  (strings{"stop b", "stop d", "stop c", "start b", "start c", "start d"}));
  CAF_CHECK(current("a") == a);
  CAF_CHECK_EQUAL(restarts_of("a"), 0u);
  CAF_CHECK_EQUAL(restarts_of("c"), 1u);
}

CAF_TEST(rest_for_one with the last child restarts only that child) {
  start(make_spec(restart_strategy::rest_for_one, {child("a"), child("b")}));
  take_events();
  make_exit("b", crash_atom::value);
  CAF_CHECK_EQUAL(take_events(), (strings{"stop b", "start b"}));
}

CAF_TEST(a permanent child is restarted even after a normal exit) {
  start(make_spec(restart_strategy::one_for_one, {child("a")}));
  make_exit("a", finish_atom::value);
  CAF_CHECK_EQUAL(incarnations("a"), 2u);
  CAF_CHECK_EQUAL(state_of("a"), "running");
}

CAF_TEST(a transient child is restarted only after an abnormal exit) {
  start(make_spec(restart_strategy::one_for_one,
                  {child("n", restart_type::transient), child("u", restart_type::transient),
                   child("x", restart_type::transient)}));
  make_exit("n", finish_atom::value);
  make_exit("u", shut_atom::value); // user_shutdown counts as normal
  make_exit("x", crash_atom::value);
  CAF_CHECK_EQUAL(incarnations("n"), 1u);
  CAF_CHECK_EQUAL(state_of("n"), "stopped");
  CAF_CHECK_EQUAL(incarnations("u"), 1u);
  CAF_CHECK_EQUAL(state_of("u"), "stopped");
  CAF_CHECK_EQUAL(incarnations("x"), 2u);
  CAF_CHECK_EQUAL(state_of("x"), "running");
}

CAF_TEST(a temporary child is never restarted) {
  start(make_spec(restart_strategy::one_for_one, {child("t", restart_type::temporary)}));
  make_exit("t", crash_atom::value);
  CAF_CHECK_EQUAL(incarnations("t"), 1u);
  CAF_CHECK_EQUAL(state_of("t"), "stopped");
}

CAF_TEST(one_for_all stops a temporary sibling for good and skips a stopped transient one) {
  start(make_spec(restart_strategy::one_for_all, {child("a"), child("t", restart_type::temporary),
                                                  child("n", restart_type::transient)}));
  make_exit("n", finish_atom::value);
  take_events();
  make_exit("a", crash_atom::value);
  CAF_CHECK_EQUAL(take_events(), (strings{"stop a", "stop t", "start a"}));
  CAF_CHECK_EQUAL(state_of("t"), "stopped");
  CAF_CHECK_EQUAL(state_of("n"), "stopped");
}

CAF_TEST(calls through the relay fail fast while down and reach the new incarnation after) {
  auto spec = make_spec(restart_strategy::one_for_one, {child("db")});
  spec.backoff_initial = 1s;
  start(std::move(spec));
  auto rel = relay_of("db");
  auto cli = sys.spawn(client, rel);
  others.push_back(cli);
  auto& cs = deref<stateful_actor<client_state>>(cli).state;
  // Before the crash: the first incarnation (offset 1) answers the client directly.
  self->send(cli, ask_atom::value, int32_t{5});
  expect((ask_atom, int32_t), from(self).to(cli));
  expect((int32_t), from(cli).to(rel).with(5));
  expect((int32_t), from(cli).to(current("db")).with(5));
  expect((int32_t), from(current("db")).to(cli).with(6));
  make_exit("db", crash_atom::value);
  CAF_CHECK_EQUAL(state_of("db"), "restarting");
  // While it restarts (backoff), a call fails at once, answered by the relay.
  self->send(cli, ask_atom::value, int32_t{5});
  expect((ask_atom, int32_t), from(self).to(cli));
  expect((int32_t), from(cli).to(rel));
  expect((error), from(rel).to(cli));
  CAF_REQUIRE_EQUAL(cs.errors.size(), 1u);
  CAF_CHECK_EQUAL(cs.errors[0], troupe::make_error(errc::unavailable));
  CAF_CHECK_EQUAL(troupe::describe(cs.errors[0]), "unavailable: db is restarting");
  // After the restart, the SAME relay handle reaches the new incarnation (offset 10).
  advance_time(1s);
  sched.run();
  CAF_REQUIRE_EQUAL(incarnations("db"), 2u);
  self->send(cli, ask_atom::value, int32_t{5});
  expect((ask_atom, int32_t), from(self).to(cli));
  expect((int32_t), from(cli).to(rel).with(5));
  expect((int32_t), from(cli).to(current("db")).with(5));
  expect((int32_t), from(current("db")).to(cli).with(15));
  CAF_CHECK_EQUAL(cs.values, (std::vector<int32_t>{6, 15}));
  CAF_CHECK(relay_of("db") == rel);
}

CAF_TEST(a child that is not restarted leaves its relay answering stopped) {
  start(make_spec(restart_strategy::one_for_one, {child("t", restart_type::temporary)}));
  auto rel = relay_of("t");
  make_exit("t", crash_atom::value);
  auto cli = sys.spawn(client, rel);
  others.push_back(cli);
  self->send(cli, ask_atom::value, int32_t{1});
  sched.run();
  auto& cs = deref<stateful_actor<client_state>>(cli).state;
  CAF_REQUIRE_EQUAL(cs.errors.size(), 1u);
  CAF_CHECK_EQUAL(troupe::describe(cs.errors[0]), "unavailable: t is stopped");
}

CAF_TEST(backoff delays restarts doubling up to the maximum) {
  auto spec = make_spec(restart_strategy::one_for_one, {child("a")});
  spec.max_restarts = 100;
  spec.within = 60s;
  spec.backoff_initial = 1s;
  spec.backoff_max = 4s;
  start(std::move(spec));
  // Expected delays of consecutive restarts: 1s, 2s, 4s, 4s (capped).
  for (auto delay : {1000ms, 2000ms, 4000ms, 4000ms}) {
    auto before = incarnations("a");
    make_exit("a", crash_atom::value);
    CAF_CHECK_EQUAL(state_of("a"), "restarting");
    advance_time(delay - 1ms);
    sched.run();
    TROUPE_CHECK_MSG(incarnations("a") == before, "restarted before " << delay.count() << "ms");
    CAF_CHECK_EQUAL(state_of("a"), "restarting");
    advance_time(1ms);
    sched.run();
    TROUPE_CHECK_MSG(incarnations("a") == before + 1,
                     "not restarted after " << delay.count() << "ms");
    CAF_CHECK_EQUAL(state_of("a"), "running");
  }
}

CAF_TEST(backoff starts over after the child stayed up for a whole period) {
  auto spec = make_spec(restart_strategy::one_for_one, {child("a")});
  spec.max_restarts = 100;
  spec.within = 10s;
  spec.backoff_initial = 1s;
  spec.backoff_max = 8s;
  start(std::move(spec));
  make_exit("a", crash_atom::value);
  advance_time(1s);
  sched.run();
  make_exit("a", crash_atom::value);
  advance_time(2s);
  sched.run();
  CAF_REQUIRE_EQUAL(incarnations("a"), 3u);
  advance_time(10s); // up for a whole period
  make_exit("a", crash_atom::value);
  advance_time(1s);
  sched.run();
  CAF_CHECK_EQUAL(incarnations("a"), 4u);
}

CAF_TEST(one_for_all waits for the backoff before starting the group) {
  auto spec = make_spec(restart_strategy::one_for_all, {child("a"), child("b")});
  spec.backoff_initial = 500ms;
  spec.backoff_max = 500ms;
  start(std::move(spec));
  take_events();
  make_exit("b", crash_atom::value);
  CAF_CHECK_EQUAL(take_events(), (strings{"stop b", "stop a"}));
  CAF_CHECK_EQUAL(state_of("a"), "restarting");
  advance_time(499ms);
  sched.run();
  CAF_CHECK_EQUAL(take_events(), strings{});
  advance_time(1ms);
  sched.run();
  CAF_CHECK_EQUAL(take_events(), (strings{"start a", "start b"}));
}

CAF_TEST(exceeding the intensity stops all children in reverse order and exits with a reason) {
  auto spec = make_spec(restart_strategy::one_for_one, {child("a"), child("b"), child("c")});
  spec.max_restarts = 3;
  spec.within = 5s;
  start(std::move(spec));
  auto parent = spawn_watcher(sut);
  for (int i = 0; i < 3; ++i) {
    make_exit("b", crash_atom::value);
    advance_time(1s); // all within 5 s
  }
  CAF_CHECK_EQUAL(incarnations("b"), 4u);
  CAF_CHECK(reasons(parent).empty());
  take_events();
  make_exit("b", crash_atom::value); // the 4th restart within 5 s is one too many
  CAF_CHECK_EQUAL(take_events(), (strings{"stop b", "stop c", "stop a"}));
  CAF_REQUIRE_EQUAL(reasons(parent).size(), 1u);
  auto& reason = reasons(parent)[0];
  CAF_CHECK_EQUAL(reason, troupe::make_error(errc::invalid_state));
  auto text = troupe::describe(reason);
  TROUPE_CHECK_MSG(text.find("sup: restart intensity exceeded: 4 restarts in 5s (last: b: ")
                     != std::string::npos,
                   text);
  CAF_CHECK(!alive(sut));
}

CAF_TEST(restarts spread wider than the period do not exhaust the intensity) {
  auto spec = make_spec(restart_strategy::one_for_one, {child("a")});
  spec.max_restarts = 1;
  spec.within = 5s;
  start(std::move(spec));
  for (int i = 0; i < 4; ++i) {
    make_exit("a", crash_atom::value);
    advance_time(5s);
  }
  CAF_CHECK_EQUAL(incarnations("a"), 5u);
  CAF_CHECK(alive(sut));
}

CAF_TEST(a failing factory counts as a failed restart attempt and is retried) {
  auto spec = make_spec(restart_strategy::one_for_one, {child("a")});
  spec.max_restarts = 5;
  spec.backoff_initial = 1s;
  spec.backoff_max = 10s;
  start(std::move(spec));
  failures["a"] = 2;
  take_events();
  make_exit("a", crash_atom::value);
  advance_time(1s);
  sched.run();
  CAF_CHECK_EQUAL(take_events(), (strings{"stop a", "fail a"}));
  CAF_CHECK_EQUAL(state_of("a"), "restarting");
  advance_time(2s); // the second attempt backs off further
  sched.run();
  CAF_CHECK_EQUAL(take_events(), (strings{"fail a"}));
  advance_time(4s);
  sched.run();
  CAF_CHECK_EQUAL(take_events(), (strings{"start a"}));
  CAF_CHECK_EQUAL(state_of("a"), "running");
}

CAF_TEST(a factory that keeps failing exhausts the intensity) {
  auto spec = make_spec(restart_strategy::one_for_one, {child("a"), child("b")});
  spec.max_restarts = 2;
  start(std::move(spec));
  auto parent = spawn_watcher(sut);
  failures["b"] = 100;
  take_events();
  make_exit("b", crash_atom::value);
  CAF_CHECK_EQUAL(take_events(), (strings{"stop b", "fail b", "fail b", "stop a"}));
  CAF_REQUIRE_EQUAL(reasons(parent).size(), 1u);
  CAF_CHECK_EQUAL(reasons(parent)[0], troupe::make_error(errc::invalid_state));
}

CAF_TEST(a factory failing during the initial start stops the started children and exits) {
  failures["b"] = 1;
  auto spec = make_spec(restart_strategy::one_for_one, {child("a"), child("b"), child("c")});
  sut = troupe::spawn_supervisor(sys, std::move(spec), troupe::null_logger());
  auto parent = spawn_watcher(sut);
  run();
  CAF_CHECK_EQUAL(take_events(), (strings{"start a", "fail b", "stop a"}));
  CAF_REQUIRE_EQUAL(reasons(parent).size(), 1u);
  CAF_CHECK_EQUAL(troupe::describe(reasons(parent)[0]),
                  "invalid_state: sup: child b failed to start: system_error: cannot start b");
}

CAF_TEST(an exit from the parent stops the children in reverse order first) {
  start(make_spec(restart_strategy::one_for_one, {child("a"), child("b"), child("c")}));
  auto parent = spawn_watcher(sut);
  auto rel = relay_of("a");
  take_events();
  anon_send_exit(sut, exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(take_events(), (strings{"stop c", "stop b", "stop a"}));
  CAF_REQUIRE_EQUAL(reasons(parent).size(), 1u);
  CAF_CHECK_EQUAL(reasons(parent)[0], exit_reason::user_shutdown);
  CAF_CHECK(!alive(rel)); // the supervisor's own relays end with it
}

CAF_TEST(a child that ignores the shutdown is killed after the shutdown timeout) {
  stubborn.insert("b");
  auto spec = make_spec(restart_strategy::one_for_one, {child("a"), child("b")});
  spec.shutdown_timeout = 2s;
  start(std::move(spec));
  take_events();
  anon_send_exit(sut, exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(take_events(), strings{});
  advance_time(1999ms);
  sched.run();
  CAF_CHECK_EQUAL(take_events(), strings{});
  advance_time(1ms);
  sched.run();
  CAF_CHECK_EQUAL(take_events(), (strings{"stop b", "stop a"}));
  CAF_CHECK(!alive(sut));
}

CAF_TEST(given relays survive the supervisor and are re - pointed by its next incarnation) {
  auto spec = make_spec(restart_strategy::one_for_one, {child("a")});
  troupe::make_relays(sys, spec);
  auto rel = spec.children[0].relay;
  others.push_back(rel);
  start(spec);
  CAF_CHECK(relay_of("a") == rel);
  anon_send_exit(sut, exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK(alive(rel));
  CAF_CHECK_EQUAL(deref<troupe::relay_actor>(rel).state.why, "stopped");
  start(spec);
  CAF_CHECK(deref<troupe::relay_actor>(rel).state.target == current("a"));
}

CAF_TEST(a nested supervisor escalates to its parent which restarts it and then gives up) {
  // inner: one_for_one over "w", at most 1 restart in 5 s.
  auto inner = make_spec(restart_strategy::one_for_one, {child("w")});
  inner.name = "inner";
  inner.max_restarts = 1;
  std::vector<actor> inners;
  child_spec inner_child;
  inner_child.name = "inner";
  inner_child.start = [this, inner, &inners]() -> expected<actor> {
    auto a = troupe::spawn_supervisor(sys, inner, troupe::null_logger());
    inners.push_back(a);
    return a;
  };
  // outer: at most 1 restart in 5 s as well.
  auto outer = make_spec(restart_strategy::one_for_one, {child("x"), inner_child});
  outer.name = "outer";
  outer.max_restarts = 1;
  start(std::move(outer));
  auto top = spawn_watcher(sut);
  CAF_REQUIRE_EQUAL(inners.size(), 1u);
  CAF_CHECK_EQUAL(incarnations("w"), 1u);
  // Two crashes of w exceed inner's intensity: inner stops and outer restarts it (and thereby w).
  make_exit("w", crash_atom::value);
  make_exit("w", crash_atom::value);
  CAF_REQUIRE_EQUAL(inners.size(), 2u);
  CAF_CHECK(!alive(inners[0]));
  CAF_CHECK_EQUAL(incarnations("w"), 3u);
  CAF_CHECK_EQUAL(restarts_of("inner"), 1u);
  CAF_CHECK(reasons(top).empty());
  // Doing it again exceeds outer's intensity: everything stops and outer exits.
  take_events();
  make_exit("w", crash_atom::value);
  make_exit("w", crash_atom::value);
  CAF_CHECK_EQUAL(take_events(), (strings{"stop w", "start w", "stop w", "stop x"}));
  CAF_REQUIRE_EQUAL(reasons(top).size(), 1u);
  auto text = troupe::describe(reasons(top)[0]);
  TROUPE_CHECK_MSG(text.find("outer: restart intensity exceeded: 2 restarts in 5s (last: inner: "
                             "invalid_state: inner: restart intensity exceeded")
                     != std::string::npos,
                   text);
  CAF_CHECK(!alive(sut));
}

CAF_TEST(a failure while siblings are being stopped is handled after the group restart) {
  stubborn.insert("c");
  auto spec = make_spec(restart_strategy::rest_for_one, {child("a"), child("b"), child("c")});
  spec.shutdown_timeout = 2s;
  spec.max_restarts = 10;
  start(std::move(spec));
  take_events();
  make_exit("b", crash_atom::value); // stopping c, which ignores it until killed
  make_exit("a", crash_atom::value); // not part of that group: deferred
  CAF_CHECK_EQUAL(take_events(), (strings{"stop b", "stop a"}));
  advance_time(2s);
  sched.run();
  // c is killed, the group [b, c] starts, then a's failure restarts [a, b, c]: c is stopped
  // again (and needs the kill again), then b, then all start in order.
  CAF_CHECK_EQUAL(take_events(), (strings{"stop c", "start b", "start c"}));
  advance_time(2s);
  sched.run();
  CAF_CHECK_EQUAL(take_events(), (strings{"stop c", "stop b", "start a", "start b", "start c"}));
  for (auto name : {"a", "b", "c"})
    CAF_CHECK_EQUAL(state_of(name), "running");
}

CAF_TEST(a killed supervisor takes its children with it) {
  start(make_spec(restart_strategy::one_for_one, {child("a"), child("b")}));
  take_events();
  anon_send_exit(sut, exit_reason::kill);
  sched.run();
  auto evs = take_events();
  std::sort(evs.begin(), evs.end());
  CAF_CHECK_EQUAL(evs, (strings{"stop a", "stop b"}));
}

CAF_TEST(a child that does not even read the kill is abandoned so shutdown stays bounded) {
  using kill_atom = atom_constant<atom("sup_kill")>;
  stubborn.insert("b");
  auto spec = make_spec(restart_strategy::one_for_one, {child("a"), child("b")});
  spec.shutdown_timeout = 2s;
  start(std::move(spec));
  auto parent = spawn_watcher(sut);
  auto a = current("a");
  auto b = current("b");
  anon_send_exit(sut, exit_reason::user_shutdown);
  expect((exit_msg), to(sut));
  expect((exit_msg), from(sut).to(b)); // ignored
  advance_time(2s);
  expect((kill_atom, uint64_t), from(sut).to(sut));
  // b is "stuck": the test never lets it run from here on.
  advance_time(2s);
  expect((kill_atom, uint64_t), from(sut).to(sut));
  expect((exit_msg), from(sut).to(a));
  expect((down_msg), from(a).to(sut));
  expect((down_msg), from(sut).to(parent));
  CAF_CHECK_EQUAL(reasons(parent).at(0), exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()
