// Transport ping-pong: round-trip latency and one-way throughput of every path a Troupe message
// can take, measured by the same loop in the same run (issue 3, point 7; STYLE.md "Benchmarks").
//
// Paths (one small class each, all behind `path`):
//   caf-local-*      CAF actors in one actor_system (no network)
//   raw-shm-ring     the bridges' shm SPSC ring between two processes, hybrid waiting, no actors
//   raw-zmq-ipc/tcp  libzmq DEALER -> ROUTER, 32 B frames: the floor of each transport
//   troupe-shm/ipc/tcp  troupe::bridges::hub over shm / ZeroMQ, server node in a forked child
//   *-actor          the same, but the client is an event-based actor, not a scoped actor
//   model-*          raw libzmq plus the bridge's thread hand-offs, no CAF (see the section)
//   basp-tcp-*       CAF's own BASP (io::middleman publish / remote_actor), forked child process
//
// The client side always runs in this process, in the main thread; the server side of every
// remote path runs in a child forked before the client creates any thread. Round trip: a 32 B
// request and its 32 B reply (raw: blocking zmq send/recv or ring push/wait; actors: scoped_actor
// request/receive, or request/then from an event-based actor for the *-actor paths).
// One-way: N messages of 32 B, then a "wait" request that the receiver answers once it has
// counted N; time from the first send to that answer.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "caf/actor_registry.hpp"
#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/atom.hpp"
#include "caf/exit_reason.hpp"
#include "caf/io/middleman.hpp"
#include "caf/response_promise.hpp"
#include "caf/result.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "common/child_process.hpp"

#include "troupe/bridges/hub.hpp"
#include "troupe/bridges/shm_ring.hpp"
#include "troupe/bridges/shm_segment.hpp"

// Marker for uprobes (`perf probe -x bench_transport_pingpong troupe_bench_mark where=%di`):
// 0 = client sends a request, 1 = server handler runs, 2 = client has the reply. An empty call
// when no probe is set. See docs/BENCHMARKS.md for the trace recipe.
extern "C" __attribute__((noipa, used)) void troupe_bench_mark(int where) {
  asm volatile("" : : "r"(where) : "memory");
}

namespace {

using clk = std::chrono::steady_clock;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using run_atom = caf::atom_constant<caf::atom("run")>;

// -- options ----------------------------------------------------------------------------------

enum class pin_mode { split, one, none };

struct options {
  size_t payload = 32;
  size_t rt_warmup = 2000;
  size_t rt_iters = 20000;
  size_t ow_msgs = 50000; // below the hub's default outbound bound of 100000 frames
  size_t ow_runs = 5;
  pin_mode pin = pin_mode::split;
  int shm_spin_us = -1; // hub_options::shm.wait.spin in µs; < 0: the default
  std::vector<std::string> only;
  bool quick = false;
};

// -- process helpers --------------------------------------------------------------------------

int ncpus() {
  auto n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

void pin_self(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (auto c : cpus)
    CPU_SET(c, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    std::fprintf(stderr, "sched_setaffinity: %s\n", std::strerror(errno));
}

std::vector<int> all_cpus() {
  std::vector<int> r;
  for (int i = 0; i < ncpus(); ++i)
    r.push_back(i);
  return r;
}

// CPUs of the client (this process) and of the server (the child) for a remote path.
std::vector<int> client_cpus(pin_mode m) {
  return m == pin_mode::none ? all_cpus() : std::vector<int>{0};
}

std::vector<int> server_cpus(pin_mode m) {
  if (m == pin_mode::none)
    return all_cpus();
  if (m == pin_mode::one)
    return {0};
  return {ncpus() > 1 ? 1 : 0};
}

// Context switches (voluntary + involuntary, all threads) and CPU seconds of a process.
struct usage {
  uint64_t cs = 0;
  double cpu = 0;
};

usage sample_self() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  usage u;
  u.cs = static_cast<uint64_t>(ru.ru_nvcsw + ru.ru_nivcsw);
  u.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
          + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return u;
}

usage sample_pid(pid_t pid) {
  usage u;
  auto dir_name = "/proc/" + std::to_string(pid) + "/task";
  if (auto dir = opendir(dir_name.c_str())) {
    while (auto ent = readdir(dir)) {
      if (ent->d_name[0] == '.')
        continue;
      std::ifstream in{dir_name + "/" + ent->d_name + "/status"};
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0
            || line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
          u.cs += std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10);
      }
    }
    closedir(dir);
  }
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string all{std::istreambuf_iterator<char>{stat}, std::istreambuf_iterator<char>{}};
  auto pos = all.rfind(')');
  if (pos != std::string::npos) {
    std::istringstream fields{all.substr(pos + 2)};
    std::string tok;
    uint64_t utime = 0;
    uint64_t stime = 0;
    for (int field = 3; fields >> tok && field <= 15; ++field) {
      if (field == 14)
        utime = std::strtoull(tok.c_str(), nullptr, 10);
      if (field == 15)
        stime = std::strtoull(tok.c_str(), nullptr, 10);
    }
    u.cpu = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return u;
}

using troupe::bench::child_process;
using troupe::bench::wait_eof;
using troupe::bench::write_line;

// Pins the calling (child) process to `cpus`, for `child_process::start`.
std::function<void()> pinned(std::vector<int> cpus) {
  return [cpus] { pin_self(cpus); };
}

// -- the interface ----------------------------------------------------------------------------

class path {
public:
  virtual ~path() = default;
  virtual std::string name() const = 0;
  /// Transport group for the ratio column: "local", "ipc" or "tcp".
  virtual std::string group() const = 0;
  /// Whether this path is the raw baseline of its group.
  virtual bool baseline() const {
    return false;
  }
  /// Starts both sides; returns an error text or an empty string.
  virtual std::string setup() = 0;
  /// One request of `payload` bytes and its reply of the same size; false on failure.
  virtual bool round_trip() = 0;
  /// Runs `n` round trips back to back and appends the latency of each (µs) to `lat` unless it
  /// is null. The default times `round_trip()` in this thread; a path whose client is an
  /// event-based actor overrides it to run the same loop inside the actor.
  virtual bool round_trips(size_t n, std::vector<double>* lat) {
    for (size_t i = 0; i < n; ++i) {
      auto t0 = clk::now();
      if (!round_trip())
        return false;
      if (lat != nullptr)
        lat->push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
    }
    return true;
  }
  /// Sends `n` one-way messages and returns once the receiver has counted all of them.
  virtual bool one_way(size_t n) = 0;
  virtual void teardown() = 0;
  /// Pid of the server process, 0 when the server runs in this process.
  virtual pid_t server_pid() const {
    return 0;
  }
  /// Extra facts for the notes column (frame sizes, ...), valid before teardown.
  virtual std::string notes() {
    return {};
  }
};

// -- CAF actors: the server of every actor path -----------------------------------------------

struct server_state {
  uint64_t count = 0;
  uint64_t target = 0;
  bool waiting = false;
  caf::response_promise rp;
};

caf::behavior bench_server(caf::stateful_actor<server_state>* self) {
  return {
    [](ping_atom, std::string& x) {
      troupe_bench_mark(1);
      return std::move(x);
    },
    [self](const std::string&) {
      auto& st = self->state;
      ++st.count;
      if (st.waiting && st.count >= st.target) {
        st.waiting = false;
        st.rp.deliver(st.count);
        st.count = 0;
      }
    },
    [self](wait_atom, uint64_t n) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (st.count >= n) {
        auto c = st.count;
        st.count = 0;
        return c;
      }
      st.target = n;
      st.waiting = true;
      st.rp = self->make_response_promise();
      return st.rp;
    },
  };
}

