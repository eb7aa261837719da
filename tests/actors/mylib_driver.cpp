#define CAF_SUITE actors.mylib_driver

#include "troupe/actors/mylib_driver.hpp"

#include <atomic>
#include <thread>

#include "caf/test/unit_test.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/mylib.hpp"
#include "troupe/errc.hpp"
#include "troupe/logging.hpp"

using namespace caf;
using namespace std::chrono_literals;
using namespace troupe::actors;
namespace mylib = troupe::mylib;

namespace {

// The driver owns a real thread, so these tests use a real actor system (no test coordinator).

std::atomic<int> violations{0};

void record_violation(const char*, const char*) {
  ++violations;
}

struct fixture {
  actor_system_config cfg;
  std::unique_ptr<actor_system> sys;
  mylib::violation_handler previous;

  fixture() {
    troupe::add_error_category(cfg);
    sys = std::make_unique<actor_system>(cfg);
    violations = 0;
    previous = mylib::set_violation_handler(record_violation);
  }

  ~fixture() {
    for (auto& hdl : spawned) // also after a failed REQUIRE, or ~actor_system waits forever
      anon_send_exit(hdl, exit_reason::kill);
    spawned.clear();
    sys.reset();
    mylib::set_violation_handler(previous);
  }

  /// Sends `xs...` to `dst` and returns the answer of type `T` (or the error).
  template <class T, class... Ts>
  expected<T> ask(const actor& dst, Ts... xs) {
    scoped_actor self{*sys};
    expected<T> result{error{}};
    self->request(dst, 10s, xs...)
      .receive([&](T& x) { result = std::move(x); }, [&](error& err) { result = std::move(err); });
    return result;
  }

  actor spawn_driver(std::shared_ptr<mylib::library> lib) {
    auto hdl = sys->spawn<detached>(mylib_driver, std::move(lib), troupe::null_logger(),
                                    std::shared_ptr<mylib_driver_memory>{});
    spawned.push_back(hdl);
    return hdl;
  }

  std::vector<actor> spawned;

