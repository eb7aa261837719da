// troupe: run and inspect Troupe apps. The command line of the stock `troupe` and of every program
// built on Troupe (`troupe::cli_main`).
#include "troupe/cli.hpp"

#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/logger.h>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/atom.hpp"
#include "caf/message_builder.hpp"
#include "caf/others.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/sec.hpp"

#include "troupe/actors/builtin.hpp"
#include "troupe/bridges/curve.hpp"
#include "troupe/bridges/remote_nodes.hpp"
#include "troupe/bridges/shm_segment.hpp"
#include "troupe/bridges/shm_transport.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/errc.hpp"
#include "troupe/events.hpp"
#include "troupe/introspection.hpp"
#include "troupe/json.hpp"
#include "troupe/launcher.hpp"
#include "troupe/node.hpp"
#include "troupe/observe/events_reader.hpp"
#include "troupe/observe/metrics.hpp"
#include "troupe/observe/observer.hpp"
#include "troupe/observe/top.hpp"
#include "troupe/observe/web.hpp"
#include "troupe/signals.hpp"

namespace {

troupe::catalog make_catalog(const troupe::catalog& user_types) {
  troupe::catalog types;
  troupe::actors::add_builtin_types(types);
  types.merge(user_types);
  return types;
}

troupe::node_options make_node_options() {
  troupe::node_options opts;
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
  std::cout << "logs: " << app->log_dir << "/<node>.log at level " << app->log_level
            << ", events in " << troupe::events_file(*app) << '\n';
  if (!app->launcher.web.empty())
    std::cout << "web view at http://" << app->launcher.web << "/ (served by troupe run)\n";
  for (auto& n : app->nodes) {
    std::cout << "node " << n.name;
    for (size_t i = 0; i < n.endpoints.size(); ++i)
      std::cout << (i == 0 ? " listening at " : ", ") << n.endpoints[i];
    if (!n.bind.empty())
      std::cout << " (bound to " << n.bind << ")";
    std::cout << (n.launch ? "" : " (started by the user, not by troupe run)") << '\n';
    if (!n.metrics.empty())
      std::cout << "  metrics at http://" << n.metrics << "/metrics\n";
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
    for (auto& sup : app->supervisors) {
      if (sup.node != n.name)
        continue;
      std::cout << "  supervisor " << sup.name << ": " << sup.strategy << ", max "
                << sup.max_restarts << " restarts in " << troupe::to_string_duration(sup.within)
                << ", children";
      for (auto& child : sup.children)
        std::cout << ' ' << child;
      std::cout << '\n';
    }
  }
  return 0;
}

/// The web view of `troupe run` and the observing node it reads the app through.
struct web_view {
  std::unique_ptr<troupe::observe::observer> watcher;
  std::unique_ptr<troupe::observe::http_server> server;
};

/// Starts the web view when the app file asks for one (`[launcher] web`).
caf::expected<web_view> start_web_view(const troupe::app_spec& app, const troupe::catalog& types) {
  web_view result;
  if (app.launcher.web.empty())
    return result;
  auto web_node = "web-" + std::to_string(::getpid());
  troupe::mute_events_of(web_node);
  auto w = troupe::observe::observer::make(app, types, make_node_options(), web_node);
  if (!w)
    return std::move(w.error());
  result.watcher = std::move(*w);
  auto srv
    = troupe::observe::serve_web(app.launcher.web, *result.watcher, troupe::events_file(app));
  if (!srv)
    return std::move(srv.error());
  result.server = std::move(*srv);
  std::cerr << "troupe: web view at http://" << app.launcher.web << "/\n";
  return result;
}

/// Runs one node in this process until SIGINT/SIGTERM. `whole_app`: this process is the whole
/// app (not one node of a launched or multi-host app), so it keeps the app's run file.
int run_node(troupe::app_spec app, const std::string& node_name, const troupe::catalog& types,
             bool whole_app = false) {
  auto opts = make_node_options();
  // A top supervisor that gave up: stop the node through the main thread's signal wait, and exit
  // with status 1 so that the launcher counts a node failure.
  opts.on_fatal = [](const caf::error&) { ::kill(::getpid(), SIGTERM); };
  troupe::open_events(app, node_name);
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
  auto metrics = troupe::observe::serve_metrics(sut);
  if (!metrics) {
    std::cerr << "error: " << troupe::describe(metrics.error()) << '\n';
    troupe::notify_failed(troupe::describe(metrics.error()));
    sut.stop();
    return 1;
  }
  std::cerr << "troupe: node " << node_name << " of app " << sut.app().name << " running (pid "
            << ::getpid() << "); SIGINT or SIGTERM stops it\n";
  troupe::notify_ready();
  auto run_file = sut.app().run_file();
  if (whole_app)
    troupe::write_run_file(run_file, {::getpid(), {{node_name, ::getpid(), 0, "running", {}}}});
  // The whole app in this process: it is also the launcher, so it serves the web view.
  caf::expected<web_view> web{web_view{}};
  if (whole_app)
    web = start_web_view(sut.app(), types);
  if (!web)
    std::cerr << "error: web view: " << troupe::describe(web.error()) << '\n';
  auto sig = web ? troupe::wait_for_stop_signal() : SIGTERM;
  if (web) {
    web->server.reset();
    web->watcher.reset();
  }
  if (whole_app)
    ::unlink(run_file.c_str());
  if (*metrics)
    (*metrics)->stop();
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
  return failed || !web ? 1 : 0;
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
  // The web view reads the nodes through an observing node of its own, in this process.
  auto web = start_web_view(*app, types);
  if (!web) {
    std::cerr << "error: web view: " << troupe::describe(web.error()) << '\n';
    return 1;
  }
  auto rc = troupe::launch_app(*app, opts, **log);
  web->server.reset();
  web->watcher.reset();
  remove_leftovers(*app);
  std::cerr << "troupe: app " << app->name << " stopped\n";
  return rc;
}

/// Turns command-line words into message elements: integers, floats (`1.5`, `2e3`: double),
/// `true`/`false`, "quoted strings", @FILE (a string with the file's contents, for payloads too
/// large for a command line), bare atoms.
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
    if (w == "true" || w == "false") {
      mb.append(w == "true");
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
      if (used != w.size() && w.find_first_of(".eE") != std::string::npos) {
        double d = 0;
        try {
          d = std::stod(w, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != w.size())
          return troupe::make_error(troupe::errc::bad_request, "not a number: " + w);
        mb.append(d);
        continue;
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
    else if (msg.match_element<double>(i)) {
      // The shortest text that reads back as the same double ("1.5", not CAF's "1.500000").
      char buf[64];
      auto res = std::to_chars(buf, buf + sizeof(buf), msg.get_as<double>(i));
      out.append(buf, res.ptr);
    } else
      out += msg.content().stringify(i);
  }
  return out;
}

/// Returns false when nothing accepts a connection at the endpoint `ep` right now: tcp refused,
/// no ipc socket file or refused, no shm listen segment or its creator is dead; true when
/// something does, or when it cannot tell within 300 ms. A probe, not a connection: the real
/// bridge connects afterwards.
bool endpoint_answers(const std::string& ep) {
  int fd = -1;
  int rc = -1;
  if (ep.rfind("shm://", 0) == 0) {
    namespace tb = troupe::bridges;
    auto seg = tb::shm_segment::attach(tb::shm_transport_options{}.prefix
                                         + tb::shm_name_part(ep.substr(6)),
                                       tb::shm_segment_header::kind_listen);
    return seg && tb::process_alive(static_cast<pid_t>(seg->header()->creator_pid));
  }
  if (ep.rfind("ipc://", 0) == 0) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    auto path = ep.substr(6);
    if (path.size() >= sizeof(addr.sun_path))
      return true;
    std::copy(path.begin(), path.end(), addr.sun_path);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return true;
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    auto err = errno;
    ::close(fd);
    return rc == 0 || (err != ENOENT && err != ECONNREFUSED);
  }
  if (ep.rfind("tcp://", 0) != 0)
    return true;
  auto rest = ep.substr(6);
  auto colon = rest.rfind(':');
  auto host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), rest.substr(colon + 1).c_str(), &hints, &found) != 0 || !found)
    return true;
  bool answers = true;
  fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
    if (rc != 0 && errno == ECONNREFUSED) {
      answers = false;
    } else if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 300) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        answers = err != ECONNREFUSED;
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return answers;
}