std::unique_ptr<caf::actor_system_config> make_config(bool sharing, bool middleman) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  if (sharing)
    cfg->set("scheduler.policy", caf::atom("sharing"));
  if (middleman)
    cfg->load<caf::io::middleman>();
  return cfg;
}

// The event-based client of the `*-actor` paths: on {run, n} it makes n round trips to the server
// one after the other (the next request leaves from the reply handler), appends each latency to
// `lat` and then answers. The scoped actor that asked waits once per batch, not per round trip.
struct pinger_state {
  caf::actor server;
  std::string payload;
  std::vector<double>* lat = nullptr; // owned by the path, read after the answer
  size_t left = 0;
  bool record = false;
  bool ok = true;
  clk::time_point t0;
  caf::response_promise rp;
};

void ping_next(caf::stateful_actor<pinger_state>* self) {
  auto& st = self->state;
  troupe_bench_mark(0);
  st.t0 = clk::now();
  self->request(st.server, caf::infinite, ping_atom::value, st.payload)
    .then(
      [self](const std::string& x) {
        auto t1 = clk::now();
        troupe_bench_mark(2);
        auto& s = self->state;
        if (s.record)
          s.lat->push_back(std::chrono::duration<double, std::micro>(t1 - s.t0).count());
        s.ok = s.ok && x.size() == s.payload.size();
        if (--s.left > 0)
          ping_next(self);
        else
          s.rp.deliver(s.ok);
      },
      [self](caf::error&) {
        self->state.left = 0;
        self->state.rp.deliver(false);
      });
}

caf::behavior pinger(caf::stateful_actor<pinger_state>* self, caf::actor server,
                     std::string payload, std::vector<double>* lat) {
  self->state.server = std::move(server);
  self->state.payload = std::move(payload);
  self->state.lat = lat;
  return {
    [self](run_atom, uint64_t n, bool record) -> caf::result<bool> {
      auto& st = self->state;
      if (n == 0)
        return true;
      st.left = n;
      st.record = record;
      st.ok = true;
      st.rp = self->make_response_promise();
      ping_next(self);
      return st.rp;
    },
  };
}

// Client side shared by every actor path: a scoped actor talking to `server_`; with
// `event_client`, round trips come from an event-based actor instead (`pinger`), because a scoped
// actor's blocking receive always costs a condition-variable wakeup of the waiting thread.
class actor_client : public path {
public:
  explicit actor_client(const options& opts, bool event_client = false)
    : payload_(opts.payload, 'x'), event_client_(event_client) {
    // nop
  }

  bool round_trips(size_t n, std::vector<double>* lat) override {
    if (!event_client_)
      return path::round_trips(n, lat);
    if (!pinger_)
      pinger_ = sys_->spawn(pinger, server_, payload_, &lat_);
    lat_.clear();
    lat_.reserve(n);
    bool ok = false;
    (*self_)
      ->request(pinger_, caf::infinite, run_atom::value, static_cast<uint64_t>(n), lat != nullptr)
      .receive([&](bool x) { ok = x; }, [&](caf::error& err) { report(err); });
    if (lat != nullptr)
      lat->insert(lat->end(), lat_.begin(), lat_.end());
    return ok;
  }

  bool round_trip() override {
    bool ok = false;
    troupe_bench_mark(0);
    (*self_)
      ->request(server_, caf::infinite, ping_atom::value, payload_)
      .receive([&](const std::string& x) { ok = x.size() == payload_.size(); },
               [&](caf::error& err) { report(err); });
    troupe_bench_mark(2);
    return ok;
  }

  bool one_way(size_t n) override {
    for (size_t i = 0; i < n; ++i)
      (*self_)->send(server_, payload_);
    bool ok = false;
    (*self_)
      ->request(server_, std::chrono::seconds{60}, wait_atom::value, static_cast<uint64_t>(n))
      .receive([&](uint64_t count) { ok = count >= n; }, [&](caf::error& err) { report(err); });
    return ok;
  }

protected:
  void report(const caf::error& err) {
    std::fprintf(stderr, "%s: %s\n", name().c_str(), sys_->render(err).c_str());
  }

  // Starts the client actor system and the scoped actor.
  void start_client(bool sharing, bool middleman) {
    cfg_ = make_config(sharing, middleman);
    sys_ = std::make_unique<caf::actor_system>(*cfg_);
    self_.emplace(*sys_);
  }

