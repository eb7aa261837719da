#define CAF_SUITE runtime.relay

#include "troupe/relay.hpp"

#include "caf/test/dsl.hpp"

#include "troupe/errc.hpp"
#include "troupe_test.hpp"

using namespace caf;
using troupe::errc;

namespace {

using ask_atom = atom_constant<atom("ask")>;
using tell_atom = atom_constant<atom("tell")>;

/// A server that adds `offset` and remembers who asked and whether it was a request.
struct server_state {
  std::vector<strong_actor_ptr> senders;
  std::vector<bool> requests;
};

behavior server(stateful_actor<server_state>* self, int32_t offset) {
  return {
    [self, offset](int32_t x) {
      auto* me = self->current_mailbox_element();
      self->state.senders.push_back(me->sender);
      self->state.requests.push_back(me->mid.is_request());
      return x + offset;
    },
  };
}

/// A client that asks `dest` with a request (`ask`) or a plain send (`tell`) and keeps what came
/// back: values from `then` or as ordinary messages, errors from `then`.
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
    [self, dest](tell_atom, int32_t x) { self->send(dest, x); },
    [self](int32_t y) { self->state.values.push_back(y); },
  };
}

struct fixture : test_coordinator_fixture<> {
  actor sut;
  actor first;
  actor second;
  actor cli;

  fixture() {
    sut = troupe::spawn_relay(sys, "svc");
    first = sys.spawn(server, int32_t{1});
    second = sys.spawn(server, int32_t{100});
    cli = sys.spawn(client, sut);
    run();
  }

  ~fixture() {
    for (auto& a : {cli, sut, first, second})
      anon_send_exit(a, exit_reason::user_shutdown);
    run();
  }

  template <class State>
  State& state_of(const actor& a) {
    return deref<stateful_actor<State>>(a).state;
  }

  void point_at(const actor& target) {
    self->send(sut, troupe::relay_set_atom::value, target);
    expect((troupe::relay_set_atom, actor), to(sut));
  }

  void ask(int32_t x) {
    self->send(cli, ask_atom::value, x);
    expect((ask_atom, int32_t), from(self).to(cli));
  }

