#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace troupe {

/// Durations in the app file and in messages: nanosecond resolution, like `caf::timespan`.
using timespan = std::chrono::nanoseconds;

/// Parses a duration such as "10s", "250ms", "1.5s", "2min", "500us" or "0s".
/// Returns nothing when the text is not a non-negative number followed by one of the units
/// ns, us, ms, s, min, h.
std::optional<timespan> parse_duration(std::string_view text);

/// Renders `x` with the largest unit that keeps it exact, e.g. "10s", "1500ms".
std::string to_string_duration(timespan x);

} // namespace troupe
