#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "caf/actor.hpp"
#include "caf/expected.hpp"

#include "troupe/config.hpp"
#include "troupe/node.hpp"

namespace troupe::observe {

/// Watches a running app from outside: a short-lived node of its own that asks every node of the
/// app for its introspection report, as `troupe ps` does, and reads the launcher's run file.
/// Keeps the handles of the nodes' introspection actors between calls, so a poll costs one
/// request per node.
/// @note `status_json` is thread-safe (calls are serialized).
class observer {
public:
  /// Creates the observing node `name` (ephemeral: it hosts nothing and never listens).
  static caf::expected<std::unique_ptr<observer>> make(const app_spec& app, const catalog& types,
                                                       node_options opts, std::string name);

  ~observer();

  /// Returns the app's state as JSON: `{"app", "launcher_pid", "time_ms", "nodes": [{"node",
  /// "pid", "restarts", "state", "last_exit", "listen", "error", "report"}]}`, where `report` is
  /// the node's introspection report (null when it did not answer within `timeout`; `error` says
  /// why) and pid, restarts, state and last_exit come from the launcher's run file (state
  /// `running`, `restarting`, `stopped`, `unreachable`, `down`, or `not started by troupe run`).
  /// The nodes are asked in parallel. Then the placement from the app file: `"actors": [{"name",
  /// "type", "node", "supervisor"}]` and `"supervisors": [{"name", "node", "strategy",
  /// "children"}]`.
  std::string status_json(std::chrono::milliseconds timeout);

  const app_spec& app() const {
    return app_;
  }

private:
  observer(app_spec app, std::unique_ptr<node> n);

  caf::expected<std::string> query(const node_spec& peer, std::chrono::milliseconds timeout);

  app_spec app_;
  std::unique_ptr<node> node_;
  std::mutex mtx_;
  /// Introspection handles by node name; dropped when a request through one fails.
  std::map<std::string, caf::actor> handles_;
  std::mutex handles_mtx_;
};

} // namespace troupe::observe
