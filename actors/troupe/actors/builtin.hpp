#pragma once

namespace troupe {
class catalog;
} // namespace troupe

namespace troupe::actors {

/// Adds the reusable actor types every troupe CLI knows (`echo`, `sleeper`, `watcher`; target
/// `Troupe::actors`) to `types`. `troupe::cli_main` calls it before adding a program's own types.
void add_builtin_types(catalog& types);

} // namespace troupe::actors