  void stop_client() {
    if (pinger_) {
      sys_->registry().erase(pinger_.id());
      caf::anon_send_exit(pinger_, caf::exit_reason::user_shutdown);
      pinger_ = nullptr;
    }
    if (self_) {
      // Troupe's proxies register senders by id so that replies find them.
      sys_->registry().erase((*self_)->id());
      self_.reset();
    }
    server_ = nullptr;
  }

  void stop_system() {
    sys_.reset();
    cfg_.reset();
  }

  std::string payload_;
  bool event_client_;
  caf::actor pinger_;
  std::vector<double> lat_;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::optional<caf::scoped_actor> self_;
  caf::actor server_;
};

// -- CAF local --------------------------------------------------------------------------------

class caf_local final : public actor_client {
public:
  caf_local(const options& opts, bool sharing, bool event_client = false)
    : actor_client(opts, event_client), sharing_(sharing) {
    // nop
  }

  std::string name() const override {
    return std::string{sharing_ ? "caf-local-sharing" : "caf-local-stealing"}
           + (event_client_ ? "-actor" : "");
  }

  std::string group() const override {
    return "local";
  }

  std::string setup() override {
    pin_self(all_cpus());
    start_client(sharing_, false);
    server_ = sys_->spawn(bench_server);
    return {};
  }

  void teardown() override {
    auto srv = server_;
    stop_client();
    caf::anon_send_exit(srv, caf::exit_reason::user_shutdown);
    srv = nullptr;
    stop_system();
  }

private:
  bool sharing_;
};

// -- raw libzmq -------------------------------------------------------------------------------

// Server: one ROUTER; 'P' frames are echoed, 'O' frames counted, a 'W' frame answered with the
// count (frames of one connection arrive in order, so it is complete by then).
void raw_zmq_server(int ready_fd, int ctl_fd, const std::string& endpoint) {
  zmq::context_t ctx{1};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  router.set(zmq::sockopt::linger, 0);
  router.bind(endpoint);
  write_line(ready_fd, router.get(zmq::sockopt::last_endpoint));
  uint64_t count = 0;
  zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, ctl_fd, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds{-1});
    if (items[1].revents)
      break;
    for (;;) {
      zmq::message_t rid;
      if (!router.recv(rid, zmq::recv_flags::dontwait))
        break;
      zmq::message_t body;
      if (!router.recv(body, zmq::recv_flags::dontwait) || body.size() == 0)
        continue;
      auto tag = static_cast<const char*>(body.data())[0];
      if (tag == 'O') {
        ++count;
      } else if (tag == 'P') {
        troupe_bench_mark(1);
        router.send(rid, zmq::send_flags::sndmore);
        router.send(body, zmq::send_flags::none);
      } else if (tag == 'W') {
        zmq::message_t reply{sizeof(count)};
        std::memcpy(reply.data(), &count, sizeof(count));
        count = 0;
        router.send(rid, zmq::send_flags::sndmore);
        router.send(reply, zmq::send_flags::none);
      }
    }
  }
}

class raw_zmq final : public path {
public:
  raw_zmq(const options& opts, std::string transport)
    : opts_(opts), transport_(std::move(transport)) {
    // nop
  }

  std::string name() const override {
    return "raw-zmq-" + transport_;
  }

  std::string group() const override {
    return transport_;
  }

  bool baseline() const override {
    return true;
  }

  std::string setup() override {
    auto endpoint = transport_ == "ipc"
                      ? "ipc:///tmp/troupe-bench-raw-" + std::to_string(getpid()) + ".ipc"
                      : std::string{"tcp://127.0.0.1:*"};
    auto bound = child_.start(pinned(server_cpus(opts_.pin)), [endpoint](int ready, int ctl) {
      raw_zmq_server(ready, ctl, endpoint);
    });
    if (bound.empty())
      return "server did not start";
    pin_self(client_cpus(opts_.pin));
    ctx_.emplace(1);
    sock_.emplace(*ctx_, zmq::socket_type::dealer);
    sock_->set(zmq::sockopt::linger, 0);
    sock_->connect(bound);
    ping_.assign(opts_.payload, 'x');
    ping_[0] = 'P';
    oneway_ = ping_;
    oneway_[0] = 'O';
    return {};
  }

  bool round_trip() override {
    troupe_bench_mark(0);
    sock_->send(zmq::buffer(ping_), zmq::send_flags::none);
    zmq::message_t reply;
    auto ok = sock_->recv(reply, zmq::recv_flags::none) && reply.size() == ping_.size();
    troupe_bench_mark(2);
    return ok;
  }

  bool one_way(size_t n) override {
    for (size_t i = 0; i < n; ++i)
      sock_->send(zmq::buffer(oneway_), zmq::send_flags::none);
    std::string wait = ping_;
    wait[0] = 'W';
    sock_->send(zmq::buffer(wait), zmq::send_flags::none);
    zmq::message_t reply;
    if (!sock_->recv(reply, zmq::recv_flags::none) || reply.size() != sizeof(uint64_t))
      return false;
    uint64_t count;
    std::memcpy(&count, reply.data(), sizeof(count));
    return count == n;
  }

  void teardown() override {
    sock_.reset();
    ctx_.reset();
    child_.stop();
    pin_self(all_cpus());
  }

  pid_t server_pid() const override {
    return child_.pid();
  }

private:
  const options& opts_;
  std::string transport_;
  child_process child_;
  std::optional<zmq::context_t> ctx_;
  std::optional<zmq::socket_t> sock_;
  std::string ping_;
  std::string oneway_;
};

// -- raw shared-memory ring -------------------------------------------------------------------
//
// The troupe::bridges SPSC ring (shm_ring.hpp) in one shm segment, one ring per direction, 32 B
// records, no actors and no codec. Both sides wait like the shm transport's I/O thread does:
// spin `shm_wait_options::spin` (5 µs), then sleep on the ring's futex doorbell. The floor of the
// shm group.

namespace bridges = troupe::bridges;

constexpr size_t ring_capacity = size_t{1} << 20; // the shm transport's default

