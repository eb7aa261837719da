#pragma once

#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/stateful_actor.hpp"

#include "troupe/state_json.hpp"

namespace troupe::actors {

/// Answers every message with the message itself (any types). Used to test bridges and `troupe
/// call`.
caf::behavior echo(caf::event_based_actor* self);

/// `(sleep, int32 ms)` → `ok` after blocking its own thread for `ms` (spawn it `detached`). Used
/// to have requests in flight when a node dies.
caf::behavior sleeper(caf::event_based_actor* self);

/// State of a watcher.
struct watcher_state {
  caf::actor target;
  /// What happened to the target: "down: REASON" and, when linked, "exit: REASON".
  std::vector<std::string> events;

  static inline const char* name = "watcher";
};

/// What `troupe inspect` shows of a watcher.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, watcher_state& x) {
  return f(caf::meta::type_name("watcher_state"), field_names("target events"), x.target, x.events);
}

/// Monitors `target` (and links to it, trapping the exit, when `link` is true) and records what
/// it observes; `(status)` → a string: "watching" or the events joined by "; ".
caf::behavior watcher(caf::stateful_actor<watcher_state>* self, caf::actor target, bool link);

} // namespace troupe::actors
