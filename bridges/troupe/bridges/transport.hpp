#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe::bridges {

/// Identifies one connection of a transport (an accepted peer or an outgoing connect).
using conn_id = uint64_t;

/// Receives the events of a transport. Every member function runs on the transport's I/O thread
/// and must return quickly: the same thread moves every other frame of the node.
class transport_listener {
public:
  virtual ~transport_listener();

  /// A frame arrived on `conn`; `data` is valid only during the call.
  virtual void on_frame(conn_id conn, const char* data, size_t size) = 0;

  /// Frames to `conn` cannot be delivered any more (the peer disconnected).
  virtual void on_unreachable(conn_id conn) = 0;

  /// Called at least every tick interval; drives heartbeats and timeouts.
  virtual void on_tick(std::chrono::steady_clock::time_point now) = 0;
};

/// Limits and knobs shared by all transports.
struct transport_options {
  /// Frames larger than this are refused on send and dropped on receive.
  size_t max_frame_size = size_t{16} << 20;
  /// Upper bound for frames accepted by `send` but not yet handed to the OS/socket layer.
  size_t max_queued_frames = 100000;
  /// Upper bound for the bytes of those frames.
  size_t max_queued_bytes = size_t{256} << 20;
  /// Interval of `on_tick` calls.
  std::chrono::milliseconds tick_interval{50};
  /// How long `stop` keeps flushing queued frames before closing.
  std::chrono::milliseconds flush_timeout{250};
  /// Per-peer share of the outbound bounds: one peer that does not read its replies may hold at
  /// most this many queued frames (and `max_queued_bytes_per_peer` bytes); sends beyond it fail
  /// with `errc::overloaded` for that peer only, so it can never use up the budget of the others.
  /// One that also takes no frame for a second has its inbound frames dropped unread (zmq) or
  /// left unread (shm) until its backlog halves.
  size_t max_queued_frames_per_peer = 10000;
  /// Byte bound of one peer's backlog (see `max_queued_frames_per_peer`).
  size_t max_queued_bytes_per_peer = size_t{64} << 20;
  /// A peer whose backlog stays over its budget this long is disconnected (with a log line).
  std::chrono::milliseconds stalled_peer_timeout{5000};
  /// ZeroMQ CURVE (Z85 text, 40 characters each; both empty: plain, unauthenticated). All nodes of
  /// an app share one key pair: listening sockets are CURVE servers that accept only clients
  /// presenting this public key (checked by a ZAP handler), outgoing connections present it and
  /// expect it from the server. A peer without the secret gets no frame through.
  std::string curve_public_key;
  std::string curve_secret_key;
  /// Where transport events that no listener callback carries (a peer dropped for flooding, a
  /// corrupt shared-memory session, a foreign segment) are logged; spdlog's default if null.
  std::shared_ptr<spdlog::logger> logger;
};

/// Moves opaque frames between nodes. One I/O thread per transport owns all sockets; every public
/// member function is thread-safe.
/// @note `send` may be called from any thread, concurrently.
class transport {
public:
  virtual ~transport();

  /// Starts the I/O thread; events go to `listener`, which must outlive `stop()`.
  virtual caf::error start(transport_listener* listener) = 0;

  /// Binds `endpoint` and returns the bound endpoint (wildcard ports resolved).
  virtual caf::expected<std::string> listen(const std::string& endpoint) = 0;

  /// Opens an outgoing connection to `endpoint`.
  virtual caf::expected<conn_id> connect(const std::string& endpoint) = 0;

  /// Queues `frame` for `conn`. Fails with `errc::overloaded` when the outbound queue is full
  /// (the frame is then not queued) and `errc::bad_frame` when it exceeds the frame limit.
  virtual caf::error send(conn_id conn, std::vector<char> frame) = 0;

  /// Closes an outgoing connection or forgets an accepted one.
  virtual void disconnect(conn_id conn) = 0;

  /// Flushes queued frames for at most `flush_timeout`, closes all sockets, joins the thread.
  virtual void stop() = 0;

  /// Returns the number of frames accepted by `send` and not yet handed to the socket layer.
  virtual size_t queue_depth() const = 0;

  /// Returns whether the caller runs on the I/O thread.
  virtual bool on_io_thread() const = 0;

  /// Returns whether the caller runs on the I/O thread that reports the events of `conn`; a
  /// transport with one I/O thread has only that one.
  virtual bool on_io_thread_of(conn_id) const {
    return on_io_thread();
  }
};

} // namespace troupe::bridges
