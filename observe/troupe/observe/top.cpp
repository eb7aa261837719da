#include "troupe/observe/top.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <deque>
#include <iostream>
#include <map>
#include <poll.h>
#include <termios.h>
#include <thread>
#include <unistd.h>

#include "troupe/observe/events_reader.hpp"
#include "troupe/observe/observer.hpp"

namespace troupe::observe {

namespace {

using kind = json_value::kind;

std::string fixed(double x, int digits = 1) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

std::string bytes(double b) {
  if (b >= 1024.0 * 1024 * 1024)
    return fixed(b / (1024.0 * 1024 * 1024)) + "G";
  if (b >= 1024.0 * 1024)
    return fixed(b / (1024.0 * 1024)) + "M";
  if (b >= 1024)
    return fixed(b / 1024) + "K";
  return fixed(b, 0);
}

std::string duration(double s) {
  auto x = static_cast<long long>(s);
  char buf[32];
  if (x >= 86400)
    std::snprintf(buf, sizeof(buf), "%lldd%02lldh", x / 86400, x % 86400 / 3600);
  else if (x >= 3600)
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", x / 3600, x % 3600 / 60);
  else if (x >= 60)
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", x / 60, x % 60);
  else
    std::snprintf(buf, sizeof(buf), "%llds", x);
  return buf;
}

/// A table whose columns fit their widest cell.
class table {
public:
  explicit table(std::vector<std::string> header) {
    rows_.push_back(std::move(header));
  }

  void add(std::vector<std::string> row) {
    rows_.push_back(std::move(row));
  }

  std::string render() const {
    std::vector<size_t> width;
    for (auto& r : rows_)
      for (size_t i = 0; i < r.size(); ++i) {
        if (width.size() <= i)
          width.push_back(0);
        width[i] = std::max(width[i], r[i].size());
      }
    std::string out;
    for (auto& r : rows_) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size())
          line += std::string(width[i] - r[i].size() + 2, ' ');
      }
      out += line + "\n";
    }
    return out;
  }

private:
  std::vector<std::vector<std::string>> rows_;
};

const json_value* find_node(const json_value* st, const std::string& name) {
  if (!st)
    return nullptr;
  for (auto& n : (*st)["nodes"].array)
    if (n["node"].text() == name)
      return &n;
  return nullptr;
}

/// handled/mailbox entries of a node report by actor name (unsupervised actors and relays).
std::map<std::string, const json_value*> counts_of(const json_value& report) {
  std::map<std::string, const json_value*> out;
  for (auto& a : report["actors"].array)
    out[a["name"].text()] = &a;
  for (auto& r : report["relays"].array)
    out[r["name"].text()] = &r;
  return out;
}

struct actor_row {
  std::string name;
  std::string node;
  std::string state;
  std::optional<double> rate;
  std::optional<double> mailbox;
  std::optional<double> handled;
  std::optional<double> restarts;
  std::string last_exit;
};

std::string opt(const std::optional<double>& x, int digits = 0) {
  return x ? fixed(*x, digits) : std::string{"-"};
}

} // namespace

std::string to_string(top_sort x) {
  switch (x) {
    case top_sort::rate: return "msgs/s";
    case top_sort::mailbox: return "mailbox";
    case top_sort::restarts: return "restarts";
    case top_sort::name: return "name";
  }
  return "?";
}

