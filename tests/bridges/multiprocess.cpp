#define CAF_SUITE bridges.multiprocess

// The behaviours of a remote actor handle with the far node in another process: one body per
// behaviour, run over ipc, tcp and shm. The far node is `troupe_bridges_hub_server` (its actors
// are listed at the top of hub_server.cpp), started per transport and stopped by closing its
// stdin; the near node is a hub in this process.

#include "troupe/bridges/hub.hpp"
#include "troupe/bridges/shm_segment.hpp"

#include <chrono>
#include <cstdio>
#include <string>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caf/test/dsl.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/typed_actor.hpp"

#include "bridges_test.hpp"
#include "troupe/errc.hpp"
#include "troupe_test.hpp"

extern char** environ;

using namespace caf;
using namespace std::chrono_literals;
using namespace troupe;
using namespace troupe::bridges;

namespace {

using namespace troupe::bridges::test;

constexpr auto wait_limit = 5s;

using config = node_config;

// The far node: a child process with a pipe to its stdin and one from its stdout.
struct far_node {
  pid_t pid = -1;
  FILE* in = nullptr;  // its stdin; closing it stops the node cleanly
  FILE* out = nullptr; // its stdout; the first line is the bound endpoint
  std::string endpoint;

  explicit far_node(const std::string& listen) {
    int to_child[2];
    int from_child[2];
    CAF_REQUIRE(::pipe(to_child) == 0 && ::pipe(from_child) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
    for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]})
      posix_spawn_file_actions_addclose(&fa, fd);
    std::string bin = TROUPE_HUB_SERVER;
    char* argv[] = {bin.data(), const_cast<char*>(listen.c_str()), nullptr};
    auto rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(to_child[0]);
    ::close(from_child[1]);
    CAF_REQUIRE_EQUAL(rc, 0);
    in = ::fdopen(to_child[1], "w");
    out = ::fdopen(from_child[0], "r");
    char line[512];
    CAF_REQUIRE(std::fgets(line, sizeof(line), out) != nullptr);
    endpoint = line;
    while (!endpoint.empty() && (endpoint.back() == '\n' || endpoint.back() == '\r'))
      endpoint.pop_back();
  }

  // Stops the node cleanly (stdin closed) and returns its exit status.
  int stop() {
    if (pid < 0)
      return -1;
    std::fclose(in);
    in = nullptr;
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void kill_hard() {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }

  ~far_node() {
    if (pid > 0)
      kill_hard();
    if (in != nullptr)
      std::fclose(in);
    if (out != nullptr)
      std::fclose(out);
  }
};

std::string listen_endpoint(const std::string& transport) {
  auto tag = std::to_string(::getpid());
  if (transport == "ipc")
    return "ipc:///tmp/troupe-mp-test-" + tag;
  if (transport == "shm")
    return "shm://mp-test-" + tag;
  return "tcp://127.0.0.1:*";
}

struct fixture {
  std::string transport;
  config cfg;
  actor_system sys{cfg};
  std::unique_ptr<hub> sut;
  std::unique_ptr<far_node> far;
  pid_t far_pid = -1;

  explicit fixture(std::string tp) : transport(std::move(tp)) {
    far = std::make_unique<far_node>(listen_endpoint(transport));
    far_pid = far->pid;
    CAF_MESSAGE("far node listens on " << far->endpoint);
    hub_options opts;
    opts.heartbeat_interval = 50ms;
    opts.heartbeat_timeout = 1000ms;
    sut = std::make_unique<hub>(sys, "near", opts);
    CAF_REQUIRE_EQUAL(sut->connect("cxx", far->endpoint), none);
  }

