#pragma once

#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "troupe/json.hpp"
#include "troupe/observe/http.hpp"

namespace troupe {
class node;
} // namespace troupe

namespace troupe::observe {

/// Exposition formats of `render_metrics`.
enum class metrics_format {
  /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
  prometheus,
  /// OpenMetrics 1.0 text (`application/openmetrics-text`), for scrapers that ask for it.
  openmetrics,
};

/// Renders a node's status report (the introspector's JSON, see introspection.hpp) as metrics
/// named `troupe_*` with the labels `app`, `node` and, per metric, `actor`, `peer`, `transport`.
/// The metric families are listed in docs/OBSERVABILITY.md.
std::string render_metrics(const json_value& report, const std::string& app,
                           const std::string& node, metrics_format format);

/// Serves `GET /metrics` for node `n` at `n`'s `metrics` address from the app file: each scrape
/// asks the node's introspection actor for a fresh report (at most 2 s). Returns null when the
/// node has no `metrics` address. Call after `n.start()`; stop the server before `n.stop()`.
caf::expected<std::unique_ptr<http_server>> serve_metrics(node& n);

} // namespace troupe::observe
