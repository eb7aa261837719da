#pragma once

#include <cstdint>
#include <memory>

#include "caf/actor.hpp"
#include "caf/actor_clock.hpp"
#include "caf/fwd.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/stateful_actor.hpp"

#include "troupe/duration.hpp"
#include "troupe/state_json.hpp"

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
  /// Why the driver's last incarnation went down; cleared by the next successful `init`, which
  /// until then is forwarded to the driver even when the library counts as initialized.
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

/// What `troupe inspect` shows of a config supervisor.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, config_supervisor_state& x) {
  return f(caf::meta::type_name("config_supervisor_state"),
           field_names("driver initialized reloading reloads calc_fails idle_before_reload "
                       "driver_down"),
           x.driver, x.initialized, x.reloading, x.reloads, x.calc_fails, x.idle, x.driver_down);
}

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
/// driver: when an incarnation of it goes down, a running reload ends and the next `init` is
/// forwarded to the driver again. Calls keep going to the driver's handle, which is a name: a
/// driver restarted by its supervisor re-initializes itself (the caller sees nothing but what was
/// in flight), one whose node process was restarted answers `not_initialized` until `init`, and
/// while the name has no incarnation calls fail at once with `errc::unavailable`.
caf::behavior config_supervisor(caf::stateful_actor<config_supervisor_state>* self,
                                caf::actor driver, timespan idle,
                                std::shared_ptr<spdlog::logger> log);

} // namespace troupe::actors
