#define CAF_SUITE bridges.shm_hostile

// A hostile or broken shared-memory peer: every case builds segments by hand (through the shared
// layouts of detail/shm_layout.hpp) the way a malicious local process could, and checks that the
// transport refuses or ends only that session, logs it, and keeps serving honest peers.

#include "troupe/bridges/shm_transport.hpp"

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "caf/test/unit_test.hpp"

#include "troupe/bridges/detail/shm_layout.hpp"
#include "troupe/bridges/shm_segment.hpp"
#include "troupe/errc.hpp"

using namespace std::chrono_literals;
using namespace troupe;
using namespace troupe::bridges;
using troupe::detail::door_layout;
using troupe::detail::listen_layout;
using troupe::detail::pair_layout;

namespace {

const std::string& prefix() {
  static const std::string p = "trhostile" + std::to_string(::getpid()) + ".";
  return p;
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

struct fixture {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink
    = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
  std::shared_ptr<spdlog::logger> log = std::make_shared<spdlog::logger>("hostile", sink);

  std::unique_ptr<transport> make(const std::string& node, size_t ring = 4096) {
    transport_options opts;
    opts.tick_interval = 10ms;
    opts.logger = log;
    shm_transport_options sopts;
    sopts.name = node;
    sopts.ring_capacity = ring;
    sopts.prefix = prefix();
    sopts.peer_timeout = 1000ms;
    return make_shm_transport(opts, sopts);
  }

  // Whether some log line contains `text` (waits up to `timeout` for it).
  bool logged(const std::string& text, std::chrono::milliseconds timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      for (auto& line : sink->last_formatted())
        if (line.find(text) != std::string::npos)
          return true;
      std::this_thread::sleep_for(10ms);
    } while (std::chrono::steady_clock::now() < deadline);
    for (auto& line : sink->last_formatted())
      CAF_MESSAGE("log: " << line);
    return false;
  }

  // An honest connector exchanges a frame with the listener at `ep`: the node is still reachable.
  bool honest_roundtrip(transport& srv, recorder& srv_events, const std::string& ep) {
    recorder cli_events;
    auto cli = make("honest");
    if (cli->start(&cli_events))
      return false;
    auto conn = cli->connect(ep);
    if (!conn)
      return false;
    size_t before;
    {
      std::lock_guard<std::mutex> guard{srv_events.mtx};
      before = srv_events.frames.size();
    }
    if (cli->send(*conn, std::vector<char>{'p', 'i', 'n', 'g'}))
      return false;
    if (!srv_events.wait_for([&] { return srv_events.frames.size() > before; }, 5s))
      return false;
    conn_id back;
    {
      std::lock_guard<std::mutex> guard{srv_events.mtx};
      back = srv_events.frames.back().first;
    }
    if (srv.send(back, std::vector<char>{'p', 'o', 'n', 'g'}))
      return false;
    auto ok = cli_events.wait_for([&] { return cli_events.frames.size() == 1; }, 5s);
    cli->stop();
    srv.disconnect(back);
    return ok;
  }

  // A connector built by hand: its own door and a pair segment with rings of `cap` bytes.
  struct evil_connector {
    shm_segment door;
    shm_segment pair;
    pair_layout* layout = nullptr;
    uint64_t cap = 0;

    shm_ring_header* ring(int i) {
      return troupe::detail::ring_at(layout, cap, i);
    }
  };

  evil_connector make_evil(const std::string& listen_name, uint64_t cap,
                           uint64_t ring0_capacity_claim) {
    static int n = 0;
    evil_connector e;
    auto door
      = shm_segment::create(prefix() + "evil" + std::to_string(n) + ".door", sizeof(door_layout));
    CAF_REQUIRE(door);
    new (door->data()) door_layout;
    door->init_header(shm_segment_header::kind_door, 0);
    e.door = std::move(*door);
    auto pair = shm_segment::create(prefix() + listen_name + ".evil." + std::to_string(n++),
                                    sizeof(pair_layout) + 2 * shm_ring_header::bytes(cap));
    CAF_REQUIRE(pair);
    e.cap = cap;
    e.layout = new (pair->data()) pair_layout;
    shm_ring_header::init(e.ring(0), cap);
    shm_ring_header::init(e.ring(1), cap);
    e.ring(0)->capacity = ring0_capacity_claim;
    e.layout->side[0].pid.store(::getpid());
    e.layout->side[0].heartbeat_ms.store(UINT64_MAX / 2); // never times out: alive by pid
    troupe::detail::copy_name(e.layout->side[0].door, e.door.name());
    e.layout->side[0].state.store(troupe::detail::side_attached);
    pair->init_header(shm_segment_header::kind_pair, cap);
    e.pair = std::move(*pair);
    return e;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(shm_hostile_tests, fixture)

CAF_TEST(a ring header claiming a huge capacity is refused and the node stays reachable) {
  recorder events;
  auto srv = make("srv");
  CAF_REQUIRE(!srv->start(&events));
  auto ep = std::string{"shm://cap"}; // segment: prefix() + "cap"
  CAF_REQUIRE(srv->listen(ep));
  // The segment header says 4 KiB rings, the first ring's own header 2^40 bytes: trusting the
  // latter made the listener read far outside its mapping.
  auto evil = make_evil("cap", 4096, uint64_t{1} << 40);
  CAF_CHECK(logged("claims a capacity other than the segment header's"));
  CAF_CHECK_EQUAL(evil.layout->side[1].state.load(), troupe::detail::side_none);
  CAF_CHECK(honest_roundtrip(*srv, events, ep));
  srv->stop();
}

CAF_TEST(a malformed record ends only that session with a log line) {
  recorder events;
  auto srv = make("srv");
  CAF_REQUIRE(!srv->start(&events));
  auto ep = std::string{"shm://rec"}; // segment: prefix() + "rec"
  CAF_REQUIRE(srv->listen(ep));
  auto evil = make_evil("rec", 4096, 4096);
  // Wait for the listener to attach (it rescans at least once a second).
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (evil.layout->side[1].state.load() != troupe::detail::side_attached
         && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  CAF_REQUIRE_EQUAL(evil.layout->side[1].state.load(), troupe::detail::side_attached);
  // A record whose header claims 4 GiB - 8 bytes of payload in a 4 KiB ring.
  shm_record hdr{0xFFFFFFF8u, shm_record::first | shm_record::last};
  std::memcpy(evil.ring(0)->data(), &hdr, sizeof(hdr));
  evil.ring(0)->head.store(64, std::memory_order_release);
  shm_notify(static_cast<door_layout*>(
               shm_segment::attach(troupe::detail::read_name(evil.layout->side[1].door),
                                   shm_segment_header::kind_door)
                 ->data())
               ->door);
  CAF_CHECK(events.wait_for([&] { return events.unreachable.size() == 1; }, 3s));
  CAF_CHECK(logged("is corrupt: a record header claims more bytes"));
  CAF_CHECK(events.frames.empty());
  CAF_CHECK(honest_roundtrip(*srv, events, ep));
  srv->stop();
}

CAF_TEST(segments of another user or with a loose mode are refused) {
  // A 0600 segment of ours with its mode widened afterwards.
  auto loose = shm_segment::create(prefix() + "loose", 4096);
  CAF_REQUIRE(loose);
  loose->init_header(shm_segment_header::kind_pair, 1024);
  CAF_REQUIRE(::chmod(("/dev/shm/" + prefix() + "loose").c_str(), 0666) == 0);
  auto res = shm_segment::attach(prefix() + "loose", shm_segment_header::kind_pair);
  CAF_REQUIRE(!res);
  CAF_MESSAGE(describe(res.error()));
  CAF_CHECK(describe(res.error()).find("has mode 0666, not 0600") != std::string::npos);
  if (::geteuid() != 0) {
    CAF_MESSAGE("not root: the other-user case needs setuid; skipped");
    return;
  }
  // Another user pre-creates the listen name of a node, 0666, as in the attack.
  auto name = prefix() + "taken";
  auto child = ::fork();
  CAF_REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0)
      ::_exit(1);
    auto fd = ::shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0666);
    if (fd < 0 || ::fchmod(fd, 0666) != 0 || ::ftruncate(fd, 4096) != 0)
      ::_exit(2);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CAF_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto foreign = shm_segment::open(name);
  CAF_REQUIRE(!foreign);
  CAF_CHECK(describe(foreign.error()).find("belongs to uid 65534") != std::string::npos);
  recorder events;
  auto srv = make("srv");
  CAF_REQUIRE(!srv->start(&events));
  auto bound = srv->listen("shm://taken");
  CAF_REQUIRE(!bound);
  CAF_MESSAGE(describe(bound.error()));
  CAF_CHECK(describe(bound.error()).find("belongs to uid 65534 (another user")
            != std::string::npos);
  // A connector does not attach it either, and says why once.
  recorder cli_events;
  auto cli = make("cli");
  CAF_REQUIRE(!cli->start(&cli_events));
  CAF_REQUIRE(cli->connect("shm://taken"));
  CAF_CHECK(logged("cannot connect through listen segment /" + name));
  cli->stop();
  srv->stop();
  ::shm_unlink(("/" + name).c_str());
}

CAF_TEST(scribbled or removed listen and door segments are repaired) {
  recorder events;
  auto srv = make("srv");
  CAF_REQUIRE(!srv->start(&events));
  auto ep = std::string{"shm://scrib"}; // segment: prefix() + "scrib"
  CAF_REQUIRE(srv->listen(ep));
  // Same user, so it may map our 0600 segments: overwrite the listen segment and the door.
  auto l = shm_segment::open(prefix() + "scrib");
  CAF_REQUIRE(l);
  auto* ll = static_cast<listen_layout*>(l->data());
  auto door_name = troupe::detail::read_name(ll->door);
  auto d = shm_segment::open(door_name);
  CAF_REQUIRE(d);
  std::memset(static_cast<void*>(ll), 0x5a, sizeof(listen_layout));
  std::memset(d->data(), 0xa5, sizeof(door_layout));
  CAF_CHECK(logged("our listen segment"));
  CAF_CHECK(logged("our door segment"));
  CAF_CHECK(honest_roundtrip(*srv, events, ep));
  // Removing the name: the listener publishes a fresh one.
  ::shm_unlink(("/" + prefix() + "scrib").c_str());
  CAF_CHECK(logged("was removed or replaced by another process; recreated"));
  CAF_CHECK(honest_roundtrip(*srv, events, ep));
  srv->stop();
}

CAF_TEST(a peer that never reads is throttled then dropped and others keep going) {
  recorder events;
  transport_options opts;
  opts.tick_interval = 10ms;
  opts.logger = log;
  opts.max_queued_frames_per_peer = 50;
  opts.stalled_peer_timeout = 500ms;
  shm_transport_options sopts;
  sopts.name = "srv";
  sopts.ring_capacity = 4096;
  sopts.prefix = prefix();
  auto srv = make_shm_transport(opts, sopts);
  CAF_REQUIRE(!srv->start(&events));
  auto ep = std::string{"shm://flood"}; // segment: prefix() + "flood"
  CAF_REQUIRE(srv->listen(ep));
  // The flooder: a hand-made connector that sends one frame and never reads the answers.
  auto evil = make_evil("flood", 4096, 4096);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (evil.layout->side[1].state.load() != troupe::detail::side_attached
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  CAF_REQUIRE_EQUAL(evil.layout->side[1].state.load(), troupe::detail::side_attached);
  shm_record hdr{4, shm_record::first | shm_record::last};
  std::memcpy(evil.ring(0)->data(), &hdr, sizeof(hdr));
  std::memcpy(evil.ring(0)->data() + sizeof(hdr), "ping", 4);
  evil.ring(0)->head.store(16, std::memory_order_release);
  CAF_REQUIRE(events.wait_for([&] { return events.frames.size() == 1; }, 3s));
  auto flooder = events.frames[0].first;
  // Answers pile up: the ring (4 KiB) fills, then the per-peer budget refuses more.
  size_t refused = 0;
  for (int i = 0; i < 500; ++i) {
    if (auto err = srv->send(flooder, std::vector<char>(100, 'x')); err) {
      CAF_CHECK_EQUAL(err.code(), static_cast<uint8_t>(errc::overloaded));
      ++refused;
    }
  }
  CAF_CHECK_GREATER(refused, 0u);
  CAF_CHECK_LESS_OR_EQUAL(srv->queue_depth(), 50u);
  // Another peer is unaffected meanwhile.
  CAF_CHECK(honest_roundtrip(*srv, events, ep));
  CAF_CHECK(events.wait_for(
    [&] {
      return std::find(events.unreachable.begin(), events.unreachable.end(), flooder)
             != events.unreachable.end();
    },
    3s));
  CAF_CHECK(logged("has not read its replies"));
  srv->stop();
}

CAF_TEST_FIXTURE_SCOPE_END()
