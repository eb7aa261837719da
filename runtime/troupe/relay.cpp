#include "troupe/relay.hpp"

#include "caf/actor_system.hpp"
#include "caf/delegated.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/message_view.hpp"
#include "caf/result.hpp"

#include "troupe/counted_actor.hpp"
#include "troupe/errc.hpp"

namespace troupe {

namespace {

using self_ptr = caf::stateful_actor<relay_state>*;

void clear_target(self_ptr self, std::string why) {
  auto& st = self->state;
  if (st.target)
    self->demonitor(st.target);
  st.target = nullptr;
  st.why = std::move(why);
}

} // namespace

caf::behavior relay(caf::stateful_actor<relay_state>* self, std::string child) {
  self->state.child = std::move(child);
  self->set_default_handler(
    [self](caf::scheduled_actor*, caf::message_view& mv) -> caf::result<caf::message> {
      auto& st = self->state;
      if (st.target) {
        ++st.forwarded;
        self->delegate(st.target, mv.move_content_to_message());
        return caf::delegated<caf::message>{};
      }
      if (self->current_mailbox_element()->mid.is_request()) {
        ++st.refused;
        return make_error(errc::unavailable, st.child + " is " + st.why);
      }
      // Answering an asynchronous message with an error would hit the sender's error handler,
      // which by default terminates it: a client must not die because a server restarts.
      ++st.dropped;
      return caf::delegated<caf::message>{};
    });
  // An `error` sent asynchronously bypasses the default handler; pass it on like anything else
  // instead of letting the default error handler terminate the relay.
  self->set_error_handler([self](caf::error& err) {
    auto& st = self->state;
    if (st.target) {
      ++st.forwarded;
      self->delegate(st.target, std::move(err));
    } else {
      ++st.dropped;
    }
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    // Stale downs of a previous target are ignored: only the current one matters.
    if (self->state.target && dm.source == self->state.target.address())
      clear_target(self, "down");
  });
  return {
    [self](relay_set_atom, caf::actor& target) {
      if (!target) {
        clear_target(self, "stopped");
        return;
      }
      if (self->state.target == target)
        return;
      clear_target(self, {});
      self->state.target = std::move(target);
      self->monitor(self->state.target);
    },
    [self](relay_clear_atom, std::string& why) { clear_target(self, std::move(why)); },
    [self](relay_get_atom) { return self->state.target; },
    [self](relay_stat_atom) -> caf::result<uint64_t, uint64_t, uint64_t, int64_t, int64_t> {
      auto& st = self->state;
      int64_t depth = -1;
      int64_t handled = -1;
      if (auto c = counters_of(st.target)) {
        depth = static_cast<int64_t>(c->depth);
        handled = static_cast<int64_t>(c->handled);
      }
      return {st.forwarded, st.refused, st.dropped, depth, handled};
    },
  };
}

caf::actor spawn_relay(caf::actor_system& sys, std::string child) {
  return sys.spawn(relay, std::move(child));
}

} // namespace troupe
