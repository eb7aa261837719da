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
/// `(run, key, args...)`: compute `key` once (single_flight) / compute it now (a pool worker).
using run_atom = caf::atom_constant<caf::atom("run")>;
/// `(join, worker, label)`: add a worker to a single_flight pool.
using join_atom = caf::atom_constant<caf::atom("join")>;
/// `(leave, worker)`: take a worker out of a single_flight pool.
using leave_atom = caf::atom_constant<caf::atom("leave")>;
/// A single_flight key's deadline (sent to itself).
using expire_atom = caf::atom_constant<caf::atom("sfexpire")>;
/// A pool joiner's timer (sent to itself).
using rejoin_atom = caf::atom_constant<caf::atom("rejoin")>;

} // namespace troupe::actors
