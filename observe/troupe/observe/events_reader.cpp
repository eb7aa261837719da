#include "troupe/observe/events_reader.hpp"

#include <cstdio>
#include <deque>
#include <sys/stat.h>

#include "troupe/json.hpp"

namespace troupe::observe {

std::vector<std::string> events_reader::poll() {
  std::vector<std::string> lines;
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0)
    return lines;
  auto size = static_cast<uint64_t>(st.st_size);
  if (size < offset_) {
    offset_ = 0;
    partial_.clear();
  }
  if (size == offset_)
    return lines;
  auto* f = std::fopen(path_.c_str(), "rb");
  if (f == nullptr)
    return lines;
  std::fseek(f, static_cast<long>(offset_), SEEK_SET);
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    offset_ += n;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        lines.push_back(std::move(partial_));
        partial_.clear();
      } else {
        partial_ += buf[i];
      }
    }
  }
  std::fclose(f);
  return lines;
}

std::string events_json(const std::string& path, int64_t since, size_t max) {
  events_reader r{path};
  std::deque<std::string> kept;
  for (auto& line : r.poll()) {
    auto ev = parse_json(line);
    if (!ev || (*ev)["t"].number <= static_cast<double>(since))
      continue;
    kept.push_back(std::move(line));
    if (kept.size() > max)
      kept.pop_front();
  }
  std::string out = "[";
  for (size_t i = 0; i < kept.size(); ++i)
    out += (i > 0 ? "," : "") + kept[i];
  return out + "]";
}

std::string render_event(const std::string& line) {
  auto ev = parse_json(line);
  if (!ev || ev->type != json_value::kind::object)
    return line;
  auto out = (*ev)["ts"].text() + "  " + (*ev)["source"].text() + "  " + (*ev)["kind"].text();
  for (auto& [key, val] : ev->object) {
    if (key == "ts" || key == "t" || key == "app" || key == "source" || key == "kind")
      continue;
    auto text = val.text();
    out += "  " + key + "=" + (text.find(' ') != std::string::npos ? "\"" + text + "\"" : text);
  }
  return out;
}

} // namespace troupe::observe
