// troupe: run and inspect Troupe apps.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/logger.h>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/atom.hpp"
#include "caf/message_builder.hpp"
#include "caf/others.hpp"
#include "caf/scoped_actor.hpp"

#include "troupe/actors/catalog.hpp"
#include "troupe/bridges/curve.hpp"
#include "troupe/bridges/remote_nodes.hpp"
#include "troupe/bridges/shm_segment.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/errc.hpp"
#include "troupe/introspection.hpp"
#include "troupe/json.hpp"
#include "troupe/launcher.hpp"
#include "troupe/node.hpp"
#include "troupe/signals.hpp"

namespace {

troupe::catalog make_catalog() {
  troupe::catalog types;
  troupe::actors::add_to(types);
  return types;
}

troupe::node_options make_node_options() {
  troupe::node_options opts;
  opts.configure = troupe::actors::add_message_types;
  opts.bridges = troupe::bridges::make_remote_nodes;
  return opts;
}

caf::expected<troupe::app_spec> load(const std::string& file, const troupe::catalog& types) {
  auto app = troupe::load_app(file, types);
  if (!app)
    std::cerr << "error: " << troupe::config_error_message(app.error()) << '\n';
  return app;
}

int check(const std::string& file, const troupe::catalog& types) {
  auto app = load(file, types);
  if (!app)
    return 2;
  if (auto err = troupe::check_log_dir(app->log_dir)) {
    std::cerr << "error: " << troupe::config_error_message(err) << '\n';
    return 2;
  }
  if (!app->bridges.curve_key.empty()) {
    if (auto keys = troupe::bridges::read_curve_key_file(app->bridges.curve_key); !keys) {
      std::cerr << "error: " << troupe::config_error_message(keys.error()) << '\n';
      return 2;
    }
  } else {
    for (auto& n : app->nodes)
      for (auto& ep : n.endpoints)
        if (ep.rfind("tcp://", 0) == 0) {
          std::cerr << "warning: node " << n.name << " listens on plain " << ep
                    << ": anyone who reaches it can call every name; set [bridges] curve_key "
                       "(troupe keys FILE) to authenticate and encrypt\n";
          break;
        }
  }
  std::cout << "app " << app->name << " (" << app->file << "): " << app->nodes.size()
            << (app->nodes.size() == 1 ? " node, " : " nodes, ") << app->actors.size()
            << (app->actors.size() == 1 ? " actor" : " actors") << '\n';
  std::cout << "logs: " << app->log_dir << "/<node>.log at level " << app->log_level << '\n';
  for (auto& n : app->nodes) {
    std::cout << "node " << n.name;
    for (size_t i = 0; i < n.endpoints.size(); ++i)
      std::cout << (i == 0 ? " listening at " : ", ") << n.endpoints[i];
    std::cout << (n.launch ? "" : " (started by the user, not by troupe run)") << '\n';
    for (auto& l : app->links)
      if (l.a == n.name || l.b == n.name) {
        auto other = l.a == n.name ? l.b : l.a;
        if (app->connects_to(n.name, other))
          std::cout << "  connects to " << other << " at " << app->endpoint_for(n.name, other)
                    << " ([links])\n";
      }
    for (auto a : app->actors_on(n.name)) {
      std::cout << "  " << a->name << ": " << a->type;
      for (auto& [key, val] : a->args.values())
        std::cout << ' ' << key << '=' << troupe::to_string(val);
      std::cout << '\n';
    }
  }
  return 0;
}

/// Runs one node in this process until SIGINT/SIGTERM. `whole_app`: this process is the whole
/// app (not one node of a launched or multi-host app), so it keeps the app's run file.
int run_node(troupe::app_spec app, const std::string& node_name, const troupe::catalog& types,
             bool whole_app = false) {
  auto opts = make_node_options();
  // A top supervisor that gave up: stop the node through the main thread's signal wait, and exit
  // with status 1 so that the launcher counts a node failure.
  opts.on_fatal = [](const caf::error&) { ::kill(::getpid(), SIGTERM); };
  auto n = troupe::node::make(std::move(app), node_name, types, std::move(opts));
  if (!n) {
    std::cerr << "error: " << troupe::config_error_message(n.error()) << '\n';
    troupe::notify_failed(troupe::config_error_message(n.error()));
    return 2;
  }
  auto& sut = **n;
  if (auto err = sut.start()) {
    std::cerr << "error: " << troupe::describe(err) << '\n';
    troupe::notify_failed(troupe::describe(err));
    sut.stop();
    return 1;
  }
  std::cerr << "troupe: node " << node_name << " of app " << sut.app().name << " running (pid "
            << ::getpid() << "); SIGINT or SIGTERM stops it\n";
  troupe::notify_ready();
  auto run_file = sut.app().run_file();
  if (whole_app)
    troupe::write_run_file(run_file, {::getpid(), {{node_name, ::getpid(), 0, "running", {}}}});
  auto sig = troupe::wait_for_stop_signal();
  if (whole_app)
    ::unlink(run_file.c_str());
  auto failed = sut.failed();
  if (failed)
    std::cerr << "troupe: a top supervisor of node " << node_name
              << " gave up (see its log); stopping the node with status 1\n";
  else
    std::cerr << "troupe: signal " << sig << ", stopping node " << node_name << '\n';
  if (auto err = sut.stop()) {
    // Some actor is stuck in a foreign call; waiting in ~actor_system would hang forever.
    std::cerr << "error: " << troupe::describe(err) << "; exiting without waiting\n";
    std::fflush(nullptr);
    ::_exit(3);
  }
  return failed ? 1 : 0;
}

/// After every launched node has ended: removes the shared-memory segments of a node that was
/// killed with SIGKILL and not restarted (the launcher removes its ipc socket file).
void remove_leftovers(const troupe::app_spec& app) {
  static_cast<void>(troupe::bridges::remove_stale_segments(
    "troupe." + troupe::bridges::shm_name_part(app.name) + "_"));
}

int run(const std::string& file, const std::string& node_name, bool inline_node,
        const troupe::catalog& types) {
  auto app = load(file, types);
  if (!app)
    return 2;
  if (!node_name.empty())
    return run_node(std::move(*app), node_name, types);
  std::vector<std::string> launchable;
  for (auto& n : app->nodes)
    if (n.launch)
      launchable.push_back(n.name);
  if (launchable.empty()) {
    std::cerr << "error: " << file << ": no node to launch (every node has launch = false)\n";
    return 2;
  }
  // Even a one-node app gets a launcher, so that a crash of its node (a segfault in a vendor
  // library) is restarted like any other; `--inline` runs the node in this process instead.
  if (inline_node) {
    if (launchable.size() != 1) {
      std::cerr << "error: --inline runs a one-node app in this process, and " << file << " has "
                << launchable.size() << " nodes to launch (use --node NAME for one of them)\n";
      return 2;
    }
    return run_node(std::move(*app), launchable.front(), types, true);
  }
  auto log = troupe::make_node_logger(*app, "launcher", true, "warn");
  if (!log) {
    std::cerr << "error: " << troupe::describe(log.error()) << '\n';
    return 1;
  }
  troupe::launch_options opts;
  char exe[4096];
  auto len = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  opts.exe = len > 0 ? std::string(exe, static_cast<size_t>(len)) : std::string{"troupe"};
  std::cerr << "troupe: starting " << launchable.size()
            << (launchable.size() == 1 ? " node" : " nodes") << " of app " << app->name
            << "; SIGINT or SIGTERM stops them\n";
  auto rc = troupe::launch_app(*app, opts, **log);
  remove_leftovers(*app);
  std::cerr << "troupe: app " << app->name << " stopped\n";
  return rc;
}

/// Turns command-line words into message elements: integers, "quoted strings", @FILE (a string
/// with the file's contents, for payloads too large for a command line), bare atoms.
caf::expected<caf::message> make_call_message(const std::vector<std::string>& words) {
  caf::message_builder mb;
  for (auto& w : words) {
    if (w.size() >= 2 && w.front() == '"' && w.back() == '"') {
      mb.append(w.substr(1, w.size() - 2));
      continue;
    }
    if (w.size() >= 2 && w.front() == '@') {
      std::ifstream in{w.substr(1), std::ios::binary};
      if (!in)
        return troupe::make_error(troupe::errc::bad_request, "cannot read " + w.substr(1));
      mb.append(std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}});
      continue;
    }
    bool numeric
      = !w.empty()
        && (std::isdigit(static_cast<unsigned char>(w[0])) || (w[0] == '-' && w.size() > 1));
    if (numeric) {
      size_t used = 0;
      long long x = 0;
      try {
        x = std::stoll(w, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != w.size())
        return troupe::make_error(troupe::errc::bad_request, "not an integer: " + w);
      if (x >= std::numeric_limits<int32_t>::min() && x <= std::numeric_limits<int32_t>::max())
        mb.append(static_cast<int32_t>(x));
      else
        mb.append(static_cast<int64_t>(x));
      continue;
    }
    if (w.size() > 10)
      return troupe::make_error(troupe::errc::bad_request,
                                "atom too long (max 10 characters; quote strings): " + w);
    mb.append(caf::atom_from_string(w));
  }
  return mb.to_message();
}

