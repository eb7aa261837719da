#include "troupe/observe/web.hpp"

#include <chrono>

#include "troupe/observe/events_reader.hpp"
#include "troupe/observe/observer.hpp"

namespace troupe::observe {

namespace {

int64_t to_int(const std::map<std::string, std::string>& q, const char* key, int64_t fallback) {
  auto i = q.find(key);
  if (i == q.end())
    return fallback;
  try {
    return std::stoll(i->second);
  } catch (const std::exception&) {
    return fallback;
  }
}

} // namespace

caf::expected<std::unique_ptr<http_server>> serve_web(const std::string& address, observer& obs,
                                                      std::string events_path) {
  return http_server::start(address, [&obs, events_path](const http_request& req) {
    const char* json = "application/json; charset=utf-8";
    if (req.path == "/" || req.path == "/index.html")
      return http_response{200, "text/html; charset=utf-8", web_page};
    if (req.path == "/api/status")
      return http_response{200, json, obs.status_json(std::chrono::milliseconds{700})};
    if (req.path == "/api/events") {
      auto since = to_int(req.query, "since", 0);
      auto max = std::clamp<int64_t>(to_int(req.query, "max", 200), 1, 5000);
      return http_response{200, json, events_json(events_path, since, static_cast<size_t>(max))};
    }
    return http_response{404, "text/plain; charset=utf-8",
                         "not found; see / , /api/status , /api/events?since=MS\n"};
  });
}

} // namespace troupe::observe
