// What do Prometheus metrics cost? Round trip and throughput of requests from a client node to an
// `echo` actor on a node process (`troupe run APP --node server`, TCP bridge), with the node's
// metrics endpoint off, and on while being scraped (default 10 Hz: 150x Prometheus' usual 15 s).
// Off and on alternate for several rounds so that drift of a shared machine hits both alike.
//
// A third figure does not depend on the neighbours' load as much: the server's CPU time while idle
// for `--idle` seconds (heartbeats only), with and without the scrapes; the difference divided by
// the scrapes is the CPU cost of one scrape.
//
//   bench_metrics_cost [--troupe PATH] [--rounds 6] [--rtt 20000] [--msgs 200000]
//                      [--scrape-hz 10] [--idle 3]
#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "caf/scoped_actor.hpp"

#include "troupe/actors/catalog.hpp"
#include "troupe/bridges/remote_nodes.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"

namespace {

using clk = std::chrono::steady_clock;

constexpr int listen_port = 7497;
constexpr int metrics_port = 7498;

struct options {
  std::string troupe;
  int rounds = 6;
  int rtt = 20000;
  int msgs = 200000;
  int idle_s = 3;
  int window = 64;
  double scrape_hz = 10;
};

struct figures {
  double p50_us = 0;
  double p99_us = 0;
  double msgs_per_s = 0;
  long scrapes = 0;
  /// Server CPU time per second of wall time while idle (ms/s), and scrapes meanwhile.
  double idle_cpu_ms_per_s = 0;
  long idle_scrapes = 0;
};

/// CPU time (user + system) of process `pid` in milliseconds.
double cpu_ms(pid_t pid) {
  auto path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  auto p = text.rfind(')');
  if (p == std::string::npos)
    return 0;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  std::sscanf(text.c_str() + p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
              &stime);
  return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// GET /metrics on 127.0.0.1:port; returns the bytes received or -1.
long scrape(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (::write(fd, req.data(), req.size()) < 0) {
    ::close(fd);
    return -1;
  }
  long total = 0;
  char buf[65536];
  ssize_t n;
  std::string head;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
    if (head.size() < 16)
      head.append(buf, static_cast<size_t>(std::min<ssize_t>(n, 16)));
    total += n;
  }
  ::close(fd);
  return head.rfind("HTTP/1.1 200", 0) == 0 ? total : -1;
}

figures run_once(const options& opts, bool metrics, const troupe::catalog& types) {
  auto file = "/tmp/bench-metrics-" + std::to_string(::getpid()) + ".toml";
  {
    std::ofstream out{file};
    out << "[app]\nname = \"bench-metrics-" << ::getpid() << "\"\nlog_dir = \"/tmp/bench-metrics-"
        << ::getpid()
        << "\"\nlog_level = \"warn\"\n[nodes.server]\nlisten = \"tcp://127.0.0.1:" << listen_port
        << "\"\n";
    if (metrics)
      out << "metrics = \"127.0.0.1:" << metrics_port << "\"\n";
    out << "[[actors]]\nname = \"echo\"\ntype = \"echo\"\nnode = \"server\"\n";
  }
  auto pid = ::fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execl(opts.troupe.c_str(), opts.troupe.c_str(), "run", file.c_str(), "--node", "server",
            static_cast<char*>(nullptr));
    std::perror("exec troupe");
    ::_exit(127);
  }
  auto app = troupe::load_app(file, types);
  if (!app) {
    std::fprintf(stderr, "%s\n", troupe::config_error_message(app.error()).c_str());
    std::exit(1);
  }
  troupe::node_options nopts;
  nopts.configure = troupe::actors::add_message_types;
  nopts.bridges = troupe::bridges::make_remote_nodes;
  nopts.ephemeral = true;
  nopts.log_to_file = false;
  nopts.stderr_level = "off";
  auto n = troupe::node::make(*app, "bench-client", types, nopts);
  if (!n) {
    std::fprintf(stderr, "client node: %s\n", troupe::describe(n.error()).c_str());
    std::exit(1);
  }
  caf::actor echo;
  for (int i = 0; i < 100 && !echo; ++i) {
    auto h = (*n)->lookup("echo");
    if (h)
      echo = *h;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  if (!echo) {
    std::fprintf(stderr, "echo not reachable\n");
    std::exit(1);
  }
  std::atomic<bool> stop{false};
  std::atomic<long> scrapes{0};
  std::thread scraper;
  if (metrics) {
    if (scrape(metrics_port) <= 0) {
      std::fprintf(stderr, "metrics endpoint not answering\n");
      std::exit(1);
    }
    scraper = std::thread{[&] {
      auto period = std::chrono::duration<double>(1.0 / opts.scrape_hz);
      auto next = clk::now();
      while (!stop) {
        if (scrape(metrics_port) > 0)
          ++scrapes;
        next += std::chrono::duration_cast<clk::duration>(period);
        std::this_thread::sleep_until(next);
      }
    }};
  }
  figures result;
  {
    caf::scoped_actor self{(*n)->system()};
    auto once = [&](int32_t x) {
      self->request(echo, std::chrono::seconds{5}, x)
        .receive([](int32_t) {},
                 [](caf::error& err) {
                   std::fprintf(stderr, "request failed: %s\n", troupe::describe(err).c_str());
                   std::exit(1);
                 });
    };
    for (int i = 0; i < 500; ++i)
      once(i);
    std::vector<double> us;
    us.reserve(static_cast<size_t>(opts.rtt));
    for (int i = 0; i < opts.rtt; ++i) {
      auto t0 = clk::now();
      once(i);
      us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    result.p50_us = us[us.size() / 2];
    result.p99_us = us[us.size() * 99 / 100];
    // Throughput: `window` requests in flight, a new one for every answer.
    int sent = 0;
    int received = 0;
    auto t0 = clk::now();
    for (; sent < opts.window; ++sent)
      self->send(echo, static_cast<int32_t>(sent));
    while (received < opts.msgs) {
      self->receive([&](int32_t) {
        ++received;
        if (sent < opts.msgs)
          self->send(echo, static_cast<int32_t>(sent++));
      });
    }
    result.msgs_per_s = opts.msgs / std::chrono::duration<double>(clk::now() - t0).count();
  }
  {
    auto s0 = scrapes.load();
    auto c0 = cpu_ms(pid);
    auto w0 = clk::now();
    std::this_thread::sleep_for(std::chrono::seconds{opts.idle_s});
    auto wall = std::chrono::duration<double>(clk::now() - w0).count();
    result.idle_cpu_ms_per_s = (cpu_ms(pid) - c0) / wall;
    result.idle_scrapes = scrapes.load() - s0;
  }
  stop = true;
  if (scraper.joinable())
    scraper.join();
  result.scrapes = scrapes;
  (*n)->stop();
  n->reset();
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::unlink(file.c_str());
  return result;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  options opts;
  char exe[4096];
  auto len = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  std::string self = len > 0 ? std::string(exe, static_cast<size_t>(len)) : std::string{};
  opts.troupe = self.substr(0, self.rfind('/') + 1) + "troupe";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--troupe")
      opts.troupe = next();
    else if (a == "--rounds")
      opts.rounds = std::stoi(next());
    else if (a == "--rtt")
      opts.rtt = std::stoi(next());
    else if (a == "--msgs")
      opts.msgs = std::stoi(next());
    else if (a == "--scrape-hz")
      opts.scrape_hz = std::stod(next());
    else if (a == "--idle")
      opts.idle_s = std::stoi(next());
    else {
      std::fprintf(stderr, "usage: bench_metrics_cost [--troupe PATH] [--rounds N] [--rtt N] "
                           "[--msgs N] [--scrape-hz HZ] [--idle S]\n");
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  troupe::catalog types;
  troupe::actors::add_to(types);
  std::vector<double> off_p50, on_p50, off_p99, on_p99, off_tp, on_tp, off_idle, on_idle;
  double idle_scrapes = 0;
  double on_idle_wall = 0;
  std::printf("round  metrics  p50_us  p99_us  msgs_per_s  scrapes  idle_cpu_ms/s\n");
  for (int r = 0; r < opts.rounds; ++r)
    for (bool on : {r % 2 == 0, r % 2 != 0}) { // alternate which goes first
      auto f = run_once(opts, on, types);
      std::printf("%5d  %-7s  %6.1f  %6.1f  %10.0f  %7ld  %13.2f\n", r, on ? "on" : "off", f.p50_us,
                  f.p99_us, f.msgs_per_s, f.scrapes, f.idle_cpu_ms_per_s);
      std::fflush(stdout);
      (on ? on_p50 : off_p50).push_back(f.p50_us);
      (on ? on_p99 : off_p99).push_back(f.p99_us);
      (on ? on_tp : off_tp).push_back(f.msgs_per_s);
      (on ? on_idle : off_idle).push_back(f.idle_cpu_ms_per_s);
      if (on) {
        idle_scrapes += static_cast<double>(f.idle_scrapes);
        on_idle_wall += opts.idle_s;
      }
    }
  auto pct = [](double on, double off) { return (on - off) * 100 / off; };
  std::printf("median off: p50 %.1f us  p99 %.1f us  %.0f msgs/s\n", median(off_p50),
              median(off_p99), median(off_tp));
  std::printf("median on:  p50 %.1f us  p99 %.1f us  %.0f msgs/s  (scraped at %.1f Hz)\n",
              median(on_p50), median(on_p99), median(on_tp), opts.scrape_hz);
  std::printf("cost: round trip p50 %+.1f %%, p99 %+.1f %%, throughput %+.1f %%\n",
              pct(median(on_p50), median(off_p50)), pct(median(on_p99), median(off_p99)),
              pct(median(on_tp), median(off_tp)));
  auto per_s = idle_scrapes / on_idle_wall;
  auto extra = median(on_idle) - median(off_idle);
  std::printf("idle server CPU: off %.2f ms/s, on %.2f ms/s at %.1f scrapes/s: %.2f ms per scrape "
              "(%.3f %% of a core at one scrape per 15 s)\n",
              median(off_idle), median(on_idle), per_s, per_s > 0 ? extra / per_s : 0.0,
              per_s > 0 ? extra / per_s / 15000 * 100 : 0.0);
  return 0;
}
