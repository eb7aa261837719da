#pragma once

// What the bridge tests share: the actor system configuration of a test node, the atoms of the
// test actors (hub.cpp, and hub_server.cpp with its driver multiprocess.cpp), and an error check.

#include <cstdint>

#include "caf/actor_system_config.hpp"
#include "caf/atom.hpp"
#include "caf/error.hpp"
#include "caf/io/middleman.hpp"
#include "caf/typed_actor.hpp"

#include "troupe/errc.hpp"

namespace troupe::bridges::test {

using add_atom = caf::atom_constant<caf::atom("add")>;
using later_atom = caf::atom_constant<caf::atom("later")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using relay_atom = caf::atom_constant<caf::atom("relay")>;
using die_atom = caf::atom_constant<caf::atom("die")>;
using linkto_atom = caf::atom_constant<caf::atom("linkto")>;

/// The typed view of the test actors named "calc": int32 x -> x + 1.
using calc_actor = caf::typed_actor<caf::replies_to<int32_t>::with<int32_t>>;

/// A node of a bridge test: a real node id (middleman loaded, no middleman workers), two
/// scheduler threads with the sharing policy that nodes use.
struct node_config : caf::actor_system_config {
  node_config() {
    troupe::add_error_category(*this);
    load<caf::io::middleman>();
    set("middleman.workers", 0);
    set("scheduler.max-threads", 2);
    set("scheduler.policy", caf::atom("sharing"));
  }
};

/// Returns whether `err` is the Troupe error `code`.
inline bool is_errc(const caf::error& err, errc code) {
  return err.category() == errc_category && err.code() == static_cast<uint8_t>(code);
}

} // namespace troupe::bridges::test
