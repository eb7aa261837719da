#define CAF_SUITE actors.config_supervisor

#include "troupe/actors/config_supervisor.hpp"

#include "caf/test/dsl.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/errc.hpp"
#include "troupe/logging.hpp"

using namespace caf;
using namespace std::chrono_literals;
using namespace troupe::actors;
using troupe::errc;

namespace {

using finish_atom = atom_constant<atom("finish")>;

/// A scripted driver: answers at once, except `readconfig`, which it answers only when the test
/// sends `finish` (so a test controls how long a reload takes).
struct fake_driver_state {
  response_promise reload;
  int reads = 0;
  int uninits = 0;
};

behavior fake_driver(stateful_actor<fake_driver_state>* self) {
  return {
    [](init_atom) { return ok_atom::value; },
    [](calc_atom, int32_t x) { return x + 1; },
    [self](read_config_atom) -> result<ok_atom> {
      ++self->state.reads;
      self->state.reload = self->make_response_promise();
      return delegated<ok_atom>{};
    },
    [self](finish_atom) { self->state.reload.deliver(ok_atom::value); },
    [self](uninit_atom) {
      ++self->state.uninits;
      return ok_atom::value;
    },
  };
}

/// Collects the answers a client actor got.
struct answers {
  std::vector<int32_t> values;
  std::vector<error> errors;
};

struct fixture : test_coordinator_fixture<> {
  actor driver;
  actor sut;

  fixture() {
    driver = sys.spawn(fake_driver);
    sut = sys.spawn(config_supervisor, driver, troupe::timespan{10s}, troupe::null_logger());
    run();
  }

  ~fixture() {
    // Pending idle timers keep the supervisor alive; end both actors explicitly.
    anon_send_exit(sut, exit_reason::user_shutdown);
    anon_send_exit(driver, exit_reason::user_shutdown);
    run();
  }

  fake_driver_state& driver_state() {
    return deref<stateful_actor<fake_driver_state>>(driver).state;
  }

  config_supervisor_state& sut_state() {
    return deref<stateful_actor<config_supervisor_state>>(sut).state;
  }

  void init() {
    self->send(sut, init_atom::value);
    expect((init_atom), from(self).to(sut));
    expect((init_atom), from(sut).to(driver));
    expect((ok_atom), from(driver).to(sut));
    expect((ok_atom), from(sut).to(self));
  }

  /// Lets the idle period pass and checks that it starts a reload.
  void idle_until_reload() {
    advance_time(10s);
    expect((tick_atom, uint64_t), from(sut).to(sut));
    expect((read_config_atom), from(sut).to(driver));
    CAF_REQUIRE(sut_state().reloading);
  }

