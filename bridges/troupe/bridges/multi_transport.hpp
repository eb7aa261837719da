#pragma once

#include <memory>

#include "troupe/bridges/shm_transport.hpp"
#include "troupe/bridges/transport.hpp"

namespace troupe::bridges {

/// Creates the transport a hub uses: it serves each endpoint by its scheme, `tcp://` and `ipc://`
/// with the ZeroMQ transport, `shm://` with the shared-memory transport (started on first use, so
/// a node that never names an shm endpoint creates no segment and no second thread).
///
/// Connection ids of the two are told apart by their top bit. Each inner transport keeps its own
/// I/O thread and reports the events of its connections from it, so the listener is called from
/// up to two threads; `on_io_thread_of(conn)` says whether the caller is the thread that reports
/// `conn`, and `on_tick` comes from both threads.
std::unique_ptr<transport> make_multi_transport(transport_options opts = {},
                                                shm_transport_options shm_opts = {});

} // namespace troupe::bridges
