#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "troupe/bridges/shm_ring.hpp"
#include "troupe/bridges/transport.hpp"

namespace troupe::bridges {

/// Knobs of the shared-memory transport.
struct shm_transport_options {
  /// This node's part of every segment name, e.g. "<app>.<node>" (sanitized); "p<pid>" if empty.
  std::string name;
  /// Data bytes of each ring (one per direction per connection); a power of two.
  size_t ring_capacity = size_t{1} << 20;
  /// Hybrid waiting of the I/O thread: spin budget, then futex sleeps.
  shm_wait_options wait;
  /// A peer whose heartbeat word did not advance for this long is lost (its pid may be alive but
  /// hung, or reused by another process).
  std::chrono::milliseconds peer_timeout{2000};
  /// Prefix of every segment this transport creates or cleans up (without slash).
  std::string prefix = "troupe.";
};

/// Creates the shared-memory transport serving `shm://NAME` endpoints (same host only).
///
/// Segments (all `0600`, names under `/dev/shm`, see `shm_segment`):
/// - `PREFIX<name>.<pid>.<n>.door` — one per transport: the doorbell its I/O thread sleeps on;
/// - `PREFIXNAME` — one per `listen("shm://NAME")`: points connectors to the listener's door;
/// - `PREFIXNAME.<name>.<pid>.<n>` — one per connection (node pair): a header with both sides'
///   pid, heartbeat and state, then one SPSC ring per direction. The connector creates it and
///   rings the listener's door; the listener finds it by scanning /dev/shm for `PREFIXNAME.`,
///   attaches, and unlinks the name at once (both sides keep their mapping), so a connection
///   leaves nothing behind even if both processes are killed.
/// Stale segments of dead processes under `prefix` are removed by `start`; `stop` unlinks the
/// door and listen segments.
///
/// Threads: one I/O thread per transport runs every listener callback (as with zmq). After each
/// round of work it spins for `wait.spin`, then sleeps on its door with FUTEX_WAIT until the next
/// tick. Every event that concerns it rings that one door: a peer publishing into an inbound ring,
/// a peer freeing space in an outbound ring we wait on, a local `send` that had to queue, a
/// command, `stop`. A ring only costs its writer a syscall when the door's sleeper announced its
/// sleep, so a busy pair exchanges frames without syscalls and an idle transport wakes only for
/// its ticks (~0 CPU).
///
/// Senders (any thread): `send` takes the connection's writer spinlock (try-lock, then a bounded
/// spin with `pause`, then `sched_yield`) and copies the frame straight into the outbound ring:
/// no hand-off to another thread, whose wakeup would cost ~25 µs here. The lock is per
/// connection, never global, and held only for a memcpy of what fits. When the ring is full the
/// rest of the frame (or the whole frame) goes to a per-connection backlog that the I/O thread
/// flushes when the peer frees space; the backlog counts against `max_queued_frames/bytes`, and a
/// frame that would exceed them is refused with `errc::overloaded` (nothing queued is dropped).
///
/// Peer loss: on every tick each side stores a heartbeat and checks the peer's: a clean close
/// (state word), a dead pid (`kill(pid, 0)`), a silent heartbeat for `peer_timeout`, or a
/// malformed record all end in `on_unreachable(conn)` once; sends to it then fail with
/// `errc::peer_lost` and its backlog is dropped. Nothing ever blocks on a dead peer.
std::unique_ptr<transport> make_shm_transport(transport_options opts = {},
                                              shm_transport_options shm_opts = {});

} // namespace troupe::bridges