std::string render(const caf::message& msg) {
  std::string out;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (!out.empty())
      out += ' ';
    if (msg.match_element<caf::atom_value>(i))
      out += to_string(msg.get_as<caf::atom_value>(i));
    else if (msg.match_element<std::string>(i))
      out += msg.get_as<std::string>(i);
    else
      out += msg.content().stringify(i);
  }
  return out;
}

int call(const std::string& file, const std::string& target, const std::vector<std::string>& words,
         const std::string& timeout_text, const troupe::catalog& types) {
  auto timeout = troupe::parse_duration(timeout_text);
  if (!timeout || timeout->count() == 0) {
    std::cerr << "error: --timeout: invalid duration \"" << timeout_text << "\"\n";
    return 2;
  }
  auto msg = make_call_message(words);
  if (!msg) {
    std::cerr << "error: " << troupe::describe(msg.error()) << '\n';
    return 2;
  }
  auto app = load(file, types);
  if (!app)
    return 2;
  auto opts = make_node_options();
  opts.ephemeral = true;
  opts.log_to_file = false;
  opts.stderr_level = "error";
  auto n = troupe::node::make(std::move(*app), "call-" + std::to_string(::getpid()), types, opts);
  if (!n) {
    std::cerr << "error: " << troupe::config_error_message(n.error()) << '\n';
    return 2;
  }
  auto hdl = (*n)->lookup(target);
  if (!hdl) {
    std::cerr << "error: " << troupe::describe(hdl.error()) << '\n';
    return 1;
  }
  int rc = 0;
  {
    caf::scoped_actor self{(*n)->system()};
    // Any reply type: a catch-all response handler (0.17 takes the error handler first here).
    self->request(*hdl, *timeout, std::move(*msg))
      .receive(
        [&](caf::error& err) {
          std::cerr << "error: " << troupe::describe(err) << '\n';
          rc = 1;
        },
        caf::others >> [&](caf::message_view& reply) -> caf::result<caf::message> {
          std::cout << render(reply.move_content_to_message()) << std::endl;
          return caf::message{};
        });
  }
  (*n)->stop();
  return rc;
}

