#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace troupe::observe {

/// Reads an events file (see troupe/events.hpp) incrementally: each `poll` returns the complete
/// lines appended since the last one. A file that shrank (was replaced) is read from its start.
class events_reader {
public:
  explicit events_reader(std::string path) : path_(std::move(path)) {
    // nop
  }

  /// Returns the lines appended since the last call (without their newlines).
  std::vector<std::string> poll();

private:
  std::string path_;
  uint64_t offset_ = 0;
  std::string partial_;
};

/// Returns the last `max` events of the file at `path` with `t` (Unix ms) greater than `since`,
/// as a JSON array.
std::string events_json(const std::string& path, int64_t since, size_t max);

/// Renders one event line for people: `TIME SOURCE KIND key=value ...`; returns the line
/// unchanged when it is not an event.
std::string render_event(const std::string& line);

} // namespace troupe::observe