// Pushes one record, waiting for space (the peer consumes continuously); false on timeout.
bool ring_push(bridges::shm_ring_producer& tx, const void* data, size_t n) {
  return tx.push(data, n, std::chrono::seconds{10}, [] { return false; })
         == bridges::shm_wait_result::ok;
}

// Server: 'P' records are echoed, 'O' records counted, a 'W' record answered with the count.
void raw_ring_server(int ready_fd, int ctl_fd, bridges::shm_ring_block* in,
                     bridges::shm_ring_block* out) {
  bridges::shm_ring_consumer rx{&in->ring, &in->reader_door, &in->writer_door};
  bridges::shm_ring_producer tx{&out->ring, &out->reader_door, &out->writer_door};
  write_line(ready_fd, "ready");
  auto stop = [ctl_fd] {
    pollfd pfd{ctl_fd, POLLIN, 0};
    return ::poll(&pfd, 1, 0) > 0;
  };
  uint64_t count = 0;
  for (;;) {
    auto res = rx.wait(std::chrono::hours{1}, stop);
    if (res == bridges::shm_wait_result::aborted)
      return;
    if (res != bridges::shm_wait_result::ok)
      continue;
    rx.poll([&](const char* data, size_t size) {
      if (size == 0)
        return;
      if (data[0] == 'O') {
        ++count;
      } else if (data[0] == 'P') {
        troupe_bench_mark(1);
        ring_push(tx, data, size);
      } else if (data[0] == 'W') {
        ring_push(tx, &count, sizeof(count));
        count = 0;
      }
    });
  }
}

class raw_shm_ring final : public path {
public:
  explicit raw_shm_ring(const options& opts) : opts_(opts) {
    // nop
  }

  std::string name() const override {
    return "raw-shm-ring";
  }

  std::string group() const override {
    return "shm";
  }

  bool baseline() const override {
    return true;
  }

  std::string setup() override {
    auto block = bridges::shm_ring_block::bytes(ring_capacity);
    auto seg
      = bridges::shm_segment::create("/troupe-bench-ring-" + std::to_string(getpid()), 2 * block);
    if (!seg)
      return "shm_segment::create failed";
    seg_ = std::move(*seg);
    // The child inherits the mapping across fork: drop the name at once so that nothing is left
    // in /dev/shm even if the run is killed.
    seg_.unlink();
    auto* base = static_cast<char*>(seg_.data());
    auto* to_server = bridges::shm_ring_block::init(base, ring_capacity);
    auto* to_client = bridges::shm_ring_block::init(base + block, ring_capacity);
    auto ready
      = child_.start(pinned(server_cpus(opts_.pin)), [to_server, to_client](int r, int ctl) {
          raw_ring_server(r, ctl, to_server, to_client);
        });
    if (ready.empty())
      return "server did not start";
    pin_self(client_cpus(opts_.pin));
    tx_ = bridges::shm_ring_producer{&to_server->ring, &to_server->reader_door,
                                     &to_server->writer_door};
    rx_ = bridges::shm_ring_consumer{&to_client->ring, &to_client->reader_door,
                                     &to_client->writer_door};
    ping_.assign(opts_.payload, 'x');
    ping_[0] = 'P';
    return {};
  }

  bool round_trip() override {
    troupe_bench_mark(0);
    if (!ring_push(tx_, ping_.data(), ping_.size()))
      return false;
    size_t got = 0;
    if (!receive_one(got))
      return false;
    troupe_bench_mark(2);
    return got == ping_.size();
  }

  bool one_way(size_t n) override {
    auto msg = ping_;
    msg[0] = 'O';
    for (size_t i = 0; i < n; ++i)
      if (!ring_push(tx_, msg.data(), msg.size()))
        return false;
    msg[0] = 'W';
    if (!ring_push(tx_, msg.data(), msg.size()))
      return false;
    size_t got = 0;
    return receive_one(got, &count_) && got == sizeof(uint64_t) && count_ == n;
  }

  void teardown() override {
    child_.stop();
    tx_ = bridges::shm_ring_producer{};
    rx_ = bridges::shm_ring_consumer{};
    seg_ = bridges::shm_segment{};
    pin_self(all_cpus());
  }

  pid_t server_pid() const override {
    return child_.pid();
  }

private:
  // Waits (hybrid) for one reply record; stores its size and, if `out`, its first 8 bytes.
  bool receive_one(size_t& size, uint64_t* out = nullptr) {
    for (;;) {
      if (rx_.wait(std::chrono::seconds{10}, [] { return false; }) != bridges::shm_wait_result::ok)
        return false;
      auto n = rx_.poll(
        [&](const char* data, size_t sz) {
          size = sz;
          if (out != nullptr && sz >= sizeof(uint64_t))
            std::memcpy(out, data, sizeof(uint64_t));
        },
        1);
      if (n > 0 && size > 0)
        return true;
    }
  }

  const options& opts_;
  child_process child_;
  bridges::shm_segment seg_;
  bridges::shm_ring_producer tx_;
  bridges::shm_ring_consumer rx_;
  std::string ping_;
  uint64_t count_ = 0;
};

// -- models of the bridge's thread structure, without CAF or a codec ---------------------------
//
// Same sockets and frames as raw-zmq, but the hand-offs of the bridge are rebuilt with the same
// primitives (mutex + deque; eventfd to wake an I/O thread that sleeps in zmq_poll only when it
// announced the sleep; condition variable notified under its lock, as CAF's sharing scheduler
// and blocking actors do). What is left between these rows and troupe-* is the CPU cost of CAF
// and the codec; what is between raw-zmq and these rows is the cost of the thread structure.
//   model-bridge: client main -> client I/O thread -> zmq ... server I/O thread -> worker thread
//                 -> server I/O thread -> zmq ... client I/O thread -> client main (troupe today)
//   model-inline: the client sends on the socket itself (socket mutex; the I/O thread polls
//                 ZMQ_FD and is woken when a send leaves input pending); the server I/O thread
//                 runs the handler inline and sends the reply itself (proposed fixes 1 and 2)

// Consumer sleeps on a condition variable; producers notify under the lock (like CAF 0.17).
struct cv_queue {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::string> items;