  void stop(const actor& hdl) {
    scoped_actor self{*sys};
    self->monitor(hdl);
    self->send_exit(hdl, exit_reason::user_shutdown);
    self->receive([](down_msg&) {});
  }
};

mylib::settings instant() {
  mylib::settings s;
  s.read_config_min = s.read_config_max = troupe::timespan{0};
  return s;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(mylib_driver_tests, fixture)

CAF_TEST(the thread check of the stand - in library catches a foreign thread) {
  // Guards the guard: without this, a broken check would make the driver tests pass vacuously.
  mylib::library lib{instant()};
  lib.init();
  std::thread other{[&] { lib.calc(1); }};
  other.join();
  CAF_CHECK_EQUAL(violations.load(), 1);
  lib.calc(1);
  CAF_CHECK_EQUAL(violations.load(), 1);
  mylib::library fresh{instant()};
  fresh.calc(1); // before init
  CAF_CHECK_EQUAL(violations.load(), 2);
}

CAF_TEST(the driver calls the library from its own thread only) {
  auto lib = std::make_shared<mylib::library>(instant());
  auto sut = spawn_driver(lib);
  CAF_REQUIRE(ask<ok_atom>(sut, init_atom::value));
  auto owner = lib->owner();
  CAF_CHECK_NOT_EQUAL(owner, std::thread::id{});
  CAF_CHECK_NOT_EQUAL(owner, std::this_thread::get_id());
  // Requests from several threads at once still reach the library on the owner thread.
  std::vector<std::thread> callers;
  std::atomic<int> correct{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      for (int32_t i = 0; i < 25; ++i) {
        auto res = ask<int32_t>(sut, calc_atom::value, int32_t{t * 100 + i});
        if (res && *res == t * 100 + i + 1)
          ++correct;
      }
    });
  for (auto& th : callers)
    th.join();
  CAF_CHECK_EQUAL(correct.load(), 100);
  CAF_REQUIRE(ask<ok_atom>(sut, read_config_atom::value));
  CAF_CHECK_EQUAL(lib->owner(), owner);
  CAF_REQUIRE(ask<ok_atom>(sut, uninit_atom::value));
  CAF_CHECK_EQUAL(violations.load(), 0);
  CAF_CHECK_EQUAL(lib->calls(), 103u); // init + 100 calc + readConfig + uninit
  stop(sut);
}

CAF_TEST(calc and readconfig before init fail with not_initialized) {
  auto lib = std::make_shared<mylib::library>(instant());
  auto sut = spawn_driver(lib);
  auto res = ask<int32_t>(sut, calc_atom::value, int32_t{1});
  CAF_REQUIRE(!res);
  CAF_CHECK_EQUAL(res.error(), troupe::make_error(troupe::errc::not_initialized));
  auto res2 = ask<ok_atom>(sut, read_config_atom::value);
  CAF_REQUIRE(!res2);
  CAF_CHECK_EQUAL(res2.error(), troupe::make_error(troupe::errc::not_initialized));
  CAF_CHECK_EQUAL(violations.load(), 0);
  stop(sut);
}

CAF_TEST(calc that would overflow is rejected instead of calling the library) {
  auto lib = std::make_shared<mylib::library>(instant());
  auto sut = spawn_driver(lib);
  CAF_REQUIRE(ask<ok_atom>(sut, init_atom::value));
  auto res = ask<int32_t>(sut, calc_atom::value, std::numeric_limits<int32_t>::max());
  CAF_REQUIRE(!res);
  CAF_CHECK_EQUAL(res.error(), troupe::make_error(troupe::errc::bad_request));
  stop(sut);
}

CAF_TEST(a driver stopped while initialized uninits on its own thread) {
  auto lib = std::make_shared<mylib::library>(instant());
  auto sut = spawn_driver(lib);
  CAF_REQUIRE(ask<ok_atom>(sut, init_atom::value));
  stop(sut);
  // The state destructor may finish just after the down message; wait for it, bounded.
  for (int i = 0; i < 500 && lib->owner() != std::thread::id{}; ++i)
    std::this_thread::sleep_for(1ms);
  CAF_CHECK_EQUAL(lib->owner(), std::thread::id{});
  CAF_CHECK_EQUAL(violations.load(), 0);
}

CAF_TEST(interrupt cuts a long readConfig short) {
  mylib::settings s;
  s.read_config_min = s.read_config_max = std::chrono::seconds{30};
  auto lib = std::make_shared<mylib::library>(s);
  auto sut = spawn_driver(lib);
  CAF_REQUIRE(ask<ok_atom>(sut, init_atom::value));
  scoped_actor self{*sys};
  self->send(sut, read_config_atom::value);
  std::this_thread::sleep_for(50ms); // let the driver enter readConfig
  auto start = std::chrono::steady_clock::now();
  lib->interrupt();
  stop(sut);
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - start, std::chrono::seconds{10});
}

CAF_TEST(a crash in readConfig ends the driver and its successor re - initializes) {
  mylib::settings s = instant();
  s.crash_probability = 1.0;
  auto memory = std::make_shared<mylib_driver_memory>();
  auto lib = std::make_shared<mylib::library>(s);
  auto sut = sys->spawn<detached>(mylib_driver, lib, troupe::null_logger(), memory);
  spawned.push_back(sut);
  CAF_REQUIRE(ask<ok_atom>(sut, init_atom::value));
  scoped_actor self{*sys};
  self->monitor(sut);
  auto res = ask<ok_atom>(sut, read_config_atom::value);
  CAF_CHECK(!res);
  error reason;
  self->receive([&](down_msg& dm) { reason = dm.reason; });
  CAF_CHECK_EQUAL(reason, troupe::make_error(troupe::errc::system_error));
  CAF_CHECK(memory->wanted_init.load());
  // The successor gets a fresh library instance (and thread) and must be usable at once.
  auto fresh = std::make_shared<mylib::library>(instant());
  auto next = sys->spawn<detached>(mylib_driver, fresh, troupe::null_logger(), memory);
  spawned.push_back(next);
  auto y = ask<int32_t>(next, calc_atom::value, int32_t{1});
  CAF_REQUIRE(y);
  CAF_CHECK_EQUAL(*y, 2);
  CAF_CHECK_NOT_EQUAL(fresh->owner(), std::thread::id{});
  CAF_CHECK_EQUAL(violations.load(), 0);
  CAF_REQUIRE(ask<ok_atom>(next, uninit_atom::value));
  CAF_CHECK(!memory->wanted_init.load());
}

CAF_TEST_FIXTURE_SCOPE_END()
