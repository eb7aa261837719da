#pragma once

#include <memory>

#include "troupe/bridges/transport.hpp"

namespace troupe::bridges {

/// Creates the ZeroMQ transport serving `ipc://` and `tcp://` endpoints.
///
/// Sockets: one ROUTER bound to every `listen` endpoint (accepted peers are told apart by their
/// routing id) and one DEALER per `connect`. All sockets live on one I/O thread that waits in
/// `zmq_poll` on them plus an eventfd; `send` appends to a mutex-guarded queue (the lock never
/// covers a socket call) and writes the eventfd only when the I/O thread is about to sleep.
/// Socket back-pressure (EAGAIN at the high-water mark) keeps frames in a per-connection backlog
/// that counts against the same bounds; when the bounds are reached, `send` fails with
/// `errc::overloaded` (the newest frame is refused, nothing queued is dropped). Frames of 1 KiB
/// and more are handed to libzmq without a copy. (Sending on the caller's thread instead was
/// measured and not kept: docs/BENCHMARKS.md, "ZeroMQ: send on the caller's thread".)
std::unique_ptr<transport> make_zmq_transport(transport_options opts = {});

} // namespace troupe::bridges
