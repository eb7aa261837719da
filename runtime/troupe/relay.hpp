#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"
#include "caf/atom.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/fwd.hpp"
#include "caf/stateful_actor.hpp"

namespace troupe {

/// `(relay_set, caf::actor target)`: forward everything to `target` from now on.
using relay_set_atom = caf::atom_constant<caf::atom("relay_set")>;

/// `(relay_clr, std::string why)`: the target is gone; refuse requests with "NAME is WHY".
using relay_clear_atom = caf::atom_constant<caf::atom("relay_clr")>;

/// `(relay_get)` → `caf::actor`: the current target, an invalid handle when there is none.
using relay_get_atom = caf::atom_constant<caf::atom("relay_get")>;

/// `(relay_stat)` → `(uint64 forwarded, uint64 refused, uint64 dropped, int64 mailbox,
/// int64 handled)`: the relay's counters, then the mailbox depth and handled messages of its
/// current target (-1 when unknown: no target, a remote one, or one not spawned counted).
using relay_stat_atom = caf::atom_constant<caf::atom("relay_stat")>;

/// State of a relay.
struct relay_state {
  /// The name clients know the target by; used in error messages.
  std::string child;
  /// Where messages go; invalid while the child is down.
  caf::actor target;
  /// Why there is no target, e.g. "restarting" or "stopped".
  std::string why = "not started";
  /// Messages handed to a target.
  uint64_t forwarded = 0;
  /// Requests answered with `errc::unavailable` because there was no target.
  uint64_t refused = 0;
  /// Asynchronous messages dropped because there was no target.
  uint64_t dropped = 0;
  /// Targets it monitors whose end it has not reported yet.
  std::vector<caf::actor_addr> watched;

  static inline const char* name = "relay";
};

/// Base of the relay: lets it report each target's end to its own monitors and links.
class relay_base : public caf::event_based_actor {
public:
  using caf::event_based_actor::event_based_actor;

  /// Sends a `down_msg` (to monitors) or `exit_msg` (to linked actors) with `reason` to every
  /// actor that watches this relay, which itself stays up.
  void notify_watchers(const caf::error& reason);
};

/// The relay's actor type.
using relay_actor = caf::stateful_actor<relay_state, relay_base>;

/// A stable front for an actor that may be restarted: clients keep the relay's handle while the
/// supervisor re-points it at each new incarnation.
///
/// Every message other than the three control messages is forwarded unchanged with `delegate`,
/// so the original sender and request id travel with it and the target answers the caller
/// directly; the relay adds one hop on the way in and none on the way back.
///
/// Control protocol (sent by the owner, normally the supervisor; never forwarded):
/// - `(relay_set, caf::actor t)`: forward to `t` from now on; the relay monitors `t`. An invalid
///   `t` acts like `(relay_clr, "stopped")`. No reply.
/// - `(relay_clr, std::string why)`: drop the target. No reply.
/// - `(relay_get)` → `caf::actor`: the current target (invalid when there is none).
///
/// Without a target, a request is answered at once with `errc::unavailable` and the context
/// "NAME is WHY" (e.g. "db is restarting"), and an asynchronous message is dropped and counted:
/// nothing queues, nothing hangs. When the target terminates before its owner reports it, the
/// relay notices through its monitor and refuses with "NAME is down" until re-pointed.
///
/// Every target that ends is reported to the relay's own monitors and links as if the relay had
/// ended with the target's exit reason (`down_msg` / `exit_msg` from the relay), while the relay
/// stays: watching a supervised name sees each incarnation go down, with its real reason, like
/// watching a name handle on another node.
///
/// The relay does not trap exits: `send_exit` ends it like any actor.
caf::behavior relay(relay_actor* self, std::string child);

/// Spawns a relay for the child `child` with no target yet.
caf::actor spawn_relay(caf::actor_system& sys, std::string child);

} // namespace troupe
