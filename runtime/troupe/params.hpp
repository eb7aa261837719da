#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "troupe/duration.hpp"

namespace troupe {

/// The kinds of value an actor parameter can have in the app file.
enum class param_kind {
  boolean,        ///< `true` / `false`
  integer,        ///< a TOML integer
  number,         ///< a TOML float or integer
  string,         ///< a TOML string
  duration,       ///< a string with a unit: "10s", "250ms"
  duration_range, ///< an array of two durations `["0s", "30s"]`, first <= second
  actor_ref,      ///< the name of another actor of the app
  actor_refs,     ///< an array of names of other actors of the app `["a", "b"]`
};

/// Returns the name used for `x` in error messages and docs ("duration", "actor name", ...).
std::string to_string(param_kind x);

/// A closed interval of durations.
struct duration_range {
  timespan min;
  timespan max;
};

/// One validated parameter value.
/// The C++ type of each kind: `bool`, `int64_t`, `double`, `std::string` (string, actor_ref),
/// `timespan`, `duration_range`, `std::vector<std::string>` (actor_refs).
using param_value = std::variant<bool, int64_t, double, std::string, timespan, duration_range,
                                 std::vector<std::string>>;

/// Renders a parameter value the way the app file spells it.
std::string to_string(const param_value& x);

/// Declares one parameter an actor type accepts.
struct param_spec {
  /// Checks a value; returns the problem or an empty string (see `check`).
  using check_fn = std::function<std::string(const param_value&)>;

  param_spec() = default;

  param_spec(std::string name_, param_kind kind_, std::optional<param_value> default_value_ = {},
             std::string help_ = {}, check_fn check_ = nullptr)
    : name(std::move(name_)), kind(kind_), default_value(std::move(default_value_)),
      help(std::move(help_)), check(std::move(check_)) {
    // nop
  }

  std::string name;
  param_kind kind = param_kind::string;
  /// The value used when the app file omits the parameter; required when empty.
  std::optional<param_value> default_value;
  std::string help;
  /// Checks a given value when the app file is loaded; returns the problem ("must be within
  /// 0..1") or an empty string. Optional.
  check_fn check;
};

/// The validated parameters of one placed actor: every declared parameter is present (given or
/// defaulted) and has the type its spec declares, so the getters cannot fail for declared names.
class params {
public:
  params() = default;

  explicit params(std::map<std::string, param_value> values) : values_(std::move(values)) {
    // nop
  }

  /// Returns whether a value named `name` exists.
  bool contains(const std::string& name) const {
    return values_.count(name) > 0;
  }

  /// Returns the value of the declared parameter `name` as `T`.
  /// @pre `name` is declared by the actor type with a kind whose C++ type is `T`.
  template <class T>
  const T& get(const std::string& name) const {
    return std::get<T>(values_.at(name));
  }

  /// Returns all values, ordered by name.
  const std::map<std::string, param_value>& values() const {
    return values_;
  }

private:
  std::map<std::string, param_value> values_;
};

} // namespace troupe
