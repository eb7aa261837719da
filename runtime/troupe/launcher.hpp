#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

/// Writes the app's text to `app_snapshot_file(app)` and starts every node of `app` that has
/// `launch = true` as its own process reading that copy, in `app.node_start_order()`, each
/// after the previous one reported ready; then waits for SIGINT or SIGTERM and stops the nodes in
/// reverse order (SIGTERM, then SIGKILL after `stop_timeout`). A node that dies on its own is
/// restarted at once (its actors are placed again when it starts), unless that makes more than
/// `[launcher] max_restarts` restarts within `within`: then the whole app stops with status 1.
/// Keeps `app.run_file()` current (see `read_run_file`). Returns the exit status for `main`.
/// @pre SIGINT, SIGTERM and SIGCHLD are blocked (see `block_stop_signals`).
int launch_app(const app_spec& app, const launch_options& opts, spdlog::logger& log);

/// Returns the copy of the app file that `launch_app` writes and every node it starts reads:
/// `LOG_DIR/APP.run.toml`.
std::string app_snapshot_file(const app_spec& app);

/// One node in a run file.
struct run_entry {
  std::string node;
  long pid = 0;
  long restarts = 0;
  /// running, restarting or stopped.
  std::string state;
  /// How the node's last process ended ("exited with status 1", "was killed by signal Killed");
  /// empty when none ended yet.
  std::string last_exit;
};

/// What `troupe run` recorded for a running app: its own pid and the nodes it runs.
struct run_info {
  long pid = 0;
  std::vector<run_entry> nodes;
};

/// Writes `info` to `path` atomically (write to a temporary file, then rename).
void write_run_file(const std::string& path, const run_info& info);

/// Reads a run file; returns nothing when it is missing or unreadable.
std::optional<run_info> read_run_file(const std::string& path);

/// Returns whether process `pid` is a `troupe run` (any executable) of the app file `app_file`,
/// judged by its command line (/proc/PID/cmdline, paths resolved against /proc/PID/cwd): a stale
/// run file's pid may have been reused by an unrelated process, which must not be signalled.
/// Returns false for a dead process; true when /proc cannot tell (not Linux).
bool is_run_of(long pid, const std::string& app_file);

/// Tells a launching `troupe run` that this node is ready (no-op when not launched by one).
void notify_ready();

/// Tells a launching `troupe run` that this node failed to start and why, so that the launcher
/// reports the reason itself (no-op when not launched by one).
void notify_failed(const std::string& why);

} // namespace troupe
