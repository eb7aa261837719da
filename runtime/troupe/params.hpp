#pragma once

#include <cstdint>
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
};

/// Returns the name used for `x` in error messages and docs ("duration", "actor name", ...).
std::string to_string(param_kind x);

/// A closed interval of durations.
struct duration_range {
  timespan min;
  timespan max;
};

/// One validated parameter value.
using param_value = std::variant<bool, int64_t, double, std::string, timespan, duration_range>;

/// Renders a parameter value the way the app file spells it.
std::string to_string(const param_value& x);

/// Declares one parameter an actor type accepts.
struct param_spec {
  std::string name;
  param_kind kind;
  /// The value used when the app file omits the parameter; required when empty.
  std::optional<param_value> default_value;
  std::string help;
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
