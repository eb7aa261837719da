#pragma once

#include <optional>
#include <string>
#include <vector>

#include "troupe/json.hpp"

namespace troupe::observe {

class observer;

/// Sort orders of the actor table of `troupe top`.
enum class top_sort { rate, mailbox, restarts, name };

/// Returns the label shown in the header for `x` ("msgs/s", ...).
std::string to_string(top_sort x);

/// Renders one frame of `troupe top` from two app states (`observer::status_json`, parsed) taken
/// one interval apart; `prev` may be null (then rates show as "-"). `events` are the latest
/// rendered event lines, shown at the bottom.
std::string render_top(const json_value& cur, const json_value* prev, top_sort sort,
                       const std::vector<std::string>& events);

/// Options of `run_top`.
struct top_options {
  /// Print one frame (from two states one interval apart) and return.
  bool once = false;
  top_sort sort = top_sort::rate;
  /// Time between refreshes.
  int interval_ms = 1000;
};

/// Runs `troupe top`: redraws every interval until `q` (or Ctrl-C) is pressed; `m`, `b`, `r`
/// and `n` sort the actors by message rate, mailbox depth, restarts or name. Returns the exit
/// status.
int run_top(observer& obs, const std::string& events_path, top_options opts);

} // namespace troupe::observe
