#pragma once

#include <memory>

#include "troupe/bridges/transport.hpp"

namespace troupe::bridges {

/// Creates the ZeroMQ transport serving `ipc://` and `tcp://` endpoints.
///
/// Sockets: one ROUTER bound to every `listen` endpoint (accepted peers are told apart by their
/// routing id) and one DEALER per `connect`, each guarded by a mutex. One I/O thread receives:
/// it waits in poll(2) on the sockets' `ZMQ_FD` plus an eventfd (never in `zmq_poll`, which would
/// touch the sockets without their locks) and re-checks `ZMQ_EVENTS` before every sleep.
///
/// `send` writes the frame to the socket on the caller's thread (no hand-off to the I/O thread)
/// and then checks `ZMQ_EVENTS` itself, because any socket call may consume the edge-triggered
/// `ZMQ_FD` notification the I/O thread waits for: if input is pending it wakes the I/O thread.
/// A frame goes to a queue for the I/O thread instead when frames of the same connection are
/// queued already (per-connection order), when the socket refuses it (EAGAIN at the high-water
/// mark, a peer not connected yet, an unreachable peer), and when it follows the previous frame
/// of its connection by less than 20 µs (a burst: the I/O thread sends it in a batch). The eventfd
/// is written only when the I/O thread is about to sleep. Frames of 1 KiB and more are handed to
/// libzmq without a copy. Queued frames count against `max_queued_frames/bytes`; when the bounds
/// are reached, `send` fails with `errc::overloaded` (the newest frame is refused, nothing queued
/// is dropped).
std::unique_ptr<transport> make_zmq_transport(transport_options opts = {});

} // namespace troupe::bridges
