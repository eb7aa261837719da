#include "troupe/relay.hpp"

#include "caf/actor_system.hpp"
#include <algorithm>

#include "caf/default_attachable.hpp"
#include "caf/delegated.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/message_view.hpp"
#include "caf/result.hpp"

#include "troupe/counted_actor.hpp"
#include "troupe/errc.hpp"

namespace troupe {

namespace {

using self_ptr = relay_actor*;

void clear_target(self_ptr self, std::string why) {
  auto& st = self->state;
  st.target = nullptr; // still monitored: its end is reported to the relay's watchers
  st.why = std::move(why);
}

} // namespace

void relay_base::notify_watchers(const caf::error& reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto p = attachables_head_.get(); p != nullptr; p = p->next.get())
    if (dynamic_cast<caf::default_attachable*>(p) != nullptr)
      p->actor_exited(reason, context());
}

caf::behavior relay(relay_actor* self, std::string child) {
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
    auto& st = self->state;
    auto i = std::find(st.watched.begin(), st.watched.end(), dm.source);
    if (i == st.watched.end())
      return;
    st.watched.erase(i);
    if (st.target && dm.source == st.target.address())
      clear_target(self, "down");
    self->notify_watchers(dm.reason);
  });
  // Control comes from the node's own runtime (its supervisor, its node), never from a client or
  // another node: an anonymous or remote `relay_clr` would otherwise disable a name for good, and
  // a `relay_set` would redirect its traffic.
  auto from_runtime = [self]() -> caf::error {
    auto& src = self->current_sender();
    if (src && src->node() == self->node())
      return caf::none;
    return make_error(errc::invalid_state, "relay control of " + self->state.child
                                             + " is accepted only from its node's own runtime");
  };
  return {
    [self, from_runtime](relay_set_atom, caf::actor& target) -> caf::result<void> {
      if (auto err = from_runtime())
        return err;
      if (!target) {
        clear_target(self, "stopped");
        return caf::unit;
      }
      if (self->state.target == target)
        return caf::unit;
      clear_target(self, {});
      self->state.target = std::move(target);
      auto addr = self->state.target.address();
      if (std::find(self->state.watched.begin(), self->state.watched.end(), addr)
          == self->state.watched.end()) {
        self->state.watched.push_back(addr);
        self->monitor(self->state.target);
      }
      return caf::unit;
    },
    [self, from_runtime](relay_clear_atom, std::string& why) -> caf::result<void> {
      if (auto err = from_runtime())
        return err;
      clear_target(self, std::move(why));
      return caf::unit;
    },
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