  void push(std::string x) {
    std::unique_lock<std::mutex> guard{mtx};
    items.push_back(std::move(x));
    cv.notify_one();
  }

  std::string pop() {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait(guard, [this] { return !items.empty(); });
    auto x = std::move(items.front());
    items.pop_front();
    return x;
  }
};

// Consumer sleeps in zmq_poll on an eventfd; producers write it only when the consumer announced
// that it is about to sleep (the bridge's zmq_transport does exactly this).
struct efd_queue {
  std::mutex mtx;
  std::deque<std::string> items;
  std::atomic<bool> sleeping{false};
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

  ~efd_queue() {
    ::close(fd);
  }

  void push(std::string x) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      items.push_back(std::move(x));
    }
    if (sleeping.exchange(false))
      wake();
  }

  void wake() {
    uint64_t one = 1;
    auto res = ::write(fd, &one, sizeof(one));
    static_cast<void>(res);
  }

  std::deque<std::string> take() {
    std::deque<std::string> out;
    std::lock_guard<std::mutex> guard{mtx};
    out.swap(items);
    return out;
  }

  bool empty() {
    std::lock_guard<std::mutex> guard{mtx};
    return items.empty();
  }

  void drain_fd() {
    uint64_t cnt;
    auto res = ::read(fd, &cnt, sizeof(cnt));
    static_cast<void>(res);
  }
};

// Server: a ROUTER on the I/O thread; with `inline_handler` false, frames go to a worker thread
// and replies come back through an efd_queue (routing id + body joined with a 1-byte length).
void model_server(int ready_fd, int ctl_fd, const std::string& endpoint, bool inline_handler) {
  zmq::context_t ctx{1};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  router.set(zmq::sockopt::linger, 0);
  router.bind(endpoint);
  write_line(ready_fd, router.get(zmq::sockopt::last_endpoint));
  efd_queue replies;
  cv_queue work;
  uint64_t count = 0;
  // Returns the reply for `body`, or an empty string.
  auto handle = [&count](const std::string& body) -> std::string {
    if (body[0] == 'O') {
      ++count;
      return {};
    }
    if (body[0] == 'P') {
      troupe_bench_mark(1);
      return body;
    }
    std::string reply(sizeof(count), '\0');
    std::memcpy(reply.data(), &count, sizeof(count));
    count = 0;
    return reply;
  };
  std::thread worker;
  if (!inline_handler)
    worker = std::thread{[&] {
      for (;;) {
        auto job = work.pop();
        if (job.empty())
          return;
        auto rid_len = static_cast<size_t>(static_cast<unsigned char>(job[0]));
        auto reply = handle(job.substr(1 + rid_len));
        if (!reply.empty())
          replies.push(job.substr(0, 1 + rid_len) + reply);
      }
    }};
  auto send = [&router](const std::string& rid, const std::string& body) {
    router.send(zmq::buffer(rid), zmq::send_flags::sndmore);
    router.send(zmq::buffer(body), zmq::send_flags::none);
  };
  zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0},
                             {nullptr, ctl_fd, ZMQ_POLLIN, 0},
                             {nullptr, replies.fd, ZMQ_POLLIN, 0}};
  for (;;) {
    for (auto& r : replies.take()) {
      auto rid_len = static_cast<size_t>(static_cast<unsigned char>(r[0]));
      send(r.substr(1, rid_len), r.substr(1 + rid_len));
    }
    replies.sleeping.store(true);
    auto timeout = replies.empty() ? -1 : 0;
    zmq::poll(items, 3, std::chrono::milliseconds{timeout});
    replies.sleeping.store(false);
    if (items[1].revents)
      break;
    if (items[2].revents)
      replies.drain_fd();
    for (;;) {
      zmq::message_t rid;
      if (!router.recv(rid, zmq::recv_flags::dontwait))
        break;
      zmq::message_t body;
      if (!router.recv(body, zmq::recv_flags::dontwait) || body.size() == 0)
        continue;
      if (inline_handler) {
        auto reply = handle(body.to_string());
        if (!reply.empty())
          send(rid.to_string(), reply);
      } else {
        auto r = rid.to_string();
        work.push(std::string(1, static_cast<char>(r.size())) + r + body.to_string());
      }
    }
  }
  if (worker.joinable()) {
    work.push({});
    worker.join();
  }
}

class model_path final : public path {
public:
  model_path(const options& opts, std::string transport, bool inline_mode)
    : opts_(opts), transport_(std::move(transport)), inline_(inline_mode) {
    // nop
  }

  std::string name() const override {
    return std::string{inline_ ? "model-inline-" : "model-bridge-"} + transport_;
  }

  std::string group() const override {
    return transport_;
  }

  std::string setup() override {
    auto endpoint = transport_ == "ipc"
                      ? "ipc:///tmp/troupe-bench-model-" + std::to_string(getpid()) + ".ipc"
                      : std::string{"tcp://127.0.0.1:*"};
    auto inl = inline_;
    auto bound = child_.start(pinned(server_cpus(opts_.pin)), [endpoint, inl](int ready, int ctl) {
      model_server(ready, ctl, endpoint, inl);
    });
    if (bound.empty())
      return "server did not start";
    pin_self(client_cpus(opts_.pin));
    ctx_.emplace(1);
    sock_.emplace(*ctx_, zmq::socket_type::dealer);
    sock_->set(zmq::sockopt::linger, 0);
    sock_->connect(bound);
    ping_.assign(opts_.payload, 'x');
    ping_[0] = 'P';
    running_ = true;
    io_ = std::thread{[this] { run_io(); }};
    return {};
  }

  bool round_trip() override {
    troupe_bench_mark(0);
    send(ping_);
    auto reply = inbox_.pop();
    troupe_bench_mark(2);
    return reply.size() == ping_.size();
  }

  bool one_way(size_t n) override {
    auto msg = ping_;
    msg[0] = 'O';
    for (size_t i = 0; i < n; ++i)
      send(msg);
    msg[0] = 'W';
    send(msg);
    auto reply = inbox_.pop();
    uint64_t count = 0;
    if (reply.size() == sizeof(count))
      std::memcpy(&count, reply.data(), sizeof(count));
    return count == n;
  }

