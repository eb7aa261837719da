#pragma once

#include <functional>
#include <memory>
#include <string>

#include "caf/actor.hpp"
#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "troupe/duration.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe {

struct app_spec;

/// A node's connections to the other nodes of its app, as the node sees them. The runtime knows
/// only this interface; `troupe::bridges` implements it, and the program wires the two together
/// (see `node_options::bridges`), so the runtime builds and tests without any transport.
/// @note Implementations are thread-safe.
class remote_nodes {
public:
  virtual ~remote_nodes();

  /// Accepts bridges from other nodes at `endpoint`; returns the bound endpoint.
  virtual caf::expected<std::string> listen(const std::string& endpoint) = 0;

  /// Opens the bridge to node `peer` listening at `endpoint`; blocks until it is up or
  /// `timeout` has passed.
  virtual caf::error connect(const std::string& peer, const std::string& endpoint, timespan timeout)
    = 0;

  /// Returns whether a bridge to `peer` is up.
  virtual bool connected(const std::string& peer) const = 0;

  /// Returns a handle (proxy) for the actor registered as `name` on node `peer`.
  virtual caf::expected<caf::actor> lookup(const std::string& peer, const std::string& name,
                                           timespan timeout)
    = 0;

  /// Closes every bridge (peers see a clean goodbye); bounded in time; idempotent.
  virtual void stop() = 0;
};

/// Everything a `remote_nodes` implementation needs from its node.
struct remote_context {
  caf::actor_system& system;
  const std::string& node;
  const app_spec& app;
  std::shared_ptr<spdlog::logger> logger;
  /// Resolves a name registered on this node (called from the bridges' I/O thread).
  std::function<caf::actor(const std::string&)> resolve_local;
};

/// Creates the bridges of a node.
using remote_factory
  = std::function<caf::expected<std::unique_ptr<remote_nodes>>(const remote_context&)>;

} // namespace troupe
