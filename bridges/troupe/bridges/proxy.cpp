#include "troupe/bridges/proxy.hpp"

#include "caf/actor_registry.hpp"
#include "caf/actor_system.hpp"
#include "caf/exit_reason.hpp"
#include "caf/mailbox_element.hpp"
#include "caf/sec.hpp"
#include "caf/system_messages.hpp"

#include "troupe/bridges/codec.hpp"
#include "troupe/bridges/detail/peer.hpp"
#include "troupe/errc.hpp"

namespace troupe::bridges {

remote_proxy::remote_proxy(caf::actor_config& cfg, std::shared_ptr<detail::peer> session)
  : caf::actor_proxy(cfg), session_(std::move(session)) {
  // nop
}

remote_proxy::~remote_proxy() {
  // nop
}

void remote_proxy::bounce(const caf::strong_actor_ptr& sender, caf::message_id mid,
                          caf::error reason, caf::execution_unit* ctx) {
  if (!sender || !mid.is_request())
    return;
  sender->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{ctrl()}, mid.response_id(), {},
                                            caf::make_message(std::move(reason))),
                  ctx);
}

void remote_proxy::enqueue(caf::mailbox_element_ptr what, caf::execution_unit* ctx) {
  auto sender = std::move(what->sender);
  auto mid = what->mid;
  auto msg = what->move_content_to_message();
  auto& sys = home_system();
  // A linked local actor announces its exit: our side of the link ends with it (as in CAF's
  // forwarding proxy), the frame below ends the remote side.
  if (msg.match_elements<caf::exit_msg>())
    unlink_from(msg.get_as<caf::exit_msg>(0).source);
  if (killed_.load()) {
    auto reason = session_->alive() ? caf::make_error(caf::sec::request_receiver_down)
                                    : session_->loss_reason();
    bounce(sender, mid, std::move(reason), ctx);
    return;
  }
  std::vector<char> frame;
  frame.reserve(128);
  if (node() != session_->node()) {
    // A routed proxy: the actor lives beyond the session's peer, which forwards the frame.
    caf::actor_id sid = 0;
    caf::node_id snode;
    if (sender) {
      sid = sender->id();
      if (sender->node() == sys.node()) {
        if (last_registered_.exchange(sid, std::memory_order_relaxed) != sid)
          sys.registry().put(sid, sender);
      } else {
        snode = sender->node();
      }
    }
    encode_routed_header(frame, frame_kind::message, sid, snode, id(), node(), mid.integer_value());
  } else if (!sender) {
    encode_header(frame, frame_kind::message, 0, id(), {}, mid.integer_value());
  } else if (sender->node() == sys.node()) {
    // Register the sender by id so that the reply, addressed by id, finds it. The registry takes
    // an exclusive lock; skip it for the common case of the same sender again (actor ids are
    // never reused and an entry lives until its actor terminates, so the shortcut is exact).
    if (last_registered_.exchange(sender->id(), std::memory_order_relaxed) != sender->id())
      sys.registry().put(sender->id(), sender);
    encode_header(frame, frame_kind::message, sender->id(), id(), {}, mid.integer_value());
  } else {
    // The sender is itself remote (e.g. a delegated request): name its node explicitly.
    encode_header(frame, frame_kind::message, sender->id(), sender->node(), id(), {},
                  mid.integer_value());
  }
  auto header_size = frame.size();
  if (auto err = encode_payload(sys, sys.dummy_execution_unit(), msg, frame, &session_->types())) {
    session_->counters.errors.fetch_add(1, std::memory_order_relaxed);
    if (!mid.is_response()) {
      bounce(sender, mid, std::move(err), ctx);
      return;
    }
    // A response the peer cannot decode still has to end the request: send the error instead.
    frame.resize(header_size);
    if (encode_payload(sys, sys.dummy_execution_unit(), caf::make_message(std::move(err)), frame))
      return;
  }
  caf::error err;
  if (sender && mid.is_request())
    err = session_->send_request(std::move(frame), sender, mid);
  else
    err = session_->send(std::move(frame));
  if (err)
    bounce(sender, mid, std::move(err), ctx);
}

void remote_proxy::send_link_frame(bool link, caf::abstract_actor* x) {
  auto& sys = home_system();
  if (x->node() != sys.node() || node() != session_->node())
    return; // links between two proxies, and links over a routed proxy, are not forwarded
  // Called inside CAF's critical section over both actors: no actor registry here (see peer).
  if (link)
    session_->add_linked_local(x->id(), x->ctrl());
  else
    session_->remove_linked_local(x->id());
  std::vector<char> frame;
  encode_header(frame, link ? frame_kind::link : frame_kind::unlink, x->id(), id(), {}, 0);
  encode_nil_body(frame);
  static_cast<void>(session_->send(std::move(frame)));
}

bool remote_proxy::add_backlink(caf::abstract_actor* x) {
  if (!monitorable_actor::add_backlink(x))
    return false;
  send_link_frame(true, x);
  return true;
}

bool remote_proxy::remove_backlink(caf::abstract_actor* x) {
  if (!monitorable_actor::remove_backlink(x))
    return false;
  send_link_frame(false, x);
  return true;
}

bool remote_proxy::add_backlink_local(caf::abstract_actor* x) {
  return monitorable_actor::add_backlink(x);
}

bool remote_proxy::remove_backlink_local(caf::abstract_actor* x) {
  return monitorable_actor::remove_backlink(x);
}

void remote_proxy::kill_proxy(caf::execution_unit* ctx, caf::error reason) {
  if (!killed_.exchange(true))
    session_->counters.proxies.fetch_sub(1, std::memory_order_relaxed);
  cleanup(std::move(reason), ctx);
}

} // namespace troupe::bridges