int stop(const std::string& file, const troupe::catalog& types) {
  auto app = load(file, types);
  if (!app)
    return 2;
  auto info = troupe::read_run_file(app->run_file());
  // The pid of a stale run file may belong to an unrelated process by now: never signal that.
  if (!info || !troupe::is_run_of(info->pid, file)) {
    std::cerr << "error: app " << app->name << " is not running (no live troupe run recorded in "
              << app->run_file() << ")\n";
    return 1;
  }
  ::kill(static_cast<pid_t>(info->pid), SIGTERM);
  for (int i = 0; i < 300; ++i) {
    if (::kill(static_cast<pid_t>(info->pid), 0) != 0) {
      std::cout << "stopped app " << app->name << " (pid " << info->pid << ")\n";
      return 0;
    }
    ::usleep(100000);
  }
  std::cerr << "error: app " << app->name << " (pid " << info->pid
            << ") did not stop within 30 s\n";
  return 1;
}

/// Asks node `peer` for its introspection report (JSON) through the ephemeral node `self_node`.
caf::expected<std::string> query_node(troupe::node& self_node, const troupe::node_spec& peer) {
  auto remote = self_node.remote();
  if (peer.listen.empty())
    return troupe::make_error(troupe::errc::not_found, "node does not listen");
  using namespace std::chrono_literals;
  if (!remote->connected(peer.name))
    if (auto err = remote->connect(peer.name, peer.listen, 1s))
      return err;
  auto hdl = remote->lookup(peer.name, troupe::introspection_name, 2s);
  if (!hdl)
    return std::move(hdl.error());
  caf::expected<std::string> result{caf::error{}};
  caf::scoped_actor self{self_node.system()};
  self->request(*hdl, 2s, caf::atom("status"))
    .receive([&](std::string& json) { result = std::move(json); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

int ps(const std::string& file, bool json, const troupe::catalog& types) {
  auto app = load(file, types);
  if (!app)
    return 2;
  auto info = troupe::read_run_file(app->run_file());
  if (info && !troupe::is_run_of(info->pid, file))
    info.reset(); // stale run file (its pid dead or reused)
  auto opts = make_node_options();
  opts.ephemeral = true;
  opts.log_to_file = false;
  opts.stderr_level = "off";
  auto n = troupe::node::make(*app, "ps-" + std::to_string(::getpid()), types, opts);
  if (!n) {
    std::cerr << "error: " << troupe::config_error_message(n.error()) << '\n';
    return 2;
  }
  std::string out_json = "{\"app\":\"" + troupe::json_escape(app->name) + "\",\"app_hash\":\""
                         + app->hash + "\",\"launcher_pid\":" + std::to_string(info ? info->pid : 0)
                         + ",\"nodes\":[";
  if (!json)
    std::cout << "app " << app->name
              << (info ? " (troupe run pid " + std::to_string(info->pid) + ")" : "") << '\n';
  bool first = true;
  for (auto& spec : app->nodes) {
    const troupe::run_entry* entry = nullptr;
    if (info)
      for (auto& e : info->nodes)
        if (e.node == spec.name)
          entry = &e;
    auto report = query_node(**n, spec);
    std::string state = entry ? entry->state : (report ? "running" : "unknown");
    if (!report && !spec.listen.empty())
      state = entry && entry->state == "running" ? "unreachable" : "down";
    if (!spec.launch && !report)
      state = "not started by troupe run";
    out_json += first ? "" : ",";
    first = false;
    out_json += "{\"node\":\"" + troupe::json_escape(spec.name)
                + "\",\"pid\":" + std::to_string(entry ? entry->pid : 0)
                + ",\"restarts\":" + std::to_string(entry ? entry->restarts : 0) + ",\"state\":\""
                + troupe::json_escape(state) + "\",\"last_exit\":\""
                + troupe::json_escape(entry ? entry->last_exit : std::string{})
                + "\",\"report\":" + (report ? *report : "null") + "}";
    if (json)
      continue;
    std::cout << "node " << spec.name << "  pid " << (entry ? std::to_string(entry->pid) : "-")
              << "  restarts " << (entry ? entry->restarts : 0) << "  " << state;
    if (!report && !spec.listen.empty())
      std::cout << " (" << troupe::describe(report.error()) << ")";
    if (entry && !entry->last_exit.empty())
      std::cout << "  last exit: " << entry->last_exit;
    std::cout << '\n';
    std::optional<troupe::json_value> parsed;
    if (report)
      parsed = troupe::parse_json(*report);
    if (parsed && (*parsed)["app_hash"].type != troupe::json_value::kind::null) {
      auto runs = (*parsed)["app_hash"].text();
      std::cout << "  app file hash " << runs;
      if (runs != app->hash)
        std::cout << "  (differs from " << file << " now: " << app->hash
                  << "; the node runs the content it was started with)";
      std::cout << '\n';
    }
    if (parsed)
      for (auto& nm : (*parsed)["names"].array) {
        std::cout << "  name " << nm["name"].text() << " -> node " << nm["home"].text() << "  "
                  << nm["state"].text() << "  epoch " << nm["epoch"].text() << "  forwarded "
                  << nm["forwarded"].text() << "  refused " << nm["refused"].text();
        if (nm["held"].text() != "0")
          std::cout << "  held " << nm["held"].text();
        if (!nm["why"].text().empty())
          std::cout << "  (" << nm["why"].text() << ")";
        std::cout << '\n';
      }
    // "mailbox N  handled N" of a report entry (an actor or a relay), "-" where unknown.
    auto counts = [](const troupe::json_value* x) {
      auto field = [&](const char* key) {
        return x && (*x)[key].type != troupe::json_value::kind::null ? (*x)[key].text()
                                                                     : std::string{"-"};
      };
      return "mailbox " + field("mailbox") + "  handled " + field("handled");
    };
    auto find_in = [&](const char* list, const std::string& name) -> const troupe::json_value* {
      if (parsed)
        for (auto& x : (*parsed)[list].array)
          if (x["name"].text() == name)
            return &x;
      return nullptr;
    };
    for (auto a : app->actors_on(spec.name)) {
      if (app->supervisor_of(a->name))
        continue;
      auto entry_of = find_in("actors", a->name);
      std::cout << "  " << a->name << "  " << a->type << "  "
                << (entry_of ? (*entry_of)["state"].text() : std::string{"-"}) << "  "
                << counts(entry_of) << '\n';
    }
    for (auto& sup : app->supervisors) {
      if (sup.node != spec.name)
        continue;
      const troupe::json_value* status = nullptr;
      if (parsed)
        for (auto& x : (*parsed)["supervisors"].array)
          if (x["supervisor"].text() == sup.name)
            status = &x;
      std::cout << "  supervisor " << sup.name << " (" << sup.strategy << ", max "
                << sup.max_restarts << " restarts in " << troupe::to_string_duration(sup.within)
                << ")" << (status ? "" : "  -") << '\n';
      for (auto& child : sup.children) {
        std::string child_state = "-";
        std::string restarts = "-";
        std::string last_exit;
        if (status)
          for (auto& c : (*status)["children"].array)
            if (c["name"].text() == child) {
              child_state = c["state"].text();
              restarts = c["restarts"].text();
              last_exit = c["last_exit"].text();
            }
        auto a = app->find_actor(child);
        std::cout << "    " << child << "  " << (a ? a->type : std::string{"supervisor"}) << "  "
                  << "node " << (a ? a->node : sup.node) << "  " << child_state << "  restarts "
                  << restarts;
        if (a)
          std::cout << "  " << counts(find_in("relays", child));
        if (!last_exit.empty())
          std::cout << "  last exit: " << last_exit;
        std::cout << '\n';
      }
    }
  }
  out_json += "]}";
  if (json)
    std::cout << out_json << '\n';
  (*n)->stop();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"troupe: run and inspect Troupe actor apps"};
  cli.require_subcommand(1);
  std::string file;
  std::string node_name;
  auto run_cmd
    = cli.add_subcommand("run", "start the app's nodes (or one node) until SIGINT/SIGTERM");
  run_cmd->add_option("app", file, "the app file (TOML)")
    ->required(); // load_app explains a bad path
  run_cmd->add_option("--node", node_name, "start only this node, in this process");
  bool inline_node = false;
  run_cmd->add_flag("--inline", inline_node,
                    "run a one-node app's node in this process, without a launcher that restarts "
                    "it");
  auto check_cmd = cli.add_subcommand("check", "validate an app file and print what runs where");
  check_cmd->add_option("app", file, "the app file (TOML)")
    ->required(); // load_app explains a bad path
  std::string target;
  std::vector<std::string> words;
  std::string timeout_text = "5s";
  auto call_cmd = cli.add_subcommand(
    "call", "send a request to a named actor of a running app and print the reply");
  call_cmd->add_option("app", file, "the app file (TOML)")
    ->required(); // load_app explains a bad path
  call_cmd->add_option("name", target, "the actor's app-wide name")->required();
  call_cmd
    ->add_option("args", words,
                 "message elements: integers, \"quoted strings\", @FILE (the file's contents "
                 "as a string), bare words as atoms")
    ->required();
  call_cmd->add_option("--timeout", timeout_text, "longest wait for the reply")
    ->capture_default_str();
  auto stop_cmd = cli.add_subcommand("stop", "stop an app started by troupe run (from any shell)");
  stop_cmd->add_option("app", file, "the app file (TOML)")
    ->required(); // load_app explains a bad path
  bool json = false;
  auto ps_cmd = cli.add_subcommand("ps", "show the nodes and actors of a running app");
  ps_cmd->add_option("app", file, "the app file (TOML)")
    ->required(); // load_app explains a bad path
  ps_cmd->add_flag("--json", json, "print JSON for scripts");
  auto keys_cmd = cli.add_subcommand(
    "keys", "write a new CURVE key pair for [bridges] curve_key (tcp/ipc authentication)");
  keys_cmd->add_option("file", file, "the key file to create (mode 0600, never overwritten)")
    ->required();
  CLI11_PARSE(cli, argc, argv);
  auto types = make_catalog();
  if (*keys_cmd) {
    if (auto err = troupe::bridges::write_curve_key_file(file)) {
      std::cerr << "error: " << troupe::config_error_message(err) << '\n';
      return 2;
    }
    std::cout << "wrote a CURVE key pair to " << file
              << " (mode 0600); name it in [bridges] curve_key of the app file\n";
    return 0;
  }
  if (*stop_cmd)
    return stop(file, types);
  if (*ps_cmd)
    return ps(file, json, types);
  if (*run_cmd) {
    // Only `run` waits for SIGINT/SIGTERM with sigwait; every other subcommand stays
    // interruptible. Blocked before run starts any thread, so that every thread inherits it.
    troupe::block_stop_signals();
    return run(file, node_name, inline_node, types);
  }
  if (*call_cmd)
    return call(file, target, words, timeout_text, types);
  return check(file, types);
}
