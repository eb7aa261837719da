#define CAF_SUITE runtime.name_handle

#include "troupe/name_handle.hpp"

#include "caf/test/dsl.hpp"

#include "troupe/errc.hpp"
#include "troupe_test.hpp"

using namespace caf;
using namespace std::chrono_literals;
using troupe::errc;

namespace {

using ask_atom = atom_constant<atom("ask")>;

behavior server(event_based_actor*, int32_t offset) {
  return {
    [offset](int32_t x) { return x + offset; },
  };
}

struct client_state {
  std::vector<int32_t> values;
  std::vector<error> errors;
  std::vector<std::string> events;
};

/// Asks `dest` on `(ask, x)`; monitors it and records every down_msg.
behavior client(stateful_actor<client_state>* self, actor dest) {
  self->monitor(dest);
  self->set_down_handler(
    [self](down_msg& dm) { self->state.events.push_back("down: " + troupe::describe(dm.reason)); });
  return {
    [self, dest](ask_atom, int32_t x) {
      self->request(dest, infinite, x)
        .then([self](int32_t y) { self->state.values.push_back(y); },
              [self](error& err) { self->state.errors.push_back(std::move(err)); });
    },
  };
}

struct fixture : test_coordinator_fixture<> {
  actor first;
  actor second;
  int wakes = 0;

  fixture() {
    first = sys.spawn(server, int32_t{1});
    second = sys.spawn(server, int32_t{100});
    run();
  }

  ~fixture() {
    for (auto& a : {first, second})
      anon_send_exit(a, exit_reason::user_shutdown);
    run();
  }

  actor make_name(troupe::name_buffer buf, troupe::timespan first_wait = 0s) {
    actor_config cfg;
    auto ptr = make_actor<troupe::name_handle, strong_actor_ptr>(sys.next_actor_id(), sys.node(),
                                                                 &sys, cfg, "svc", "home", buf,
                                                                 first_wait, [this] { ++wakes; });
    return actor_cast<actor>(ptr);
  }

  static troupe::name_handle& name(const actor& h) {
    return *static_cast<troupe::name_handle*>(actor_cast<abstract_actor*>(h));
  }