  ~fixture() {
    sut->stop();
    if (far->pid > 0)
      CAF_CHECK_EQUAL(far->stop(), 0);
    else // killed: what a node would do at its next start
      static_cast<void>(remove_stale_segments("troupe."));
    // A killed far node cannot remove its ipc socket file: leave nothing in /tmp.
    auto ep = listen_endpoint(transport);
    if (ep.rfind("ipc://", 0) == 0)
      ::unlink(ep.substr(6).c_str());
    // Nothing of the far node is left in /dev/shm (its pid is in every name it created).
    auto left = list_segments("troupe.");
    CAF_REQUIRE(left);
    for (auto& name : *left)
      if (name.find("." + std::to_string(far_pid) + ".") != std::string::npos)
        CAF_FAIL("segment left behind: " << name);
  }

  actor lookup(const std::string& name) {
    auto h = sut->remote_lookup("cxx", name, wait_limit);
    CAF_REQUIRE(h);
    CAF_REQUIRE_NOT_EQUAL(h->node(), sys.node());
    return *h;
  }
};

using test_body = void (*)(fixture&);

void run_over_each_transport(test_body body) {
  for (auto transport : {"ipc", "tcp", "shm"}) {
    CAF_MESSAGE("transport: " << transport);
    fixture f{transport};
    body(f);
  }
}

#define MP_TEST(name)                                                                              \
  void name##_body(fixture& f);                                                                    \
  CAF_TEST(name) {                                                                                 \
    run_over_each_transport(name##_body);                                                          \
  }                                                                                                \
  void name##_body(fixture& f)

} // namespace

MP_TEST(request_receive_then_and_plain_send) {
  auto calc = f.lookup("calc");
  scoped_actor self{f.sys};
  self->request(calc, wait_limit, int32_t{41})
    .receive([](int32_t y) { CAF_CHECK_EQUAL(y, 42); },
             [](error& e) { CAF_FAIL("request failed: " << describe(e)); });
  // `then` in an event-based actor; the result reaches us as an ordinary message.
  auto obs = actor_cast<actor>(self);
  f.sys.spawn([=](event_based_actor* me) {
    me->request(calc, wait_limit, add_atom::value, int32_t{2}, int32_t{3})
      .then([=](int32_t y) { me->send(obs, y); }, [=](error& e) { me->send(obs, e); });
  });
  self->receive([](int32_t y) { CAF_CHECK_EQUAL(y, 5); },
                [](error& e) { CAF_FAIL("then failed: " << describe(e)); },
                after(wait_limit) >> [] { CAF_FAIL("no reply through then"); });
  // `await` as well.
  f.sys.spawn([=](event_based_actor* me) {
    me->request(calc, wait_limit, int32_t{9})
      .await([=](int32_t y) { me->send(obs, y); }, [=](error& e) { me->send(obs, e); });
  });
  self->receive([](int32_t y) { CAF_CHECK_EQUAL(y, 10); },
                after(wait_limit) >> [] { CAF_FAIL("no reply through await"); });
  // A plain send: the handler's result comes back as a message.
  self->send(calc, int32_t{1});
  self->receive([](int32_t y) { CAF_CHECK_EQUAL(y, 2); },
                after(wait_limit) >> [] { CAF_FAIL("no reply to a plain send"); });
}

MP_TEST(typed_handles_work_through_actor_cast) {
  auto calc = actor_cast<calc_actor>(f.lookup("calc"));
  scoped_actor self{f.sys};
  self->request(calc, wait_limit, int32_t{99})
    .receive([](int32_t y) { CAF_CHECK_EQUAL(y, 100); },
             [](error& e) { CAF_FAIL("typed request failed: " << describe(e)); });
}

MP_TEST(errors_of_the_far_side_reach_the_error_handler) {
  auto calc = f.lookup("calc");
  scoped_actor self{f.sys};
  self->request(calc, wait_limit, std::string{"boom"})
    .receive([](int32_t) { CAF_FAIL("expected an error"); },
             [](error& e) {
               CAF_CHECK(is_errc(e, errc::calc_fail));
               CAF_CHECK_EQUAL(describe(e), "calc_fail: boom");
             });
}

