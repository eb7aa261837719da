#include "troupe/node.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/after.hpp"
#include "caf/exit_reason.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "troupe/catalog.hpp"
#include "troupe/errc.hpp"
#include "troupe/introspection.hpp"
#include "troupe/relay.hpp"
#include "troupe/supervisor.hpp"

namespace troupe {

caf::expected<std::shared_ptr<spdlog::logger>> make_node_logger(const app_spec& app,
                                                                const std::string& node,
                                                                bool to_file,
                                                                const std::string& stderr_level) {
  std::vector<spdlog::sink_ptr> sinks;
  try {
    if (to_file) {
      std::error_code ec;
      std::filesystem::create_directories(app.log_dir, ec);
      if (ec)
        return make_error(errc::system_error,
                          "cannot create log directory " + app.log_dir + ": " + ec.message());
      auto path = (std::filesystem::path{app.log_dir} / (node + ".log")).string();
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(path));
      sinks.back()->set_level(spdlog::level::from_str(app.log_level));
    }
    auto err_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    err_sink->set_level(spdlog::level::from_str(stderr_level));
    sinks.push_back(err_sink);
  } catch (const spdlog::spdlog_ex& x) {
    return make_error(errc::system_error, std::string{"cannot open the log file: "} + x.what());
  }
  auto log = std::make_shared<spdlog::logger>(node, sinks.begin(), sinks.end());
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  auto file_level = spdlog::level::from_str(app.log_level);
  auto err_level = spdlog::level::from_str(stderr_level);
  log->set_level(std::min(file_level, err_level));
  log->flush_on(spdlog::level::info);
  return log;
}

node::node(app_spec app, std::string name, const catalog& types, node_options opts)
  : app_(std::move(app)), name_(std::move(name)), types_(types), opts_(std::move(opts)) {
  // nop
}

caf::expected<std::unique_ptr<node>> node::make(app_spec app, std::string name,
                                                const catalog& types, node_options opts) {
  if (!app.find_node(name) && !opts.ephemeral) {
    std::string known;
    for (auto& n : app.nodes)
      known += known.empty() ? n.name : ", " + n.name;
    return make_error(errc::bad_config,
                      app.file + ": no node named \"" + name + "\" (nodes: " + known + ")");
  }
  std::unique_ptr<node> result{new node(std::move(app), std::move(name), types, std::move(opts))};
  auto& self = *result;
  auto log
    = make_node_logger(self.app_, self.name_, self.opts_.log_to_file, self.opts_.stderr_level);
  if (!log)
    return std::move(log.error());
  self.log_ = std::move(*log);
  self.cfg_ = std::make_unique<caf::actor_system_config>();
  auto& cfg = *self.cfg_;
  add_error_category(cfg);
  add_supervisor_types(cfg);
  // Condition-variable wakeups: a cross-core round trip through the work-stealing scheduler's
  // 50 µs polling sleeps costs several times more on this kind of machine (notes/caf-0.17.md).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  if (self.opts_.worker_threads > 0)
    cfg.set("scheduler.max-threads", self.opts_.worker_threads);
  // The middleman gives the node a real node id, which remote handles need.
  cfg.load<caf::io::middleman>();
  types.add_message_types_to(cfg);
  if (self.opts_.configure)
    self.opts_.configure(cfg);
  self.sys_ = std::make_unique<caf::actor_system>(cfg);
  if (self.opts_.bridges) {
    remote_context ctx{*self.sys_, self.name_, self.app_, self.log_,
                       [n = result.get()](const std::string& x) {
                         if (x == introspection_name) {
                           std::lock_guard<std::mutex> guard{n->mtx_};
                           return n->introspector_;
                         }
                         auto hdl = n->registry_.get(x);
                         return hdl ? *hdl : caf::actor{};
                       }};
    auto remote = self.opts_.bridges(ctx);
    if (!remote)
      return std::move(remote.error());
    self.remote_ = std::move(*remote);
    auto spec = self.app_.find_node(self.name_);
    if (spec)
      for (auto& ep : spec->endpoints) {
        auto bound = self.remote_->listen(spec->bind_endpoint(ep));
        if (!bound)
          return make_error(errc::system_error, "node " + self.name_ + " cannot listen at " + ep
                                                  + ": " + describe(bound.error()));
        self.log_->info("listening at {}", *bound);
      }
    auto* n = result.get();
    self.names_ = std::make_unique<name_service>(
      *self.sys_,
      [n](const std::string& home) -> caf::error {
        if (auto err = n->connect(home))
          return make_error(errc::peer_lost, "cannot reach node " + home + ": " + describe(err));
        return caf::none;
      },
      [n](const std::string& home, const std::string& wanted) {
        return n->remote_->lookup(home, wanted, n->app_.bridges.lookup_timeout);
      },
      self.app_.bridges.connect_timeout + self.app_.bridges.lookup_timeout, self.log_);
  }
  self.log_->info("node {} of app {} started (pid {})", self.name_, self.app_.name, ::getpid());
  return result;
}