  void finish_reload() {
    anon_send(driver, finish_atom::value);
    expect((finish_atom), to(driver));
    expect((ok_atom), from(driver).to(sut));
    CAF_REQUIRE(!sut_state().reloading);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(config_supervisor_tests, fixture)

CAF_TEST(calc is forwarded to the driver and answered directly to the caller) {
  init();
  self->send(sut, calc_atom::value, int32_t{5});
  expect((calc_atom, int32_t), from(self).to(sut).with(_, 5));
  expect((calc_atom, int32_t), from(self).to(driver).with(_, 5));
  expect((int32_t), from(driver).to(self).with(6));
}

CAF_TEST(calc before init fails with not_initialized without reaching the driver) {
  self->send(sut, calc_atom::value, int32_t{5});
  expect((calc_atom, int32_t), from(self).to(sut));
  expect((error), from(sut).to(self).with(troupe::make_error(errc::not_initialized)));
  disallow((calc_atom, int32_t), from(self).to(driver));
}

CAF_TEST(an idle period without calc triggers a reload) {
  init();
  advance_time(9s);
  disallow((read_config_atom), from(sut).to(driver));
  idle_until_reload();
  CAF_CHECK_EQUAL(driver_state().reads, 1);
}

CAF_TEST(calc activity postpones the idle reload) {
  init();
  advance_time(6s);
  self->send(sut, calc_atom::value, int32_t{1});
  sched.run();      // unlike run(), does not fire timers early
  advance_time(4s); // 10 s after init, but only 4 s after the last calc
  expect((tick_atom, uint64_t), from(sut).to(sut));
  disallow((read_config_atom), from(sut).to(driver));
  advance_time(6s); // now 10 s after the last calc
  expect((tick_atom, uint64_t), from(sut).to(sut));
  expect((read_config_atom), from(sut).to(driver));
}

CAF_TEST(calc during a reload fails at once with CALC - FAIL) {
  init();
  idle_until_reload();
  self->send(sut, calc_atom::value, int32_t{5});
  expect((calc_atom, int32_t), from(self).to(sut));
  // Answered by the supervisor itself in the same step: nothing queues behind the reload.
  expect((error), from(sut).to(self).with(troupe::make_error(errc::calc_fail)));
  disallow((calc_atom, int32_t), from(self).to(driver));
  CAF_CHECK_EQUAL(sut_state().calc_fails, 1u);
}

CAF_TEST(calc after the reload succeeds again) {
  init();
  idle_until_reload();
  finish_reload();
  CAF_CHECK_EQUAL(sut_state().reloads, 1u);
  self->send(sut, calc_atom::value, int32_t{41});
  expect((calc_atom, int32_t), from(self).to(sut));
  expect((calc_atom, int32_t), from(self).to(driver));
  expect((int32_t), from(driver).to(self).with(42));
}

CAF_TEST(the idle timer is re - armed after a reload) {
  init();
  idle_until_reload();
  finish_reload();
  advance_time(9s);
  disallow((read_config_atom), from(sut).to(driver));
  idle_until_reload();
  CAF_CHECK_EQUAL(driver_state().reads, 2);
}

CAF_TEST(an explicit reload starts at once and answers ok without waiting for it) {
  init();
  self->send(sut, reload_atom::value);
  expect((reload_atom), from(self).to(sut));
  expect((read_config_atom), from(sut).to(driver));
  expect((ok_atom), from(sut).to(self));
  CAF_CHECK(sut_state().reloading);
  // A second reload while one runs joins it instead of queueing another.
  self->send(sut, reload_atom::value);
  expect((reload_atom), from(self).to(sut));
  expect((ok_atom), from(sut).to(self));
  disallow((read_config_atom), from(sut).to(driver));
  finish_reload();
  CAF_CHECK_EQUAL(driver_state().reads, 1);
}

CAF_TEST(reload before init fails with not_initialized) {
  self->send(sut, reload_atom::value);
  expect((reload_atom), from(self).to(sut));
  expect((error), from(sut).to(self).with(troupe::make_error(errc::not_initialized)));
}

CAF_TEST(uninit disarms the idle timer) {
  init();
  self->send(sut, uninit_atom::value);
  expect((uninit_atom), from(self).to(sut));
  expect((uninit_atom), from(self).to(driver));
  expect((ok_atom), from(driver).to(self));
  advance_time(20s);
  disallow((read_config_atom), from(sut).to(driver));
}

CAF_TEST(uninit during a reload answers at once and runs after the reload) {
  init();
  idle_until_reload();
  self->send(sut, uninit_atom::value);
  expect((uninit_atom), from(self).to(sut));
  expect((ok_atom), from(sut).to(self));
  expect((uninit_atom), from(sut).to(driver)); // queued behind readConfig on a real driver
  CAF_CHECK_EQUAL(driver_state().uninits, 1);
}

CAF_TEST(several clients during and after a reload each get their own answer) {
  init();
  idle_until_reload();
  auto log = std::make_shared<answers>();
  auto client = [&](int32_t x) {
    return sys.spawn([=](event_based_actor* cl) {
      cl->request(sut, infinite, calc_atom::value, x)
        .then([=](int32_t y) { log->values.push_back(y); },
              [=](error& err) { log->errors.push_back(err); });
    });
  };
  for (int32_t i = 0; i < 3; ++i)
    client(i);
  sched.run();
  CAF_REQUIRE_EQUAL(log->errors.size(), 3u);
  for (auto& err : log->errors)
    CAF_CHECK_EQUAL(err, troupe::make_error(errc::calc_fail));
  CAF_CHECK(log->values.empty());
  finish_reload();
  for (int32_t i = 10; i < 13; ++i)
    client(i);
  sched.run();
  std::sort(log->values.begin(), log->values.end());
  CAF_CHECK_EQUAL(log->values, std::vector<int32_t>({11, 12, 13}));
  CAF_CHECK_EQUAL(log->errors.size(), 3u);
}

CAF_TEST(a driver that dies during a reload ends it and later calls fail fast) {
  init();
  idle_until_reload();
  anon_send_exit(driver, exit_reason::kill);
  sched.run();
  CAF_CHECK(!sut_state().reloading);
  CAF_CHECK(sut_state().driver_down);
  // The calc goes on to the driver's handle; this plain one has ended and fails it at once (a name
  // would answer unavailable, or reach the next incarnation).
  auto calc = self->request(sut, infinite, calc_atom::value, int32_t{5});
  expect((calc_atom, int32_t), from(self).to(sut));
  run();
  bool failed = false;
  calc.receive([](int32_t) { CAF_FAIL("calc answered by a dead driver"); },
               [&](error& err) {
                 failed = true;
                 CAF_CHECK_EQUAL(err, make_error(sec::request_receiver_down));
               });
  CAF_CHECK(failed);
}

CAF_TEST(a bare error or an unexpected message neither kills it nor loses its state) {
  init();
  // CAF's default error handler would quit the actor (and its supervisor restart it, init gone).
  self->send(sut, make_error(sec::runtime_error, "stray"));
  expect((error), from(self).to(sut));
  self->send(sut, std::string{"no such request"});
  expect((std::string), from(self).to(sut));
  expect((error), from(sut).to(self).with(make_error(sec::unexpected_message)));
  CAF_CHECK(sut_state().initialized);
  self->send(sut, calc_atom::value, int32_t{5});
  expect((calc_atom, int32_t), from(self).to(sut).with(_, 5));
  expect((calc_atom, int32_t), from(self).to(driver).with(_, 5));
  expect((int32_t), from(driver).to(self).with(6));
}

CAF_TEST_FIXTURE_SCOPE_END()