std::string render_top(const json_value& cur, const json_value* prev, top_sort sort,
                       const std::vector<std::string>& events) {
  double dt = prev ? (cur["time_ms"].number - (*prev)["time_ms"].number) / 1000.0 : 0;
  std::string out;
  {
    auto secs = static_cast<std::time_t>(cur["time_ms"].number / 1000);
    std::tm tm{};
    ::localtime_r(&secs, &tm);
    char clock[16];
    std::strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
    out += "troupe top - app " + cur["app"].text() + " - " + clock + " - sort: " + to_string(sort)
           + "   (m msgs/s, b mailbox, r restarts, n name, q quit)\n\n";
  }
  table nodes{
    {"NODE", "STATE", "PID", "CPU%", "RSS", "THREADS", "RESTARTS", "UPTIME", "LAST EXIT"}};
  std::vector<actor_row> actors;
  table bridges{{"NODE", "PEER", "TRANSPORT", "STATE", "FRAMES/S", "BYTES/S", "RTT", "DROPS",
                 "PENDING", "QUEUE"}};
  std::map<std::string, std::string> placement;
  for (auto& a : cur["actors"].array)
    placement[a["name"].text()] = a["node"].text();
  for (auto& n : cur["nodes"].array) {
    auto name = n["node"].text();
    auto& r = n["report"];
    auto* pn = find_node(prev, name);
    const json_value* pr = pn && (*pn)["report"].type == kind::object ? &(*pn)["report"] : nullptr;
    std::string cpu = "-";
    std::string rss = "-";
    std::string threads = "-";
    std::string uptime = "-";
    if (r.type == kind::object) {
      auto& p = r["process"];
      rss = bytes(p["rss_bytes"].number);
      threads = p["threads"].text();
      uptime = duration((p["now_ms"].number - p["started_ms"].number) / 1000);
      if (pr) {
        auto& pp = (*pr)["process"];
        auto wall = p["now_ms"].number - pp["now_ms"].number;
        if (wall > 0 && p["cpu_ms"].number >= pp["cpu_ms"].number)
          cpu = fixed((p["cpu_ms"].number - pp["cpu_ms"].number) * 100 / wall);
      }
    }
    auto pid
      = n["pid"].number > 0 ? n["pid"].text() : (r.type == kind::object ? r["pid"].text() : "-");
    nodes.add({name, n["state"].text(), pid, cpu, rss, threads, n["restarts"].text(), uptime,
               n["last_exit"].text().empty() ? "-" : n["last_exit"].text()});
    if (r.type != kind::object)
      continue;
    auto counts = counts_of(r);
    auto prev_counts = pr ? counts_of(*pr) : std::map<std::string, const json_value*>{};
    auto fill = [&](actor_row& row) {
      auto i = counts.find(row.name);
      if (i == counts.end())
        return;
      auto& c = *i->second;
      if (c["mailbox"].type == kind::number)
        row.mailbox = c["mailbox"].number;
      if (c["handled"].type == kind::number) {
        row.handled = c["handled"].number;
        auto j = prev_counts.find(row.name);
        if (j != prev_counts.end() && (*j->second)["handled"].type == kind::number && dt > 0
            && *row.handled >= (*j->second)["handled"].number)
          row.rate = (*row.handled - (*j->second)["handled"].number) / dt;
      }
    };
    for (auto& a : r["actors"].array) {
      actor_row row{a["name"].text(), name, a["state"].text(), {}, {}, {}, {}, {}};
      fill(row);
      actors.push_back(std::move(row));
    }
    for (auto& s : r["supervisors"].array)
      for (auto& c : s["children"].array) {
        auto child = c["name"].text();
        auto where = placement.count(child) ? placement[child] : name;
        actor_row row{child, where, c["state"].text(), {}, {}, {}, c["restarts"].number, {}};
        row.last_exit = c["last_exit"].text();
        fill(row);
        actors.push_back(std::move(row));
      }
    auto& b = r["bridges"];
    for (auto& p : b["peers"].array) {
      if (!find_node(&cur, p["peer"].text()))
        continue; // a session of a tool or client (this view, troupe call, ...), not a bridge

      std::string frames = "-";
      std::string rate_bytes = "-";
      if (pr && dt > 0)
        for (auto& q : (*pr)["bridges"]["peers"].array)
          if (q["peer"].text() == p["peer"].text()) {
            auto f = p["frames_in"].number + p["frames_out"].number - q["frames_in"].number
                     - q["frames_out"].number;
            auto by = p["bytes_in"].number + p["bytes_out"].number - q["bytes_in"].number
                      - q["bytes_out"].number;
            if (f >= 0 && by >= 0) {
              frames = fixed(f / dt);
              rate_bytes = bytes(by / dt);
            }
          }
      auto rtt = p["rtt_count"].number > 0 ? fixed(p["rtt_last_us"].number / 1000.0, 2) + "ms"
                                           : std::string{"-"};
      bridges.add({name, p["peer"].text(), p["transport"].text(),
                   p["connected"].boolean ? "up" : "down", frames, rate_bytes, rtt,
                   p["dropped"].text(), p["pending"].text(), b["queue_depth"].text()});
    }
  }
  auto key = [sort](const actor_row& x) {
    switch (sort) {
      case top_sort::rate: return x.rate.value_or(-1);
      case top_sort::mailbox: return x.mailbox.value_or(-1);
      case top_sort::restarts: return x.restarts.value_or(-1);
      default: return 0.0;
    }
  };
  std::stable_sort(actors.begin(), actors.end(), [&](const actor_row& x, const actor_row& y) {
    if (sort == top_sort::name)
      return x.name < y.name;
    auto kx = key(x);
    auto ky = key(y);
    return kx != ky ? kx > ky : x.name < y.name;
  });
  table at{{"ACTOR", "NODE", "STATE", "MSGS/S", "MAILBOX", "HANDLED", "RESTARTS", "LAST EXIT"}};
  for (auto& a : actors)
    at.add({a.name, a.node, a.state, opt(a.rate, 1), opt(a.mailbox), opt(a.handled),
            opt(a.restarts), a.last_exit.empty() ? "-" : a.last_exit});
  out += nodes.render() + "\n" + at.render() + "\n" + bridges.render();
  out += "\nEVENTS\n";
  for (auto& e : events)
    out += e + "\n";
  return out;
}

