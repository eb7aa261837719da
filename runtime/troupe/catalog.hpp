#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "troupe/config.hpp"
#include "troupe/params.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe {

class node;

/// What a factory gets to build one placed actor.
struct spawn_context {
  /// The node the actor is spawned on.
  node& host;
  /// The placement entry from the app file (name, type, node, params).
  const actor_spec& spec;

  /// The node's actor system.
  caf::actor_system& system() const;

  /// The node's logger.
  std::shared_ptr<spdlog::logger> logger() const;

  /// Resolves the actor named by the `actor_ref` parameter `param`.
  caf::expected<caf::actor> actor_param(const std::string& param) const;

  /// Resolves the actors named by the `actor_refs` parameter `param`, in the file's order, like
  /// `actor_param` (name handles for remote names: an actor may start before the nodes it names).
  caf::expected<std::vector<caf::actor>> actor_list_param(const std::string& param) const;

  /// Returns the object of type `T` this node keeps for the actor across its restarts
  /// (defined in node.hpp).
  template <class T>
  std::shared_ptr<T> persistent() const;

  /// Registers `fn` to run when the node stops, before it waits for its actors to finish.
  /// Actors blocked inside a foreign call use it to be cut short.
  void at_stop(std::function<void()> fn) const;
};

/// Builds one actor from its placement entry.
using actor_factory = std::function<caf::expected<caf::actor>(const spawn_context&)>;

/// A catalog entry: an actor type that the app file can place by name.
struct actor_type {
  /// The name used as `type = "..."` in the app file.
  std::string name;
  /// One line for `troupe check` and the docs.
  std::string help;
  /// The parameters the type accepts; anything else is a config error.
  std::vector<param_spec> params;
  /// Spawns the actor.
  actor_factory make;
};

/// Maps actor type names to factories so that any node can spawn actors named in the app file,
/// and lists the message types those actors exchange: every node of an app built from one catalog
/// registers the same types, which its bridges need to carry them.
class catalog {
public:
  /// Adds `type`; a second type with the same name replaces the first.
  void add(actor_type type);

  /// Registers the message type `T` under `name` (its `inspect` overload must be visible here),
  /// for every node that uses this catalog. Registering a name twice keeps the last registration.
  template <class T>
  void add_message_type(const std::string& name) {
    message_types_.insert_or_assign(
      name, [name](caf::actor_system_config& cfg) { cfg.add_message_type<T>(name); });
  }

  /// Adds every actor type and message type of `other`; its entries replace same-named ones.
  void merge(const catalog& other);

  /// Registers the message types of this catalog with `cfg` (nodes call it before they start).
  void add_message_types_to(caf::actor_system_config& cfg) const;

  /// Returns the names of the registered message types in alphabetical order.
  std::vector<std::string> message_type_names() const;

  /// Returns the type named `name` or `nullptr`.
  const actor_type* find(const std::string& name) const;

  /// Returns all type names in alphabetical order.
  std::vector<std::string> names() const;

private:
  std::map<std::string, actor_type> types_;
  std::map<std::string, std::function<void(caf::actor_system_config&)>> message_types_;
};

} // namespace troupe