node::~node() {
  stop();
}

caf::expected<caf::actor> node::spawn_placed(const actor_spec& spec) {
  auto type = types_.find(spec.type);
  if (!type)
    return make_error(errc::bad_config, "unknown actor type " + spec.type);
  spawn_context ctx{*this, spec};
  auto handle = type->make(ctx);
  if (!handle) {
    log_->error("cannot spawn actor {} (type {}): {}", spec.name, spec.type,
                describe(handle.error()));
    return make_error(errc::invalid_state, "cannot spawn actor " + spec.name + " (type " + spec.type
                                             + "): " + describe(handle.error()));
  }
  log_->info("spawned {} (type {})", spec.name, spec.type);
  return handle;
}

caf::expected<caf::actor> node::spawn_remote(const actor_spec& spec) {
  // Runs inside the supervisor's handler: every step is bounded by the app's timeouts.
  if (!remote_)
    return make_error(errc::not_found, "node " + name_ + " has no bridges to reach " + spec.node);
  if (auto err = connect(spec.node))
    return make_error(errc::peer_lost, "cannot reach node " + spec.node + ": " + describe(err));
  auto agent = remote_->lookup(spec.node, introspection_name, app_.bridges.lookup_timeout);
  if (!agent)
    return std::move(agent.error());
  caf::expected<caf::actor> result{caf::error{}};
  caf::scoped_actor self{*sys_};
  self->request(*agent, app_.bridges.lookup_timeout, remote_spawn_atom::value, spec.name)
    .receive([&](caf::actor& hdl) { result = std::move(hdl); },
             [&](caf::error& err) { result = std::move(err); });
  if (result)
    log_->info("spawned {} on node {}", spec.name, spec.node);
  return result;
}

caf::actor node::spawn_supervisor_entry(const supervisor_entry& entry,
                                        const std::map<std::string, caf::actor>& relays) {
  supervisor_spec spec;
  spec.name = entry.name;
  spec.strategy = parse_strategy(entry.strategy).value_or(restart_strategy::one_for_one);
  spec.max_restarts = static_cast<size_t>(entry.max_restarts);
  spec.within = entry.within;
  spec.backoff_initial = entry.backoff_initial;
  spec.backoff_max = entry.backoff_max;
  spec.shutdown_timeout = opts_.stop_timeout / 2;
  for (auto& child : entry.children) {
    child_spec c;
    c.name = child;
    c.relay = relays.at(child);
    if (auto actor = app_.find_actor(child)) {
      c.restart = parse_restart_type(actor->restart).value_or(restart_type::permanent);
      if (actor->node == name_)
        c.start = [this, actor] { return spawn_placed(*actor); };
      else
        c.start = [this, actor] { return spawn_remote(*actor); };
    } else {
      auto nested = app_.find_supervisor(child);
      c.start = [this, nested, &relays]() -> caf::expected<caf::actor> {
        return spawn_supervisor_entry(*nested, relays);
      };
    }
    spec.children.push_back(std::move(c));
  }
  log_->info("starting supervisor {} ({})", entry.name, entry.strategy);
  return spawn_supervisor(*sys_, std::move(spec), log_, true);
}

