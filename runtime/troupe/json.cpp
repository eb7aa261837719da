#include "troupe/json.hpp"

#include <cmath>
#include <cstdlib>

namespace troupe {

namespace {

struct parser {
  const std::string& in;
  size_t pos = 0;
  int depth = 0;

  void ws() {
    while (pos < in.size()
           && (in[pos] == ' ' || in[pos] == '\n' || in[pos] == '\t' || in[pos] == '\r'))
      ++pos;
  }

  bool lit(const char* x) {
    auto n = std::char_traits<char>::length(x);
    if (in.compare(pos, n, x) != 0)
      return false;
    pos += n;
    return true;
  }

  bool str(std::string& out) {
    if (pos >= in.size() || in[pos] != '"')
      return false;
    ++pos;
    while (pos < in.size() && in[pos] != '"') {
      char c = in[pos++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= in.size())
        return false;
      char e = in[pos++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (pos + 4 > in.size())
            return false;
          auto code = std::strtoul(in.substr(pos, 4).c_str(), nullptr, 16);
          pos += 4;
          out += code < 0x80 ? static_cast<char>(code) : '?';
          break;
        }
        default: out += e;
      }
    }
    if (pos >= in.size())
      return false;
    ++pos;
    return true;
  }

  bool value(json_value& out) {
    if (++depth > 64)
      return false;
    ws();
    if (pos >= in.size())
      return false;
    auto c = in[pos];
    bool ok = true;
    if (c == '{') {
      out.type = json_value::kind::object;
      ++pos;
      ws();
      if (pos < in.size() && in[pos] == '}') {
        ++pos;
      } else {
        for (;;) {
          ws();
          std::string key;
          if (!str(key))
            return false;
          ws();
          if (pos >= in.size() || in[pos++] != ':')
            return false;
          if (!value(out.object[key]))
            return false;
          ws();
          if (pos < in.size() && in[pos] == ',') {
            ++pos;
            continue;
          }
          if (pos >= in.size() || in[pos++] != '}')
            return false;
          break;
        }
      }
    } else if (c == '[') {
      out.type = json_value::kind::array;
      ++pos;
      ws();
      if (pos < in.size() && in[pos] == ']') {
        ++pos;
      } else {
        for (;;) {
          out.array.emplace_back();
          if (!value(out.array.back()))
            return false;
          ws();
          if (pos < in.size() && in[pos] == ',') {
            ++pos;
            continue;
          }
          if (pos >= in.size() || in[pos++] != ']')
            return false;
          break;
        }
      }
    } else if (c == '"') {
      out.type = json_value::kind::string;
      ok = str(out.string);
    } else if (lit("null")) {
      out.type = json_value::kind::null;
    } else if (lit("true") || lit("false")) {
      out.type = json_value::kind::boolean;
      out.boolean = in[pos - 1] == 'e' && in[pos - 2] == 'u';
    } else {
      char* end = nullptr;
      out.type = json_value::kind::number;
      out.number = std::strtod(in.c_str() + pos, &end);
      if (end == in.c_str() + pos)
        return false;
      pos = static_cast<size_t>(end - in.c_str());
    }
    --depth;
    return ok;
  }
};

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
  parser p{input};
  json_value result;
  if (!p.value(result))
    return std::nullopt;
  p.ws();
  if (p.pos != input.size())
    return std::nullopt;
  return result;
}

} // namespace troupe
