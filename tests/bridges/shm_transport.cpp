#define CAF_SUITE bridges.shm_transport

#include "troupe/bridges/shm_transport.hpp"

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caf/test/unit_test.hpp"

#include "troupe/bridges/shm_segment.hpp"
#include "troupe/errc.hpp"

using namespace std::chrono_literals;
using namespace troupe;
using namespace troupe::bridges;

namespace {

// Every segment of this test process starts with this prefix, so parallel runs never collide and
// the leftover check sees only ours.
// Computed once, so a forked child uses its parent's prefix.
const std::string& test_prefix() {
  static const std::string prefix = "trtest" + std::to_string(::getpid()) + ".";
  return prefix;
}

struct recorder : transport_listener {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<std::pair<conn_id, std::vector<char>>> frames;
  std::vector<conn_id> unreachable;

  void on_frame(conn_id conn, const char* data, size_t size) override {
    std::lock_guard<std::mutex> guard{mtx};
    frames.emplace_back(conn, std::vector<char>(data, data + size));
    cv.notify_all();
  }

  void on_unreachable(conn_id conn) override {
    std::lock_guard<std::mutex> guard{mtx};
    unreachable.push_back(conn);
    cv.notify_all();
  }

  void on_tick(std::chrono::steady_clock::time_point) override {
    // nop
  }

  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, timeout, [&] { return pred(); });
  }
};

std::unique_ptr<transport> make(const std::string& node, size_t ring = 64 * 1024) {
  transport_options opts;
  opts.tick_interval = 10ms;
  shm_transport_options sopts;
  sopts.name = node;
  sopts.ring_capacity = ring;
  sopts.prefix = test_prefix();
  sopts.peer_timeout = 1000ms;
  return make_shm_transport(opts, sopts);
}

std::vector<char> pattern(size_t n, char seed) {
  std::vector<char> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<char>(seed + i * 7);
  return v;
}

size_t leftovers() {
  auto names = list_segments(test_prefix());
  return names ? names->size() : 999;
}

double cpu_seconds() {
  timespec ts;
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

} // namespace

CAF_TEST(a segment with a foreign header is rejected at attach) {
  auto name = test_prefix() + "hdr";
  auto seg = shm_segment::create(name, 4096);
  CAF_REQUIRE(seg);
  seg->init_header(shm_segment_header::kind_pair, 1024);
  CAF_CHECK(shm_segment::attach(name, shm_segment_header::kind_pair));
  CAF_CHECK(!shm_segment::attach(name, shm_segment_header::kind_door)); // wrong kind
  seg->header()->version = 99;
  auto bad = shm_segment::attach(name, shm_segment_header::kind_pair);
  CAF_REQUIRE(!bad);
  CAF_MESSAGE("error: " << describe(bad.error()));
  CAF_CHECK(describe(bad.error()).find("layout version 99") != std::string::npos);
  seg->header()->version = shm_segment_header::layout_version;
  seg->header()->magic = 42;
  CAF_CHECK(!shm_segment::attach(name, shm_segment_header::kind_pair));
  seg = caf::expected<shm_segment>{shm_segment{}}; // creator unlinks on close
  CAF_CHECK_EQUAL(leftovers(), 0u);
}