caf::error node::start() {
  // Supervised children get a relay first: it is the stable handle every other actor looks up,
  // across restarts, even before the child exists.
  for (auto& sup : app_.supervisors) {
    if (sup.node != name_)
      continue;
    for (auto& child : sup.children) {
      auto relay = spawn_relay(*sys_, child);
      relays_.emplace(child, relay);
      put(child, relay);
    }
  }
  // An actor supervised from another node is spawned here when that supervisor asks: until then
  // (and across its restarts) local references and lookups from other nodes reach it through a
  // relay, like any supervised name.
  for (auto spec : app_.actors_on(name_)) {
    auto sup = app_.supervisor_of(spec->name);
    if (sup && sup->node != name_ && relays_.count(spec->name) == 0) {
      auto relay = spawn_relay(*sys_, spec->name);
      relays_.emplace(spec->name, relay);
      put(spec->name, relay);
    }
  }
  for (auto spec : app_.actors_on(name_)) {
    if (app_.supervisor_of(spec->name))
      continue; // started by its supervisor
    auto handle = spawn_placed(*spec);
    if (!handle)
      return std::move(handle.error());
    put(spec->name, *handle);
  }
  std::vector<std::pair<std::string, caf::actor>> supervisors;
  for (auto& sup : app_.supervisors) {
    if (sup.node != name_)
      continue;
    if (app_.supervisor_of(sup.name)) {
      supervisors.emplace_back(sup.name, relays_.at(sup.name)); // nested: reached via its relay
      continue;
    }
    auto hdl = spawn_supervisor_entry(sup, relays_);
    watch_top_supervisor(sup.name, hdl);
    put(sup.name, hdl);
    supervisors.emplace_back(sup.name, hdl);
    // A supervisor starts its children before it handles its first message: once it answers,
    // the names resolve to running actors (or it failed to start them and says why).
    caf::scoped_actor self{*sys_};
    self->monitor(hdl);
    caf::error failed;
    self->request(hdl, std::chrono::seconds{30}, supervisor_status_atom::value)
      .receive([](std::string&) {}, [&](caf::error& err) { failed = std::move(err); });
    if (failed) {
      // The supervisor is gone when it could not start a child: its exit reason says which child
      // and why, where the request only says that the receiver is down.
      self->receive([&](caf::down_msg& dm) { failed = std::move(dm.reason); },
                    caf::after(std::chrono::seconds{1}) >> [] {});
      return make_error(errc::invalid_state,
                        "supervisor " + sup.name + " failed to start: " + describe(failed));
    }
    self->demonitor(hdl);
  }
  std::vector<actor_report> reports;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [name, hdl] : owned_) {
      if (app_.find_supervisor(name) || app_.supervisor_of(name))
        continue; // reported by their supervisors
      auto spec = app_.find_actor(name);
      reports.push_back({name, spec ? spec->type : std::string{"?"}, hdl});
    }
  }
  // Supervisors on other nodes start the actors they supervise here through this agent.
  auto spawn_for_peer = [this](const std::string& who) -> caf::expected<caf::actor> {
    auto spec = app_.find_actor(who);
    auto sup = app_.supervisor_of(who);
    if (!spec || spec->node != name_ || !sup || sup->node == name_)
      return make_error(errc::not_found,
                        "node " + name_ + " hosts no remotely supervised actor named " + who);
    auto hdl = spawn_placed(*spec);
    if (hdl) {
      // Found by name here; sent as the relay itself (relays take control only from their node).
      caf::send_as(relays_.at(who), relays_.at(who), relay_set_atom::value, *hdl);
      std::lock_guard<std::mutex> guard{mtx_};
      owned_.emplace_back(who, *hdl); // stopped with the node
    }
    return hdl;
  };
  std::vector<std::pair<std::string, caf::actor>> relays(relays_.begin(), relays_.end());
  // Detached: its remote_spawn handler blocks while a factory runs (see spawn_supervisor).
  auto intro = sys_->spawn<caf::detached>(
    introspector, name_, app_.name, app_.hash, std::move(reports), std::move(supervisors),
    std::move(relays),
    std::function<caf::expected<caf::actor>(const std::string&)>{std::move(spawn_for_peer)},
    std::function<std::vector<name_stats>()>{[this] { return remote_names(); }}, remote_.get());
  // Keep the bridges this node opens to the nodes it works with (references or supervision in
  // either direction) up for good: a peer that is the one to be connected to learns of this node
  // only that way, also after either of them restarted.
  if (names_ && !opts_.ephemeral)
    for (auto& peer : app_.nodes)
      if (peer.name != name_ && app_.connects_to(name_, peer.name) && related(peer.name))
        names_->keep_connected(peer.name);
  std::lock_guard<std::mutex> guard{mtx_};
  introspector_ = std::move(intro);
  started_ = true;
  if (fatal_) // a supervisor gave up between its start and now
    return make_error(errc::invalid_state, describe(fatal_reason_));
  return caf::none;
}