  client_state& client_of(const actor& c) {
    return deref<stateful_actor<client_state>>(c).state;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(name_handle_tests, fixture)

CAF_TEST(a bound name hands each request to its incarnation and the answer goes to the caller) {
  auto svc = make_name({});
  name(svc).bind(first);
  auto cli = sys.spawn(client, svc);
  run();
  self->send(cli, ask_atom::value, int32_t{5});
  expect((ask_atom, int32_t), from(self).to(cli));
  // No hop through a mailbox of the name: the request lands at the incarnation from the client.
  expect((int32_t), from(cli).to(first).with(5));
  expect((int32_t), from(first).to(cli).with(6));
  CAF_CHECK_EQUAL(client_of(cli).values, std::vector<int32_t>{6});
  CAF_CHECK_EQUAL(name(svc).stats().forwarded, 1u);
  CAF_CHECK_EQUAL(name(svc).stats().epoch, 1u);
  anon_send_exit(cli, exit_reason::user_shutdown);
  name(svc).shutdown(make_error(exit_reason::user_shutdown));
  run();
}

CAF_TEST(an incarnation going down is reported to monitors and requests fail fast until rebound) {
  auto svc = make_name({});
  name(svc).bind(first);
  auto cli = sys.spawn(client, svc);
  run();
  anon_send_exit(first, exit_reason::kill);
  run();
  // The monitor on the name saw the incarnation's own exit reason, and the name lives on.
  CAF_CHECK_EQUAL(client_of(cli).events, std::vector<std::string>{"down: kill"});
  CAF_CHECK_EQUAL(name(svc).stats().state, "down");
  CAF_CHECK(wakes > 0); // the service is asked to look the name up again
  self->send(cli, ask_atom::value, int32_t{5});
  expect((ask_atom, int32_t), from(self).to(cli));
  expect((error), to(cli));
  CAF_REQUIRE_EQUAL(client_of(cli).errors.size(), 1u);
  CAF_CHECK_EQUAL(client_of(cli).errors[0], troupe::make_error(errc::unavailable));
  CAF_CHECK_EQUAL(troupe::describe(client_of(cli).errors[0]), "unavailable: svc is down: kill");
  // The next incarnation: the same handle works again, and its end is reported too.
  name(svc).bind(second);
  self->send(cli, ask_atom::value, int32_t{5});
  expect((ask_atom, int32_t), from(self).to(cli));
  expect((int32_t), from(cli).to(second).with(5));
  expect((int32_t), from(second).to(cli).with(105));
  anon_send_exit(second, exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(client_of(cli).events,
                  std::vector<std::string>({"down: kill", "down: user_shutdown"}));
  CAF_CHECK_EQUAL(name(svc).stats().epoch, 2u);
  anon_send_exit(cli, exit_reason::user_shutdown);
  name(svc).shutdown(make_error(exit_reason::user_shutdown));
  run();
}

CAF_TEST(messages before the first lookup wait for it and keep their order) {
  auto svc = make_name({}, 5s);
  auto cli = sys.spawn(client, svc);
  run();
  for (int32_t i = 1; i <= 3; ++i) {
    self->send(cli, ask_atom::value, i);
    expect((ask_atom, int32_t), from(self).to(cli));
  }
  CAF_CHECK_EQUAL(name(svc).stats().held, 3u);
  CAF_CHECK(!sched.has_job());
  name(svc).bind(first);
  expect((int32_t), from(cli).to(first).with(1));
  expect((int32_t), from(first).to(cli).with(2));
  expect((int32_t), from(cli).to(first).with(2));
  expect((int32_t), from(first).to(cli).with(3));
  expect((int32_t), from(cli).to(first).with(3));
  expect((int32_t), from(first).to(cli).with(4));
  CAF_CHECK_EQUAL(client_of(cli).values, std::vector<int32_t>({2, 3, 4}));
  anon_send_exit(cli, exit_reason::user_shutdown);
  name(svc).shutdown(make_error(exit_reason::user_shutdown));
  run();
}

CAF_TEST(a failed first lookup answers what waited without a buffer) {
  auto svc = make_name({}, 5s);
  auto cli = sys.spawn(client, svc);
  run();
  self->send(cli, ask_atom::value, int32_t{1});
  expect((ask_atom, int32_t), from(self).to(cli));
  name(svc).lookup_failed(troupe::make_error(errc::not_found, "no actor named svc"));
  expect((error), to(cli));
  CAF_CHECK_EQUAL(troupe::describe(client_of(cli).errors.at(0)),
                  "unavailable: svc: not_found: no actor named svc");
  anon_send_exit(cli, exit_reason::user_shutdown);
  name(svc).shutdown(make_error(exit_reason::user_shutdown));
  run();
}

CAF_TEST(a buffered name holds requests while it is down and delivers them to the next one) {
  troupe::name_buffer buf;
  buf.time = 10s;
  buf.max = 2;
  auto svc = make_name(buf);
  name(svc).bind(first);
  auto cli = sys.spawn(client, svc);
  run();
  anon_send_exit(first, exit_reason::kill);
  run();
  for (int32_t i = 1; i <= 3; ++i) {
    self->send(cli, ask_atom::value, i);
    expect((ask_atom, int32_t), from(self).to(cli));
  }
  // Two wait; the third is over the bound and refused at once.
  expect((error), to(cli));
  CAF_CHECK_EQUAL(client_of(cli).errors.at(0), troupe::make_error(errc::overloaded));
  name(svc).bind(second);
  run();
  CAF_CHECK_EQUAL(client_of(cli).values, std::vector<int32_t>({101, 102}));
  anon_send_exit(cli, exit_reason::user_shutdown);
  name(svc).shutdown(make_error(exit_reason::user_shutdown));
  run();
}

CAF_TEST(a buffered request whose incarnation died before answering goes to the next one) {
  troupe::name_buffer buf;
  buf.time = 10s;
  auto svc = make_name(buf);
  name(svc).bind(first);
  auto cli = sys.spawn(client, svc);
  run();
  // The request lands in the incarnation's mailbox behind its kill: CAF bounces it with
  // request_receiver_down when the incarnation terminates (over a bridge: peer_lost).
  anon_send_exit(first, exit_reason::kill);
  self->send(cli, ask_atom::value, int32_t{7});
  expect((ask_atom, int32_t), from(self).to(cli));
  run();
  CAF_CHECK(client_of(cli).errors.empty());
  CAF_CHECK_EQUAL(name(svc).stats().held, 1u);
  name(svc).bind(second);
  run();
  CAF_CHECK_EQUAL(client_of(cli).values, std::vector<int32_t>{107});
  CAF_CHECK(client_of(cli).errors.empty());
  CAF_CHECK_EQUAL(name(svc).stats().retried, 1u);
  anon_send_exit(cli, exit_reason::user_shutdown);
  name(svc).shutdown(make_error(exit_reason::user_shutdown));
  run();
}

CAF_TEST(a buffered request fails once its time is up) {
  troupe::name_buffer buf;
  buf.time = 1s;
  auto svc = make_name(buf);
  name(svc).bind(first);
  auto cli = sys.spawn(client, svc);
  run();
  anon_send_exit(first, exit_reason::kill);
  run();
  self->send(cli, ask_atom::value, int32_t{7});
  expect((ask_atom, int32_t), from(self).to(cli));
  CAF_CHECK(!sched.has_job());
  name(svc).expire(troupe::name_handle::clock_type::now() + 2s);
  expect((error), to(cli));
  CAF_CHECK_EQUAL(troupe::describe(client_of(cli).errors.at(0)),
                  "unavailable: svc had no incarnation in time: kill");
  anon_send_exit(cli, exit_reason::user_shutdown);
  name(svc).shutdown(make_error(exit_reason::user_shutdown));
  run();
}

CAF_TEST(a stopped name fails requests with its reason and ends its monitors) {
  auto svc = make_name({});
  name(svc).bind(first);
  auto cli = sys.spawn(client, svc);
  run();
  name(svc).shutdown(make_error(exit_reason::user_shutdown));
  run();
  CAF_CHECK_EQUAL(client_of(cli).events, std::vector<std::string>{"down: user_shutdown"});
  self->send(cli, ask_atom::value, int32_t{1});
  expect((ask_atom, int32_t), from(self).to(cli));
  expect((error), to(cli));
  anon_send_exit(cli, exit_reason::user_shutdown);
  run();
}

CAF_TEST_FIXTURE_SCOPE_END()
