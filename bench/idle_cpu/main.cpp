// Idle CPU: what does a node cost while nothing happens (issue target: < 1 % of a core with an
// idle shm bridge)? Two processes, each configured like a node (runtime/troupe/node.cpp: sharing
// scheduler, middleman loaded), are connected and then left alone; this program samples each
// process's CPU time from /proc over a window (default 10 s). See docs/BENCHMARKS.md, "Idle CPU".
//
// Setups (one row each, all in the same run):
//   caf-only        two actor systems, no hub: CAF's own idle cost (timer, middleman, workers)
//   transport-shm   the shm transport alone (no hub, no CAF), one connection: its tick and spin
//   hub-shm         two hubs over shm://, one session (heartbeats every 250 ms)
//   hub-ipc/tcp     the same over ZeroMQ
//
// Both processes are forked children (the listener first, the connector once it is ready); this
// process only waits and samples. CPU time comes from /proc/PID/stat (utime + stime, clock ticks)
// and, with ns resolution, from the sum over /proc/PID/task/*/schedstat; wakeups/s are the
// voluntary context switches of all threads.

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/atom.hpp"
#include "caf/io/middleman.hpp"
#include "common/child_process.hpp"

#include "troupe/bridges/hub.hpp"
#include "troupe/bridges/shm_transport.hpp"

