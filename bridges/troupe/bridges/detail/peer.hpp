#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_control_block.hpp"
#include "caf/error.hpp"
#include "caf/message_id.hpp"
#include "caf/node_id.hpp"

#include "troupe/bridges/transport.hpp"
#include "troupe/remote.hpp"

namespace troupe::detail {

/// Traffic counters of one peer session.
/// @note Updated from the I/O thread and from any sending thread; read by introspection.
struct peer_counters {
  std::atomic<uint64_t> frames_in{0};
  std::atomic<uint64_t> frames_out{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> dropped{0};
  /// Round trips of heartbeat probes: last, sum and count, and a histogram with the bucket
  /// bounds `troupe::rtt_bucket_bounds_us` (one extra bucket for larger values, not cumulative).
  std::atomic<uint64_t> rtt_last_us{0};
  std::atomic<uint64_t> rtt_sum_us{0};
  std::atomic<uint64_t> rtt_count{0};
  std::array<std::atomic<uint64_t>, rtt_bucket_bounds_us.size() + 1> rtt_buckets{};

  /// Records the round trip of one heartbeat probe.
  void record_rtt(uint64_t us) noexcept {
    rtt_last_us.store(us, std::memory_order_relaxed);
    rtt_sum_us.fetch_add(us, std::memory_order_relaxed);
    rtt_count.fetch_add(1, std::memory_order_relaxed);
    size_t i = 0;
    while (i < rtt_bucket_bounds_us.size() && us > rtt_bucket_bounds_us[i])
      ++i;
    rtt_buckets[i].fetch_add(1, std::memory_order_relaxed);
  }
  /// Live proxies made for actors this peer named (bounded by `hub_options::max_proxies_per_peer`).
  std::atomic<uint64_t> proxies{0};
};

/// One established session with a remote node, shared by the hub and every proxy of that node.
/// Once lost it stays lost: a reconnect creates a new `peer`.
/// @note Thread-safe: proxies send from arbitrary threads while the I/O thread receives.
class peer {
public:
  using pending_list = std::vector<std::pair<caf::weak_actor_ptr, caf::message_id>>;

  peer(std::string name, caf::node_id node, bridges::conn_id conn, bridges::transport* tr,
       std::vector<std::string> types)
    : name_(std::move(name)), node_(std::move(node)), conn_(conn), types_(std::move(types)),
      tr_(tr) {
    // nop
  }

  const std::string& name() const noexcept {
    return name_;
  }

  const caf::node_id& node() const noexcept {
    return node_;
  }

  /// Sorted names of the user types the peer can decode.
  const std::vector<std::string>& types() const noexcept {
    return types_;
  }

  bridges::conn_id conn() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return conn_;
  }

  /// Moves the session to another connection (the peer's socket reconnected).
  void conn(bridges::conn_id x) {
    std::lock_guard<std::mutex> guard{mtx_};
    conn_ = x;
  }

  bool alive() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return alive_;
  }

  /// Returns the error that every request to this peer fails with after loss.
  caf::error loss_reason() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return reason_;
  }

  /// Queues `frame`; fails with the loss reason once lost or with the transport's error.
  caf::error send(std::vector<char> frame) {
    std::lock_guard<std::mutex> guard{mtx_};
    return send_locked(std::move(frame));
  }

  /// Queues a request frame and remembers it, so that losing the peer fails it at once.
  /// Registration and the liveness check share one lock with `mark_lost`: no request can slip
  /// in between the loss and the failing of all pending requests.
  caf::error send_request(std::vector<char> frame, const caf::strong_actor_ptr& requester,
                          caf::message_id mid) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto key = std::make_pair(requester->id(), mid.request_id().integer_value());
    pending_.emplace(key, pending_entry{caf::weak_actor_ptr{requester.get()}, mid});
    auto err = send_locked(std::move(frame));
    if (err)
      pending_.erase(key);
    return err;
  }

  /// Forgets a pending request once its response arrived.
  void complete_request(caf::actor_id requester, uint64_t request_id) {
    std::lock_guard<std::mutex> guard{mtx_};
    pending_.erase(std::make_pair(requester, request_id));
  }

  /// Returns the number of requests still waiting for a response.
  size_t pending_requests() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return pending_.size();
  }

  /// Marks the peer lost and hands out its pending requests; returns false if it already was.
  bool mark_lost(caf::error reason, pending_list& out) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!alive_)
      return false;
    alive_ = false;
    reason_ = std::move(reason);
    tr_ = nullptr;
    for (auto& kvp : pending_)
      out.emplace_back(std::move(kvp.second.requester), kvp.second.mid);
    pending_.clear();
    return true;
  }

  /// Remembers a local actor linked to one of this peer's actors, so that frames addressed to
  /// it resolve. The actor registry cannot be used here: registering attaches to the actor,
  /// which deadlocks while CAF holds both actors' locks during `add_backlink`.
  void add_linked_local(caf::actor_id aid, caf::actor_control_block* ctrl) {
    std::lock_guard<std::mutex> guard{mtx_};
    linked_locals_[aid] = caf::weak_actor_ptr{ctrl};
  }

  /// Forgets an entry of `add_linked_local`.
  void remove_linked_local(caf::actor_id aid) {
    std::lock_guard<std::mutex> guard{mtx_};
    linked_locals_.erase(aid);
  }

  /// Returns the linked local actor `aid`, if it is still alive.
  caf::strong_actor_ptr linked_local(caf::actor_id aid) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = linked_locals_.find(aid);
    if (i == linked_locals_.end())
      return nullptr;
    auto result = i->second.lock();
    if (!result)
      linked_locals_.erase(i);
    return result;
  }

  /// Records that this peer watches local actor `aid`; returns false if it already did.
  bool mark_monitored(caf::actor_id aid) {
    std::lock_guard<std::mutex> guard{mtx_};
    return monitored_.insert(aid).second;
  }

  peer_counters counters;

  /// Last time a frame arrived, to the precision of a tick (I/O thread only).
  std::chrono::steady_clock::time_point last_seen;

  /// `counters.frames_in` at the last tick (I/O thread only).
  uint64_t frames_at_tick = 0;

  /// Last time a frame was sent by the I/O thread's heartbeat logic (I/O thread only).
  std::chrono::steady_clock::time_point last_heartbeat;

private:
  struct pending_entry {
    caf::weak_actor_ptr requester;
    caf::message_id mid;
  };

  caf::error send_locked(std::vector<char> frame) {
    if (!alive_ || tr_ == nullptr)
      return reason_;
    auto size = frame.size();
    auto err = tr_->send(conn_, std::move(frame));
    if (err) {
      counters.dropped.fetch_add(1, std::memory_order_relaxed);
      return err;
    }
    counters.frames_out.fetch_add(1, std::memory_order_relaxed);
    counters.bytes_out.fetch_add(size, std::memory_order_relaxed);
    return caf::none;
  }

  const std::string name_;
  const caf::node_id node_;
  mutable std::mutex mtx_;
  bridges::conn_id conn_;
  const std::vector<std::string> types_;
  bridges::transport* tr_;
  bool alive_ = true;
  caf::error reason_;
  std::map<std::pair<caf::actor_id, uint64_t>, pending_entry> pending_;
  std::map<caf::actor_id, caf::weak_actor_ptr> linked_locals_;
  std::set<caf::actor_id> monitored_;
};

} // namespace troupe::detail
