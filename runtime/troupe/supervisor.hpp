#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/actor.hpp"
#include "caf/atom.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/meta/type_name.hpp"

#include "troupe/duration.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe {

/// Which children a supervisor restarts when one of them fails (Erlang/OTP semantics).
enum class restart_strategy : uint8_t {
  /// Only the failed child.
  one_for_one,
  /// All children: the others are stopped in reverse start order, then all start in order.
  one_for_all,
  /// The failed child and every child started after it.
  rest_for_one,
};

/// When a terminated child is restarted.
enum class restart_type : uint8_t {
  /// Always, whatever the exit reason.
  permanent,
  /// Only after an abnormal exit; `exit_reason::normal` and `user_shutdown` are normal.
  transient,
  /// Never; also not as a sibling of a failed child (it is stopped and stays stopped).
  temporary,
};

/// What a child is doing right now, as `troupe ps` shows it.
enum class child_state : uint8_t { running, restarting, stopped };

/// Returns "one_for_one", "one_for_all" or "rest_for_one".
std::string to_string(restart_strategy x);

/// Returns "permanent", "transient" or "temporary".
std::string to_string(restart_type x);

/// Returns "running", "restarting" or "stopped".
std::string to_string(child_state x);

/// Parses the config spelling of a strategy ("one_for_one", ...); nothing when unknown.
std::optional<restart_strategy> parse_strategy(std::string_view text);

/// Parses the config spelling of a restart type ("permanent", ...); nothing when unknown.
std::optional<restart_type> parse_restart_type(std::string_view text);

/// Starts one incarnation of a child and returns its handle. Called on the supervisor's thread,
/// so it must not block for long; an error counts as a failed (re)start.
using child_factory = std::function<caf::expected<caf::actor>()>;

/// One child of a supervisor.
struct child_spec {
  /// Unique among the siblings; the relay uses it in its error messages.
  std::string name;
  restart_type restart = restart_type::permanent;
  child_factory start;
  /// The child's stable front. When empty, the supervisor spawns one and ends it when the
  /// supervisor ends. When given (see `make_relays`), the supervisor only re-points it and leaves
  /// it alive, cleared to "stopped", when it ends — so a name registered for it survives even a
  /// restart of the supervisor itself by its own parent.
  caf::actor relay;
};

/// A supervisor and its children, in start order.
struct supervisor_spec {
  std::string name;
  restart_strategy strategy = restart_strategy::one_for_one;
  /// Intensity: more than `max_restarts` restarts within `within` makes the supervisor give up.
  size_t max_restarts = 3;
  timespan within = std::chrono::seconds{5};
  /// Delay before the first restart of a child; doubles on each further restart of the same
  /// child, up to `backoff_max`. Zero restarts at once (OTP behaviour).
  timespan backoff_initial{0};
  /// Upper bound of the backoff delay; zero means `backoff_initial` never grows.
  timespan backoff_max{0};
  /// How long a child may take to stop after `exit_reason::user_shutdown` before it is killed;
  /// zero kills at once.
  timespan shutdown_timeout = std::chrono::seconds{5};
  std::vector<child_spec> children;
};

/// Spawns a relay for every child of `spec` that has none (see `child_spec::relay`), so the
/// caller can register the relays under the child names before the supervisor starts and keep
/// them across restarts of the supervisor. The caller then owns them and ends them at shutdown.
void make_relays(caf::actor_system& sys, supervisor_spec& spec);

/// Spawns a supervisor that starts the children of `spec` in order.
///
/// The supervisor monitors each child and re-points the child's relay at every new incarnation;
/// while a child is down, calls through its relay fail at once with `errc::unavailable` ("NAME
/// is restarting" or "NAME is stopped"). On failure it restarts children per `spec.strategy`,
/// stopping siblings in reverse start order and waiting for each to terminate (up to
/// `shutdown_timeout`, then `exit_reason::kill`) before starting them again in order. A restart
/// waits for the backoff delay, driven by `delayed_send`. A failing factory counts as a failed
/// restart. A child that is still not down `shutdown_timeout` after the kill (a detached actor
/// stuck in a blocking call never reads its exit message) is abandoned with an error log line,
/// so shutdown time stays bounded (at most twice `shutdown_timeout` per child).
///
/// When the intensity is exceeded, or a factory fails during the initial start, the supervisor
/// stops all children in reverse start order and terminates with `errc::invalid_state` and a
/// context such as "sup: restart intensity exceeded: 4 restarts in 5s (last: db: ...)", so a
/// parent that monitors it — e.g. a parent supervisor — sees an abnormal exit and escalates.
/// An `exit_msg` (it traps them) with a non-normal reason stops the children the same way and
/// ends the supervisor with that reason. If the supervisor is killed, it kills its remaining
/// children without waiting.
///
/// Messages:
/// - `(status)` → `std::string`: JSON `{"supervisor", "strategy", "children": [{"name",
///   "restart", "state", "restarts", "id", "last_exit"}]}` (a builtin type, so it crosses bridges
///   as is).
/// - `(children)` → `supervisor_status` (register it with `add_supervisor_types`).
/// - `(relay_of, std::string name)` → `caf::actor` (the child's relay) or `errc::not_found`.
///
/// `detached`: give the supervisor a thread of its own. A node does, because starting a child may
/// block (a child on another node is spawned by a request through the bridges, a catalog factory
/// may look up a remote actor), and an event-based actor woken by a frame runs on the bridge's I/O
/// thread, which must never block; tests leave it off to run under the deterministic coordinator.
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_spec spec,
                            std::shared_ptr<spdlog::logger> log, bool detached = false);

/// `(children)` → `supervisor_status`.
using children_atom = caf::atom_constant<caf::atom("children")>;

/// `(relay_of, std::string name)` → `caf::actor`.
using relay_of_atom = caf::atom_constant<caf::atom("relay_of")>;

/// `(status)` → JSON text; the same atom as `troupe::actors::status_atom`.
using supervisor_status_atom = caf::atom_constant<caf::atom("status")>;

/// One child as its supervisor reports it.
struct child_status {
  std::string name;
  /// `to_string(restart_type)`.
  std::string restart;
  /// `to_string(child_state)`.
  std::string state;
  /// How often this child has been started after its first start.
  uint64_t restarts = 0;
  /// Id of the current incarnation; 0 when it is not running.
  caf::actor_id id = 0;
  /// How the last incarnation ended (`describe` of its exit reason); empty when none ended yet.
  std::string last_exit;
};

/// Serializes `x`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_status& x) {
  return f(caf::meta::type_name("troupe.child_status"), x.name, x.restart, x.state, x.restarts,
           x.id, x.last_exit);
}

/// A supervisor and its children, in start order.
struct supervisor_status {
  std::string name;
  /// `to_string(restart_strategy)`.
  std::string strategy;
  std::vector<child_status> children;
};

/// Serializes `x`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_status& x) {
  return f(caf::meta::type_name("troupe.supervisor_status"), x.name, x.strategy, x.children);
}

/// Renders `x` as the JSON object described at `spawn_supervisor`.
std::string to_json(const supervisor_status& x);

/// Renders `x` as indented text lines, one per child, for logs and terminals.
std::string render(const supervisor_status& x);

/// Registers `supervisor_status` (needed only to send it over a bridge or serialize it).
void add_supervisor_types(caf::actor_system_config& cfg);

} // namespace troupe
