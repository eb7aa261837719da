#define CAF_SUITE actors.single_flight

#include "troupe/actors/single_flight.hpp"

#include "caf/test/dsl.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/errc.hpp"
#include "troupe/logging.hpp"
#include "troupe_test.hpp"

using namespace caf;
using namespace std::chrono_literals;
using namespace troupe::actors;
using troupe::errc;

namespace {

using finish_atom = atom_constant<atom("finish")>;
using fail_atom = atom_constant<atom("fail")>;
using unavail_atom = atom_constant<atom("unavail")>;

/// A scripted pool worker: takes `(run, key, x)` and answers it only when the test says
/// `(finish, key)` (with `(key + "!", runs)`) or `(fail, key)` (with its own error).
struct fake_worker_state {
  std::map<std::string, response_promise> running;
  int runs = 0;
};

behavior fake_worker(stateful_actor<fake_worker_state>* self) {
  return {
    [self](run_atom, const std::string& key, int32_t) -> result<std::string, int32_t> {
      ++self->state.runs;
      self->state.running[key] = self->make_response_promise();
      return delegated<std::string, int32_t>{};
    },
    [self](finish_atom, const std::string& key) {
      auto& st = self->state;
      st.running[key].deliver(key + "!", int32_t{st.runs});
      st.running.erase(key);
    },
    [self](fail_atom, const std::string& key) {
      self->state.running[key].deliver(troupe::make_error(errc::bad_request, "no such query"));
      self->state.running.erase(key);
    },
    [self](unavail_atom, const std::string& key) {
      self->state.running[key].deliver(troupe::make_error(errc::unavailable, "stopping"));
      self->state.running.erase(key);
    },
  };
}

struct fixture : test_coordinator_fixture<> {
  actor sut;
  scoped_actor c1{sys};
  scoped_actor c2{sys};
  scoped_actor c3{sys};
  std::vector<actor> workers;

  void start(int32_t retries = 1, troupe::timespan timeout = 10s) {
    single_flight_settings settings;
    settings.retries = retries;
    settings.timeout = timeout;
    sut = sys.spawn(single_flight, settings, troupe::null_logger());
    sched.run();
  }

  ~fixture() {
    for (auto& w : workers)
      anon_send_exit(w, exit_reason::user_shutdown);
    if (sut)
      anon_send_exit(sut, exit_reason::user_shutdown);
    run();
  }

  actor add_worker(const std::string& label) {
    auto w = sys.spawn(fake_worker);
    workers.push_back(w);
    self->send(sut, join_atom::value, w, label);
    expect((join_atom, actor, std::string), from(self).to(sut));
    expect((ok_atom), from(sut).to(self));
    return w;
  }

  fake_worker_state& worker_state(const actor& w) {
    return deref<stateful_actor<fake_worker_state>>(w).state;
  }

  single_flight_state& sut_state() {
    return deref<stateful_actor<single_flight_state>>(sut).state;
  }

