#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "caf/actor.hpp"
#include "caf/actor_cast.hpp"
#include "caf/actor_config.hpp"
#include "caf/actor_system.hpp"
#include "caf/behavior.hpp"
#include "caf/infer_handle.hpp"
#include "caf/invoke_message_result.hpp"
#include "caf/mailbox_element.hpp"
#include "caf/spawn_options.hpp"
#include "caf/stateful_actor.hpp"

#include "troupe/errc.hpp"
#include "troupe/state_json.hpp"

namespace troupe {

/// What `troupe ps` shows of an actor's mailbox.
struct mailbox_counters {
  /// Messages waiting in the mailbox (enqueued and not yet handled).
  uint64_t depth = 0;
  /// Messages the actor has taken out of its mailbox (handled or dropped as unexpected).
  uint64_t handled = 0;
};

/// Message counters of an actor spawned with `spawn_counted`.
/// @note Written by any enqueuing thread and the actor's own thread; read from any thread.
class actor_counters {
public:
  virtual ~actor_counters() = default;

  /// Returns a consistent-enough snapshot: `depth` never underflows.
  mailbox_counters counters() const noexcept {
    auto handled = handled_.load(std::memory_order_relaxed);
    auto enqueued = enqueued_.load(std::memory_order_relaxed);
    return {enqueued > handled ? enqueued - handled : 0, handled};
  }

protected:
  std::atomic<uint64_t> enqueued_{0};
  std::atomic<uint64_t> handled_{0};
};

/// `(tr_inspect)` → the actor's state as JSON text (see `counted_actor`).
using inspect_state_atom = caf::atom_constant<caf::atom("tr_inspect")>;

namespace detail {

template <class T>
struct state_type_of {
  using type = void;
};

template <class State, class Base>
struct state_type_of<caf::stateful_actor<State, Base>> {
  using type = State;
};

} // namespace detail

/// An event-based (or stateful, or detached) actor of type `Base` that counts the messages
/// entering and leaving its mailbox. CAF 0.17 exposes a mailbox's size only to its owner, so the
/// counting happens at `enqueue` and `consume`, two relaxed atomic increments per message.
///
/// It also answers `(tr_inspect)` itself, between two messages on its own thread (so without
/// stopping it or racing its handlers): with its state rendered as JSON (`json_inspector`) when it
/// is a stateful actor whose state type has an `inspect` overload, else with
/// `errc::bad_request`. Such requests are not counted as handled. This is `troupe inspect`.
template <class Base>
class counted_actor final : public Base, public actor_counters {
public:
  template <class... Ts>
  explicit counted_actor(caf::actor_config& cfg, Ts&&... xs) : Base(cfg, std::forward<Ts>(xs)...) {
    // nop
  }

  using Base::enqueue;

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override {
    enqueued_.fetch_add(1, std::memory_order_relaxed);
    Base::enqueue(std::move(ptr), eu);
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    // Const access: the non-const one un-shares (copies) a message that is shared.
    const auto& content = static_cast<const caf::mailbox_element&>(x).content();
    if (content.size() == 1 && content.match_element<caf::atom_value>(0)
        && content.get_as<caf::atom_value>(0) == inspect_state_atom::value) {
      answer_inspect(x);
      return caf::invoke_message_result::consumed;
    }
    auto result = Base::consume(x);
    if (result != caf::invoke_message_result::skipped)
      handled_.fetch_add(1, std::memory_order_relaxed);
    return result;
  }

private:
  void answer_inspect(caf::mailbox_element& x) {
    if (!x.sender)
      return;
    using state_type = typename detail::state_type_of<Base>::type;
    caf::message reply;
    if constexpr (!std::is_void_v<state_type>) {
      if constexpr (troupe::detail::json_inspectable<state_type>::value)
        reply = caf::make_message(to_json_state(this->state));
      else
        reply = caf::make_message(
          make_error(errc::bad_request, "the state type of this actor has no inspect overload"));
    } else {
      reply = caf::make_message(
        make_error(errc::bad_request, "this actor has no state to inspect (not a stateful actor)"));
    }
    auto id = x.mid.is_request() ? x.mid.response_id() : caf::make_message_id();
    x.sender->enqueue(caf::make_mailbox_element(caf::actor_cast<caf::strong_actor_ptr>(this), id,
                                                {}, std::move(reply)),
                      this->context());
  }
};

/// Calls an actor's function as `fun(self, xs...)` or, when it takes no `self`, `fun(xs...)`, and
/// returns its behavior (none for a function that returns nothing; a typed behavior unboxed).
template <class Impl, class F, class... Ts>
caf::behavior call_actor_fun(F& fun, Impl* self, Ts&&... xs) {
  auto run = [&](auto&& call) -> caf::behavior {
    using result = decltype(call());
    if constexpr (std::is_void_v<result>) {
      call();
      return caf::behavior{};
    } else {
      auto res = call();
      return std::move(res.unbox());
    }
  };
  if constexpr (std::is_invocable_v<F&, Ts&&...>)
    return run([&] { return fun(std::forward<Ts>(xs)...); });
  else
    return run([&] { return fun(self, std::forward<Ts>(xs)...); });
}

/// Spawns the function-based actor `fun(self, xs...)` like `sys.spawn<Os>(fun, xs...)`, as a
/// `counted_actor` so that `troupe ps` can show its mailbox depth and handled messages. Catalog
/// factories use this instead of `sys.spawn`. The arguments are copied (or moved) into the actor
/// and handed to `fun` once, when the actor starts.
template <caf::spawn_options Os = caf::no_spawn_options, class F, class... Ts>
caf::infer_handle_from_fun_t<F> spawn_counted(caf::actor_system& sys, F fun, Ts&&... xs) {
  using impl = caf::infer_impl_from_fun_t<F>;
  caf::actor_config cfg;
  cfg.init_fun = caf::actor_config::init_fun_type{
    [fun = std::move(fun), args = std::make_tuple(std::decay_t<Ts>(std::forward<Ts>(xs))...)](
      caf::local_actor* self) mutable -> caf::behavior {
      return std::apply(
        [&](auto&... ys) {
          return call_actor_fun(fun, static_cast<impl*>(self), std::move(ys)...);
        },
        args);
    }};
  return sys.spawn_impl<counted_actor<impl>, Os>(cfg);
}

/// Returns the counters of `hdl` if it is a local actor spawned with `spawn_counted`.
inline std::optional<mailbox_counters> counters_of(const caf::actor& hdl) {
  if (!hdl)
    return std::nullopt;
  auto* counted = dynamic_cast<actor_counters*>(caf::actor_cast<caf::abstract_actor*>(hdl));
  if (counted == nullptr)
    return std::nullopt;
  return counted->counters();
}

} // namespace troupe