  void teardown() override {
    if (io_.joinable()) {
      running_ = false;
      outbox_.wake();
      io_.join();
    }
    sock_.reset();
    ctx_.reset();
    child_.stop();
    pin_self(all_cpus());
  }

  pid_t server_pid() const override {
    return child_.pid();
  }

private:
  void send(const std::string& x) {
    if (!inline_) {
      outbox_.push(x);
      return;
    }
    std::lock_guard<std::mutex> guard{sock_mtx_};
    sock_->send(zmq::buffer(x), zmq::send_flags::none);
    // A socket call may consume the ZMQ_FD edge the I/O thread waits for: hand it over.
    if (sock_->get(zmq::sockopt::events) & ZMQ_POLLIN)
      outbox_.wake();
  }

  void run_io() {
    auto zfd = sock_->get(zmq::sockopt::fd);
    for (;;) {
      if (!running_)
        return;
      if (inline_) {
        // Wait on ZMQ_FD without touching the socket; touch it only under the mutex.
        pollfd fds[] = {{zfd, POLLIN, 0}, {outbox_.fd, POLLIN, 0}};
        bool readable;
        {
          std::lock_guard<std::mutex> guard{sock_mtx_};
          readable = (sock_->get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
        }
        if (!readable)
          ::poll(fds, 2, -1);
        if (fds[1].revents)
          outbox_.drain_fd();
        for (;;) {
          zmq::message_t msg;
          {
            std::lock_guard<std::mutex> guard{sock_mtx_};
            if (!sock_->recv(msg, zmq::recv_flags::dontwait))
              break;
          }
          inbox_.push(msg.to_string());
        }
        continue;
      }
      for (auto& x : outbox_.take())
        sock_->send(zmq::buffer(x), zmq::send_flags::none);
      zmq::pollitem_t items[]
        = {{sock_->handle(), 0, ZMQ_POLLIN, 0}, {nullptr, outbox_.fd, ZMQ_POLLIN, 0}};
      outbox_.sleeping.store(true);
      auto timeout = outbox_.empty() && running_ ? -1 : 0;
      zmq::poll(items, 2, std::chrono::milliseconds{timeout});
      outbox_.sleeping.store(false);
      if (items[1].revents)
        outbox_.drain_fd();
      for (;;) {
        zmq::message_t msg;
        if (!sock_->recv(msg, zmq::recv_flags::dontwait))
          break;
        inbox_.push(msg.to_string());
      }
    }
  }

  const options& opts_;
  std::string transport_;
  bool inline_;
  child_process child_;
  std::optional<zmq::context_t> ctx_;
  std::optional<zmq::socket_t> sock_;
  std::mutex sock_mtx_;
  std::string ping_;
  std::atomic<bool> running_{false};
  std::thread io_;
  efd_queue outbox_;
  cv_queue inbox_;
};

// -- Troupe bridges ---------------------------------------------------------------------------

// Hub options of both sides: defaults, except the shm spin budget when --shm-spin is given.
troupe::bridges::hub_options bench_hub_options(const options& opts) {
  troupe::bridges::hub_options h;
  if (opts.shm_spin_us >= 0)
    h.shm.wait.spin = std::chrono::microseconds{opts.shm_spin_us};
  return h;
}

void troupe_server(int ready_fd, int ctl_fd, const std::string& endpoint,
                   troupe::bridges::hub_options hopts) {
  spdlog::set_level(spdlog::level::warn);
  auto cfg = make_config(true, true);
  auto sys = std::make_unique<caf::actor_system>(*cfg);
  auto srv = sys->spawn(bench_server);
  {
    troupe::bridges::hub h{*sys, "bench-server", hopts, [srv](const std::string& x) {
                             return x == "bench" ? srv : caf::actor{};
                           }};
    auto bound = h.listen(endpoint);
    write_line(ready_fd, bound ? *bound : std::string{});
    wait_eof(ctl_fd);
    h.stop();
  }
  caf::anon_send_exit(srv, caf::exit_reason::user_shutdown);
  // The registry holds the server by id (remote lookups put it there); skip ~actor_system.
  std::fflush(stdout);
  _exit(0);
}

class troupe_path final : public actor_client {
public:
  troupe_path(const options& opts, std::string transport, bool event_client = false)
    : actor_client(opts, event_client), opts_(opts), transport_(std::move(transport)) {
    // nop
  }

  std::string name() const override {
    return "troupe-" + transport_ + (event_client_ ? "-actor" : "");
  }

  std::string group() const override {
    return transport_;
  }

  std::string setup() override {
    spdlog::set_level(spdlog::level::warn);
    auto endpoint = transport_ == "ipc"
                      ? "ipc:///tmp/troupe-bench-" + std::to_string(getpid()) + ".ipc"
                    : transport_ == "shm" ? "shm://troupe-bench-" + std::to_string(getpid())
                                          : std::string{"tcp://127.0.0.1:*"};
    auto hopts = bench_hub_options(opts_);
    auto bound
      = child_.start(pinned(server_cpus(opts_.pin)), [endpoint, hopts](int ready, int ctl) {
          troupe_server(ready, ctl, endpoint, hopts);
        });
    if (bound.empty())
      return "server did not start";
    pin_self(client_cpus(opts_.pin));
    start_client(true, true);
    hub_ = std::make_unique<troupe::bridges::hub>(*sys_, "bench-client", bench_hub_options(opts_));
    if (auto err = hub_->connect("bench-server", bound))
      return "connect: " + sys_->render(err);
    auto hdl = hub_->remote_lookup("bench-server", "bench", std::chrono::seconds{5});
    if (!hdl)
      return "remote_lookup: " + sys_->render(hdl.error());
    server_ = *hdl;
    return {};
  }

  std::string notes() override {
    auto st = hub_->stats();
    for (auto& p : st.peers)
      if (p.frames_out > 0) {
        char buf[160];
        std::snprintf(buf, sizeof(buf), "%.0f B/frame out, %" PRIu64 " dropped",
                      static_cast<double>(p.bytes_out) / static_cast<double>(p.frames_out),
                      p.dropped);
        return buf;
      }
    return {};
  }

