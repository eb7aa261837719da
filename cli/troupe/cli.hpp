#pragma once

#include "troupe/catalog.hpp"

namespace troupe {

/// Runs the `troupe` command line (`check`, `run`, `call`, `ps`, `stop`) with the built-in actor
/// types (`echo`, `sleeper`, `watcher`) plus `types`, whose actor and message types replace
/// same-named built-in ones. A program whose `main` returns `troupe::cli_main(argc, argv, types)`
/// is a complete `troupe` for apps that use its own actors: `run` starts that same program (its
/// `/proc/self/exe`) for every node. Returns the process exit status.
int cli_main(int argc, char** argv, const catalog& types);

} // namespace troupe