MP_TEST(response_promises_delivered_later) {
  auto later = f.lookup("later");
  scoped_actor self{f.sys};
  auto obs = actor_cast<actor>(self);
  f.sys.spawn([=](event_based_actor* me) {
    for (int32_t i = 1; i <= 3; ++i)
      me->request(later, wait_limit, later_atom::value, i)
        .then([=](int32_t y) { me->send(obs, y); }, [=](error& e) { me->send(obs, e); });
  });
  // Give the three requests time to park, then release them: all answers come afterwards.
  int32_t released = 0;
  for (int attempt = 0; attempt < 50 && released < 3; ++attempt) {
    std::this_thread::sleep_for(20ms);
    self->request(later, wait_limit, release_atom::value)
      .receive([&](int32_t n) { released += n; },
               [](error& e) { CAF_FAIL("release failed: " << describe(e)); });
  }
  CAF_CHECK_EQUAL(released, 3);
  int32_t sum = 0;
  for (int i = 0; i < 3; ++i)
    self->receive([&](int32_t y) { sum += y; },
                  [](error& e) { CAF_FAIL("parked request failed: " << describe(e)); },
                  after(wait_limit) >> [] { CAF_FAIL("parked answer missing"); });
  CAF_CHECK_EQUAL(sum, 12); // 2 + 4 + 6
}

MP_TEST(handles_inside_messages_route_back) {
  auto relay = f.lookup("relay");
  // A local actor whose handle travels to the far node, which asks it and relays its answer.
  auto local = f.sys.spawn([]() -> behavior { return {[](int32_t x) { return x + 1000; }}; });
  scoped_actor self{f.sys};
  self->request(relay, wait_limit, relay_atom::value, local, int32_t{21})
    .receive([](int32_t y) { CAF_CHECK_EQUAL(y, 1042); },
             [](error& e) { CAF_FAIL("relay through a handle failed: " << describe(e)); });
  anon_send_exit(local, exit_reason::user_shutdown);
}

MP_TEST(monitor_gets_down_msg_with_the_real_reason) {
  auto mortal = f.lookup("mortal");
  scoped_actor self{f.sys};
  self->monitor(mortal);
  self->send(mortal, die_atom::value, std::string{"on purpose"});
  self->receive(
    [&](down_msg& dm) {
      CAF_CHECK_EQUAL(dm.source, mortal.address());
      CAF_CHECK_EQUAL(describe(dm.reason), "overloaded: on purpose");
    },
    after(wait_limit) >> [] { CAF_FAIL("no down_msg"); });
}

MP_TEST(links_deliver_exit_msgs_in_both_directions) {
  auto linker = f.lookup("linker");
  scoped_actor self{f.sys};
  auto obs = actor_cast<actor>(self);
  // Near → far: a local actor linked from the far side quits; the far side reports the reason.
  auto local = f.sys.spawn([](event_based_actor* me) -> behavior {
    return {[=](die_atom) { me->quit(make_error(errc::bad_request, "near exit")); }};
  });
  self->request(linker, wait_limit, linkto_atom::value, local, obs)
    .receive([](bool) {}, [](error& e) { CAF_FAIL("linkto failed: " << describe(e)); });
  self->send(local, die_atom::value);
  self->receive([](error& reason) { CAF_CHECK_EQUAL(describe(reason), "bad_request: near exit"); },
                after(wait_limit) >> [] { CAF_FAIL("far side got no exit_msg"); });
  // Far → near: a local actor linked to the far one traps its exit.
  auto trap = f.sys.spawn([=](event_based_actor* me) -> behavior {
    me->set_exit_handler([=](exit_msg& em) { me->send(obs, em.reason); });
    me->link_to(linker);
    return {[](int32_t) {}};
  });
  self->send(linker, die_atom::value, std::string{"far exit"});
  self->receive([](error& reason) { CAF_CHECK_EQUAL(describe(reason), "overloaded: far exit"); },
                after(wait_limit) >> [] { CAF_FAIL("near side got no exit_msg"); });
  anon_send_exit(trap, exit_reason::user_shutdown);
}

