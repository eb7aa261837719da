#pragma once

#include <atomic>
#include <memory>

#include "caf/fwd.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/stateful_actor.hpp"

#include "troupe/state_json.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe::mylib {
class library;
} // namespace troupe::mylib

namespace troupe::actors {

/// What a driver remembers across its restarts (kept by the node, see `node::persistent`).
struct mylib_driver_memory {
  /// The user initialized the library and has not released it: a restarted driver initializes
  /// its fresh library instance on its new thread before taking any message.
  std::atomic<bool> wanted_init{false};
};

/// State of the mylib driver.
struct mylib_driver_state {
  ~mylib_driver_state();

  std::shared_ptr<mylib::library> lib;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<mylib_driver_memory> memory;
  bool initialized = false;

  static inline const char* name = "mylib_driver";
};

/// What `troupe inspect` shows of a driver (between two of its calls into the library).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mylib_driver_state& x) {
  return f(caf::meta::type_name("mylib_driver_state"), field_names("initialized"), x.initialized);
}

/// The only actor that calls the vendor library. Spawn it `detached`: its handlers, and the state
/// destructor that `uninit`s a still-initialized library, all run on the actor's own thread, which
/// becomes the library's owning thread at `init`.
///
/// Messages: `(init)` → `ok`; `(calc, int32 x)` → `int32` (x + 1); `(readconfig)` → `ok` after the
/// reload (blocks the driver meanwhile); `(uninit)` → `ok`. Before `init`, `calc` and `readconfig`
/// fail with `errc::not_initialized`; a `calc` whose result would overflow fails with
/// `errc::bad_request`. A crash inside the library (an exception) ends the driver with
/// `errc::system_error` naming it, so that a supervisor restarts it; with `memory` from a previous
/// incarnation that had been initialized, the new one initializes its library right away.
caf::behavior mylib_driver(caf::stateful_actor<mylib_driver_state>* self,
                           std::shared_ptr<mylib::library> lib, std::shared_ptr<spdlog::logger> log,
                           std::shared_ptr<mylib_driver_memory> memory);

} // namespace troupe::actors
