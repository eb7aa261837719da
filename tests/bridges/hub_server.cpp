// A node for cross-language tests: serves a few actors by name through a hub, prints the bound
// endpoint on stdout, and stops cleanly when stdin closes.
//
//   troupe_bridges_hub_server ENDPOINT
//
// Actors: "calc" (int32 x -> x + 1; (atom add, int32 a, int32 b) -> a + b; a string -> the error
// calc_fail with the string as context), "echo" (returns any message unchanged), "self" (int32 ->
// its own handle; (atom add, int32 x) -> sends x * 10 to the caller as a new message).

#include <iostream>
#include <map>
#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/io/middleman.hpp"

#include "troupe/bridges/hub.hpp"
#include "troupe/errc.hpp"

using namespace caf;

namespace {

using add_atom = atom_constant<atom("add")>;

struct config : actor_system_config {
  config() {
    troupe::add_error_category(*this);
    load<io::middleman>();
    set("middleman.workers", 0);
    set("scheduler.max-threads", 2);
  }
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " ENDPOINT\n";
    return 2;
  }
  config cfg;
  actor_system sys{cfg};
  std::map<std::string, actor> names;
  names["calc"] = sys.spawn([]() -> behavior {
    return {
      [](int32_t x) { return x + 1; },
      [](add_atom, int32_t a, int32_t b) { return a + b; },
      [](const std::string& what) -> result<int32_t> {
        return troupe::make_error(troupe::errc::calc_fail, what);
      },
    };
  });
  names["echo"] = sys.spawn([](event_based_actor* self) -> behavior {
    self->set_default_handler([](scheduled_actor*, message_view& mv) -> result<message> {
      return mv.move_content_to_message();
    });
    return {[](int32_t x) { return x; }};
  });
  names["self"] = sys.spawn([](event_based_actor* self) -> behavior {
    return {
      [=](int32_t) { return actor_cast<actor>(self); },
      // Sends `x * 10` to the caller as a separate, unsolicited message.
      [=](add_atom, int32_t x) { self->send(actor_cast<actor>(self->current_sender()), x * 10); },
    };
  });
  std::mutex mtx;
  troupe::bridges::hub_options opts;
  // stdout carries the endpoint line; logs go to stderr.
  opts.logger = spdlog::stderr_logger_mt("hub");
  troupe::bridges::hub sut{sys, "cxx", opts, [&](const std::string& name) {
                             std::lock_guard<std::mutex> guard{mtx};
                             auto i = names.find(name);
                             return i != names.end() ? i->second : actor{};
                           }};
  auto ep = sut.listen(argv[1]);
  if (!ep) {
    std::cerr << "listen failed: " << troupe::describe(ep.error()) << "\n";
    return 1;
  }
  std::cout << *ep << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "stats") {
      auto st = sut.stats();
      std::cout << "bad_frames=" << st.bad_frames << " peers=" << st.peers.size() << std::endl;
    }
  }
  sut.stop();
  std::lock_guard<std::mutex> guard{mtx};
  for (auto& kvp : names)
    anon_send_exit(kvp.second, exit_reason::kill);
  names.clear();
  return 0;
}
