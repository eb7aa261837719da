#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/name_handle.hpp"
#include "troupe/registry.hpp"
#include "troupe/remote.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe {

class catalog;

/// Start-up options of a node that do not come from the app file.
struct node_options {
  /// Registers the message types the node's actors exchange (called once, before the system
  /// starts). `troupe::actors::add_message_types` is the usual choice.
  std::function<void(caf::actor_system_config&)> configure;
  /// Writes `LOG_DIR/NODE.log` when true; tests turn it off.
  bool log_to_file = true;
  /// Messages at this level or above also go to stderr ("warn" by default, "off" to silence).
  std::string stderr_level = "warn";
  /// How long `stop()` waits for the node's actors to finish.
  std::chrono::milliseconds stop_timeout{5000};
  /// CAF scheduler worker threads; 0 keeps CAF's default.
  size_t worker_threads = 0;
  /// Creates the node's bridges to other nodes; without it, the node reaches only its own actors.
  /// Programs pass `troupe::bridges::make_remote_nodes`.
  remote_factory bridges;
  /// Allows a node name the app file does not define, for short-lived nodes that host nothing
  /// and only talk to the app (`troupe call`). Such a node never listens.
  bool ephemeral = false;
  /// Called once, on a CAF thread, when a top-level supervisor of this node gives up (its restart
  /// intensity is exceeded): the node can no longer serve its children and should stop with a
  /// failure status, as an OTP node does when its top supervisor terminates. The node has logged
  /// the reason already. Programs pass a function that makes their main thread stop the node.
  std::function<void(const caf::error&)> on_fatal;
};

/// One process of an app: owns a configured `caf::actor_system`, the node's logger, the registry
/// of actor names and the actors the app file places on this node.
/// @note `lookup`, `put` and `logger` are thread-safe; `start` and `stop` are called by the owner.
class node {
public:
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Creates node `name` of `app`. Fails when the app has no such node or the log file cannot be
  /// opened. Spawns nothing yet: call `start()`.
  static caf::expected<std::unique_ptr<node>> make(app_spec app, std::string name,
                                                   const catalog& types, node_options opts = {});

  /// Spawns the actors the app file places on this node, in file order, and registers their names.
  /// Stops at the first actor that fails to spawn and returns its error.
  caf::error start();

  /// Stops the node's actors: runs the `at_stop` callbacks, drops all names, asks every actor to
  /// exit and waits up to `stop_timeout` for them. Returns an error naming the actors that did not
  /// finish in time (the caller may then exit the process rather than wait). Idempotent.
  caf::error stop();

  /// Returns the handle registered under `name`: the local actor, or, for a name the app places
  /// on another node, the node's *name handle* for it (see `name_handle`): a stable handle that
  /// follows the name across restarts of the actor and of its node. The first lookup of a remote
  /// name waits for its first resolution (opening the bridge first when this node is the one that
  /// connects) and fails when the name is unknown or unreachable; it may block up to the app's
  /// `connect_timeout` + `lookup_timeout`. Later lookups return the same handle at once.
  caf::expected<caf::actor> lookup(const std::string& name) const;

  /// Like `lookup`, but never blocks: a remote name's handle is returned before its first
  /// resolution (messages to it wait for that, bounded). Fails only for a name the app does not
  /// define or a local one that is not registered (yet). Used for `actor_ref` parameters, so that
  /// an actor can start before the nodes it refers to.
  caf::expected<caf::actor> name_ref(const std::string& name) const;

  /// Returns the counters of this node's handles to remote names.
  std::vector<name_stats> remote_names() const;

  /// Opens the bridge to `peer` unless it is up; fails when this node has no bridges, `peer`
  /// does not listen, or it is not reachable within the app's `connect_timeout`. When `peer` is
  /// the one that connects, waits (bounded by the same timeout) for it to do so.
  caf::error connect(const std::string& peer) const;

  /// Returns the node's bridges, or `nullptr` when it has none.
  remote_nodes* remote() const {
    return remote_.get();
  }

  /// Registers `handle` under `name` and tracks it for `stop()`.
  void put(const std::string& name, caf::actor handle);

