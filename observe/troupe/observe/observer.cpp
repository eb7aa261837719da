#include "troupe/observe/observer.hpp"

#include <csignal>
#include <future>
#include <vector>

#include "caf/scoped_actor.hpp"

#include "troupe/errc.hpp"
#include "troupe/introspection.hpp"
#include "troupe/launcher.hpp"

namespace troupe::observe {

caf::expected<std::unique_ptr<observer>> observer::make(const app_spec& app, const catalog& types,
                                                        node_options opts, std::string name) {
  opts.ephemeral = true;
  opts.log_to_file = false;
  opts.stderr_level = "off";
  auto n = node::make(app, std::move(name), types, std::move(opts));
  if (!n)
    return std::move(n.error());
  return std::unique_ptr<observer>{new observer(app, std::move(*n))};
}

observer::observer(app_spec app, std::unique_ptr<node> n)
  : app_(std::move(app)), node_(std::move(n)) {
  // nop
}

observer::~observer() {
  {
    std::lock_guard<std::mutex> guard{handles_mtx_};
    handles_.clear();
  }
  node_->stop();
}

caf::expected<std::string> observer::query(const node_spec& peer,
                                           std::chrono::milliseconds timeout) {
  if (peer.listen.empty())
    return make_error(errc::not_found, "node does not listen");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  caf::actor hdl;
  {
    std::lock_guard<std::mutex> guard{handles_mtx_};
    auto i = handles_.find(peer.name);
    if (i != handles_.end())
      hdl = i->second;
  }
  auto remote = node_->remote();
  if (!hdl) {
    if (!remote->connected(peer.name))
      if (auto err = remote->connect(peer.name, peer.listen, timeout))
        return err;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto h = remote->lookup(peer.name, introspection_name,
                            std::max(left, std::chrono::milliseconds{100}));
    if (!h)
      return std::move(h.error());
    hdl = *h;
    std::lock_guard<std::mutex> guard{handles_mtx_};
    handles_[peer.name] = hdl;
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - std::chrono::steady_clock::now());
  caf::expected<std::string> result{caf::error{}};
  caf::scoped_actor self{node_->system()};
  self->request(hdl, std::max(left, std::chrono::milliseconds{100}), caf::atom("status"))
    .receive([&](std::string& json) { result = std::move(json); },
             [&](caf::error& err) { result = std::move(err); });
  if (!result) {
    std::lock_guard<std::mutex> guard{handles_mtx_};
    handles_.erase(peer.name); // look it up again next time (the node may have restarted)
  }
  return result;
}

std::string observer::status_json(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto info = read_run_file(app_.run_file());
  if (info && ::kill(static_cast<pid_t>(info->pid), 0) != 0)
    info.reset(); // stale run file
  std::vector<std::future<caf::expected<std::string>>> reports;
  for (auto& spec : app_.nodes)
    reports.push_back(
      std::async(std::launch::async, [this, &spec, timeout] { return query(spec, timeout); }));
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  std::string out = "{\"app\":\"" + json_escape(app_.name)
                    + "\",\"launcher_pid\":" + std::to_string(info ? info->pid : 0)
                    + ",\"time_ms\":" + std::to_string(now) + ",\"nodes\":[";
  for (size_t i = 0; i < app_.nodes.size(); ++i) {
    auto& spec = app_.nodes[i];
    auto report = reports[i].get();
    const run_entry* entry = nullptr;
    if (info)
      for (auto& e : info->nodes)
        if (e.node == spec.name)
          entry = &e;
    std::string state = entry ? entry->state : (report ? "running" : "unknown");
    if (!report && !spec.listen.empty() && state == "running")
      state = entry ? "unreachable" : "down";
    if (!spec.launch && !report)
      state = "not started by troupe run";
    out += i > 0 ? "," : "";
    out += "{\"node\":\"" + json_escape(spec.name)
           + "\",\"pid\":" + std::to_string(entry ? entry->pid : 0) + ",\"restarts\":"
           + std::to_string(entry ? entry->restarts : 0) + ",\"state\":\"" + json_escape(state)
           + "\",\"last_exit\":\"" + json_escape(entry ? entry->last_exit : std::string{})
           + "\",\"listen\":\"" + json_escape(spec.listen) + "\",\"error\":"
           + (report ? std::string{"null"} : "\"" + json_escape(describe(report.error())) + "\"")
           + ",\"report\":" + (report ? *report : "null") + "}";
  }
  // The placement from the app file, so that readers can show actors whose node is down.
  out += "],\"actors\":[";
  for (size_t i = 0; i < app_.actors.size(); ++i) {
    auto& a = app_.actors[i];
    auto sup = app_.supervisor_of(a.name);
    out += (i > 0 ? ",{" : "{") + std::string{"\"name\":\""} + json_escape(a.name)
           + "\",\"type\":\"" + json_escape(a.type) + "\",\"node\":\"" + json_escape(a.node)
           + "\",\"supervisor\":" + (sup ? "\"" + json_escape(sup->name) + "\"" : "null") + "}";
  }
  out += "],\"supervisors\":[";
  for (size_t i = 0; i < app_.supervisors.size(); ++i) {
    auto& s = app_.supervisors[i];
    out += (i > 0 ? ",{" : "{") + std::string{"\"name\":\""} + json_escape(s.name)
           + "\",\"node\":\"" + json_escape(s.node) + "\",\"strategy\":\"" + json_escape(s.strategy)
           + "\",\"children\":[";
    for (size_t j = 0; j < s.children.size(); ++j)
      out += (j > 0 ? ",\"" : "\"") + json_escape(s.children[j]) + "\"";
    out += "]}";
  }
  return out + "]}";
}

} // namespace troupe::observe