  void teardown() override {
    stop_client();
    if (hub_)
      hub_->stop();
    hub_.reset();
    child_.stop();
    stop_system();
    pin_self(all_cpus());
    // The server leaves with _exit, before libzmq removes the socket file.
    if (transport_ == "ipc")
      ::unlink(("/tmp/troupe-bench-" + std::to_string(getpid()) + ".ipc").c_str());
  }

  pid_t server_pid() const override {
    return child_.pid();
  }

private:
  const options& opts_;
  std::string transport_;
  child_process child_;
  std::unique_ptr<troupe::bridges::hub> hub_;
};

// -- CAF BASP ---------------------------------------------------------------------------------

void basp_server(int ready_fd, int ctl_fd, bool sharing) {
  auto cfg = make_config(sharing, true);
  auto sys = std::make_unique<caf::actor_system>(*cfg);
  auto srv = sys->spawn(bench_server);
  auto port = sys->middleman().publish(srv, 0, "127.0.0.1");
  write_line(ready_fd, port ? std::to_string(*port) : std::string{});
  wait_eof(ctl_fd);
  caf::anon_send_exit(srv, caf::exit_reason::user_shutdown);
  std::fflush(stdout);
  _exit(0);
}

class basp_path final : public actor_client {
public:
  basp_path(const options& opts, bool sharing)
    : actor_client(opts), opts_(opts), sharing_(sharing) {
    // nop
  }

  std::string name() const override {
    return sharing_ ? "basp-tcp-sharing" : "basp-tcp-stealing";
  }

  std::string group() const override {
    return "tcp";
  }

  std::string setup() override {
    auto sharing = sharing_;
    auto port = child_.start(pinned(server_cpus(opts_.pin)),
                             [sharing](int ready, int ctl) { basp_server(ready, ctl, sharing); });
    if (port.empty())
      return "server did not start";
    pin_self(client_cpus(opts_.pin));
    start_client(sharing_, true);
    auto hdl = sys_->middleman().remote_actor(
      "127.0.0.1", static_cast<uint16_t>(std::strtoul(port.c_str(), nullptr, 10)));
    if (!hdl)
      return "remote_actor: " + sys_->render(hdl.error());
    server_ = *hdl;
    return {};
  }

  void teardown() override {
    stop_client();
    child_.stop();
    stop_system();
    pin_self(all_cpus());
  }

  pid_t server_pid() const override {
    return child_.pid();
  }

private:
  const options& opts_;
  bool sharing_;
  child_process child_;
};

// -- the loop ---------------------------------------------------------------------------------

struct result {
  std::string name;
  std::string group;
  bool baseline = false;
  std::string error;
  double p50 = 0;
  double p99 = 0;
  double mean = 0;
  double cs_per_rt = 0;
  double cpu_per_rt = 0; // µs, both processes
  double rate = 0;       // one-way msgs/s, median of the runs
  std::string notes;
};

double percentile(std::vector<double>& v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(q * static_cast<double>(v.size()));
  return v[std::min(i, v.size() - 1)];
}

usage sample_both(pid_t server) {
  auto u = sample_self();
  if (server > 0) {
    auto s = sample_pid(server);
    u.cs += s.cs;
    u.cpu += s.cpu;
  }
  return u;
}

result measure(path& p, const options& opts) {
  result r;
  r.name = p.name();
  r.group = p.group();
  r.baseline = p.baseline();
  std::fprintf(stderr, "== %s\n", r.name.c_str());
  if (auto err = p.setup(); !err.empty()) {
    r.error = err;
    p.teardown();
    return r;
  }
  if (!p.round_trips(opts.rt_warmup, nullptr)) {
    r.error = "round trip failed during warm-up";
    p.teardown();
    return r;
  }
  std::vector<double> lat;
  lat.reserve(opts.rt_iters);
  auto before = sample_both(p.server_pid());
  if (!p.round_trips(opts.rt_iters, &lat))
    r.error = "round trip failed";
  auto after = sample_both(p.server_pid());
  if (!lat.empty()) {
    double sum = 0;
    for (auto x : lat)
      sum += x;
    auto n = static_cast<double>(lat.size());
    r.mean = sum / n;
    r.p50 = percentile(lat, 0.50);
    r.p99 = percentile(lat, 0.99);
    r.cs_per_rt = static_cast<double>(after.cs - before.cs) / n;
    r.cpu_per_rt = (after.cpu - before.cpu) * 1e6 / n;
  }
  if (r.error.empty()) {
    std::vector<double> rates;
    if (!p.one_way(opts.ow_msgs)) // warm-up run
      r.error = "one-way failed";
    for (size_t i = 0; r.error.empty() && i < opts.ow_runs; ++i) {
      auto t0 = clk::now();
      if (!p.one_way(opts.ow_msgs)) {
        r.error = "one-way failed";
        break;
      }
      auto secs = std::chrono::duration<double>(clk::now() - t0).count();
      rates.push_back(static_cast<double>(opts.ow_msgs) / secs);
    }
    if (!rates.empty())
      r.rate = percentile(rates, 0.5);
  }
  r.notes = p.notes();
  p.teardown();
  std::fprintf(stderr, "   p50 %.1f us  p99 %.1f us  %.0f msgs/s %s\n", r.p50, r.p99, r.rate,
               r.error.c_str());
  return r;
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, x);
  return buf;
}

std::string rate_str(double x) {
  if (x >= 1e6)
    return fmt("%.2f M", x / 1e6);
  return fmt("%.0f k", x / 1e3);
}

