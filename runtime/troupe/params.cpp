#include "troupe/params.hpp"

#include <sstream>

namespace troupe {

std::string to_string(param_kind x) {
  switch (x) {
    case param_kind::boolean: return "boolean";
    case param_kind::integer: return "integer";
    case param_kind::number: return "number";
    case param_kind::string: return "string";
    case param_kind::duration: return "duration";
    case param_kind::duration_range: return "duration range";
    case param_kind::actor_ref: return "actor name";
    case param_kind::actor_refs: return "array of actor names";
  }
  return "?";
}

namespace {

struct printer {
  std::string operator()(bool x) const {
    return x ? "true" : "false";
  }
  std::string operator()(int64_t x) const {
    return std::to_string(x);
  }
  std::string operator()(double x) const {
    std::ostringstream out;
    out << x;
    return out.str();
  }
  std::string operator()(const std::string& x) const {
    return '"' + x + '"';
  }
  std::string operator()(timespan x) const {
    return '"' + to_string_duration(x) + '"';
  }
  std::string operator()(const duration_range& x) const {
    return "[\"" + to_string_duration(x.min) + "\", \"" + to_string_duration(x.max) + "\"]";
  }
  std::string operator()(const std::vector<std::string>& xs) const {
    std::string out = "[";
    for (auto& x : xs)
      out += (out.size() > 1 ? ", \"" : "\"") + x + '"';
    return out + "]";
  }
};

} // namespace

std::string to_string(const param_value& x) {
  return std::visit(printer{}, x);
}

} // namespace troupe
