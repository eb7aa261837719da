#include "troupe/actors/generic.hpp"

#include <thread>

#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/message_view.hpp"
#include "caf/result.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/robust.hpp"
#include "troupe/errc.hpp"

namespace troupe::actors {

caf::behavior echo(caf::event_based_actor* self) {
  // A bare error would otherwise reach CAF's default error handler and terminate the actor.
  self->set_error_handler([](caf::scheduled_actor*, caf::error&) {});
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
      return x.move_content_to_message();
    });
  // A behavior needs at least one handler to keep the actor alive; `status` names the actor.
  return {
    [](status_atom) { return std::string{"echo"}; },
  };
}

caf::behavior sleeper(caf::event_based_actor* self) {
  drop_strangers(self, nullptr, "sleeper");
  return {
    [](sleep_atom, int32_t ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds{ms});
      return caf::ok_atom::value;
    },
  };
}

caf::behavior watcher(caf::stateful_actor<watcher_state>* self, caf::actor target, bool link) {
  self->state.target = target;
  // A stray error must not end the watcher (CAF's default error handler quits the actor).
  self->set_error_handler([](caf::scheduled_actor*, caf::error&) {});
  self->monitor(target);
  if (link) {
    self->set_exit_handler([self](caf::exit_msg& msg) {
      if (msg.source != self->state.target.address()) {
        self->quit(msg.reason); // trap only the target's exit, not a shutdown
        return;
      }
      self->state.events.push_back("exit: " + describe(msg.reason));
    });
    self->link_to(target);
  }
  self->set_down_handler(
    [self](caf::down_msg& msg) { self->state.events.push_back("down: " + describe(msg.reason)); });
  return {
    [self](status_atom) {
      std::string out;
      for (auto& e : self->state.events)
        out += out.empty() ? e : "; " + e;
      return out.empty() ? std::string{"watching"} : out;
    },
  };
}

} // namespace troupe::actors
