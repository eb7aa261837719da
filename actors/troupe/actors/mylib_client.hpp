#pragma once

#include <cstdint>

#include "caf/actor.hpp"
#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "troupe/duration.hpp"

namespace troupe::actors {

/// The C++ API a user program calls instead of the vendor library (the seed's `mylib_proxy`).
/// Every call returns within `timeout`: a `calc` during a reload fails at once with
/// `errc::calc_fail`, a call that gets no answer in time fails with `errc::timeout`, anything
/// else (e.g. `errc::not_initialized`, a lost peer) is passed through.
/// @note One client per calling thread; each call uses its own short-lived scoped actor, so a
///       late answer to a call that already timed out is dropped rather than mistaken for the
///       answer to the next call.
class mylib_client {
public:
  /// Talks to `service` (a `config_supervisor`, or anything speaking its protocol).
  mylib_client(caf::actor_system& sys, caf::actor service, timespan timeout);

  /// Initializes the library behind the service.
  caf::error init();

  /// Returns `x + 1` computed by the library, or an error.
  caf::expected<int32_t> calc(int32_t x);

  /// Starts a configuration reload now; returns once it is running.
  caf::error reload();

  /// Releases the library.
  caf::error uninit();

  /// Returns the per-call timeout.
  timespan timeout() const {
    return timeout_;
  }

private:
  caf::actor_system* sys_;
  caf::actor service_;
  timespan timeout_;
};

} // namespace troupe::actors