  /// Registers `fn` to run at the beginning of `stop()`.
  void at_stop(std::function<void()> fn);

  /// Returns the object of type `T` kept for actor `name` across its restarts within this node
  /// process, creating it on first use. For state that must outlive one incarnation of an actor,
  /// such as "the user has initialized the library".
  template <class T>
  std::shared_ptr<T> persistent(const std::string& name) {
    return std::static_pointer_cast<T>(
      persistent_slot(name, [] { return std::static_pointer_cast<void>(std::make_shared<T>()); }));
  }

  /// Returns whether a top-level supervisor of this node gave up (see `node_options::on_fatal`).
  bool failed() const;

  /// Returns the node's name.
  const std::string& name() const {
    return name_;
  }

  /// Returns the app this node belongs to.
  const app_spec& app() const {
    return app_;
  }

  /// Returns the node's actor system.
  caf::actor_system& system() {
    return *sys_;
  }

  /// Returns the node's logger.
  const std::shared_ptr<spdlog::logger>& logger() const {
    return log_;
  }

  /// Returns the node's introspection actor (see introspection.hpp); invalid before `start`.
  caf::actor introspection_actor() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return introspector_;
  }

  /// Returns the name registry.
  const troupe::registry& names() const {
    return registry_;
  }

private:
  node(app_spec app, std::string name, const catalog& types, node_options opts);

  caf::expected<caf::actor> spawn_placed(const actor_spec& spec);

  caf::expected<caf::actor> spawn_remote(const actor_spec& spec);

  caf::actor spawn_supervisor_entry(const supervisor_entry& entry,
                                    const std::map<std::string, caf::actor>& relays);

  void watch_top_supervisor(const std::string& sup, const caf::actor& hdl);

  /// `lookup` (`wait`: for the first resolution of a remote name) or `name_ref`.
  caf::expected<caf::actor> by_name(const std::string& name, bool wait) const;

  /// Returns the node hosting `name` (the supervisor's node for a supervisor), or "" when the app
  /// does not define it.
  std::string home_of(const std::string& name) const;

  /// Returns whether actors of this node and of `peer` refer to each other (`actor_ref`
  /// parameters or supervision, either direction).
  bool related(const std::string& peer) const;

  /// Returns the buffer settings of the name `name`.
  name_buffer buffer_of(const std::string& name) const;

  std::shared_ptr<void> persistent_slot(const std::string& name,
                                        const std::function<std::shared_ptr<void>()>& make);

  app_spec app_;
  std::string name_;
  const catalog& types_;
  node_options opts_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<remote_nodes> remote_;
  /// Handles to remote names; null without bridges.
  std::unique_ptr<name_service> names_;
  troupe::registry registry_;
  mutable std::mutex mtx_;
  std::vector<std::pair<std::string, caf::actor>> owned_;
  /// Relays of supervised children and nested supervisors, by name (fixed after `start`).
  std::map<std::string, caf::actor> relays_;
  /// Answers introspection queries under `introspection_name`.
  caf::actor introspector_;
  std::vector<std::function<void()>> stop_hooks_;
  std::map<std::string, std::shared_ptr<void>> persistent_;
  bool stopped_ = false;
  /// `stop` is closing the bridges: waits for a peer end early.
  std::atomic<bool> stopping_{false};
  /// A top-level supervisor gave up.
  bool fatal_ = false;
  /// Why the first top-level supervisor gave up.
  caf::error fatal_reason_;
  /// `start` completed: from now on a supervisor that gives up calls `on_fatal`.
  bool started_ = false;
};

/// Creates the node's logger: a file `LOG_DIR/NODE.log` (when `to_file`) plus stderr for
/// messages at `stderr_level` or above.
caf::expected<std::shared_ptr<spdlog::logger>> make_node_logger(const app_spec& app,
                                                                const std::string& node,
                                                                bool to_file,
                                                                const std::string& stderr_level);

template <class T>
std::shared_ptr<T> spawn_context::persistent() const {
  return host.persistent<T>(spec.name);
}

} // namespace troupe
