#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

/// Upper bounds (µs, inclusive) of the buckets of bridge round-trip histograms; values above the
/// last bound fall into one more bucket.
inline constexpr std::array<uint64_t, 14> rtt_bucket_bounds_us{
  50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};

/// The counters of one bridge (one peer session) as introspection reports them.
struct bridge_report {
  std::string peer;
  /// tcp, ipc, shm, or "?" when the app file does not say (e.g. a `troupe call` node).
  std::string transport;
  bool connected = false;
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t errors = 0;
  uint64_t dropped = 0;
  uint64_t pending_requests = 0;
  /// Heartbeat round trips: the last one, their sum and count, and per-bucket counts (not
  /// cumulative; `rtt_bucket_bounds_us.size() + 1` entries, or none).
  uint64_t rtt_last_us = 0;
  uint64_t rtt_sum_us = 0;
  uint64_t rtt_count = 0;
  std::vector<uint64_t> rtt_buckets;
};

/// All bridges of a node.
struct bridges_report {
  /// Frames accepted for sending and not yet handed to the socket layer (all peers).
  uint64_t queue_depth = 0;
  /// Frames rejected before they could be attributed to a peer.
  uint64_t bad_frames = 0;
  std::vector<bridge_report> peers;
};

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

  /// Returns the counters of the bridges (for introspection and metrics); empty by default.
  virtual bridges_report report() const {
    return {};
  }
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
