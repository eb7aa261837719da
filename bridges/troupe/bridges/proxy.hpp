#pragma once

#include <atomic>
#include <memory>

#include "caf/actor_proxy.hpp"
#include "caf/fwd.hpp"

namespace troupe::detail {
class peer;
} // namespace troupe::detail

namespace troupe::bridges {

/// A local stand-in for an actor on another node: a real CAF actor whose `enqueue` encodes the
/// mailbox element (sender, message id, payload) into a frame for the peer's session.
///
/// Unlike CAF's `forwarding_actor_proxy`, which silently drops messages once killed, this proxy
/// bounces every request it cannot forward with an error response right away (`errc::peer_lost`
/// after a lost session, `sec::request_receiver_down` after the remote actor terminated,
/// `errc::overloaded` when the outbound queue is full, `sec::unknown_type` when the peer cannot
/// decode a payload type), so callers never wait for their timeout.
/// @note Thread-safe like every CAF actor: `enqueue` runs on the sender's thread.
class remote_proxy final : public caf::actor_proxy {
public:
  remote_proxy(caf::actor_config& cfg, std::shared_ptr<detail::peer> session);

  ~remote_proxy() override;

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* ctx) override;

  /// Records the link locally and tells the peer, which links the real actor back.
  bool add_backlink(caf::abstract_actor* x) override;

  /// Removes the link locally and tells the peer.
  bool remove_backlink(caf::abstract_actor* x) override;

  void kill_proxy(caf::execution_unit* ctx, caf::error reason) override;

  /// Records a link without telling the peer (used when the peer initiated it).
  bool add_backlink_local(caf::abstract_actor* x);

  /// Removes a link without telling the peer (used when the peer initiated it).
  bool remove_backlink_local(caf::abstract_actor* x);

  /// Returns the session this proxy sends through.
  const std::shared_ptr<detail::peer>& session() const noexcept {
    return session_;
  }

private:
  void bounce(const caf::strong_actor_ptr& sender, caf::message_id mid, caf::error reason,
              caf::execution_unit* ctx);

  void send_link_frame(bool link, caf::abstract_actor* x);

  std::shared_ptr<detail::peer> session_;
  std::atomic<bool> killed_{false};
  std::atomic<caf::actor_id> last_registered_{0};
};

} // namespace troupe::bridges
