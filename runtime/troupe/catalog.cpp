#include "troupe/catalog.hpp"

#include "troupe/config.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"

namespace troupe {

caf::actor_system& spawn_context::system() const {
  return host.system();
}

std::shared_ptr<spdlog::logger> spawn_context::logger() const {
  return host.logger();
}

caf::expected<caf::actor> spawn_context::actor_param(const std::string& param) const {
  auto& name = spec.args.get<std::string>(param);
  return host.name_ref(name);
}

void spawn_context::at_stop(std::function<void()> fn) const {
  host.at_stop(std::move(fn));
}

void catalog::add(actor_type type) {
  auto key = type.name;
  types_.insert_or_assign(std::move(key), std::move(type));
}

const actor_type* catalog::find(const std::string& name) const {
  auto i = types_.find(name);
  return i != types_.end() ? &i->second : nullptr;
}

std::vector<std::string> catalog::names() const {
  std::vector<std::string> result;
  for (auto& kvp : types_)
    result.push_back(kvp.first);
  return result;
}

} // namespace troupe
