#include "troupe/events.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <set>
#include <unistd.h>

#include "troupe/config.hpp"
#include "troupe/introspection.hpp"

namespace troupe {

namespace {

struct sink {
  std::mutex mtx;
  int fd = -1;
  std::string app;
  std::string source;
  std::atomic<bool> open{false};
  std::set<std::string> muted;
  /// The app's nodes: peer events about anything else (`troupe call`, `ps`, `top`, clients) are
  /// sessions of tools, not events of the app.
  std::set<std::string> nodes;
};

sink& the_sink() {
  static auto* s = new sink; // never destroyed: events may be emitted during static destruction
  return *s;
}

} // namespace

std::string events_file(const app_spec& app) {
  return app.log_dir + "/" + app.name + ".events.jsonl";
}

void open_events(const app_spec& app, const std::string& source) {
  auto& s = the_sink();
  std::error_code ec;
  std::filesystem::create_directories(app.log_dir, ec);
  auto fd = ::open(events_file(app).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::lock_guard<std::mutex> guard{s.mtx};
  if (s.fd >= 0)
    ::close(s.fd);
  s.fd = fd;
  s.app = app.name;
  s.source = source;
  s.nodes.clear();
  for (auto& n : app.nodes)
    s.nodes.insert(n.name);
  s.open = fd >= 0;
}

void mute_events_of(const std::string& node) {
  auto& s = the_sink();
  std::lock_guard<std::mutex> guard{s.mtx};
  s.muted.insert(node);
}

void close_events() {
  auto& s = the_sink();
  std::lock_guard<std::mutex> guard{s.mtx};
  s.open = false;
  if (s.fd >= 0)
    ::close(s.fd);
  s.fd = -1;
}

void emit_event(const char* kind, std::initializer_list<event_field> fields) {
  auto& s = the_sink();
  if (!s.open.load(std::memory_order_relaxed))
    return;
  try {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    auto secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    std::lock_guard<std::mutex> guard{s.mtx};
    if (s.fd < 0)
      return;
    for (auto& f : fields) {
      if (std::strcmp(f.key, "node") == 0 && s.muted.count(f.value) > 0)
        return;
      if (std::strcmp(f.key, "peer") == 0 && s.nodes.count(f.value) == 0)
        return;
    }
    std::string line = "{\"ts\":\"" + std::string{ts} + "\",\"t\":" + std::to_string(ms)
                       + ",\"app\":\"" + json_escape(s.app) + "\",\"source\":\""
                       + json_escape(s.source) + "\",\"kind\":\"" + json_escape(kind) + "\"";
    for (auto& f : fields) {
      line += ",\"" + json_escape(f.key) + "\":";
      line += f.number ? f.value : "\"" + json_escape(f.value) + "\"";
    }
    line += "}\n";
    auto rc = ::write(s.fd, line.data(), line.size());
    static_cast<void>(rc); // an event that cannot be written is lost, never an error
  } catch (...) {
    // bad_alloc: drop the event
  }
}

} // namespace troupe
