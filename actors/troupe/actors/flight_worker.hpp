#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "caf/fwd.hpp"
#include "caf/stateful_actor.hpp"

#include "troupe/duration.hpp"

namespace troupe::actors {

/// State of a simulated pool worker.
struct flight_worker_state {
  /// How the worker names itself in its answers (its app name and node).
  std::string label;
  /// How long `(run, key)` works when the caller gives no time.
  timespan work{0};
  /// Computations finished by this incarnation.
  uint64_t computations = 0;
  /// Set when the node stops: a running computation ends early (and fails).
  std::shared_ptr<std::atomic<bool>> stopping;

  static inline const char* name = "flight_worker";
};

/// A stand-in for an expensive query, for `single_flight` pools, tests, benchmarks and the
/// FlowKit example. Spawn it `detached`: it blocks its own thread while it "computes".
///
/// Messages: `(run, str key)` works for the configured time, `(run, str key, i32 ms)` for `ms`
/// (0 .. 600000), then answers `(str key, str worker, u64 n)`: the worker's label and the number
/// of this computation (1, 2, ...) — so callers can tell whether they got the same computation.
/// `(status)` → `u64` computations so far.
caf::behavior flight_worker(caf::stateful_actor<flight_worker_state>* self, std::string label,
                            timespan work, std::shared_ptr<std::atomic<bool>> stopping);

} // namespace troupe::actors
