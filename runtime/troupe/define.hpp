#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_cast.hpp"
#include "caf/expected.hpp"
#include "caf/spawn_options.hpp"

#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/counted_actor.hpp"
#include "troupe/params.hpp"

namespace troupe {

/// Maps the C++ type of a factory argument to the parameter kind the app file gives it.
/// Supported: `bool`, `int32_t` (range-checked), `int64_t`, `double`, `std::string`, `timespan`,
/// `duration_range`, `caf::actor` (an actor name, resolved to a handle) and
/// `std::vector<caf::actor>` (an array of actor names).
template <class T>
struct param_traits;

/// Kind and stored (app-file) type of one supported argument type.
template <param_kind Kind, class Stored>
struct param_traits_of {
  static constexpr param_kind kind = Kind;
  using stored = Stored;
};

template <>
struct param_traits<bool> : param_traits_of<param_kind::boolean, bool> {};

template <>
struct param_traits<int64_t> : param_traits_of<param_kind::integer, int64_t> {};

template <>
struct param_traits<int32_t> : param_traits_of<param_kind::integer, int64_t> {};

template <>
struct param_traits<double> : param_traits_of<param_kind::number, double> {};

template <>
struct param_traits<std::string> : param_traits_of<param_kind::string, std::string> {};

template <>
struct param_traits<timespan> : param_traits_of<param_kind::duration, timespan> {};

template <>
struct param_traits<duration_range> : param_traits_of<param_kind::duration_range, duration_range> {
};

template <>
struct param_traits<caf::actor> : param_traits_of<param_kind::actor_ref, std::string> {};

template <>
struct param_traits<std::vector<caf::actor>>
  : param_traits_of<param_kind::actor_refs, std::vector<std::string>> {};

/// One typed parameter of an actor type made with `make_type`: its declaration for the app file
/// and how a factory obtains its value. Create it with `param<T>(...)`.
template <class T>
class typed_param {
public:
  using stored = typename param_traits<T>::stored;

  explicit typed_param(param_spec spec) : spec_(std::move(spec)) {
    if constexpr (std::is_same_v<T, int32_t>)
      add_check([](const stored& x) -> std::string {
        if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
          return "out of range (a 32-bit integer)";
        return {};
      });
  }

  /// Adds a check run when the app file is loaded: `pred(value)` must hold, else loading fails
  /// with `FILE:LINE: actors.NAME.params.KEY: must be WHAT`. Checks must not throw.
  typed_param&& require(std::function<bool(const stored&)> pred, std::string what) && {
    add_check([pred = std::move(pred), what = std::move(what)](const stored& x) {
      return pred(x) ? std::string{} : "must be " + what;
    });
    return std::move(*this);
  }

  /// Returns the declaration the catalog validates the app file against.
  const param_spec& spec() const {
    return spec_;
  }

  /// Obtains the value for one placed actor (resolving actor names to handles).
  caf::expected<T> get(const spawn_context& ctx) const {
    if constexpr (std::is_same_v<T, caf::actor>)
      return ctx.actor_param(spec_.name);
    else if constexpr (std::is_same_v<T, std::vector<caf::actor>>)
      return ctx.actor_list_param(spec_.name);
    else
      return static_cast<T>(ctx.spec.args.get<stored>(spec_.name));
  }

private:
  void add_check(std::function<std::string(const stored&)> fn) {
    auto prev = std::move(spec_.check);
    spec_.check = [prev, fn = std::move(fn)](const param_value& x) -> std::string {
      if (prev)
        if (auto problem = prev(x); !problem.empty())
          return problem;
      return fn(std::get<stored>(x));
    };
  }

  param_spec spec_;
};

/// Declares a required parameter `name` of C++ type `T` (see `param_traits`).
template <class T>
typed_param<T> param(std::string name, std::string help) {
  return typed_param<T>{
    param_spec{std::move(name), param_traits<T>::kind, std::nullopt, std::move(help), nullptr}};
}

/// Declares a parameter `name` of C++ type `T` that defaults to `default_value`.
template <class T>
typed_param<T> param(std::string name, T default_value, std::string help) {
  static_assert(!std::is_same_v<T, caf::actor> && !std::is_same_v<T, std::vector<caf::actor>>,
                "actor references have no default");
  using stored = typename param_traits<T>::stored;
  return typed_param<T>{param_spec{std::move(name), param_traits<T>::kind,
                                   param_value{static_cast<stored>(std::move(default_value))},
                                   std::move(help), nullptr}};
}

/// Makes a catalog entry for the function-based actor `fun(self, args...)` (event-based,
/// stateful or typed; `Os = caf::detached` gives it a thread of its own): the app file's
/// parameters `ps...` are validated at load time and passed to `fun` after `self`, in order, as
/// the C++ types they were declared with. The actor is spawned with `spawn_counted`, so `troupe
/// ps` shows its mailbox.
/// @code
/// types.add(troupe::make_type("counter", "counts what it is told", counter,
///                             troupe::param<int64_t>("start", 0, "the initial count")));
/// @endcode
template <caf::spawn_options Os = caf::no_spawn_options, class F, class... Ts>
actor_type make_type(std::string name, std::string help, F fun, typed_param<Ts>... ps) {
  actor_type result;
  result.name = std::move(name);
  result.help = std::move(help);
  result.params = {ps.spec()...};
  result.make = [fun = std::move(fun), ps = std::make_tuple(std::move(ps)...)](
                  const spawn_context& ctx) mutable -> caf::expected<caf::actor> {
    auto args = std::apply([&](auto&... p) { return std::make_tuple(p.get(ctx)...); }, ps);
    caf::error err;
    std::apply([&](auto&... x) { ((err = !err && !x ? x.error() : err), ...); }, args);
    if (err)
      return err;
    return std::apply(
      [&](auto&... x) {
        return caf::actor_cast<caf::actor>(spawn_counted<Os>(ctx.system(), fun, std::move(*x)...));
      },
      args);
  };
  return result;
}

} // namespace troupe