  void finish(const actor& w, const std::string& key) {
    anon_send(w, finish_atom::value, key);
    expect((finish_atom, std::string), to(w));
    expect((std::string, int32_t), from(w).to(sut));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(single_flight_tests, fixture)

CAF_TEST(callers of a running key share one computation and get the same answer) {
  start();
  auto w = add_worker("w1");
  c1->send(sut, run_atom::value, "q", int32_t{7});
  expect((run_atom, std::string, int32_t), from(c1).to(sut));
  expect((run_atom, std::string, int32_t), from(sut).to(w).with(_, "q", 7));
  c2->send(sut, run_atom::value, "q", int32_t{7});
  c3->send(sut, run_atom::value, "q", int32_t{7});
  expect((run_atom, std::string, int32_t), from(c2).to(sut));
  expect((run_atom, std::string, int32_t), from(c3).to(sut));
  disallow((run_atom, std::string, int32_t), from(sut).to(w));
  CAF_CHECK_EQUAL(worker_state(w).runs, 1);
  CAF_CHECK_EQUAL(sut_state().shared, 2u);
  finish(w, "q");
  expect((std::string, int32_t), from(sut).to(c1).with("q!", 1));
  expect((std::string, int32_t), from(sut).to(c2).with("q!", 1));
  expect((std::string, int32_t), from(sut).to(c3).with("q!", 1));
  CAF_CHECK_EQUAL(sut_state().flights.size(), 0u);
  // The key ended: the next caller starts a new computation.
  c1->send(sut, run_atom::value, "q", int32_t{7});
  expect((run_atom, std::string, int32_t), from(c1).to(sut));
  expect((run_atom, std::string, int32_t), from(sut).to(w));
  CAF_CHECK_EQUAL(worker_state(w).runs, 2);
}

CAF_TEST(different keys run in parallel on different workers) {
  start();
  auto w1 = add_worker("w1");
  auto w2 = add_worker("w2");
  c1->send(sut, run_atom::value, "a", int32_t{1});
  c2->send(sut, run_atom::value, "b", int32_t{2});
  sched.run();
  CAF_CHECK_EQUAL(worker_state(w1).runs, 1);
  CAF_CHECK_EQUAL(worker_state(w2).runs, 1);
  CAF_CHECK_EQUAL(sut_state().flights.size(), 2u);
  auto on_w1 = worker_state(w1).running.count("a") > 0 ? std::string{"a"} : std::string{"b"};
  auto on_w2 = on_w1 == "a" ? std::string{"b"} : std::string{"a"};
  CAF_CHECK_EQUAL(worker_state(w2).running.count(on_w2), 1u);
  finish(w2, on_w2);
  finish(w1, on_w1);
  expect((std::string, int32_t), from(sut).to(on_w1 == "a" ? c1 : c2).with(on_w1 + "!", 1));
  expect((std::string, int32_t), from(sut).to(on_w2 == "a" ? c1 : c2).with(on_w2 + "!", 1));
}

CAF_TEST(status tells whether a key runs on which worker and how many wait) {
  start();
  self->send(sut, status_atom::value, "q");
  expect((status_atom, std::string), from(self).to(sut));
  expect((std::string, std::string, int64_t, uint64_t, int32_t),
         from(sut).to(self).with("idle", "", 0, 0u, 0));
  c1->send(sut, run_atom::value, "q", int32_t{1});
  expect((run_atom, std::string, int32_t), from(c1).to(sut));
  self->send(sut, status_atom::value, "q");
  expect((status_atom, std::string), from(self).to(sut));
  expect((std::string, std::string, int64_t, uint64_t, int32_t),
         from(sut).to(self).with("queued", "", _, 1u, 0));
  auto w = add_worker("w1@backend");
  expect((run_atom, std::string, int32_t), from(sut).to(w));
  c2->send(sut, run_atom::value, "q", int32_t{1});
  expect((run_atom, std::string, int32_t), from(c2).to(sut));
  self->send(sut, status_atom::value, "q");
  expect((status_atom, std::string), from(self).to(sut));
  expect((std::string, std::string, int64_t, uint64_t, int32_t),
         from(sut).to(self).with("running", "w1@backend", _, 2u, 1));
  self->send(sut, status_atom::value);
  expect((status_atom), from(self).to(sut));
  expect((uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t),
         from(sut).to(self).with(1u, 1u, 1u, 1u, 0u, 0u, 0u));
}

CAF_TEST(a key waits for the first worker to join) {
  start();
  c1->send(sut, run_atom::value, "q", int32_t{1});
  expect((run_atom, std::string, int32_t), from(c1).to(sut));
  CAF_CHECK_EQUAL(sut_state().queued.size(), 1u);
  auto w = add_worker("w1");
  expect((run_atom, std::string, int32_t), from(sut).to(w));
  CAF_CHECK_EQUAL(sut_state().queued.size(), 0u);
  finish(w, "q");
  expect((std::string, int32_t), from(sut).to(c1).with("q!", 1));
}

CAF_TEST(a lost worker fails every waiter when no retries are configured) {
  start(0);
  auto w = add_worker("w1");
  add_worker("w2");
  c1->send(sut, run_atom::value, "q", int32_t{1});
  c2->send(sut, run_atom::value, "q", int32_t{1});
  sched.run();
  auto& runner = worker_state(w).runs == 1 ? w : workers[1];
  anon_send_exit(runner, exit_reason::kill);
  sched.run();
  expect((error), from(sut).to(c1).with(troupe::make_error(errc::unavailable)));
  expect((error), from(sut).to(c2).with(troupe::make_error(errc::unavailable)));
  CAF_CHECK_EQUAL(sut_state().workers.size(), 1u);
  CAF_CHECK_EQUAL(sut_state().failed, 1u);
  CAF_CHECK_EQUAL(sut_state().flights.size(), 0u);
}

CAF_TEST(the key of a lost worker starts again on another worker once) {
  start(1);
  auto w1 = add_worker("w1");
  auto w2 = add_worker("w2");
  c1->send(sut, run_atom::value, "q", int32_t{1});
  c2->send(sut, run_atom::value, "q", int32_t{1});
  sched.run();
  auto first = worker_state(w1).runs == 1 ? w1 : w2;
  auto second = first == w1 ? w2 : w1;
  anon_send_exit(first, exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(worker_state(second).runs, 1);
  CAF_CHECK_EQUAL(sut_state().retried, 1u);
  // The second attempt's worker is lost too: no retry left.
  anon_send_exit(second, exit_reason::kill);
  sched.run();
  expect((error), from(sut).to(c1).with(troupe::make_error(errc::unavailable)));
  expect((error), from(sut).to(c2).with(troupe::make_error(errc::unavailable)));
}

CAF_TEST(a retried key delivers the answer of the second worker to every waiter) {
  start(1);
  auto w1 = add_worker("w1");
  c1->send(sut, run_atom::value, "q", int32_t{1});
  c2->send(sut, run_atom::value, "q", int32_t{1});
  sched.run();
  anon_send_exit(w1, exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(sut_state().queued.size(), 1u); // nobody left: waits for a worker
  auto w2 = add_worker("w2");
  expect((run_atom, std::string, int32_t), from(sut).to(w2));
  finish(w2, "q");
  expect((std::string, int32_t), from(sut).to(c1).with("q!", 1));
  expect((std::string, int32_t), from(sut).to(c2).with("q!", 1));
}

CAF_TEST(a key without an answer fails every waiter with timeout) {
  start(1, 5s);
  auto w = add_worker("w1");
  c1->send(sut, run_atom::value, "q", int32_t{1});
  c2->send(sut, run_atom::value, "q", int32_t{1});
  sched.run();
  advance_time(4s);
  CAF_CHECK_EQUAL(sut_state().flights.size(), 1u);
  advance_time(1s);
  sched.run();
  expect((error), from(sut).to(c1).with(troupe::make_error(errc::timeout)));
  expect((error), from(sut).to(c2).with(troupe::make_error(errc::timeout)));
  CAF_CHECK_EQUAL(sut_state().flights.size(), 0u);
  // The late answer of the worker is ignored; a new caller starts a new computation.
  anon_send(w, finish_atom::value, "q");
  sched.run();
  c1->send(sut, run_atom::value, "q", int32_t{1});
  expect((run_atom, std::string, int32_t), from(c1).to(sut));
  expect((run_atom, std::string, int32_t), from(sut).to(w));
}

CAF_TEST(a key with no worker at all times out too) {
  start(1, 5s);
  c1->send(sut, run_atom::value, "q", int32_t{1});
  sched.run();
  advance_time(5s);
  sched.run();
  expect((error), from(sut).to(c1).with(troupe::make_error(errc::timeout)));
  CAF_CHECK_EQUAL(sut_state().queued.size(), 0u);
}

CAF_TEST(the own error of the worker reaches every waiter and is not retried) {
  start(1);
  auto w = add_worker("w1");
  c1->send(sut, run_atom::value, "q", int32_t{1});
  c2->send(sut, run_atom::value, "q", int32_t{1});
  sched.run();
  anon_send(w, fail_atom::value, "q");
  sched.run();
  expect((error), from(sut).to(c1).with(troupe::make_error(errc::bad_request)));
  expect((error), from(sut).to(c2).with(troupe::make_error(errc::bad_request)));
  CAF_CHECK_EQUAL(sut_state().retried, 0u);
  CAF_CHECK_EQUAL(worker_state(w).runs, 1);
}

CAF_TEST(an unavailable answer is retried on another worker that stays in the pool) {
  start(1);
  auto w1 = add_worker("w1");
  auto w2 = add_worker("w2");
  c1->send(sut, run_atom::value, "q", int32_t{1});
  sched.run();
  auto first = worker_state(w1).runs == 1 ? w1 : w2;
  auto second = first == w1 ? w2 : w1;
  anon_send(first, unavail_atom::value, "q");
  sched.run();
  CAF_CHECK_EQUAL(worker_state(second).runs, 1);
  CAF_CHECK_EQUAL(worker_state(first).runs, 1);
  CAF_CHECK_EQUAL(sut_state().workers.size(), 2u);
  // No retry left: the second unavailable reaches the caller.
  anon_send(second, unavail_atom::value, "q");
  sched.run();
  expect((error), from(sut).to(c1).with(troupe::make_error(errc::unavailable)));
}

CAF_TEST(malformed messages get an error and the actor keeps serving) {
  start();
  self->send(sut, run_atom::value);
  expect((run_atom), from(self).to(sut));
  expect((error), from(sut).to(self).with(troupe::make_error(errc::bad_request)));
  self->send(sut, run_atom::value, int32_t{42});
  expect((run_atom, int32_t), from(self).to(sut));
  expect((error), from(sut).to(self).with(troupe::make_error(errc::bad_request)));
  self->send(sut, join_atom::value, actor{}, "nobody");
  expect((join_atom, actor, std::string), from(self).to(sut));
  expect((error), from(sut).to(self).with(troupe::make_error(errc::bad_request)));
  self->send(sut, "garbage", 1.5);
  expect((std::string, double), from(self).to(sut));
  expect((error), from(sut).to(self).with(sec::unexpected_message));
  anon_send(sut, troupe::make_error(errc::bad_frame));
  sched.run();
  auto w = add_worker("w1");
  c1->send(sut, run_atom::value, "q", int32_t{1});
  expect((run_atom, std::string, int32_t), from(c1).to(sut));
  expect((run_atom, std::string, int32_t), from(sut).to(w));
}

CAF_TEST(a worker that leaves gets no new keys) {
  start();
  auto w = add_worker("w1");
  self->send(sut, leave_atom::value, w);
  expect((leave_atom, actor), from(self).to(sut));
  expect((ok_atom), from(sut).to(self));
  c1->send(sut, run_atom::value, "q", int32_t{1});
  expect((run_atom, std::string, int32_t), from(c1).to(sut));
  disallow((run_atom, std::string, int32_t), from(sut).to(w));
  CAF_CHECK_EQUAL(sut_state().queued.size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

struct joiner_fixture : test_coordinator_fixture<> {
  actor pool;
  actor worker;
  actor sut;
  int lookups = 0;
  bool pool_known = true;

  joiner_fixture() {
    pool = sys.spawn(single_flight, single_flight_settings{}, troupe::null_logger());
    worker = sys.spawn(fake_worker);
    lookup_function lookup = [this](const std::string& name) -> expected<actor> {
      ++lookups;
      if (name != "flight" || !pool_known)
        return troupe::make_error(errc::not_found, name);
      return pool;
    };
    sut = sys.spawn(pool_joiner, worker, "flight", "w1@b", lookup, troupe::timespan{1s},
                    troupe::null_logger());
    sched.run();
  }

  ~joiner_fixture() {
    anon_send_exit(worker, exit_reason::user_shutdown);
    anon_send_exit(pool, exit_reason::user_shutdown);
    run();
  }

  size_t pool_workers() {
    return deref<stateful_actor<single_flight_state>>(pool).state.workers.size();
  }

  pool_joiner_state& sut_state() {
    return deref<stateful_actor<pool_joiner_state>>(sut).state;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(pool_joiner_tests, joiner_fixture)

CAF_TEST(the joiner adds its worker to the pool and renews the membership) {
  CAF_CHECK_EQUAL(pool_workers(), 1u);
  CAF_CHECK(sut_state().joined);
  CAF_CHECK_EQUAL(sut_state().joins, 1u);
  advance_time(1s);
  sched.run();
  CAF_CHECK_EQUAL(sut_state().joins, 2u);
  CAF_CHECK_EQUAL(pool_workers(), 1u); // a refresh, not a second entry
  CAF_CHECK_EQUAL(lookups, 1);         // the handle is kept while it lives
}

CAF_TEST(the joiner finds a restarted pool by name and joins it) {
  anon_send_exit(pool, exit_reason::kill);
  pool_known = false;
  sched.run();
  CAF_CHECK(!sut_state().joined);
  advance_time(1s); // the name does not resolve yet: try again later
  sched.run();
  CAF_CHECK(!sut_state().joined);
  pool = sys.spawn(single_flight, single_flight_settings{}, troupe::null_logger());
  pool_known = true;
  advance_time(1s);
  sched.run();
  CAF_CHECK(sut_state().joined);
  CAF_CHECK_EQUAL(pool_workers(), 1u);
}

CAF_TEST(after a failed lookup the joiner tries again within 100 ms and then backs off) {
  anon_send_exit(pool, exit_reason::kill);
  pool_known = false;
  sched.run(); // the down: an immediate lookup, which fails
  CAF_CHECK_EQUAL(lookups, 2);
  advance_time(100ms);
  sched.run();
  CAF_CHECK_EQUAL(lookups, 3);
  advance_time(199ms); // the next try comes after 200 ms
  sched.run();
  CAF_CHECK_EQUAL(lookups, 3);
  pool = sys.spawn(single_flight, single_flight_settings{}, troupe::null_logger());
  pool_known = true;
  advance_time(1ms);
  sched.run();
  CAF_CHECK_EQUAL(lookups, 4);
  CAF_CHECK(sut_state().joined);
  CAF_CHECK_EQUAL(pool_workers(), 1u);
}

CAF_TEST(the joiner ends with its worker and the pool drops the worker) {
  self->monitor(sut);
  anon_send_exit(worker, exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(pool_workers(), 0u);
  expect((down_msg), from(sut).to(self));
}

CAF_TEST_FIXTURE_SCOPE_END()
