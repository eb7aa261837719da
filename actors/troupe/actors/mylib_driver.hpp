#pragma once

#include <memory>

#include "caf/fwd.hpp"
#include "caf/stateful_actor.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe::mylib {
class library;
} // namespace troupe::mylib

namespace troupe::actors {

/// State of the mylib driver.
struct mylib_driver_state {
  ~mylib_driver_state();

  std::shared_ptr<mylib::library> lib;
  std::shared_ptr<spdlog::logger> log;
  bool initialized = false;

  static inline const char* name = "mylib_driver";
};

/// The only actor that calls the vendor library. Spawn it `detached`: its handlers, and the state
/// destructor that `uninit`s a still-initialized library, all run on the actor's own thread, which
/// becomes the library's owning thread at `init`.
///
/// Messages: `(init)` → `ok`; `(calc, int32 x)` → `int32` (x + 1); `(readconfig)` → `ok` after the
/// reload (blocks the driver meanwhile); `(uninit)` → `ok`. Before `init`, `calc` and `readconfig`
/// fail with `errc::not_initialized`; a `calc` whose result would overflow fails with
/// `errc::bad_request`.
caf::behavior mylib_driver(caf::stateful_actor<mylib_driver_state>* self,
                           std::shared_ptr<mylib::library> lib,
                           std::shared_ptr<spdlog::logger> log);

} // namespace troupe::actors
