#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"
#include "caf/atom.hpp"
#include "caf/error.hpp"
#include "caf/meta/annotation.hpp"
#include "caf/meta/load_callback.hpp"
#include "caf/meta/save_callback.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/optional.hpp"

#include "troupe/duration.hpp"
#include "troupe/errc.hpp"
#include "troupe/introspection.hpp"

namespace troupe {

/// An `inspect` annotation that names the fields following it, separated by spaces:
/// `f(meta::type_name("counter"), troupe::field_names("count step"), x.count, x.step)`. CAF's
/// own serializers skip it; `troupe inspect` renders the fields as a JSON object with these names.
struct field_names_t : caf::meta::annotation {
  const char* value;
};

/// Returns a `field_names_t` annotation.
constexpr field_names_t field_names(const char* names) {
  return {{}, names};
}

/// A CAF 0.17 inspector that renders what an `inspect` overload lists as JSON: `{"type": NAME,
/// FIELD: VALUE...}` with the names of a `field_names` annotation, else `{"type": NAME,
/// "fields": [VALUE...]}`. Values: booleans, numbers, strings, atoms, durations (as "1500ms"),
/// actors ("actor ID" or null), errors (their description or null), optionals, sequences,
/// maps, pairs, pointers, and nested types with their own `inspect` overload; anything else
/// renders as "?". Used by `troupe inspect` (see counted_actor.hpp).
class json_inspector {
public:
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;

  /// What an `inspect` call produced.
  const std::string& str() const {
    return out_;
  }

  template <class... Ts>
  void operator()(Ts&&... xs) {
    std::string type;
    std::vector<std::string> names;
    std::vector<std::string> values;
    (collect(type, names, values, xs), ...);
    out_ = "{";
    if (!type.empty())
      out_ += "\"type\":\"" + json_escape(type) + "\"";
    if (names.size() == values.size()) {
      for (size_t i = 0; i < values.size(); ++i)
        out_ += (out_.size() > 1 ? "," : "") + std::string{"\""} + json_escape(names[i])
                + "\":" + values[i];
    } else {
      out_ += (out_.size() > 1 ? "," : "") + std::string{"\"fields\":["};
      for (size_t i = 0; i < values.size(); ++i)
        out_ += (i > 0 ? "," : "") + values[i];
      out_ += "]";
    }
    out_ += "}";
  }

  /// Renders one value.
  template <class T>
  static std::string render(const T& x);

private:
  template <class T>
  static void collect(std::string& type, std::vector<std::string>& names,
                      std::vector<std::string>& values, T& x) {
    using type_t = std::decay_t<T>;
    if constexpr (std::is_same_v<type_t, caf::meta::type_name_t>) {
      type = x.value;
    } else if constexpr (std::is_same_v<type_t, field_names_t>) {
      std::string all = x.value;
      size_t pos = 0;
      while (pos < all.size()) {
        auto end = all.find(' ', pos);
        if (end == std::string::npos)
          end = all.size();
        if (end > pos)
          names.push_back(all.substr(pos, end - pos));
        pos = end + 1;
      }
    } else if constexpr (caf::meta::is_annotation<type_t>::value) {
      // save/load callbacks, omittable, hex_formatted: nothing to show
    } else {
      values.push_back(render(x));
    }
  }

  std::string out_;
};

namespace detail {

template <class T, class = void>
struct json_inspectable : std::false_type {};

template <class T>
struct json_inspectable<
  T, std::void_t<decltype(inspect(std::declval<json_inspector&>(), std::declval<T&>()))>>
  : std::true_type {};

template <class T, class = void>
struct is_range : std::false_type {};

template <class T>
struct is_range<T, std::void_t<decltype(std::begin(std::declval<const T&>())),
                               decltype(std::end(std::declval<const T&>()))>> : std::true_type {};

template <class T, class = void>
struct is_map : std::false_type {};

template <class T>
struct is_map<T, std::void_t<typename T::key_type, typename T::mapped_type>> : std::true_type {};

template <class T>
struct is_duration : std::false_type {};

template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};

template <class T>
struct is_pair : std::false_type {};

template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};

template <class T>
struct is_optional : std::false_type {};

template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_optional<caf::optional<T>> : std::true_type {};

template <class T>
struct is_pointer_like : std::false_type {};

template <class T>
struct is_pointer_like<std::shared_ptr<T>> : std::true_type {};

template <class T, class D>
struct is_pointer_like<std::unique_ptr<T, D>> : std::true_type {};

} // namespace detail

template <class T>
std::string json_inspector::render(const T& x) {
  using type = std::decay_t<T>;
  if constexpr (std::is_same_v<type, bool>) {
    return x ? "true" : "false";
  } else if constexpr (std::is_integral_v<type>) {
    return std::to_string(x);
  } else if constexpr (std::is_enum_v<type>) {
    return std::to_string(static_cast<std::underlying_type_t<type>>(x));
  } else if constexpr (std::is_floating_point_v<type>) {
    if (!std::isfinite(x))
      return "null";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.17g", static_cast<double>(x));
    return buf;
  } else if constexpr (std::is_same_v<type, std::string>) {
    return "\"" + json_escape(x) + "\"";
  } else if constexpr (std::is_same_v<type, const char*> || std::is_same_v<type, char*>) {
    return x ? "\"" + json_escape(x) + "\"" : "null";
  } else if constexpr (std::is_same_v<type, caf::atom_value>) {
    return "\"" + json_escape(caf::to_string(x)) + "\"";
  } else if constexpr (detail::is_duration<type>::value) {
    return "\"" + to_string_duration(std::chrono::duration_cast<timespan>(x)) + "\"";
  } else if constexpr (std::is_same_v<type, caf::actor> || std::is_same_v<type, caf::actor_addr>) {
    return x ? "\"actor " + std::to_string(x.id()) + "\"" : "null";
  } else if constexpr (std::is_same_v<type, caf::strong_actor_ptr>) {
    return x ? "\"actor " + std::to_string(x->id()) + "\"" : "null";
  } else if constexpr (std::is_same_v<type, caf::error>) {
    return x ? "\"" + json_escape(describe(x)) + "\"" : "null";
  } else if constexpr (detail::is_optional<type>::value || detail::is_pointer_like<type>::value) {
    return x ? render(*x) : "null";
  } else if constexpr (detail::is_pair<type>::value) {
    return "[" + render(x.first) + "," + render(x.second) + "]";
  } else if constexpr (detail::json_inspectable<type>::value) {
    json_inspector f;
    inspect(f, const_cast<type&>(x)); // reads only: reads_state
    return f.str();
  } else if constexpr (detail::is_map<type>::value) {
    std::string out;
    if constexpr (std::is_same_v<typename type::key_type, std::string>) {
      for (auto& [k, v] : x)
        out += (out.empty() ? "" : ",") + render(k) + ":" + render(v);
      return "{" + out + "}";
    } else {
      for (auto& kv : x)
        out += (out.empty() ? "" : ",") + std::string{"["} + render(kv.first) + ","
               + render(kv.second) + "]";
      return "[" + out + "]";
    }
  } else if constexpr (detail::is_range<type>::value) {
    std::string out;
    for (auto& e : x)
      out += (out.empty() ? "" : ",") + render(e);
    return "[" + out + "]";
  } else {
    return "\"?\"";
  }
}

/// Renders `x` as JSON through its `inspect` overload (see `json_inspector`).
template <class T>
std::string to_json_state(T& x) {
  return json_inspector::render(x);
}

} // namespace troupe
