// prog: the user program of the slow-config app. Reads commands from stdin and prints one line
// per command, never blocking longer than its timeout.
#include <charconv>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "troupe/actors/catalog.hpp"
#include "troupe/actors/mylib_client.hpp"
#include "troupe/bridges/remote_nodes.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"

namespace {

std::string result_line(const caf::error& err) {
  if (!err)
    return "OK";
  if (err == troupe::errc::calc_fail)
    return "CALC-FAIL";
  return "ERROR: " + troupe::describe(err);
}

/// Picks the node prog joins as: the named one, else the node marked `launch = false`, else the
/// only node of a one-node app.
caf::expected<std::string> pick_node(const troupe::app_spec& app, const std::string& given) {
  if (!given.empty())
    return given;
  std::vector<std::string> user_nodes;
  for (auto& n : app.nodes)
    if (!n.launch)
      user_nodes.push_back(n.name);
  if (user_nodes.size() == 1)
    return user_nodes.front();
  if (user_nodes.empty() && app.nodes.size() == 1)
    return app.nodes.front().name;
  return troupe::make_error(troupe::errc::bad_config,
                            app.file + ": cannot tell which node prog is; pass --node NAME");
}

std::string execute(troupe::actors::mylib_client& client, const std::string& line, bool& quit) {
  std::istringstream in{line};
  std::string cmd;
  in >> cmd;
  std::vector<std::string> args;
  for (std::string arg; in >> arg;)
    args.push_back(arg);
  auto no_args = [&]() -> std::string {
    return args.empty() ? std::string{} : "ERROR: " + cmd + " takes no arguments";
  };
  if (cmd == "quit" || cmd == "exit") {
    quit = true;
    return no_args();
  }
  if (cmd == "init" || cmd == "reload" || cmd == "uninit") {
    if (auto bad = no_args(); !bad.empty())
      return bad;
    if (cmd == "init")
      return result_line(client.init());
    if (cmd == "reload")
      return result_line(client.reload());
    return result_line(client.uninit());
  }
  if (cmd == "calc") {
    if (args.size() != 1)
      return "ERROR: calc takes one integer argument, e.g. calc 5";
    int32_t x = 0;
    auto& s = args.front();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc{} || end != s.data() + s.size())
      return "ERROR: not a 32-bit integer: " + s;
    auto y = client.calc(x);
    return y ? std::to_string(*y) : result_line(y.error());
  }
  return "ERROR: unknown command '" + cmd + "' (commands: init, calc N, reload, uninit, quit)";
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"prog: the slow-config user program; reads init, calc N, reload, uninit, quit "
               "from stdin and prints OK, the result, CALC-FAIL or ERROR: <reason> per command"};
  std::string file;
  std::string node_name;
  std::string service = "config";
  std::string timeout_text = "2s";
  cli.add_option("app", file, "the app file (TOML)")->required(); // load_app explains a bad path
  cli.add_option("--node", node_name, "the node prog runs as (default: the app's user node)");
  cli.add_option("--service", service, "name of the config supervisor actor")
    ->capture_default_str();
  cli.add_option("--timeout", timeout_text, "longest wait for any answer")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);
  auto timeout = troupe::parse_duration(timeout_text);
  if (!timeout || timeout->count() == 0) {
    std::cerr << "error: --timeout: invalid duration \"" << timeout_text << "\" (e.g. 2s, 500ms)\n";
    return 2;
  }
  troupe::catalog types;
  troupe::actors::add_to(types);
  auto app = troupe::load_app(file, types);
  if (!app) {
    std::cerr << "error: " << troupe::config_error_message(app.error()) << '\n';
    return 2;
  }
  auto name = pick_node(*app, node_name);
  if (!name) {
    std::cerr << "error: " << troupe::config_error_message(name.error()) << '\n';
    return 2;
  }
  troupe::node_options opts;
  opts.configure = troupe::actors::add_message_types;
  opts.bridges = troupe::bridges::make_remote_nodes;
  auto n = troupe::node::make(std::move(*app), *name, types, opts);
  if (!n) {
    std::cerr << "error: " << troupe::config_error_message(n.error()) << '\n';
    return 2;
  }
  auto& host = **n;
  if (auto err = host.start()) {
    std::cerr << "error: " << troupe::describe(err) << '\n';
    return 1;
  }
  auto target = host.lookup(service);
  if (!target) {
    std::cerr << "error: " << troupe::describe(target.error()) << '\n';
    return 1;
  }
  troupe::actors::mylib_client client{host.system(), *target, *timeout};
  bool quit = false;
  for (std::string line; !quit && std::getline(std::cin, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    auto out = execute(client, line, quit);
    if (!out.empty())
      std::cout << out << std::endl;
  }
  if (auto err = host.stop()) {
    std::cerr << "error: " << troupe::describe(err) << "; exiting without waiting\n";
    std::cout.flush();
    ::_exit(3);
  }
  return 0;
}
