#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "caf/actor.hpp"

namespace troupe {

/// Maps app-wide actor names to handles. Unlike `caf::actor_registry`, entries can be replaced
/// (restarts, moves) and are all dropped at `clear()`, which the node calls before the actor
/// system shuts down (CAF 0.17 hangs in `~actor_system` on a live registered actor).
/// @note Thread-safe: lookups come from any thread (user code, CAF workers).
class registry {
public:
  /// Associates `name` with `handle`, replacing any previous entry; returns the new epoch.
  uint64_t put(const std::string& name, caf::actor handle);

  /// Returns the handle registered under `name`, if any.
  std::optional<caf::actor> get(const std::string& name) const;

  /// Returns the epoch of `name` (incremented by every `put`), 0 if unknown.
  uint64_t epoch(const std::string& name) const;

  /// Removes `name`.
  void erase(const std::string& name);

  /// Returns all registered names in alphabetical order.
  std::vector<std::string> names() const;

  /// Removes all entries and returns their handles.
  std::vector<caf::actor> clear();

private:
  struct entry {
    caf::actor handle;
    uint64_t epoch = 0;
  };
  mutable std::mutex mtx_;
  std::map<std::string, entry> entries_;
};

} // namespace troupe
