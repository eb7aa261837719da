#pragma once

#include <cstdint>
#include <string>

#include "caf/atom.hpp"
#include "caf/error.hpp"
#include "caf/fwd.hpp"

namespace troupe {

/// Error codes of the Troupe runtime, registered as the CAF error category `troupe` so that a
/// `caf::error` built from them keeps its meaning across a bridge hop.
enum class errc : uint8_t {
  none = 0,
  /// A `calc` arrived while the vendor library was re-reading its configuration (CALC-FAIL).
  calc_fail,
  /// A call did not get its answer within the caller's timeout.
  timeout,
  /// `calc`, `reload` or `uninit` before `init`.
  not_initialized,
  /// No actor is registered under the requested name.
  not_found,
  /// The app file is invalid.
  bad_config,
  /// A message could not be understood by its receiver.
  bad_request,
  /// The node hosting an actor is unreachable (peer lost).
  peer_lost,
  /// A wire frame was malformed, truncated, oversized or of an unknown type.
  bad_frame,
  /// An outbound queue was full.
  overloaded,
  /// The operation is not possible in the current state.
  invalid_state,
  /// A system call or third-party library failed.
  system_error,
  /// The actor that serves the call is down (crashed, stopped, or being restarted).
  unavailable,
};

/// The CAF error category atom of `errc`.
constexpr caf::atom_value errc_category = caf::atom("troupe");

/// Returns the name of `x`, e.g. "calc_fail".
std::string to_string(errc x);

/// Converts `x` into a `caf::error` of category `troupe`.
caf::error make_error(errc x);

/// Converts `x` into a `caf::error` of category `troupe` with a context message.
caf::error make_error(errc x, std::string context);

/// Registers the `troupe` error category (renderer) in `cfg`.
void add_error_category(caf::actor_system_config& cfg);

/// Renders any `caf::error` as a short human-readable line, e.g. "calc_fail" or
/// "request_timeout", with the context appended after a colon when there is one.
std::string describe(const caf::error& err);

} // namespace troupe
