#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace troupe {

/// A parsed JSON value: just enough to read the introspection reports the nodes send (`troupe ps`).
/// Parsed with nlohmann-json, copied into this small type so that no public header needs it.
struct json_value {
  enum class kind { null, boolean, number, string, array, object } type = kind::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<json_value> array;
  std::map<std::string, json_value> object;

  /// Returns the member `key` of an object, or a null value.
  const json_value& operator[](const std::string& key) const;

  /// Returns the string, or the number rendered as an integer when it is one, or "".
  std::string text() const;
};

/// Parses `input`; returns nothing on malformed input.
std::optional<json_value> parse_json(const std::string& input);

} // namespace troupe
