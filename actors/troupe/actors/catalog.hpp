#pragma once

#include "caf/fwd.hpp"

namespace troupe {
class catalog;
} // namespace troupe

namespace troupe::actors {

/// Adds the actor types shipped with Troupe (`mylib_driver`, `config_supervisor`, ...) to `types`.
void add_to(catalog& types);

/// Registers the message types those actors exchange.
void add_message_types(caf::actor_system_config& cfg);

} // namespace troupe::actors
