#define CAF_SUITE counter_app
#include "caf/test/unit_test_impl.hpp" // this test's main()

#include "caf/test/dsl.hpp"

#include "counter.hpp"

using namespace counter_app;

namespace {

/// The test's actor system knows our message types, like a node would.
struct config : caf::actor_system_config {
  config() {
    troupe::catalog types;
    add_types(types);
    types.add_message_types_to(*this);
  }
};

struct fixture : test_coordinator_fixture<config> {};

} // namespace

CAF_TEST_FIXTURE_SCOPE(counter_tests, fixture)

CAF_TEST(a counter starts at start and adds its step) {
  auto sut = sys.spawn(counter, int64_t{10}, int32_t{5});
  self->send(sut, add_atom::value);
  expect((add_atom), from(self).to(sut));
  expect((int64_t), from(sut).to(self).with(15));
  self->send(sut, add_atom::value, int32_t{-20});
  expect((add_atom, int32_t), from(self).to(sut));
  expect((int64_t), from(sut).to(self).with(-5));
}

CAF_TEST(the aggregator answers the total of its counters) {
  auto a = sys.spawn(counter, int64_t{10}, int32_t{1});
  auto b = sys.spawn(counter, int64_t{32}, int32_t{1});
  auto sut = sys.spawn(aggregator, std::vector<caf::actor>{a, b});
  self->send(sut, sum_atom::value);
  expect((sum_atom), from(self).to(sut));
  expect((get_atom), from(sut).to(a));
  expect((get_atom), from(sut).to(b));
  expect((int64_t), from(a).to(sut).with(10));
  expect((int64_t), from(b).to(sut).with(32));
  expect((total), from(sut).to(self).with(total{42, 2}));
}

CAF_TEST_FIXTURE_SCOPE_END()
