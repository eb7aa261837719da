#define CAF_SUITE bridges.zmq_transport

#include "troupe/bridges/zmq_transport.hpp"

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "caf/test/unit_test.hpp"

#include "troupe/errc.hpp"

using namespace std::chrono_literals;
using namespace troupe;
using namespace troupe::bridges;

namespace {

// Collects what the transport reports, with bounded waits on the collected state.
struct recorder : transport_listener {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<std::pair<conn_id, std::string>> frames;
  std::vector<conn_id> unreachable;
  size_t ticks = 0;

  void on_frame(conn_id conn, const char* data, size_t size) override {
    std::lock_guard<std::mutex> guard{mtx};
    frames.emplace_back(conn, std::string{data, size});
    cv.notify_all();
  }

  void on_unreachable(conn_id conn) override {
    std::lock_guard<std::mutex> guard{mtx};
    unreachable.push_back(conn);
    cv.notify_all();
  }

  void on_tick(std::chrono::steady_clock::time_point) override {
    std::lock_guard<std::mutex> guard{mtx};
    ++ticks;
    cv.notify_all();
  }

  template <class Pred>
  bool wait_for(Pred pred) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, 5s, pred);
  }
};

std::vector<char> bytes(const std::string& x) {
  return {x.begin(), x.end()};
}

void exchange_frames(const std::string& endpoint) {
  recorder server_events;
  recorder client_events;
  auto server = make_zmq_transport();
  auto client = make_zmq_transport();
  CAF_REQUIRE_EQUAL(server->start(&server_events), caf::none);
  CAF_REQUIRE_EQUAL(client->start(&client_events), caf::none);
  auto bound = server->listen(endpoint);
  CAF_REQUIRE(bound);
  CAF_MESSAGE("bound to " << *bound);
  CAF_CHECK_EQUAL(bound->find('*'), std::string::npos);
  auto conn = client->connect(*bound);
  CAF_REQUIRE(conn);
  for (int i = 0; i < 100; ++i)
    CAF_REQUIRE_EQUAL(client->send(*conn, bytes("ping " + std::to_string(i))), caf::none);
  CAF_REQUIRE(server_events.wait_for([&] { return server_events.frames.size() == 100; }));
  // Per-connection order is preserved.
  for (int i = 0; i < 100; ++i)
    CAF_CHECK_EQUAL(server_events.frames[i].second, "ping " + std::to_string(i));
  // The server answers on the connection id it saw; the frame reaches the client's connection.
  auto back = server_events.frames[0].first;
  CAF_REQUIRE_EQUAL(server->send(back, bytes("pong")), caf::none);
  CAF_REQUIRE(client_events.wait_for([&] { return client_events.frames.size() == 1; }));
  CAF_CHECK_EQUAL(client_events.frames[0].first, *conn);
  CAF_CHECK_EQUAL(client_events.frames[0].second, "pong");
  CAF_CHECK(server_events.wait_for([&] { return server_events.ticks > 0; }));
  CAF_CHECK_EQUAL(client->queue_depth(), 0u);
  client->stop();
  server->stop();
}

} // namespace

CAF_TEST(frames travel both ways over tcp with a wildcard port) {
  exchange_frames("tcp://127.0.0.1:*");
}

CAF_TEST(frames travel both ways over ipc) {
  auto path = "/tmp/troupe-zmq-transport-test-" + std::to_string(::getpid());
  exchange_frames("ipc://" + path);
  ::unlink(path.c_str()); // libzmq leaves the socket file behind
}

