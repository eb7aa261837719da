#include "troupe/duration.hpp"

#include <cmath>
#include <cstdlib>

namespace troupe {

std::optional<timespan> parse_duration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
    ++i;
  if (i == 0 || i == text.size())
    return std::nullopt;
  std::string number{text.substr(0, i)};
  if (number.find('.') != number.rfind('.') || number == ".")
    return std::nullopt;
  auto unit = text.substr(i);
  double scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "min")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value))
    return std::nullopt;
  double ns = value * scale;
  // Ten years is far beyond any sensible timeout and far below int64 nanoseconds.
  if (ns > 3.2e17)
    return std::nullopt;
  return timespan{static_cast<int64_t>(std::llround(ns))};
}

std::string to_string_duration(timespan x) {
  struct unit {
    int64_t ns;
    const char* name;
  };
  static constexpr unit units[] = {{3600'000'000'000, "h"},
                                   {60'000'000'000, "min"},
                                   {1'000'000'000, "s"},
                                   {1'000'000, "ms"},
                                   {1'000, "us"}};
  auto n = x.count();
  if (n == 0)
    return "0s";
  for (auto& u : units)
    if (n % u.ns == 0)
      return std::to_string(n / u.ns) + u.name;
  return std::to_string(n) + "ns";
}

} // namespace troupe
