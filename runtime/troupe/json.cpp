#include "troupe/json.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

namespace troupe {

namespace {

/// Copies `in` into `out`; fails beyond 64 levels of nesting (reports have 4).
bool convert(const nlohmann::json& in, json_value& out, int depth) {
  if (depth > 64)
    return false;
  using t = nlohmann::json::value_t;
  switch (in.type()) {
    case t::null: out.type = json_value::kind::null; return true;
    case t::boolean:
      out.type = json_value::kind::boolean;
      out.boolean = in.get<bool>();
      return true;
    case t::number_integer:
    case t::number_unsigned:
    case t::number_float:
      out.type = json_value::kind::number;
      out.number = in.get<double>();
      return true;
    case t::string:
      out.type = json_value::kind::string;
      out.string = in.get_ref<const std::string&>();
      return true;
    case t::array:
      out.type = json_value::kind::array;
      for (auto& x : in) {
        out.array.emplace_back();
        if (!convert(x, out.array.back(), depth + 1))
          return false;
      }
      return true;
    case t::object:
      out.type = json_value::kind::object;
      for (auto& [key, x] : in.items())
        if (!convert(x, out.object[key], depth + 1))
          return false;
      return true;
    default: return false; // binary, discarded
  }
}

} // namespace

const json_value& json_value::operator[](const std::string& key) const {
  static const json_value null_value;
  auto i = object.find(key);
  return i != object.end() ? i->second : null_value;
}

std::string json_value::text() const {
  if (type == kind::string)
    return string;
  if (type == kind::number) {
    if (std::floor(number) == number && std::fabs(number) < 1e15)
      return std::to_string(static_cast<long long>(number));
    return std::to_string(number);
  }
  if (type == kind::boolean)
    return boolean ? "true" : "false";
  return {};
}

std::optional<json_value> parse_json(const std::string& input) {
  // nlohmann's parser is iterative, so deep input cannot overflow the stack; no exceptions.
  auto doc = nlohmann::json::parse(input, nullptr, false);
  if (doc.is_discarded())
    return std::nullopt;
  json_value result;
  if (!convert(doc, result, 0))
    return std::nullopt;
  return result;
}

} // namespace troupe
