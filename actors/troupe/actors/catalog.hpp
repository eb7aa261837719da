#pragma once

#include "caf/fwd.hpp"

namespace troupe {
class catalog;
} // namespace troupe

namespace troupe::actors {

/// Adds every actor type shipped with Troupe to `types`: the built-in ones (`add_builtin_types`)
/// and the slow-config demo's `mylib_driver` and `config_supervisor` (target
/// `Troupe::slow_config`).
void add_to(catalog& types);

/// Registers the message types those actors exchange.
void add_message_types(caf::actor_system_config& cfg);

} // namespace troupe::actors