namespace {

using clk = std::chrono::steady_clock;

// -- process helpers --------------------------------------------------------------------------

struct cpu_sample {
  double stat_s = 0;    // utime + stime from /proc/PID/stat
  double sched_s = 0;   // sum of /proc/PID/task/*/schedstat run time
  uint64_t wakeups = 0; // voluntary context switches, all threads
  int threads = 0;
};

cpu_sample sample(pid_t pid) {
  cpu_sample s;
  auto base = "/proc/" + std::to_string(pid);
  {
    std::ifstream in{base + "/stat"};
    std::string all{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    auto pos = all.rfind(')');
    if (pos != std::string::npos) {
      std::istringstream fields{all.substr(pos + 2)};
      std::string tok;
      uint64_t ticks = 0;
      for (int field = 3; fields >> tok && field <= 15; ++field)
        if (field == 14 || field == 15)
          ticks += std::strtoull(tok.c_str(), nullptr, 10);
      s.stat_s = static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  auto task_dir = base + "/task";
  if (auto dir = opendir(task_dir.c_str())) {
    while (auto ent = readdir(dir)) {
      if (ent->d_name[0] == '.')
        continue;
      ++s.threads;
      auto t = task_dir + "/" + ent->d_name;
      std::ifstream sched{t + "/schedstat"};
      uint64_t run_ns = 0;
      if (sched >> run_ns)
        s.sched_s += static_cast<double>(run_ns) / 1e9;
      std::ifstream status{t + "/status"};
      std::string line;
      while (std::getline(status, line))
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
          s.wakeups += std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10);
    }
    closedir(dir);
  }
  return s;
}

using troupe::bench::child_process;
using troupe::bench::wait_eof;
using troupe::bench::write_line;

// -- the two sides ----------------------------------------------------------------------------

std::unique_ptr<caf::actor_system_config> node_config() {
  auto cfg = std::make_unique<caf::actor_system_config>();
  cfg->set("scheduler.policy", caf::atom("sharing"));
  cfg->load<caf::io::middleman>();
  return cfg;
}

// role "listen": binds `endpoint`, reports the bound endpoint; role "connect": connects to it.
// With `use_hub` false only the actor system runs (caf-only).
void hub_side(int ready_fd, int ctl_fd, bool use_hub, bool listener, const std::string& endpoint) {
  spdlog::set_level(spdlog::level::warn);
  auto cfg = node_config();
  auto sys = std::make_unique<caf::actor_system>(*cfg);
  if (!use_hub) {
    write_line(ready_fd, "ready");
    wait_eof(ctl_fd);
    _exit(0);
  }
  troupe::bridges::hub h{*sys, listener ? "idle-server" : "idle-client"};
  std::string line;
  if (listener) {
    auto bound = h.listen(endpoint);
    line = bound ? *bound : std::string{};
    if (!bound)
      std::fprintf(stderr, "listen %s: %s\n", endpoint.c_str(), sys->render(bound.error()).c_str());
  } else {
    auto err = h.connect("idle-server", endpoint);
    line = err ? std::string{} : std::string{"connected"};
    if (err)
      std::fprintf(stderr, "connect %s: %s\n", endpoint.c_str(), sys->render(err).c_str());
  }
  write_line(ready_fd, line);
  wait_eof(ctl_fd);
  h.stop();
  std::fflush(stdout);
  _exit(0); // as the benchmark servers do: skip ~actor_system (registry entries, CAF #1110)
}

struct null_listener final : troupe::bridges::transport_listener {
  void on_frame(troupe::bridges::conn_id, const char*, size_t) override {
    // nop
  }
  void on_unreachable(troupe::bridges::conn_id) override {
    // nop
  }
  void on_tick(std::chrono::steady_clock::time_point) override {
    // nop
  }
};

void transport_side(int ready_fd, int ctl_fd, bool listener, const std::string& endpoint) {
  null_listener l;
  auto t = troupe::bridges::make_shm_transport();
  std::string line;
  if (auto err = t->start(&l)) {
    std::fprintf(stderr, "start: %s\n", to_string(err).c_str());
  } else if (listener) {
    auto bound = t->listen(endpoint);
    line = bound ? *bound : std::string{};
  } else if (auto conn = t->connect(endpoint)) {
    // The connection is complete once a frame gets through; one is enough (the listener drops it).
    line = t->send(*conn, std::vector<char>(8, 'x')) ? std::string{} : "connected";
  }
  write_line(ready_fd, line);
  wait_eof(ctl_fd);
  t->stop();
  _exit(0);
}

// -- the loop ---------------------------------------------------------------------------------

struct setup {
  std::string name;
  std::function<void(int, int, bool, const std::string&)> side;
  std::string endpoint; // for the listener; "" = the listener's answer is ignored
};

struct row {
  std::string name;
  std::string error;
  double pct[2] = {0, 0};      // % of one core, schedstat
  double stat_pct[2] = {0, 0}; // % of one core, utime + stime
  double wakeups[2] = {0, 0};  // per second
  int threads[2] = {0, 0};
};

row measure(const setup& s, double seconds, double settle) {
  row r;
  r.name = s.name;
  std::fprintf(stderr, "== %s\n", s.name.c_str());
  child_process server;
  child_process client;
  auto side = s.side;
  auto endpoint = s.endpoint;
  auto bound = server.start({}, [&](int ready, int ctl) { side(ready, ctl, true, endpoint); });
  if (bound.empty()) {
    r.error = "listener did not start";
    return r;
  }
  auto ok = client.start({}, [&](int ready, int ctl) { side(ready, ctl, false, bound); });
  if (ok.empty()) {
    r.error = "connector did not connect";
    return r;
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(settle));
  pid_t pids[2] = {server.pid(), client.pid()};
  cpu_sample before[2] = {sample(pids[0]), sample(pids[1])};
  auto t0 = clk::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  cpu_sample after[2] = {sample(pids[0]), sample(pids[1])};
  auto wall = std::chrono::duration<double>(clk::now() - t0).count();
  for (int i = 0; i < 2; ++i) {
    r.pct[i] = 100.0 * (after[i].sched_s - before[i].sched_s) / wall;
    r.stat_pct[i] = 100.0 * (after[i].stat_s - before[i].stat_s) / wall;
    r.wakeups[i] = static_cast<double>(after[i].wakeups - before[i].wakeups) / wall;
    r.threads[i] = after[i].threads;
  }
  client.stop();
  server.stop();
  std::fprintf(stderr, "   %.3f %% / %.3f %%\n", r.pct[0], r.pct[1]);
  return r;
}

} // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  double settle = 2;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::strtod(argv[++i], nullptr);
    } else if (a == "--settle" && i + 1 < argc) {
      settle = std::strtod(argv[++i], nullptr);
    } else if (a == "--only" && i + 1 < argc) {
      std::stringstream ss{argv[++i]};
      std::string x;
      while (std::getline(ss, x, ','))
        only.push_back(x);
    } else {
      std::printf("usage: bench_idle_cpu [--seconds S] [--settle S] [--only NAME[,NAME...]]\n"
                  "setups: caf-only transport-shm hub-shm hub-ipc hub-tcp\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  auto pid = std::to_string(getpid());
  auto hub_side_fn = [](bool use_hub) {
    return [use_hub](int ready, int ctl, bool listener, const std::string& ep) {
      hub_side(ready, ctl, use_hub, listener, ep);
    };
  };
  std::vector<setup> setups{
    {"caf-only", hub_side_fn(false), "none"},
    {"transport-shm",
     [](int ready, int ctl, bool listener, const std::string& ep) {
       transport_side(ready, ctl, listener, ep);
     },
     "shm://troupe-idle-t-" + pid},
    {"hub-shm", hub_side_fn(true), "shm://troupe-idle-" + pid},
    {"hub-ipc", hub_side_fn(true), "ipc:///tmp/troupe-idle-" + pid + ".ipc"},
    {"hub-tcp", hub_side_fn(true), "tcp://127.0.0.1:*"},
  };
  std::vector<row> rows;
  for (auto& s : setups) {
    if (!only.empty() && std::none_of(only.begin(), only.end(), [&](const std::string& x) {
          return s.name.find(x) != std::string::npos;
        }))
      continue;
    rows.push_back(measure(s, seconds, settle));
  }
  ::unlink(("/tmp/troupe-idle-" + pid + ".ipc").c_str());
  std::printf("\nidle window %.0f s after %.0f s settling; %% of one core per process "
              "(schedstat; utime+stime in brackets)\n\n",
              seconds, settle);
  std::printf("| setup | listener CPU %% | connector CPU %% | wakeups/s (listener / connector) "
              "| threads | notes |\n");
  std::printf("|---|---:|---:|---:|---:|---|\n");
  bool failed = false;
  for (auto& r : rows) {
    if (!r.error.empty()) {
      failed = true;
      std::printf("| %s | — | — | — | — | FAILED: %s |\n", r.name.c_str(), r.error.c_str());
      continue;
    }
    std::printf("| %s | %.3f (%.2f) | %.3f (%.2f) | %.0f / %.0f | %d / %d |  |\n", r.name.c_str(),
                r.pct[0], r.stat_pct[0], r.pct[1], r.stat_pct[1], r.wakeups[0], r.wakeups[1],
                r.threads[0], r.threads[1]);
  }
  return failed ? 1 : 0;
}
