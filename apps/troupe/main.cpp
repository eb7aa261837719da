// troupe: run and inspect Troupe apps.
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "troupe/actors/catalog.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"
#include "troupe/signals.hpp"

namespace {

troupe::catalog make_catalog() {
  troupe::catalog types;
  troupe::actors::add_to(types);
  return types;
}

int check(const std::string& file, const troupe::catalog& types) {
  auto app = troupe::load_app(file, types);
  if (!app) {
    std::cerr << "error: " << troupe::config_error_message(app.error()) << '\n';
    return 2;
  }
  std::cout << "app " << app->name << " (" << app->file << "): " << app->nodes.size()
            << (app->nodes.size() == 1 ? " node, " : " nodes, ") << app->actors.size()
            << (app->actors.size() == 1 ? " actor" : " actors") << '\n';
  std::cout << "logs: " << app->log_dir << "/<node>.log at level " << app->log_level << '\n';
  for (auto& n : app->nodes) {
    std::cout << "node " << n.name << (n.launch ? "" : " (started by the user, not troupe run)")
              << '\n';
    for (auto a : app->actors_on(n.name)) {
      std::cout << "  " << a->name << ": " << a->type;
      for (auto& [key, val] : a->args.values())
        std::cout << ' ' << key << '=' << troupe::to_string(val);
      std::cout << '\n';
    }
  }
  return 0;
}

int run(const std::string& file, std::string node_name, const troupe::catalog& types) {
  auto app = troupe::load_app(file, types);
  if (!app) {
    std::cerr << "error: " << troupe::config_error_message(app.error()) << '\n';
    return 2;
  }
  if (node_name.empty()) {
    std::vector<std::string> launchable;
    for (auto& n : app->nodes)
      if (n.launch)
        launchable.push_back(n.name);
    if (launchable.size() != 1) {
      std::string list;
      for (auto& n : launchable)
        list += list.empty() ? n : ", " + n;
      std::cerr << "error: " << file << ": app has " << launchable.size() << " nodes to launch ("
                << list << "); this build runs one node per process: pass --node NAME\n";
      return 2;
    }
    node_name = launchable.front();
  }
  troupe::node_options opts;
  opts.configure = troupe::actors::add_message_types;
  auto n = troupe::node::make(std::move(*app), node_name, types, opts);
  if (!n) {
    std::cerr << "error: " << troupe::config_error_message(n.error()) << '\n';
    return 2;
  }
  auto& sut = **n;
  if (auto err = sut.start()) {
    std::cerr << "error: " << troupe::describe(err) << '\n';
    sut.stop();
    return 1;
  }
  std::cerr << "troupe: node " << node_name << " of app " << sut.app().name << " running (pid "
            << ::getpid() << "); SIGINT or SIGTERM stops it\n";
  auto sig = troupe::wait_for_stop_signal();
  std::cerr << "troupe: signal " << sig << ", stopping node " << node_name << '\n';
  if (auto err = sut.stop()) {
    // Some actor is stuck in a foreign call; waiting in ~actor_system would hang forever.
    std::cerr << "error: " << troupe::describe(err) << "; exiting without waiting\n";
    std::fflush(nullptr);
    ::_exit(3);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  troupe::block_stop_signals();
  CLI::App cli{"troupe: run and inspect Troupe actor apps"};
  cli.require_subcommand(1);
  std::string file;
  std::string node_name;
  auto run_cmd
    = cli.add_subcommand("run", "start the app (or one node of it) until SIGINT/SIGTERM");
  run_cmd->add_option("app", file, "the app file (TOML)")->required()->check(CLI::ExistingFile);
  run_cmd->add_option("--node", node_name, "start only this node");
  auto check_cmd = cli.add_subcommand("check", "validate an app file and print what runs where");
  check_cmd->add_option("app", file, "the app file (TOML)")->required()->check(CLI::ExistingFile);
  CLI11_PARSE(cli, argc, argv);
  auto types = make_catalog();
  if (*run_cmd)
    return run(file, node_name, types);
  return check(file, types);
}