MP_TEST(kill_9_of_the_far_node_fails_requests_at_once) {
  auto park = f.lookup("park");
  scoped_actor self{f.sys};
  self->monitor(park);
  auto obs = actor_cast<actor>(self);
  auto waiter = f.sys.spawn([=](event_based_actor* me) {
    for (int32_t i = 0; i < 5; ++i)
      me->request(park, 60s, i)
        .then([=](int32_t y) { me->send(obs, y); }, [=](error& e) { me->send(obs, e); });
  });
  auto pending = [&] {
    auto st = f.sut->stats();
    return st.peers.empty() ? uint64_t{0} : st.peers.front().pending_requests;
  };
  for (int i = 0; i < 250 && pending() < 5; ++i)
    std::this_thread::sleep_for(10ms);
  CAF_REQUIRE_EQUAL(pending(), 5u);
  auto t0 = std::chrono::steady_clock::now();
  f.far->kill_hard();
  int failed = 0;
  bool down = false;
  for (int i = 0; i < 6; ++i)
    self->receive(
      [&](error& e) {
        CAF_CHECK(is_errc(e, errc::peer_lost));
        ++failed;
      },
      [&](down_msg& dm) {
        CAF_CHECK_EQUAL(dm.reason, exit_reason::remote_link_unreachable);
        down = true;
      },
      [](int32_t) { CAF_FAIL("a parked request was answered"); },
      after(wait_limit) >> [] { CAF_FAIL("peer loss not signalled"); });
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_CHECK_EQUAL(failed, 5);
  CAF_CHECK(down);
  CAF_MESSAGE("loss signalled after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CAF_CHECK_LESS(took, 1500ms); // heartbeat timeout 1 s + a tick
  anon_send_exit(waiter, exit_reason::user_shutdown);
}

MP_TEST(kill_9_mid_stream_leaves_the_near_node_serving) {
  auto echo = f.lookup("echo");
  scoped_actor self{f.sys};
  self->monitor(echo);
  // A stream of 4 KiB messages (larger ones than the 1 MiB rings hold in flight get streamed in
  // chunks) from an event-based sender, running while the far node is killed.
  auto sender = f.sys.spawn([=](event_based_actor* me) -> behavior {
    me->send(me, int32_t{0});
    return {
      [=](int32_t i) {
        for (int k = 0; k < 16; ++k)
          me->send(echo, std::string(4096, static_cast<char>('a' + (i + k) % 26)));
        me->send(me, i + 1);
      },
      [](const std::string&) {}, // echo's answers
    };
  });
  std::this_thread::sleep_for(100ms);
  f.far->kill_hard();
  self->receive(
    [&](down_msg& dm) { CAF_CHECK_EQUAL(dm.reason, exit_reason::remote_link_unreachable); },
    after(wait_limit) >> [] { CAF_FAIL("no down_msg after kill -9 mid-stream"); });
  // Requests to the dead node's proxy fail at once instead of hanging (the proxy is gone, so CAF
  // bounces them as request_receiver_down); the near node still works.
  auto t0 = std::chrono::steady_clock::now();
  self->request(echo, 30s, int32_t{1})
    .receive([](int32_t) { CAF_FAIL("dead node answered"); },
             [](error& e) {
               TROUPE_CHECK_MSG(is_errc(e, errc::peer_lost)
                                  || e == make_error(sec::request_receiver_down),
                                describe(e));
             });
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - t0, 1s);
  auto local = f.sys.spawn([]() -> behavior { return {[](int32_t x) { return x; }}; });
  self->request(local, wait_limit, int32_t{7})
    .receive([](int32_t y) { CAF_CHECK_EQUAL(y, 7); },
             [](error& e) { CAF_FAIL("near node broken: " << describe(e)); });
  anon_send_exit(sender, exit_reason::user_shutdown);
  anon_send_exit(local, exit_reason::user_shutdown);
}
