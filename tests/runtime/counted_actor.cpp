#define CAF_SUITE runtime.counted_actor

#include "troupe/counted_actor.hpp"

#include "caf/test/dsl.hpp"

#include "troupe/relay.hpp"
#include "troupe_test.hpp"

using namespace caf;

namespace {

struct counter_state {
  int32_t sum = 0;
};

behavior counter(stateful_actor<counter_state>* self, int32_t offset) {
  return {
    [self, offset](int32_t x) {
      self->state.sum += x;
      return self->state.sum + offset;
    },
  };
}

behavior plain(event_based_actor*) {
  return {[](int32_t x) { return x; }};
}

struct fixture : test_coordinator_fixture<> {
  troupe::mailbox_counters counters(const actor& hdl) {
    auto c = troupe::counters_of(hdl);
    CAF_REQUIRE(c);
    return *c;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(counted_actor_tests, fixture)

CAF_TEST(a counted actor reports its mailbox depth and handled messages) {
  auto sut = troupe::spawn_counted(sys, counter, int32_t{100});
  run();
  CAF_CHECK_EQUAL(counters(sut).depth, 0u);
  for (int32_t i = 1; i <= 3; ++i)
    self->send(sut, i);
  CAF_CHECK_EQUAL(counters(sut).depth, 3u);
  CAF_CHECK_EQUAL(counters(sut).handled, 0u);
  expect((int32_t), from(self).to(sut).with(1));
  CAF_CHECK_EQUAL(counters(sut).depth, 2u);
  CAF_CHECK_EQUAL(counters(sut).handled, 1u);
  run();
  CAF_CHECK_EQUAL(counters(sut).depth, 0u);
  CAF_CHECK_EQUAL(counters(sut).handled, 3u);
  // The behavior is the one given: state and arguments reach it (replies to plain sends).
  self->send(sut, int32_t{4});
  run();
  for (auto expected : {101, 103, 106, 110})
    self->receive([=](int32_t y) { CAF_CHECK_EQUAL(y, expected); });
}

CAF_TEST(an unexpected message counts as handled and not as waiting) {
  auto sut = troupe::spawn_counted(sys, counter, int32_t{0});
  run();
  self->send(sut, "not an int");
  run();
  CAF_CHECK_EQUAL(counters(sut).depth, 0u);
  CAF_CHECK_EQUAL(counters(sut).handled, 1u);
}

CAF_TEST(actors spawned otherwise have no counters) {
  CAF_CHECK(!troupe::counters_of(sys.spawn(plain)));
  CAF_CHECK(!troupe::counters_of(actor{}));
  CAF_CHECK(troupe::counters_of(troupe::spawn_counted(sys, plain)));
}

CAF_TEST(a relay reports the counters of its target) {
  auto target = troupe::spawn_counted(sys, plain);
  auto relay = troupe::spawn_relay(sys, "x");
  run();
  self->send(relay, troupe::relay_set_atom::value, target);
  self->send(relay, int32_t{1});
  run();
  self->send(relay, troupe::relay_stat_atom::value);
  run();
  self->receive([](uint64_t fwd, uint64_t, uint64_t, int64_t depth, int64_t handled) {
    CAF_CHECK_EQUAL(fwd, 1u);
    CAF_CHECK_EQUAL(depth, 0);
    CAF_CHECK_EQUAL(handled, 1);
  });
  self->send(relay, troupe::relay_set_atom::value, sys.spawn(plain));
  self->send(relay, troupe::relay_stat_atom::value);
  run();
  self->receive([](uint64_t, uint64_t, uint64_t, int64_t depth, int64_t handled) {
    CAF_CHECK_EQUAL(depth, -1); // not spawned counted: unknown
    CAF_CHECK_EQUAL(handled, -1);
  });
}

CAF_TEST_FIXTURE_SCOPE_END()