void print_table(const std::vector<result>& rs) {
  auto base = [&](const std::string& group) -> const result* {
    for (auto& r : rs)
      if (r.baseline && r.group == group && r.error.empty())
        return &r;
    return nullptr;
  };
  std::printf("| path | RT p50 µs | RT p99 µs | p50 vs raw | p99 vs raw | thread switches/RT "
              "| CPU µs/RT | one-way msgs/s | vs raw | notes |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (auto& r : rs) {
    if (!r.error.empty() && r.p50 == 0) {
      std::printf("| %s | — | — | — | — | — | — | — | — | FAILED: %s |\n", r.name.c_str(),
                  r.error.c_str());
      continue;
    }
    auto b = base(r.group);
    auto ratio = [&](double x, double y) { return b ? fmt("%.2f×", x / y) : std::string{"—"}; };
    auto notes = r.notes;
    if (!r.error.empty())
      notes += (notes.empty() ? "" : "; ") + r.error;
    std::printf("| %s | %.1f | %.1f | %s | %s | %.1f | %.1f | %s | %s | %s |\n", r.name.c_str(),
                r.p50, r.p99, b ? ratio(r.p50, b->p50).c_str() : "—",
                b ? ratio(r.p99, b->p99).c_str() : "—", r.cs_per_rt, r.cpu_per_rt,
                r.rate > 0 ? rate_str(r.rate).c_str() : "—",
                b && r.rate > 0 ? ratio(r.rate, b->rate).c_str() : "—", notes.c_str());
  }
}

void usage_text() {
  std::printf(
    "usage: bench_transport_pingpong [--quick] [--only NAME[,NAME...]] [--pin split|one|none]\n"
    "                                [--rt N] [--warmup N] [--oneway N] [--runs N] [--payload B]\n"
    "                                [--shm-spin US]\n"
    "paths: caf-local-stealing caf-local-stealing-actor caf-local-sharing caf-local-sharing-actor\n"
    "       raw-shm-ring troupe-shm troupe-shm-actor raw-zmq-ipc model-bridge-ipc "
    "model-inline-ipc\n"
    "       troupe-ipc troupe-ipc-actor raw-zmq-tcp model-bridge-tcp model-inline-tcp troupe-tcp\n"
    "       troupe-tcp-actor\n"
    "       basp-tcp-stealing basp-tcp-sharing (--only matches substrings)\n"
    "--pin split (default): client process on CPU 0, server process on CPU 1; one: both on\n"
    "CPU 0; none: no pinning. caf-local-* always run unpinned. --shm-spin: the hubs' shm spin\n"
    "budget in µs (hub_options::shm.wait.spin, default 5).\n");
}

} // namespace

int main(int argc, char** argv) {
  options opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      opts.quick = true;
      opts.rt_warmup = 200;
      opts.rt_iters = 2000;
      opts.ow_msgs = 20000;
      opts.ow_runs = 2;
    } else if (a == "--only") {
      std::stringstream ss{next()};
      std::string x;
      while (std::getline(ss, x, ','))
        opts.only.push_back(x);
    } else if (a == "--pin") {
      auto m = next();
      opts.pin = m == "none" ? pin_mode::none : m == "one" ? pin_mode::one : pin_mode::split;
    } else if (a == "--rt") {
      opts.rt_iters = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--warmup") {
      opts.rt_warmup = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--oneway") {
      opts.ow_msgs = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--payload") {
      opts.payload = std::max<size_t>(std::strtoull(next().c_str(), nullptr, 10), 8);
    } else if (a == "--shm-spin") {
      opts.shm_spin_us = std::atoi(next().c_str());
    } else if (a == "--runs") {
      opts.ow_runs = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--help" || a == "-h") {
      usage_text();
      return 0;
    } else {
      usage_text();
      return 2;
    }
  }
  std::vector<std::unique_ptr<path>> paths;
  paths.push_back(std::make_unique<caf_local>(opts, false));
  paths.push_back(std::make_unique<caf_local>(opts, false, true));
  paths.push_back(std::make_unique<caf_local>(opts, true));
  paths.push_back(std::make_unique<caf_local>(opts, true, true));
  paths.push_back(std::make_unique<raw_shm_ring>(opts));
  paths.push_back(std::make_unique<troupe_path>(opts, "shm"));
  paths.push_back(std::make_unique<troupe_path>(opts, "shm", true));
  paths.push_back(std::make_unique<raw_zmq>(opts, "ipc"));
  paths.push_back(std::make_unique<model_path>(opts, "ipc", false));
  paths.push_back(std::make_unique<model_path>(opts, "ipc", true));
  paths.push_back(std::make_unique<troupe_path>(opts, "ipc"));
  paths.push_back(std::make_unique<troupe_path>(opts, "ipc", true));
  paths.push_back(std::make_unique<raw_zmq>(opts, "tcp"));
  paths.push_back(std::make_unique<model_path>(opts, "tcp", false));
  paths.push_back(std::make_unique<model_path>(opts, "tcp", true));
  paths.push_back(std::make_unique<troupe_path>(opts, "tcp"));
  paths.push_back(std::make_unique<troupe_path>(opts, "tcp", true));
  paths.push_back(std::make_unique<basp_path>(opts, false));
  paths.push_back(std::make_unique<basp_path>(opts, true));
  std::vector<result> results;
  for (auto& p : paths) {
    if (!opts.only.empty()
        && std::none_of(opts.only.begin(), opts.only.end(), [&](const std::string& x) {
             return p->name().find(x) != std::string::npos;
           }))
      continue;
    results.push_back(measure(*p, opts));
  }
  // Servers leave with _exit or close their ROUTER asynchronously: remove the ipc socket files.
  for (auto prefix : {"/tmp/troupe-bench-", "/tmp/troupe-bench-raw-", "/tmp/troupe-bench-model-"})
    ::unlink((prefix + std::to_string(getpid()) + ".ipc").c_str());
  const char* pin = opts.pin == pin_mode::split ? "split"
                    : opts.pin == pin_mode::one ? "one"
                                                : "none";
  std::printf("\npayload %zu B; round trip: %zu warm-up + %zu timed; one-way: %zu msgs, median of "
              "%zu runs (+1 warm-up); pin %s; %d CPUs\n\n",
              opts.payload, opts.rt_warmup, opts.rt_iters, opts.ow_msgs, opts.ow_runs, pin,
              ncpus());
  print_table(results);
  bool failed
    = std::any_of(results.begin(), results.end(), [](const result& r) { return !r.error.empty(); });
  return failed ? 1 : 0;
}
