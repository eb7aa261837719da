#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "caf/actor.hpp"
#include "caf/error.hpp"
#include "caf/fwd.hpp"
#include "caf/mailbox_element.hpp"
#include "caf/monitorable_actor.hpp"

#include "troupe/duration.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe {

/// How a name treats messages while it has no incarnation (the `buffer` key of an actor).
struct name_buffer {
  /// How long a message may wait for the next incarnation; zero: fail at once.
  timespan time{0};
  /// How many messages may wait at most; more are answered with `errc::overloaded`.
  size_t max = 10000;
};

/// Counters of one name handle, for `troupe ps`.
struct name_stats {
  std::string name;
  std::string home;
  /// `bound`, `resolving` or `down`.
  std::string state;
  /// Incarnations bound so far (1 after the first resolution).
  uint64_t epoch = 0;
  /// Messages handed to an incarnation.
  uint64_t forwarded = 0;
  /// Requests answered with an error because the name had no incarnation.
  uint64_t refused = 0;
  /// Asynchronous messages dropped because the name had no incarnation.
  uint64_t dropped = 0;
  /// Messages waiting for the next incarnation now.
  size_t held = 0;
  /// Requests sent again to a new incarnation because the previous one went down first.
  uint64_t retried = 0;
  /// Why the name has no incarnation (empty while bound).
  std::string why;
};

/// A stable handle to an app-wide *name* hosted on another node, rather than to one incarnation
/// of the actor behind it. It is a real CAF actor (`send`, `request`, `monitor`, `link`, handles
/// inside messages work), but it has no mailbox: `enqueue` hands each message, sender and request
/// id unchanged, to the current incarnation (a bridge proxy), so replies go straight to the caller.
///
/// When the incarnation goes down (the actor terminated, its node died or the bridge was lost),
/// every actor that monitors or links the handle gets a `down_msg` / `exit_msg` whose source is the
/// handle and whose reason is the incarnation's real exit reason, the handle stays valid, and the
/// node's name service looks the name up again until a new incarnation answers. Meanwhile a request
/// fails at once with `errc::unavailable` ("NAME is down: REASON") and an asynchronous message is
/// dropped, unless `name_buffer::time` is set: then messages wait (bounded in time and count) and
/// are delivered in order to the next incarnation; and a request whose incarnation goes down before
/// it answers is sent again to the next one within the same time (at least once: it may have been
/// handled; the handle relays the answer, so callers see one). Messages that arrive before the
/// first lookup completes always wait for it (bounded by the app's connect and lookup timeouts).
/// @note Thread-safe: `enqueue` runs on the sender's thread.
class name_handle final : public caf::monitorable_actor {
public:
  using clock_type = std::chrono::steady_clock;

  name_handle(caf::actor_config& cfg, std::string name, std::string home, name_buffer buf,
              timespan first_wait, std::function<void()> wake);

  ~name_handle() override;

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* ctx) override;

  const char* name() const override;

  // -- used by the name service -----------------------------------------------------------------

  /// Returns the app-wide name.
  const std::string& label() const {
    return label_;
  }

  /// Returns the node that hosts the name.
  const std::string& home() const {
    return home_;
  }

  /// Returns whether the handle has no incarnation and is not stopped.
  bool needs_lookup() const;

  /// Returns how many lookups ended (bound or failed).
  uint64_t attempts() const;

  /// Binds the next incarnation and delivers the waiting messages to it in order.
  void bind(caf::actor target);

  /// A lookup failed: waiting messages that may not wait longer are answered with `why`.
  void lookup_failed(const caf::error& why);

  /// Answers the waiting messages whose time is up.
  void expire(clock_type::time_point now);

  /// Ends the handle (its node stops): waiting messages are answered with `reason`.
  void shutdown(const caf::error& reason);

  /// Returns the counters.
  name_stats stats() const;