/// Fails at once, naming the app, when `target` is no actor or supervisor of `app`, or when the
/// node that hosts it refuses connections (the app is not running), instead of after a timeout.
caf::error check_call_target(const troupe::app_spec& app, const std::string& target) {
  std::string home;
  if (auto a = app.find_actor(target))
    home = a->node;
  else if (auto s = app.find_supervisor(target))
    home = s->node;
  if (home.empty()) {
    std::string names;
    for (auto& a : app.actors)
      names += (names.empty() ? "" : ", ") + a.name;
    for (auto& s : app.supervisors)
      names += (names.empty() ? "" : ", ") + s.name;
    return troupe::make_error(troupe::errc::not_found, "app " + app.name + " has no actor named "
                                                         + target + " (names: " + names + ")");
  }
  auto node = app.find_node(home);
  if (!node || node->listen.empty() || endpoint_answers(node->listen))
    return caf::none;
  auto info = troupe::read_run_file(app.run_file());
  if (info && ::kill(static_cast<pid_t>(info->pid), 0) == 0)
    return troupe::make_error(troupe::errc::peer_lost,
                              "node " + home + " of app " + app.name + " (which hosts " + target
                                + ") does not answer at " + node->listen + "; troupe run (pid "
                                + std::to_string(info->pid)
                                + ") is running, so the node may be restarting");
  return troupe::make_error(troupe::errc::peer_lost,
                            "app " + app.name + " is not running (node " + home + ", which hosts "
                              + target + ", does not answer at " + node->listen + ")");
}