  /// The client's last error, rendered.
  std::string last_error() {
    auto& errs = state_of<client_state>(cli).errors;
    return errs.empty() ? std::string{"none"} : troupe::describe(errs.back());
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(relay_tests, fixture)

CAF_TEST(a request passes through with its sender and request id and is answered directly) {
  point_at(first);
  ask(5);
  expect((int32_t), from(cli).to(sut).with(5));
  // The target sees the client, not the relay, as the sender of a request...
  expect((int32_t), from(cli).to(first).with(5));
  // ...and answers the client directly; `then` fires only if the request id survived.
  expect((int32_t), from(first).to(cli).with(6));
  CAF_CHECK_EQUAL(state_of<client_state>(cli).values, std::vector<int32_t>{6});
  auto& srv = state_of<server_state>(first);
  CAF_REQUIRE_EQUAL(srv.senders.size(), 1u);
  CAF_CHECK(srv.senders[0] == actor_cast<strong_actor_ptr>(cli));
  CAF_CHECK(srv.requests[0]);
  CAF_CHECK_EQUAL(deref<troupe::relay_actor>(sut).state.forwarded, 1u);
}

CAF_TEST(an asynchronous message keeps its sender and the reply goes to the client) {
  point_at(first);
  self->send(cli, tell_atom::value, int32_t{7});
  expect((tell_atom, int32_t), from(self).to(cli));
  expect((int32_t), from(cli).to(sut).with(7));
  expect((int32_t), from(cli).to(first).with(7));
  expect((int32_t), from(first).to(cli).with(8));
  CAF_CHECK(!state_of<server_state>(first).requests.at(0));
  CAF_CHECK_EQUAL(state_of<client_state>(cli).values, std::vector<int32_t>{8});
}

CAF_TEST(without a target a request fails at once with unavailable) {
  ask(5);
  expect((int32_t), from(cli).to(sut));
  expect((error), from(sut).to(cli));
  auto& cs = state_of<client_state>(cli);
  CAF_REQUIRE_EQUAL(cs.errors.size(), 1u);
  CAF_CHECK_EQUAL(cs.errors[0], troupe::make_error(errc::unavailable));
  CAF_CHECK_EQUAL(last_error(), "unavailable: svc is not started");
  CAF_CHECK_EQUAL(deref<troupe::relay_actor>(sut).state.refused, 1u);
}

CAF_TEST(after a clear requests fail with the given reason and nothing reaches the old target) {
  point_at(first);
  self->send(sut, troupe::relay_clear_atom::value, std::string{"restarting"});
  expect((troupe::relay_clear_atom, std::string), to(sut));
  ask(5);
  expect((int32_t), from(cli).to(sut));
  expect((error), from(sut).to(cli));
  disallow((int32_t), to(first));
  CAF_CHECK_EQUAL(last_error(), "unavailable: svc is restarting");
}

CAF_TEST(an asynchronous message without a target is dropped and the client lives on) {
  self->send(cli, tell_atom::value, int32_t{7});
  expect((tell_atom, int32_t), from(self).to(cli));
  expect((int32_t), from(cli).to(sut));
  disallow((error), from(sut).to(cli));
  CAF_CHECK_EQUAL(deref<troupe::relay_actor>(sut).state.dropped, 1u);
  // The client still works, i.e. it was not terminated by an error message.
  point_at(first);
  ask(1);
  run();
  CAF_CHECK_EQUAL(state_of<client_state>(cli).values, std::vector<int32_t>{2});
}

CAF_TEST(re - pointing the same relay handle reaches the new incarnation) {
  point_at(first);
  ask(1);
  run();
  self->send(sut, troupe::relay_clear_atom::value, std::string{"restarting"});
  run();
  ask(2);
  run();
  point_at(second);
  ask(3);
  expect((int32_t), from(cli).to(sut).with(3));
  expect((int32_t), from(cli).to(second).with(3));
  expect((int32_t), from(second).to(cli).with(103));
  auto& cs = state_of<client_state>(cli);
  CAF_CHECK_EQUAL(cs.values, (std::vector<int32_t>{2, 103}));
  CAF_CHECK_EQUAL(cs.errors.size(), 1u);
  CAF_CHECK(state_of<server_state>(first).senders.size() == 1u);
}

CAF_TEST(the relay notices a dead target by itself and refuses with down) {
  point_at(first);
  anon_send_exit(first, exit_reason::kill);
  run();
  CAF_CHECK(!deref<troupe::relay_actor>(sut).state.target);
  ask(5);
  expect((int32_t), from(cli).to(sut));
  expect((error), from(sut).to(cli));
  CAF_CHECK_EQUAL(last_error(), "unavailable: svc is down");
}

CAF_TEST(a stale down of a previous target does not clear the new one) {
  point_at(first);
  point_at(second);
  anon_send_exit(first, exit_reason::kill);
  run();
  CAF_CHECK(deref<troupe::relay_actor>(sut).state.target == second);
  ask(1);
  run();
  CAF_CHECK_EQUAL(state_of<client_state>(cli).values, std::vector<int32_t>{101});
}

CAF_TEST(relay_get reports the current target) {
  self->send(sut, troupe::relay_get_atom::value);
  expect((troupe::relay_get_atom), from(self).to(sut));
  expect((actor), from(sut).to(self).with(actor{}));
  point_at(first);
  self->send(sut, troupe::relay_get_atom::value);
  expect((troupe::relay_get_atom), from(self).to(sut));
  expect((actor), from(sut).to(self).with(first));
}

CAF_TEST(setting an invalid target means stopped) {
  point_at(first);
  point_at(actor{});
  ask(5);
  run();
  CAF_CHECK_EQUAL(last_error(), "unavailable: svc is stopped");
}

CAF_TEST(control without a sender of its own node is refused) {
  point_at(first);
  // Anonymous, as a client's frame without a sender arrives (a remote one has a proxy as sender).
  anon_send(sut, troupe::relay_clear_atom::value, std::string{"pwned"});
  expect((troupe::relay_clear_atom, std::string), to(sut));
  anon_send(sut, troupe::relay_set_atom::value, second);
  expect((troupe::relay_set_atom, actor), to(sut));
  CAF_CHECK(deref<troupe::relay_actor>(sut).state.target == first);
  ask(1);
  run();
  CAF_CHECK_EQUAL(state_of<client_state>(cli).values, std::vector<int32_t>{2});
}

CAF_TEST(monitors and links of the relay see each target go down with its reason) {
  std::vector<std::string> downs;
  auto mon = sys.spawn(
    [&downs](event_based_actor* me, actor watched) -> behavior {
      me->monitor(watched);
      me->set_down_handler(
        [&downs](down_msg& dm) { downs.push_back("down: " + troupe::describe(dm.reason)); });
      return {[](int32_t) {}};
    },
    sut);
  auto linked = sys.spawn(
    [](event_based_actor* me, actor watched) -> behavior {
      me->link_to(watched); // does not trap exits: ends with the target's reason
      return {[](int32_t) {}};
    },
    sut);
  run();
  point_at(first);
  anon_send_exit(first, exit_reason::kill);
  run();
  CAF_CHECK_EQUAL(downs, std::vector<std::string>{"down: kill"});
  CAF_CHECK_EQUAL(deref<monitorable_actor>(linked).fail_state(), make_error(exit_reason::kill));
  // The relay lives on; the next incarnation's end is reported too.
  point_at(second);
  anon_send_exit(second, exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(downs, std::vector<std::string>({"down: kill", "down: user_shutdown"}));
  anon_send_exit(mon, exit_reason::user_shutdown);
  run();
}

CAF_TEST_FIXTURE_SCOPE_END()