private:
  enum class phase { resolving, bound, down, stopped };

  struct held_message {
    caf::mailbox_element_ptr element;
    clock_type::time_point deadline;
  };

  /// A request forwarded on behalf of a caller (buffered names only), kept until it is answered.
  struct inflight_request {
    caf::strong_actor_ptr sender;
    caf::message_id mid;
    caf::message content;
    clock_type::time_point deadline;
    /// The binding it was last sent to.
    uint64_t epoch;
  };

  static bool retryable(const caf::error& err);

  void track(caf::mailbox_element_ptr& what, clock_type::time_point deadline);

  void answer(uint64_t id, caf::strong_actor_ptr responder, caf::message content,
              caf::execution_unit* ctx);

  caf::mailbox_element_ptr resend_element(uint64_t id);

  void target_down(const caf::actor_addr& which, const caf::error& reason);

  void refuse(caf::mailbox_element_ptr& what, const caf::error& err);

  void notify_watchers(const caf::error& reason);

  caf::error unavailable() const;

  std::string label_;
  std::string home_;
  name_buffer buffer_;
  timespan first_wait_;
  std::function<void()> wake_;
  /// Recursive: a proxy that bounces a request calls back into `enqueue` on the same thread.
  mutable std::recursive_mutex state_mtx_;
  phase phase_ = phase::resolving;
  caf::actor target_;
  caf::error why_;
  std::deque<held_message> held_;
  uint64_t epoch_ = 0;
  uint64_t attempts_ = 0;
  uint64_t forwarded_ = 0;
  uint64_t refused_ = 0;
  uint64_t dropped_ = 0;
  uint64_t retried_ = 0;
  uint64_t next_request_ = 1;
  std::map<uint64_t, inflight_request> inflight_;
  /// Requests whose incarnation went down unanswered, waiting for the next one.
  std::vector<uint64_t> parked_;
};

/// The node's name service: creates one `name_handle` per remote name and keeps each bound to the
/// current incarnation of its name, with one worker thread per hosting node (so that an unreachable
/// node never delays the names of another). See docs/SEMANTICS.md, "Names and incarnations".
class name_service {
public:
  /// Opens the bridge to a node (bounded); `caf::none` when it is up.
  using connect_fn = std::function<caf::error(const std::string& home)>;
  /// Looks up a name on a node whose bridge is up (bounded).
  using lookup_fn
    = std::function<caf::expected<caf::actor>(const std::string& home, const std::string& name)>;

  name_service(caf::actor_system& sys, connect_fn connect, lookup_fn lookup, timespan first_wait,
               std::shared_ptr<spdlog::logger> log);

  ~name_service();

  name_service(const name_service&) = delete;
  name_service& operator=(const name_service&) = delete;

  /// Returns the handle of `name` hosted on `home`, creating it (unbound) on first use.
  caf::actor handle(const std::string& name, const std::string& home, name_buffer buf);

  /// Like `handle`, but waits (bounded by the worker's connect and lookup) for the first lookup of
  /// a new handle and returns its error when it fails, so that a caller learns of a wrong name at
  /// once. An existing handle is returned as it is.
  caf::expected<caf::actor> resolve(const std::string& name, const std::string& home,
                                    name_buffer buf);

  /// Keeps the bridge to `home` open: the worker reconnects after every loss.
  void keep_connected(const std::string& home);

  /// Returns the counters of every handle.
  std::vector<name_stats> stats() const;

  /// Tells the workers to finish (they may still be inside a bounded connect or lookup).
  void begin_stop();

  /// Ends every handle and joins the workers. Idempotent.
  void stop();

private:
  struct worker;

  worker& worker_for(const std::string& home);

  void run(worker& w);

  caf::actor_system& sys_;
  connect_fn connect_;
  lookup_fn lookup_;
  timespan first_wait_;
  std::shared_ptr<spdlog::logger> log_;
  mutable std::mutex mtx_;
  std::map<std::string, std::unique_ptr<worker>> workers_;
  std::map<std::string, caf::strong_actor_ptr> handles_;
  bool stopped_ = false;
};

} // namespace troupe
