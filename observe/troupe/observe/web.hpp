#pragma once

#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "troupe/observe/http.hpp"

namespace troupe::observe {

class observer;

/// The page of the web view: one HTML document with its script and style inline (no network
/// access besides the JSON API of the server that serves it).
extern const char* const web_page;

/// Serves the web view and its JSON API at `address` (`HOST:PORT`), reading the app through
/// `obs` and the events file `events_path`:
/// - `GET /` the page;
/// - `GET /api/status` the app's state (`observer::status_json`, nodes asked with a 700 ms bound);
/// - `GET /api/events?since=MS&max=N` the last N (default 200, at most 5000) events newer than
///   Unix time MS, as a JSON array.
/// The API is described in docs/OBSERVABILITY.md. `obs` must outlive the server.
caf::expected<std::unique_ptr<http_server>> serve_web(const std::string& address, observer& obs,
                                                      std::string events_path);

} // namespace troupe::observe