CAF_TEST(bursts of small and large frames keep their order and bytes) {
  // Bursts beyond the sockets' high-water marks (EAGAIN, backlog) and pauses in between; frames
  // of 1 KiB and more go to libzmq without a copy: order and bytes must survive all of it.
  recorder server_events;
  recorder client_events;
  auto server = make_zmq_transport();
  auto client = make_zmq_transport();
  CAF_REQUIRE_EQUAL(server->start(&server_events), caf::none);
  CAF_REQUIRE_EQUAL(client->start(&client_events), caf::none);
  auto bound = server->listen("tcp://127.0.0.1:*");
  CAF_REQUIRE(bound);
  auto conn = client->connect(*bound);
  CAF_REQUIRE(conn);
  auto frame = [](size_t i) {
    static const size_t sizes[] = {8, 100, 1023, 1024, 3000};
    std::string x(sizes[i % 5], static_cast<char>('a' + i % 26));
    auto tag = std::to_string(i) + ":";
    x.replace(0, tag.size(), tag);
    return x;
  };
  constexpr size_t n = 20000;
  for (size_t i = 0; i < n; ++i) {
    CAF_REQUIRE_EQUAL(client->send(*conn, bytes(frame(i))), caf::none);
    if (i % 1000 == 999)
      std::this_thread::sleep_for(1ms); // let the backlog drain now and then
  }
  CAF_REQUIRE(server_events.wait_for([&] { return server_events.frames.size() == n; }));
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i)
    if (server_events.frames[i].second != frame(i))
      ++wrong;
  CAF_CHECK_EQUAL(wrong, 0u);
  // And back over the ROUTER.
  auto back = server_events.frames[0].first;
  for (size_t i = 0; i < 1000; ++i)
    CAF_REQUIRE_EQUAL(server->send(back, bytes(frame(i))), caf::none);
  CAF_REQUIRE(client_events.wait_for([&] { return client_events.frames.size() == 1000; }));
  wrong = 0;
  for (size_t i = 0; i < 1000; ++i)
    if (client_events.frames[i].second != frame(i))
      ++wrong;
  CAF_CHECK_EQUAL(wrong, 0u);
  CAF_CHECK_EQUAL(client->queue_depth(), 0u);
  client->stop();
  server->stop();
}

CAF_TEST(a full outbound queue refuses the newest frame) {
  recorder events;
  transport_options opts;
  opts.max_queued_frames = 4;
  auto sut = make_zmq_transport(opts);
  CAF_REQUIRE_EQUAL(sut->start(&events), caf::none);
  // Nobody listens: the socket never completes a connection, so frames stay queued.
  auto conn = sut->connect("ipc:///tmp/troupe-nobody-listens-" + std::to_string(::getpid()));
  CAF_REQUIRE(conn);
  for (int i = 0; i < 4; ++i)
    CAF_CHECK_EQUAL(sut->send(*conn, bytes("x")), caf::none);
  auto err = sut->send(*conn, bytes("one too many"));
  CAF_CHECK_EQUAL(err.category(), errc_category);
  CAF_CHECK_EQUAL(err.code(), static_cast<uint8_t>(errc::overloaded));
  CAF_CHECK_EQUAL(sut->queue_depth(), 4u);
  // Oversized frames are refused outright.
  auto big = sut->send(*conn, std::vector<char>(opts.max_frame_size + 1));
  CAF_CHECK_EQUAL(big.code(), static_cast<uint8_t>(errc::bad_frame));
  // stop() is bounded even though the queued frames can never leave.
  auto t0 = std::chrono::steady_clock::now();
  sut->stop();
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - t0, 2s);
  CAF_CHECK_EQUAL(sut->queue_depth(), 0u);
  CAF_CHECK_NOT_EQUAL(sut->send(*conn, bytes("after stop")), caf::none);
}

CAF_TEST(an ipc socket is private and a non - socket file at its path is not replaced) {
  recorder events;
  auto sut = make_zmq_transport();
  CAF_REQUIRE_EQUAL(sut->start(&events), caf::none);
  auto base = "/tmp/troupe-zmq-transport-perm-" + std::to_string(::getpid());
  // A regular file at the path: libzmq would unlink it; the transport refuses instead.
  auto file = base + ".txt";
  {
    std::ofstream out{file};
    out << "precious";
  }
  auto res = sut->listen("ipc://" + file);
  CAF_CHECK(!res);
  struct stat st;
  CAF_CHECK(::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 8);
  ::unlink(file.c_str());
  // A fresh socket is 0600 whatever the umask.
  auto old_mask = ::umask(0);
  auto sock = base + ".sock";
  auto bound = sut->listen("ipc://" + sock);
  ::umask(old_mask);
  CAF_REQUIRE(bound);
  CAF_REQUIRE(::stat(sock.c_str(), &st) == 0);
  CAF_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  sut->stop();
  ::unlink(sock.c_str());
}

CAF_TEST(binding a bad endpoint is an error not an exception) {
  recorder events;
  auto sut = make_zmq_transport();
  CAF_REQUIRE_EQUAL(sut->start(&events), caf::none);
  auto res = sut->listen("tcp://no-such-host-name.invalid:1");
  CAF_CHECK(!res);
  auto res2 = sut->listen("bogus://x");
  CAF_CHECK(!res2);
  sut->stop();
}