namespace {

/// Puts the terminal into raw mode (no echo, no line buffering, no signals) while alive.
class raw_terminal {
public:
  raw_terminal() {
    if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
      auto raw = saved_;
      raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO | ISIG));
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    std::cout << "\x1b[?1049h\x1b[?25l" << std::flush; // alternate screen, hide cursor
  }

  ~raw_terminal() {
    std::cout << "\x1b[?25h\x1b[?1049l" << std::flush;
    if (active_)
      ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

private:
  termios saved_{};
  bool active_ = false;
};

} // namespace

int run_top(observer& obs, const std::string& events_path, top_options opts) {
  auto interval = std::chrono::milliseconds{opts.interval_ms};
  auto timeout = std::min(interval, std::chrono::milliseconds{900});
  events_reader events{events_path};
  std::deque<std::string> recent;
  auto take_events = [&] {
    for (auto& line : events.poll()) {
      recent.push_back(render_event(line));
      if (recent.size() > 10)
        recent.pop_front();
    }
  };
  auto sample = [&]() -> std::optional<json_value> { return parse_json(obs.status_json(timeout)); };
  if (opts.once) {
    auto first = sample();
    std::this_thread::sleep_for(interval);
    auto second = sample();
    if (!second) {
      std::cerr << "error: no status from app " << obs.app().name << '\n';
      return 1;
    }
    take_events();
    std::cout << render_top(*second, first ? &*first : nullptr, opts.sort,
                            {recent.begin(), recent.end()});
    return 0;
  }
  raw_terminal term;
  std::optional<json_value> prev;
  std::optional<json_value> cur;
  auto draw = [&] {
    if (!cur)
      return;
    std::cout << "\x1b[H\x1b[2J"
              << render_top(*cur, prev ? &*prev : nullptr, opts.sort,
                            {recent.begin(), recent.end()})
              << std::flush;
  };
  auto next = std::chrono::steady_clock::now();
  sigset_t stop_signals; // blocked by `troupe`'s main: taken here, so that `kill` still ends top
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  for (;;) {
    timespec zero{0, 0};
    if (::sigtimedwait(&stop_signals, nullptr, &zero) > 0)
      return 0;
    auto now = std::chrono::steady_clock::now();
    if (now >= next) {
      auto st = sample();
      if (st) {
        prev = std::move(cur);
        cur = std::move(st);
      }
      take_events();
      draw();
      next = now + interval;
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
      next - std::chrono::steady_clock::now());
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(wait.count(), 0))) > 0) {
      char c = 0;
      if (::read(STDIN_FILENO, &c, 1) <= 0) {
        // stdin at its end (not a terminal): keep refreshing without keys
        std::this_thread::sleep_until(next);
        continue;
      }
      switch (c) {
        case 'q':
        case 'Q':
        case 3: // Ctrl-C (signals are off in raw mode)
          return 0;
        case 'm': opts.sort = top_sort::rate; break;
        case 'b': opts.sort = top_sort::mailbox; break;
        case 'r': opts.sort = top_sort::restarts; break;
        case 'n': opts.sort = top_sort::name; break;
        default: continue;
      }
      draw();
    }
  }
}

} // namespace troupe::observe
