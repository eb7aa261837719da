// A client node for the names test: streams requests to a name of a running app, one after the
// other, each with its own timeout, and prints what became of them. Usage:
//   name_stream APP.toml NAME STOP_FILE [TIMEOUT_MS]
// Sends `(int32 i)` to NAME (an echo) until STOP_FILE exists, then prints one line
//   sent N answered A failed F hung H wrong W
// where `hung` counts requests that got no answer within TIMEOUT_MS (the caller's own timeout,
// i.e. the name neither answered nor failed them) and `wrong` answers that were not `i`. Each
// distinct error is printed on its own line first ("error COUNT TEXT").
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <unistd.h>

#include "caf/all.hpp"

#include "troupe/actors/catalog.hpp"
#include "troupe/bridges/remote_nodes.hpp"
#include "troupe/config.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: name_stream APP.toml NAME STOP_FILE [TIMEOUT_MS]\n";
    return 2;
  }
  std::string file = argv[1];
  std::string name = argv[2];
  std::string stop_file = argv[3];
  auto timeout = std::chrono::milliseconds{argc > 4 ? std::stoi(argv[4]) : 3000};
  troupe::catalog types;
  troupe::actors::add_to(types);
  auto app = troupe::load_app(file, types);
  if (!app) {
    std::cerr << "error: " << troupe::config_error_message(app.error()) << '\n';
    return 2;
  }
  troupe::node_options opts;
  opts.configure = troupe::actors::add_message_types;
  opts.bridges = troupe::bridges::make_remote_nodes;
  opts.ephemeral = true;
  opts.log_to_file = true; // LOG_DIR/stream-PID.log, for the record of re-bindings
  opts.stderr_level = "off";
  auto n = troupe::node::make(*app, "stream-" + std::to_string(::getpid()), types, opts);
  if (!n) {
    std::cerr << "error: " << troupe::describe(n.error()) << '\n';
    return 2;
  }
  caf::expected<caf::actor> hdl{caf::error{}};
  for (int i = 0; i < 100; ++i) {
    hdl = (*n)->lookup(name);
    if (hdl)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  if (!hdl) {
    std::cerr << "error: " << troupe::describe(hdl.error()) << '\n';
    return 2;
  }
  uint64_t sent = 0, answered = 0, failed = 0, hung = 0, wrong = 0;
  std::map<std::string, uint64_t> errors;
  caf::scoped_actor self{(*n)->system(), false};
  for (int32_t i = 0; ::access(stop_file.c_str(), F_OK) != 0; ++i) {
    ++sent;
    self->request(*hdl, timeout, i)
      .receive(
        [&](int32_t x) {
          if (x == i)
            ++answered;
          else
            ++wrong;
        },
        [&](caf::error& err) {
          if (err == caf::sec::request_timeout) {
            ++hung;
            return;
          }
          ++failed;
          auto text = troupe::describe(err);
          if (text.size() > 120)
            text.resize(120);
          ++errors[text];
        });
    // A failing name answers at once: do not spin through thousands of errors per second.
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  for (auto& [text, count] : errors)
    std::cout << "error " << count << ' ' << text << '\n';
  std::cout << "sent " << sent << " answered " << answered << " failed " << failed << " hung "
            << hung << " wrong " << wrong << std::endl;
  (*n)->stop();
  return 0;
}
