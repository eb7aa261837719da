#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "troupe/config.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe {

/// How `launch_app` starts the nodes of an app.
struct launch_options {
  /// The `troupe` executable; each node runs as `EXE run APP --node NAME`.
  std::string exe;
  /// How long a node may take to report that it is ready.
  std::chrono::milliseconds ready_timeout{15000};
  /// How long a node may take to stop after SIGTERM before it is killed.
  std::chrono::milliseconds stop_timeout{8000};
};

/// Starts every node of `app` that has `launch = true` as its own process, in file order, each
/// after the previous one reported ready; then waits for SIGINT or SIGTERM and stops the nodes in
/// reverse order (SIGTERM, then SIGKILL after `stop_timeout`). If a node dies on its own, the
/// whole app is stopped. Returns the exit status for `main`.
/// @pre SIGINT, SIGTERM and SIGCHLD are blocked (see `block_stop_signals`).
int launch_app(const app_spec& app, const launch_options& opts, spdlog::logger& log);

/// Tells a launching `troupe run` that this node is ready (no-op when not launched by one).
void notify_ready();

} // namespace troupe
