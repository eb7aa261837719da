#include "troupe/registry.hpp"

namespace troupe {

uint64_t registry::put(const std::string& name, caf::actor handle) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = entries_[name];
  e.handle = std::move(handle);
  return ++e.epoch;
}

std::optional<caf::actor> registry::get(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(name);
  if (i == entries_.end() || !i->second.handle)
    return std::nullopt;
  return i->second.handle;
}

uint64_t registry::epoch(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(name);
  return i != entries_.end() ? i->second.epoch : 0;
}

void registry::erase(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(name);
  if (i != entries_.end())
    i->second.handle = nullptr; // keep the epoch so a later put still counts up
}

std::vector<std::string> registry::names() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> result;
  for (auto& kvp : entries_)
    if (kvp.second.handle)
      result.push_back(kvp.first);
  return result;
}

std::vector<caf::actor> registry::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<caf::actor> result;
  for (auto& kvp : entries_)
    if (kvp.second.handle)
      result.push_back(std::move(kvp.second.handle));
  entries_.clear();
  return result;
}

} // namespace troupe
