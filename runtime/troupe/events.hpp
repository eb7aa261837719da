#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>

namespace troupe {

struct app_spec;

/// One `"key": value` member of an event; `number` values are written without quotes.
struct event_field {
  const char* key;
  std::string value;
  bool number = false;

  event_field(const char* k, std::string v) : key(k), value(std::move(v)) {
    // nop
  }

  event_field(const char* k, const char* v) : key(k), value(v) {
    // nop
  }

  template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
  event_field(const char* k, Int v) : key(k), value(std::to_string(v)), number(true) {
    // nop
  }
};

/// Returns the file all processes of `app` append their events to: `LOG_DIR/APP.events.jsonl`.
std::string events_file(const app_spec& app);

/// Makes this process write its events to `events_file(app)`, as `source` (a node name, or
/// "launcher"). Until called, or after `close_events`, `emit_event` does nothing (unit tests).
void open_events(const app_spec& app, const std::string& source);

/// Drops events whose `node` field is `node`: those of an observing node living in a process that
/// writes events for something else (the web view's node inside `troupe run`).
void mute_events_of(const std::string& node);

/// Stops writing events (the file stays).
void close_events();

/// Appends one event as a JSON line: `{"ts": ISO-8601 UTC with ms, "t": unix ms, "app",
/// "source", "kind", FIELDS...}`. One `write(2)` per line on an `O_APPEND` descriptor, so lines of
/// concurrent processes never interleave. Thread-safe; never throws; cheap when closed.
/// Events with a `peer` field that is not a node of the app (sessions of `troupe call`, `ps`,
/// `top` or clients) are dropped. Kinds and their fields are listed in docs/OBSERVABILITY.md.
void emit_event(const char* kind, std::initializer_list<event_field> fields);

} // namespace troupe