void node::watch_top_supervisor(const std::string& sup, const caf::actor& hdl) {
  // A top supervisor ends normally only when the node stops it; any other end means it gave up.
  hdl->attach_functor([this, sup](const caf::error& reason) {
    if (!reason || reason == caf::exit_reason::normal || reason == caf::exit_reason::user_shutdown)
      return;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopped_ || fatal_)
        return;
      fatal_ = true;
      fatal_reason_ = reason;
      if (!started_)
        return; // `start` fails with this reason
    }
    log_->critical("supervisor {} gave up: {}; node {} stops with a failure status", sup,
                   describe(reason), name_);
    if (opts_.on_fatal)
      opts_.on_fatal(reason);
  });
}

bool node::failed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return fatal_;
}

caf::error node::connect(const std::string& peer) const {
  if (!remote_)
    return make_error(errc::not_found, "node " + name_ + " has no bridges");
  if (remote_->connected(peer))
    return caf::none;
  auto spec = app_.find_node(peer);
  if (!spec)
    return make_error(errc::not_found, "the app has no node named " + peer);
  if (spec->listen.empty() || (!opts_.ephemeral && app_.connects_to(peer, name_))) {
    // The peer opens this bridge: wait (bounded) for it rather than opening a second one.
    auto deadline = std::chrono::steady_clock::now() + app_.bridges.connect_timeout;
    while (std::chrono::steady_clock::now() < deadline && !stopping_) {
      if (remote_->connected(peer))
        return caf::none;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    return make_error(errc::timeout, "node " + peer + " has not connected to node " + name_);
  }
  return remote_->connect(peer, app_.endpoint_for(name_, peer), app_.bridges.connect_timeout);
}

bool node::related(const std::string& peer) const {
  auto refers = [&](const std::string& from, const std::string& to) {
    for (auto& a : app_.actors)
      if (a.node == from)
        for (auto& ref : a.refs)
          if (home_of(ref) == to)
            return true;
    for (auto& sup : app_.supervisors)
      if (sup.node == from)
        for (auto& child : sup.children)
          if (home_of(child) == to)
            return true;
    return false;
  };
  return refers(name_, peer) || refers(peer, name_);
}

std::string node::home_of(const std::string& name) const {
  if (auto entry = app_.find_supervisor(name))
    return entry->node;
  if (auto spec = app_.find_actor(name))
    return spec->node;
  return {};
}

name_buffer node::buffer_of(const std::string& name) const {
  name_buffer result;
  if (auto spec = app_.find_actor(name)) {
    result.time = spec->buffer;
    result.max = spec->buffer_max;
  }
  return result;
}

caf::expected<caf::actor> node::lookup(const std::string& name) const {
  return by_name(name, true);
}

caf::expected<caf::actor> node::name_ref(const std::string& name) const {
  return by_name(name, false);
}

caf::expected<caf::actor> node::by_name(const std::string& name, bool wait) const {
  if (auto hdl = registry_.get(name))
    return *hdl;
  auto home = home_of(name);
  if (home.empty() || home == name_)
    return make_error(errc::not_found, "no actor named " + name + " on node " + name_);
  if (!remote_ || !names_)
    return make_error(errc::not_found, "actor " + name + " runs on node " + home + ", and node "
                                         + name_ + " has no bridge to it");
  if (wait)
    return names_->resolve(name, home, buffer_of(name));
  auto hdl = names_->handle(name, home, buffer_of(name));
  if (!hdl)
    return make_error(errc::invalid_state, "node " + name_ + " is stopping");
  return hdl;
}

std::vector<name_stats> node::remote_names() const {
  return names_ ? names_->stats() : std::vector<name_stats>{};
}

void node::put(const std::string& name, caf::actor handle) {
  registry_.put(name, handle);
  std::lock_guard<std::mutex> guard{mtx_};
  owned_.emplace_back(name, std::move(handle));
}

std::shared_ptr<void> node::persistent_slot(const std::string& name,
                                            const std::function<std::shared_ptr<void>()>& make) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& slot = persistent_[name];
  if (!slot)
    slot = make();
  return slot;
}

