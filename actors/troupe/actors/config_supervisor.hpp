#pragma once

#include <cstdint>
#include <memory>

#include "caf/actor.hpp"
#include "caf/actor_clock.hpp"
#include "caf/fwd.hpp"
#include "caf/stateful_actor.hpp"

#include "troupe/duration.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe::actors {

/// State of the config supervisor.
struct config_supervisor_state {
  caf::actor driver;
  /// Reload after this much time without `calc`; zero disables idle reloads.
  timespan idle{0};
  std::shared_ptr<spdlog::logger> log;
  bool initialized = false;
  bool reloading = false;
  /// Why the driver's last incarnation went down; cleared by the next successful `init`. Until
  /// then, `calc`, `reload` and `uninit` fail with `errc::unavailable`.
  caf::error driver_down;
  /// Last `calc`, `init` or finished reload, on the actor clock.
  caf::actor_clock::time_point last_activity;
  /// Generation of the idle timer; a tick of an older generation is stale.
  uint64_t timer_gen = 0;
  /// Finished reloads.
  uint64_t reloads = 0;
  /// `calc` requests answered with CALC-FAIL.
  uint64_t calc_fails = 0;

  static inline const char* name = "config_supervisor";
};

/// The slow-config state machine (the seed's `service.py`) in front of a `mylib_driver`.
///
/// After `idle` without a `calc` it tells the driver to run `readConfig`; while that runs, every
/// `calc` is answered at once with `errc::calc_fail` (CALC-FAIL) instead of queueing behind the
/// reload; otherwise `calc` is delegated to the driver, which answers the caller directly.
///
/// Messages: `(init)` → `ok` once the driver is initialized (arms the idle timer);
/// `(calc, int32)` → `int32`, `calc_fail` during a reload, `not_initialized` before `init`;
/// `(reload)` → `ok` as soon as a reload is running (also when one already was),
/// `not_initialized` before `init`; `(uninit)` → `ok` (disarms the timer; during a reload it
/// answers at once and the driver runs `uninit` right after `readConfig`); `(status)` → `(bool
/// initialized, bool reloading, uint64 reloads, uint64 calc_fails)`. The supervisor monitors the
/// driver: when an incarnation of it goes down, a running reload ends, the library counts as not
/// initialized, and `calc`, `reload` and `uninit` fail at once with `errc::unavailable` naming the
/// exit reason, until an `init` succeeds on the driver's next incarnation (a driver given by name
/// comes back by itself after a restart of its node; `init` fails fast while it has none).
caf::behavior config_supervisor(caf::stateful_actor<config_supervisor_state>* self,
                                caf::actor driver, timespan idle,
                                std::shared_ptr<spdlog::logger> log);

} // namespace troupe::actors
