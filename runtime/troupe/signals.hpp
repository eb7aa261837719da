#pragma once

namespace troupe {

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts afterwards. Call it
/// first thing in `main`, before the actor system starts its threads, then `wait_for_stop_signal`.
void block_stop_signals();

/// Waits until SIGINT or SIGTERM arrives; returns the signal number.
int wait_for_stop_signal();

} // namespace troupe