void node::at_stop(std::function<void()> fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  stop_hooks_.push_back(std::move(fn));
}

caf::error node::stop() {
  std::vector<std::function<void()>> hooks;
  std::vector<std::pair<std::string, caf::actor>> owned;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopped_ || !sys_)
      return caf::none;
    stopped_ = true;
    hooks.swap(stop_hooks_);
    owned.swap(owned_);
    if (introspector_)
      owned.emplace_back(introspection_name, std::move(introspector_));
  }
  log_->info("stopping node {}", name_);
  for (auto& fn : hooks)
    fn();
  registry_.clear();
  caf::error result;
  {
    caf::scoped_actor self{*sys_};
    for (auto& [name, hdl] : owned) {
      self->monitor(hdl);
      self->send_exit(hdl, caf::exit_reason::user_shutdown);
    }
    std::vector<caf::actor_addr> pending;
    for (auto& kvp : owned)
      pending.push_back(kvp.second.address());
    auto deadline = std::chrono::steady_clock::now() + opts_.stop_timeout;
    bool timed_out = false;
    while (!pending.empty() && !timed_out) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        break;
      self->receive(
        [&](caf::down_msg& dm) {
          pending.erase(std::remove(pending.begin(), pending.end(), dm.source), pending.end());
        },
        caf::after(left) >> [&] { timed_out = true; });
    }
    if (!pending.empty()) {
      std::string stuck;
      for (auto& [name, hdl] : owned)
        if (std::find(pending.begin(), pending.end(), hdl.address()) != pending.end())
          stuck += stuck.empty() ? name : ", " + name;
      log_->error("actors did not stop within {} ms: {}", opts_.stop_timeout.count(), stuck);
      result = make_error(errc::timeout, "actors did not stop in time: " + stuck);
    }
  }
  owned.clear();
  // The bridges first: that ends a connect a name worker may be waiting in.
  if (names_)
    names_->begin_stop();
  stopping_ = true;
  if (remote_)
    remote_->stop();
  if (names_)
    names_->stop();
  if (!result)
    log_->info("node {} stopped", name_);
  log_->flush();
  return result;
}

} // namespace troupe