CAF_TEST(segments of dead processes are removed) {
  auto name = test_prefix() + "stale";
  auto child = ::fork();
  CAF_REQUIRE(child >= 0);
  if (child == 0) {
    auto seg = shm_segment::create(name, 4096);
    if (seg) {
      seg->init_header(shm_segment_header::kind_door, 0);
      seg->keep(); // as if killed: no unlink
    }
    ::_exit(seg ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CAF_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CAF_CHECK_EQUAL(leftovers(), 1u);
  // A live process's segment survives the cleanup.
  auto mine = shm_segment::create(test_prefix() + "live", 4096);
  CAF_REQUIRE(mine);
  mine->init_header(shm_segment_header::kind_door, 0);
  auto removed = remove_stale_segments(test_prefix());
  CAF_REQUIRE(removed);
  CAF_CHECK_EQUAL(*removed, 1u);
  CAF_CHECK_EQUAL(leftovers(), 1u);
  mine = caf::expected<shm_segment>{shm_segment{}};
  CAF_CHECK_EQUAL(leftovers(), 0u);
}

CAF_TEST(frames travel both ways including a 1 MiB frame through a 64 KiB ring) {
  recorder srv_events;
  recorder cli_events;
  auto srv = make("srv");
  auto cli = make("cli");
  CAF_REQUIRE(!srv->start(&srv_events));
  CAF_REQUIRE(!cli->start(&cli_events));
  auto ep = "shm://" + test_prefix() + "srv";
  auto bound = srv->listen(ep);
  CAF_REQUIRE(bound);
  CAF_CHECK_EQUAL(*bound, ep);
  CAF_CHECK(!srv->listen(ep)); // in use
  auto conn = cli->connect(ep);
  CAF_REQUIRE(conn);
  auto big = pattern(1024 * 1024, 3);
  CAF_CHECK(!cli->send(*conn, pattern(10, 1)));
  CAF_CHECK(!cli->send(*conn, big));
  CAF_CHECK(!cli->send(*conn, pattern(20, 2)));
  CAF_REQUIRE(srv_events.wait_for([&] { return srv_events.frames.size() == 3; }));
  CAF_CHECK(srv_events.frames[0].second == pattern(10, 1));
  CAF_CHECK(srv_events.frames[1].second == big);
  CAF_CHECK(srv_events.frames[2].second == pattern(20, 2));
  // The listener side answers on the connection id it was given.
  auto back = srv_events.frames[0].first;
  CAF_CHECK(!srv->send(back, big));
  CAF_REQUIRE(cli_events.wait_for([&] { return cli_events.frames.size() == 1; }));
  CAF_CHECK(cli_events.frames[0].first == *conn);
  CAF_CHECK(cli_events.frames[0].second == big);
  CAF_CHECK_EQUAL(srv->queue_depth(), 0u);
  // Idle: after the spin budget both I/O threads sleep on futexes, waking only for ticks.
  auto cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(300ms); // measuring idleness, not synchronizing
  auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto cpu = cpu_seconds() - cpu0;
  CAF_MESSAGE("idle CPU of two shm transports (10 ms ticks): " << (100.0 * cpu / wall) << " %");
  CAF_CHECK_LESS(cpu / wall, 0.05);
  // Clean disconnect: the server learns it at once (state word), not by timeout.
  cli->disconnect(*conn);
  CAF_CHECK(srv_events.wait_for([&] { return srv_events.unreachable.size() == 1; }, 2s));
  cli->stop();
  srv->stop();
  CAF_CHECK_EQUAL(leftovers(), 0u);
}

CAF_TEST(many threads send concurrently without corrupting the ring) {
  recorder srv_events;
  recorder cli_events;
  auto srv = make("srv", 4096);
  auto cli = make("cli", 4096);
  CAF_REQUIRE(!srv->start(&srv_events));
  CAF_REQUIRE(!cli->start(&cli_events));
  auto ep = "shm://" + test_prefix() + "mt";
  CAF_REQUIRE(srv->listen(ep));
  auto conn = cli->connect(ep);
  CAF_REQUIRE(conn);
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::vector<std::thread> senders;
  std::atomic<int> refused{0};
  for (int t = 0; t < threads; ++t)
    senders.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        // [thread][index][payload of index % 300 bytes]
        std::vector<char> f(8 + static_cast<size_t>(i % 300), static_cast<char>(t));
        std::memcpy(f.data(), &t, 4);
        std::memcpy(f.data() + 4, &i, 4);
        if (cli->send(*conn, std::move(f)))
          ++refused;
      }
    });
  for (auto& s : senders)
    s.join();
  CAF_CHECK_EQUAL(refused.load(), 0);
  auto all = srv_events.wait_for(
    [&] { return srv_events.frames.size() == size_t{threads * per_thread}; }, 10s);
  if (!all) {
    std::lock_guard<std::mutex> guard{srv_events.mtx};
    CAF_MESSAGE("received " << srv_events.frames.size() << ", client queue depth "
                            << cli->queue_depth());
  }
  CAF_REQUIRE(srv_events.wait_for(
    [&] { return srv_events.frames.size() == size_t{threads * per_thread}; }, 10s));
  // Per-sender order and intact payloads.
  std::vector<int> next(threads, 0);
  size_t bad = 0;
  for (auto& fr : srv_events.frames) {
    int t;
    int i;
    std::memcpy(&t, fr.second.data(), 4);
    std::memcpy(&i, fr.second.data() + 4, 4);
    if (t < 0 || t >= threads || i != next[t]++ || fr.second.size() != 8u + i % 300)
      ++bad;
  }
  CAF_CHECK_EQUAL(bad, 0u);
  cli->stop();
  srv->stop();
  CAF_CHECK_EQUAL(leftovers(), 0u);
}

CAF_TEST(a killed peer is reported as unreachable) {
  auto ep = "shm://" + test_prefix() + "victim";
  // Fork before this process starts any thread.
  auto child = ::fork();
  CAF_REQUIRE(child >= 0);
  if (child == 0) {
    recorder events;
    auto cli = make("child");
    if (cli->start(&events))
      ::_exit(1);
    auto conn = cli->connect(ep); // succeeds before the listener exists; attaches later
    if (!conn)
      ::_exit(2);
    static_cast<void>(cli->send(*conn, pattern(100, 9)));
    for (;;)
      ::pause(); // until SIGKILL
  }
  recorder events;
  auto srv = make("parent");
  CAF_REQUIRE(!srv->start(&events));
  CAF_REQUIRE(srv->listen(ep));
  auto got = events.wait_for([&] { return events.frames.size() == 1; }, 5s);
  CAF_CHECK(got);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  auto t0 = std::chrono::steady_clock::now();
  CAF_CHECK(events.wait_for([&] { return events.unreachable.size() == 1; }, 3s));
  CAF_MESSAGE("peer death detected after " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - t0)
                                                .count()
                                           << " ms");
  if (!events.frames.empty()) {
    auto conn = events.frames[0].first;
    CAF_CHECK(srv->send(conn, pattern(10, 1))); // fails: peer lost
    srv->disconnect(conn);
  }
  srv->stop();
  // The child's door segment is stale now; the next start (or this cleanup) removes it.
  static_cast<void>(remove_stale_segments(test_prefix()));
  CAF_CHECK_EQUAL(leftovers(), 0u);
}
