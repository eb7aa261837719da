#pragma once

#include "caf/atom.hpp"

namespace troupe::actors {

/// `init` the vendor library (on the driver's thread).
using init_atom = caf::atom_constant<caf::atom("init")>;
/// `calc(x)`: one computation with the current configuration.
using calc_atom = caf::atom_constant<caf::atom("calc")>;
/// Ask the config supervisor to re-read the configuration now.
using reload_atom = caf::atom_constant<caf::atom("reload")>;
/// `uninit` the vendor library.
using uninit_atom = caf::atom_constant<caf::atom("uninit")>;
/// Tell the driver to run `readConfig` (sent only by the config supervisor).
using read_config_atom = caf::atom_constant<caf::atom("readconfig")>;
/// The config supervisor's idle timer.
using tick_atom = caf::atom_constant<caf::atom("tick")>;
/// Ask an actor for its state summary.
using status_atom = caf::atom_constant<caf::atom("status")>;
/// `(sleep, int32 ms)`: block the sleeper for a while, then answer `ok`.
using sleep_atom = caf::atom_constant<caf::atom("sleep")>;

} // namespace troupe::actors
