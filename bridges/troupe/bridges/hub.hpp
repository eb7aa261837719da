#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "troupe/bridges/shm_transport.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe::detail {
class hub_core;
} // namespace troupe::detail

namespace troupe::bridges {

/// Knobs of a hub; the defaults suit a LAN or one host.
struct hub_options {
  /// A heartbeat goes to every peer this often.
  std::chrono::milliseconds heartbeat_interval{250};
  /// A peer that sent nothing for this long is lost.
  std::chrono::milliseconds heartbeat_timeout{1500};
  /// `connect` gives up when the handshake does not complete within this time.
  std::chrono::milliseconds connect_timeout{3000};
  /// Frames above this size are refused when sending and rejected when received.
  size_t max_frame_size = size_t{16} << 20;
  /// Bound of the node's outbound queue in frames (see docs/SEMANTICS.md for the policy).
  size_t max_queued_frames = 100000;
  /// Bound of the node's outbound queue in bytes.
  size_t max_queued_bytes = size_t{256} << 20;
  /// Shared-memory transport knobs for `shm://` endpoints; an empty `shm.name` means the node
  /// name, and `shm.peer_timeout` is replaced by `heartbeat_timeout`.
  shm_transport_options shm;
  /// Most proxies for remote actors one peer may cause (each sender id it uses, each handle in
  /// its payloads); beyond it frames from new sender ids are rejected (1 M distinct ids once
  /// took 352 MB).
  size_t max_proxies_per_peer = 100000;
  /// ZeroMQ CURVE key pair of the app (Z85; empty: plain tcp/ipc), see `transport_options`.
  std::string curve_public_key;
  std::string curve_secret_key;
  /// Logger for session events and rejected frames; spdlog's default logger when null.
  std::shared_ptr<spdlog::logger> logger;
  /// Time the I/O thread may spend per frame running the actors that frame woke, one message at
  /// a time, instead of handing them to a scheduler worker; what is left then goes to the
  /// scheduler. Zero: never run actors on the I/O thread (see docs/SEMANTICS.md, "Threads").
  std::chrono::microseconds inline_budget{50};
};

/// Counters of one peer session.
struct peer_stats {
  std::string node;
  bool connected = false;
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  /// Frames from this peer that were rejected, plus messages that could not be encoded for it.
  uint64_t errors = 0;
  /// Frames refused by the full outbound queue.
  uint64_t dropped = 0;
  /// Requests to this peer still waiting for their response.
  uint64_t pending_requests = 0;
  /// Round trips of heartbeat probes (see `detail::peer_counters`).
  uint64_t rtt_last_us = 0;
  uint64_t rtt_sum_us = 0;
  uint64_t rtt_count = 0;
  std::vector<uint64_t> rtt_buckets;
};

/// Counters of a hub.
struct hub_stats {
  /// Frames rejected before a session could be attributed (garbage, no hello, bad version).
  uint64_t bad_frames = 0;
  /// Frames accepted for sending and not yet handed to the socket layer (all peers).
  size_t queue_depth = 0;
  /// Live proxies for actors of other nodes.
  size_t proxies = 0;
  std::vector<peer_stats> peers;
};

/// The bridges of one node: owns the transport, one session per peer node and the proxies of the
/// peers' actors. Remote actors appear as ordinary `caf::actor` handles; `send`, `request`,
/// response promises, `monitor`, `link` and handles inside messages work across nodes.
///
/// The actor system must load `caf::io::middleman` (for a distinct node id). Exactly one side of a
/// pair of nodes calls `connect`; the other only `listen`s. A session is lost on `goodbye`, on a
/// socket that became unreachable, or after `heartbeat_timeout` without any frame; then every
/// proxy of that node is killed (`exit_reason::remote_link_unreachable` for monitors and links)
/// and every outstanding request to it fails with `errc::peer_lost` at once. The connecting side
/// keeps trying to re-establish the session. See docs/SEMANTICS.md and docs/PROTOCOL.md.
/// @note Thread-safe, except that `connect`, `remote_lookup` and `stop` block and must not be
///       called from inside an actor's handler on a scheduler thread for long.
class hub {
public:
  /// Resolves a registered name of this node to a local actor (or an invalid handle). Called on
  /// the hub's I/O thread, so it must be thread-safe and fast.
  using name_resolver = std::function<caf::actor(const std::string&)>;

  /// Creates a hub for `sys` named `node_name` (unique within the app). Starts the I/O thread.
  hub(caf::actor_system& sys, std::string node_name, hub_options opts = {},
      name_resolver resolve_local_name = nullptr);

  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  /// Calls `stop()`.
  ~hub();

  /// Returns the node name given at construction.
  const std::string& node_name() const;

  /// Binds `endpoint` (`tcp://HOST:PORT`, `tcp://HOST:*`, `ipc:///path`, `shm://NAME` for nodes
  /// on the same host) and returns the bound
  /// endpoint with a wildcard port resolved.
  caf::expected<std::string> listen(const std::string& endpoint);

  /// Connects to the node `peer_node` listening at `endpoint` and waits for the handshake.
  /// Fails with `errc::timeout` after `connect_timeout` and with `errc::bad_config` when the node
  /// answering has another name.
  caf::error connect(const std::string& peer_node, const std::string& endpoint);

  /// Returns whether a session with `peer_node` is established.
  bool connected(const std::string& peer_node) const;

  /// Asks `peer_node` for the actor registered there under `name` and returns a proxy for it.
  /// Fails with `errc::not_found`, `errc::peer_lost` or `errc::timeout`, and at once with
  /// `errc::invalid_state` on the hub's I/O thread (a handler of an actor run there inline).
  caf::expected<caf::actor> remote_lookup(const std::string& peer_node, const std::string& name,
                                          std::chrono::milliseconds timeout);

  /// Ends every session with a goodbye frame (waiting at most 250 ms for the peers' confirmation),
  /// fails what is in flight, flushes for at most 250 ms, closes the sockets and joins the I/O
  /// thread. Idempotent.
  void stop();

  /// Returns a snapshot of the counters.
  hub_stats stats() const;

private:
  std::shared_ptr<detail::hub_core> core_;
};

} // namespace troupe::bridges
