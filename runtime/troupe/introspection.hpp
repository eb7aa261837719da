#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/atom.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/stateful_actor.hpp"

#include "troupe/name_handle.hpp"

namespace troupe {

/// The name under which every node answers introspection queries over the bridges. It is not an
/// app name (app names cannot contain '$'), so it never clashes with a user's actor.
constexpr const char* introspection_name = "$node";

/// One actor as a node reports it.
struct actor_report {
  std::string name;
  std::string type;
  caf::actor handle;
  /// "running", or "down: REASON" once it terminated.
  std::string state = "running";
};

/// State of a node's introspection actor.
struct introspector_state {
  std::string node;
  std::string app;
  /// Hash of the app file content this node runs (`app_spec::hash`).
  std::string app_hash;
  std::vector<actor_report> actors;
  /// Supervisors of the node (nested ones through their relays), asked for their status.
  std::vector<std::pair<std::string, caf::actor>> supervisors;
  /// Relays of the node's supervised names, asked for their message counters.
  std::vector<std::pair<std::string, caf::actor>> relays;
  /// Spawns an actor the app places on this node for a supervisor on another node.
  std::function<caf::expected<caf::actor>(const std::string&)> spawn;
  /// The node's handles to names hosted elsewhere (`node::remote_names`).
  std::function<std::vector<name_stats>()> names;

  static inline const char* name = "introspector";
};

/// Answers `(status)` with a JSON object describing the node: `{"node", "app", "app_hash", "pid",
/// "actors": [{"name", "type", "id", "state", "mailbox", "handled"}], "names": [{"name", "home",
/// "state", "epoch", "forwarded", "refused", "dropped", "retried", "held", "why"}] (this node's handles to
/// names hosted on other nodes, see `name_handle`), "supervisors":
/// [SUPERVISOR_STATUS...], "relays": [{"name", "forwarded", "refused", "mailbox", "handled"}]}`
/// (`forwarded`: messages delivered through each supervised name; `refused`: requests refused
/// while its actor was down; `mailbox` and `handled`: the mailbox depth and handled messages of
/// the actor, null unless it is local and was spawned with `spawn_counted`), where
/// each supervisor status is what the supervisor itself reports (see `to_json` in
/// supervisor.hpp; a supervisor that does not answer within 1 s shows as `null`). Monitors every
/// unsupervised actor it reports so that a terminated one shows as down with its exit reason.
///
/// Also answers `(spawn, std::string name)` with the handle of a freshly spawned actor `name`:
/// how a supervisor on another node starts (and restarts) its children that live here.
caf::behavior introspector(caf::stateful_actor<introspector_state>* self, std::string node,
                           std::string app, std::string app_hash, std::vector<actor_report> actors,
                           std::vector<std::pair<std::string, caf::actor>> supervisors,
                           std::vector<std::pair<std::string, caf::actor>> relays,
                           std::function<caf::expected<caf::actor>(const std::string&)> spawn,
                           std::function<std::vector<name_stats>()> names = nullptr);

/// `(spawn, name)`: the request a supervisor sends to the introspection actor of a child's node.
using remote_spawn_atom = caf::atom_constant<caf::atom("spawn")>;

/// Escapes `x` for use inside a JSON string literal.
std::string json_escape(const std::string& x);

} // namespace troupe
