#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"
#include "caf/actor_clock.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/message.hpp"
#include "caf/response_promise.hpp"
#include "caf/stateful_actor.hpp"

#include "troupe/duration.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe::actors {

/// Settings of a `single_flight` actor (the catalog parameters of the same names).
struct single_flight_settings {
  /// Bounds every key: its waiters get `errc::timeout` when no result came within this time.
  timespan timeout{std::chrono::seconds{30}};
  /// How often a key is started again on another worker after its worker was lost.
  int32_t retries = 1;
  /// At most this many keys in flight at once; a further key is refused with `errc::overloaded`.
  size_t max_keys = 10000;
};

/// A worker of the pool, as `single_flight` sees it.
struct flight_worker_entry {
  caf::actor handle;
  /// What `(status, key)` calls the worker (given at `join`).
  std::string label;
  /// Requests sent to the worker and not answered yet.
  size_t load = 0;
  /// Results the worker delivered.
  uint64_t computations = 0;
};

/// One key in flight.
struct flight {
  /// The whole `(run, key, args...)` message, sent unchanged to the worker (again on a retry).
  caf::message request;
  /// Every caller waiting for the key, first caller first.
  std::vector<caf::response_promise> waiters;
  /// The worker computing the key; empty while the key waits for a worker.
  caf::actor_addr worker;
  std::string worker_label;
  /// Wall-clock start of the flight, milliseconds since the Unix epoch.
  int64_t since_ms = 0;
  /// The key fails with `errc::timeout` at this point of the actor clock.
  caf::actor_clock::time_point deadline;
  /// Identifies the flight (its expiry timer names it).
  uint64_t serial = 0;
  /// Identifies the current attempt: answers to earlier attempts are ignored.
  uint64_t attempt_id = 0;
  /// Attempts started so far (1 + retries used).
  int32_t attempts = 0;
};

/// State of a `single_flight` actor.
struct single_flight_state {
  single_flight_settings cfg;
  std::shared_ptr<spdlog::logger> log;
  std::map<caf::actor_addr, flight_worker_entry> workers;
  std::map<std::string, flight> flights;
  /// Keys waiting for a worker, oldest first.
  std::deque<std::string> queued;
  uint64_t next_id = 0;
  /// Round-robin position among equally loaded workers.
  size_t rr = 0;
  /// Computations started (attempts, retries included).
  uint64_t started = 0;
  /// Callers that found their key already running and waited for it instead.
  uint64_t shared = 0;
  /// Keys that ended with a result (a value or the worker's own error).
  uint64_t completed = 0;
  /// Keys that failed: worker lost without retries left, or timeout.
  uint64_t failed = 0;
  /// Attempts started again after a worker was lost.
  uint64_t retried = 0;

  static inline const char* name = "single_flight";
};

/// One computation per key in flight, across a pool of worker actors on any nodes: FlowKit's
/// "is this query already running?" without Redis.
///
/// Messages:
/// - `(run, str key, args...)` → whatever the worker answers to `(run, key, args...)`. Starts the
///   computation on the least loaded worker unless `key` runs already; every caller of a running
///   key gets the same answer (or the same error) when it ends. A key with no worker in the pool
///   waits for one to join. Fails with `errc::timeout` when no answer came within `timeout` of
///   the key's start, and with `errc::unavailable` when its worker was lost (crashed, its node
///   died) and `retries` are used up; otherwise a lost worker's keys start again on another
///   worker (also after a worker answered `errc::unavailable`; that worker stays in the pool).
///   `errc::bad_request` when the key is missing or not a string; `errc::overloaded` beyond
///   `max_keys` keys.
/// - `(join, actor worker, str label)` → `ok`: adds `worker` to the pool (again: refreshes the
///   label). The pool monitors it and drops it when it terminates. Sent by `pool_joiner`.
/// - `(leave, actor worker)` → `ok`: no new keys for `worker`; its running ones finish.
/// - `(status, str key)` → `(str state, str worker, i64 since_ms, u64 waiters, i32 attempt)`:
///   state `running` (on `worker`, since `since_ms`, Unix epoch), `queued` (no worker yet) or
///   `idle` (not in flight: the other fields are empty / 0).
/// - `(status)` → `(u64 workers, u64 keys_in_flight, u64 started, u64 shared, u64 completed,
///   u64 failed, u64 retried)`.
///
/// Malformed messages are answered with an error and logged; bare errors are dropped.
caf::behavior single_flight(caf::stateful_actor<single_flight_state>* self,
                            single_flight_settings cfg, std::shared_ptr<spdlog::logger> log);

/// Resolves an actor name (usually `troupe::node::lookup`; it may block).
using lookup_function = std::function<caf::expected<caf::actor>(const std::string&)>;

/// State of a pool joiner.
struct pool_joiner_state {
  caf::actor worker;
  std::string pool_name;
  std::string label;
  lookup_function lookup;
  timespan interval{0};
  std::shared_ptr<spdlog::logger> log;
  /// The pool as last resolved; empty while it is unknown or lost.
  caf::actor pool;
  /// Generation of the rejoin timer; a tick of an older generation is stale.
  uint64_t gen = 0;
  /// Delay of the next retry after a failure (doubles up to `interval`).
  timespan backoff{std::chrono::milliseconds{100}};
  /// Successful joins (the first and every refresh).
  uint64_t joins = 0;
  /// Whether the last join was acknowledged.
  bool joined = false;

  static inline const char* name = "pool_joiner";
};

/// Keeps `worker` in the pool of the `single_flight` actor named `pool_name`: resolves the name
/// with `lookup`, sends `(join, worker, label)`, and repeats the join every `interval` (a refresh
/// the pool answers at once), at once when the pool's handle goes down and after a failed lookup
/// or join within 100 ms, doubling up to `interval` — so a pool restarted
/// in another process, a restarted node or a lost session are recovered from without any handle
/// surviving. Ends when `worker` ends. Spawn it `detached` when `lookup` may block.
caf::behavior pool_joiner(caf::stateful_actor<pool_joiner_state>* self, caf::actor worker,
                          std::string pool_name, std::string label, lookup_function lookup,
                          timespan interval, std::shared_ptr<spdlog::logger> log);

} // namespace troupe::actors