/// `raw`: a reply that is one string is printed as is (`troupe inspect`), not quoted.
int call(const std::string& file, const std::string& target, const std::vector<std::string>& words,
         const std::string& timeout_text, const troupe::catalog& types, bool raw = false) {
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
  if (auto err = check_call_target(*app, target)) {
    std::cerr << "error: " << troupe::describe(err) << '\n';
    return 1;
  }
  auto app_name = app->name;
  // What the actor accepts, as far as its catalog entry says (shown for unexpected_message).
  std::string accepts;
  if (auto a = app->find_actor(target))
    if (auto t = types.find(a->type); t && !t->help.empty())
      accepts = target + " is a " + a->type + ": " + t->help;
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
    std::cerr << "error: app " << app_name << ": " << troupe::describe(hdl.error()) << '\n';
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
          if (err == caf::sec::unexpected_message && !accepts.empty())
            std::cerr << "  (" << accepts << ")\n";
          rc = 1;
        },
        caf::others >> [&](caf::message_view& reply) -> caf::result<caf::message> {
          auto m = reply.move_content_to_message();
          if (raw && m.match_elements<std::string>())
            std::cout << m.get_as<std::string>(0) << std::endl;
          else
            std::cout << render(m) << std::endl;
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
    // A node started by hand (not by troupe run) has no run-file entry: its report has its pid.
    long pid = entry ? entry->pid : 0;
    if (pid == 0 && report)
      if (auto r = troupe::parse_json(*report))
        pid = static_cast<long>((*r)["pid"].number);
    std::string state = entry ? entry->state : (report ? "running" : "unknown");
    if (!report && !spec.listen.empty())
      state = entry && entry->state == "running" ? "unreachable" : "down";
    if (!spec.launch && !report)
      state = "not started by troupe run";
    out_json += first ? "" : ",";
    first = false;
    out_json += "{\"node\":\"" + troupe::json_escape(spec.name)
                + "\",\"pid\":" + std::to_string(pid)
                + ",\"restarts\":" + std::to_string(entry ? entry->restarts : 0) + ",\"state\":\""
                + troupe::json_escape(state) + "\",\"last_exit\":\""
                + troupe::json_escape(entry ? entry->last_exit : std::string{})
                + "\",\"report\":" + (report ? *report : "null") + "}";
    if (json)
      continue;
    std::cout << "node " << spec.name << "  pid " << (pid != 0 ? std::to_string(pid) : "-")
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

/// `troupe events APP [-f] [--json]`: prints the app's events, then (with -f) follows the file
/// until SIGINT/SIGTERM.
int events(const std::string& file, bool follow, bool json, const troupe::catalog& types) {
  auto app = load(file, types);
  if (!app)
    return 2;
  auto path = troupe::events_file(*app);
  troupe::observe::events_reader reader{path};
  if (!follow && ::access(path.c_str(), R_OK) != 0) {
    std::cerr << "troupe: no events yet (" << path << " does not exist)\n";
    return 0;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  for (;;) {
    for (auto& line : reader.poll())
      std::cout << (json ? line : troupe::observe::render_event(line)) << '\n';
    std::cout << std::flush;
    if (!follow)
      return 0;
    timespec ts{0, 200 * 1000 * 1000};
    auto sig = ::sigtimedwait(&set, nullptr, &ts); // the stop signals are blocked in main
    if (sig == SIGINT || sig == SIGTERM)
      return 0;
  }
}

/// `troupe top APP`: the live view (see observe/top.hpp).
int top(const std::string& file, bool once, const std::string& sort, const troupe::catalog& types) {
  auto app = load(file, types);
  if (!app)
    return 2;
  troupe::observe::top_options opts;
  opts.once = once;
  if (sort == "rate" || sort == "msgs")
    opts.sort = troupe::observe::top_sort::rate;
  else if (sort == "mailbox")
    opts.sort = troupe::observe::top_sort::mailbox;
  else if (sort == "restarts")
    opts.sort = troupe::observe::top_sort::restarts;
  else if (sort == "name")
    opts.sort = troupe::observe::top_sort::name;
  else {
    std::cerr << "error: --sort: expected rate, mailbox, restarts or name, got " << sort << '\n';
    return 2;
  }
  auto obs = troupe::observe::observer::make(*app, types, make_node_options(),
                                             "top-" + std::to_string(::getpid()));
  if (!obs) {
    std::cerr << "error: " << troupe::describe(obs.error()) << '\n';
    return 1;
  }
  return troupe::observe::run_top(**obs, troupe::events_file(*app), opts);
}

} // namespace

int troupe::cli_main(int argc, char** argv, const troupe::catalog& user_types) {
  std::string program = argc > 0 ? argv[0] : "troupe";
  program = program.substr(program.rfind('/') + 1);
  CLI::App cli{program + ": run and inspect Troupe actor apps"};
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
  auto inspect_cmd = cli.add_subcommand(
    "inspect", "print a running actor's state as JSON, without stopping it (actors whose state "
               "type has an inspect overload)");
  inspect_cmd->add_option("app", file, "the app file (TOML)")
    ->required(); // load_app explains a bad path
  inspect_cmd->add_option("name", target, "the actor's app-wide name")->required();
  inspect_cmd->add_option("--timeout", timeout_text, "longest wait for the answer")
    ->capture_default_str();
  bool follow = false;
  auto events_cmd = cli.add_subcommand("events", "print the app's events (JSON lines in its log "
                                                 "directory); -f follows them");
  events_cmd->add_option("app", file, "the app file (TOML)")
    ->required(); // load_app explains a bad path
  events_cmd->add_flag("-f,--follow", follow, "keep printing new events until SIGINT");
  events_cmd->add_flag("--json", json, "print the JSON lines as they are");
  bool once = false;
  std::string sort = "rate";
  auto top_cmd = cli.add_subcommand("top", "live view of a running app (q quits; m, b, r, n sort)");
  top_cmd->add_option("app", file, "the app file (TOML)")
    ->required(); // load_app explains a bad path
  top_cmd->add_flag("--once", once, "print one frame (two samples one second apart) and exit");
  top_cmd->add_option("--sort", sort, "initial sort: rate, mailbox, restarts or name")
    ->capture_default_str();
  auto keys_cmd = cli.add_subcommand(
    "keys", "write a new CURVE key pair for [bridges] curve_key (tcp/ipc authentication)");
  keys_cmd->add_option("file", file, "the key file to create (mode 0600, never overwritten)")
    ->required();
  CLI11_PARSE(cli, argc, argv);
  auto types = make_catalog(user_types);
  if (*keys_cmd) {
    if (auto err = troupe::bridges::write_curve_key_file(file)) {
      std::cerr << "error: " << troupe::config_error_message(err) << '\n';
      return 2;
    }
    std::cout << "wrote a CURVE key pair to " << file
              << " (mode 0600); name it in [bridges] curve_key of the app file\n";
    return 0;
  }
  if (*events_cmd) {
    if (follow)
      troupe::block_stop_signals(); // -f takes SIGINT/SIGTERM itself and ends with status 0
    return events(file, follow, json, types);
  }
  if (*inspect_cmd)
    return call(file, target, {"tr_inspect"}, timeout_text, types, true);
  if (*top_cmd) {
    troupe::block_stop_signals(); // top takes SIGINT/SIGTERM itself and restores the terminal
    return top(file, once, sort, types);
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
