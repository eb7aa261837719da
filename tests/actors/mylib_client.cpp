#define CAF_SUITE actors.mylib_client

#include "troupe/actors/mylib_client.hpp"

#include "caf/test/unit_test.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/config_supervisor.hpp"
#include "troupe/actors/mylib.hpp"
#include "troupe/actors/mylib_driver.hpp"
#include "troupe/errc.hpp"
#include "troupe/logging.hpp"

using namespace caf;
using namespace std::chrono_literals;
using namespace troupe::actors;
using troupe::errc;
namespace mylib = troupe::mylib;

namespace {

/// A service that accepts every call and never answers.
behavior black_hole(event_based_actor* self) {
  return {
    [self](calc_atom, int32_t) -> result<int32_t> {
      self->make_response_promise(); // dropped: no answer ever
      return delegated<int32_t>{};
    },
    [self](init_atom) -> result<ok_atom> {
      self->make_response_promise();
      return delegated<ok_atom>{};
    },
  };
}

struct fixture {
  actor_system_config cfg;
  std::unique_ptr<actor_system> sys;
  std::vector<actor> actors;

  fixture() {
    troupe::add_error_category(cfg);
    sys = std::make_unique<actor_system>(cfg);
  }

  ~fixture() {
    for (auto& a : actors)
      anon_send_exit(a, exit_reason::user_shutdown);
    sys->await_all_actors_done();
  }

  /// A real driver whose readConfig takes `reload` and a supervisor without idle reloads.
  actor make_service(troupe::timespan reload, std::shared_ptr<mylib::library>& lib) {
    mylib::settings s;
    s.read_config_min = s.read_config_max = reload;
    lib = std::make_shared<mylib::library>(s);
    auto driver = sys->spawn<detached>(mylib_driver, lib, troupe::null_logger(),
                                       std::shared_ptr<mylib_driver_memory>{});
    auto sup = sys->spawn(config_supervisor, driver, troupe::timespan{0}, troupe::null_logger());
    actors.push_back(driver);
    actors.push_back(sup);
    return sup;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(mylib_client_tests, fixture)

CAF_TEST(init and calc through the whole chain) {
  std::shared_ptr<mylib::library> lib;
  mylib_client sut{*sys, make_service(0s, lib), 2s};
  CAF_CHECK_EQUAL(sut.init(), error{});
  auto y = sut.calc(5);
  CAF_REQUIRE(y);
  CAF_CHECK_EQUAL(*y, 6);
  CAF_CHECK_EQUAL(sut.uninit(), error{});
}

CAF_TEST(calc during a reload reports calc_fail at once and works after it) {
  std::shared_ptr<mylib::library> lib;
  mylib_client sut{*sys, make_service(30s, lib), 5s};
  CAF_REQUIRE_EQUAL(sut.init(), error{});
  CAF_REQUIRE_EQUAL(sut.reload(), error{});
  auto start = std::chrono::steady_clock::now();
  auto y = sut.calc(5);
  auto took = std::chrono::steady_clock::now() - start;
  CAF_REQUIRE(!y);
  CAF_CHECK_EQUAL(y.error(), troupe::make_error(errc::calc_fail));
  // Far below both the 30 s reload and the 5 s client timeout: the answer did not wait.
  CAF_CHECK_LESS(took, std::chrono::seconds{2});
  lib->interrupt(); // end the reload now
  for (int i = 0; i < 200; ++i) {
    y = sut.calc(5);
    if (y || y.error() != troupe::make_error(errc::calc_fail))
      break;
    std::this_thread::sleep_for(10ms);
  }
  CAF_REQUIRE(y);
  CAF_CHECK_EQUAL(*y, 6);
}

CAF_TEST(a service that never answers yields timeout after the client timeout) {
  auto hole = sys->spawn(black_hole);
  actors.push_back(hole);
  mylib_client sut{*sys, hole, 100ms};
  auto start = std::chrono::steady_clock::now();
  auto y = sut.calc(1);
  auto took = std::chrono::steady_clock::now() - start;
  CAF_REQUIRE(!y);
  CAF_CHECK_EQUAL(y.error(), troupe::make_error(errc::timeout));
  CAF_CHECK_GREATER_OR_EQUAL(took, std::chrono::milliseconds{100});
  CAF_CHECK_LESS(took, std::chrono::seconds{5});
  CAF_CHECK_EQUAL(sut.init(), troupe::make_error(errc::timeout));
}

CAF_TEST(a dead service fails the call without waiting for the timeout) {
  auto hole = sys->spawn(black_hole);
  {
    scoped_actor self{*sys};
    self->monitor(hole);
    self->send_exit(hole, exit_reason::kill);
    self->receive([](down_msg&) {});
  }
  mylib_client sut{*sys, hole, 10s};
  auto start = std::chrono::steady_clock::now();
  auto y = sut.calc(1);
  CAF_REQUIRE(!y);
  CAF_CHECK_NOT_EQUAL(y.error(), troupe::make_error(errc::timeout));
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - start, std::chrono::seconds{5});
}

CAF_TEST_FIXTURE_SCOPE_END()
