// A node for cross-language and multi-process tests.
//
//   troupe_bridges_hub_server ENDPOINT
//     Serves a few actors by name through a hub, prints the bound endpoint on stdout, and stops
//     cleanly when stdin closes (the line "stats" prints counters).
//
//   troupe_bridges_hub_server --client ENDPOINT N
//     Connects to the server node "cxx" at ENDPOINT as node "client", monitors the server's "park"
//     actor and sends it N requests with a 60 s timeout. Prints "inflight N" once all are on their
//     way, then one line per outcome: "error <reason> <ms>" per failed request, "down <reason>
//     <ms>" for the monitor (ms since the last request was sent), and exits when all N + 1 arrived.
//
// Actors: "calc" (int32 x -> x + 1; (atom add, int32 a, int32 b) -> a + b; a string -> the error
// calc_fail with the string as context), "echo" (returns any message unchanged), "self" (int32 ->
// its own handle; (atom add, int32 x) -> sends x * 10 to the caller as a new message), "park"
// (never answers a request; the promises are kept until the process ends), and for the C++
// multi-process behaviour test (tests/bridges/multiprocess.cpp): "later" ((later, int32 x) parks
// a response promise; (release) delivers 2 * x to every parked one), "relay" ((relay, actor t,
// int32 x) -> asks t for 2 * x and delivers t's answer: a handle inside a message, used by the far
// side), "mortal" ((die, string why) -> terminates with overloaded: why), "linker" ((linkto,
// actor a, actor observer) links to a, traps exits and sends each exit reason to observer; (die,
// string why) -> terminates with overloaded: why).

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "troupe/bridges/hub.hpp"
#include "troupe/errc.hpp"

#include "bridges_test.hpp"

using namespace caf;

namespace {

using namespace troupe::bridges::test;

using config = node_config;

struct park_state {
  std::vector<response_promise> parked;
};

struct later_state {
  std::vector<std::pair<typed_response_promise<int32_t>, int32_t>> parked;
};

// Spawns the actors of the multi-process behaviour test into `names`.
void spawn_behaviour_actors(actor_system& sys, std::map<std::string, actor>& names) {
  names["later"] = sys.spawn([](stateful_actor<later_state>* self) -> behavior {
    return {
      [=](later_atom, int32_t x) -> delegated<int32_t> {
        self->state.parked.emplace_back(self->make_response_promise<int32_t>(), x);
        return {};
      },
      [=](release_atom) {
        for (auto& [rp, x] : self->state.parked)
          rp.deliver(2 * x);
        auto n = static_cast<int32_t>(self->state.parked.size());
        self->state.parked.clear();
        return n;
      },
    };
  });
  names["relay"] = sys.spawn([](event_based_actor* self) -> behavior {
    return {
      [=](relay_atom, const actor& target, int32_t x) -> delegated<int32_t> {
        auto rp = self->make_response_promise<int32_t>();
        self->request(target, std::chrono::seconds{5}, 2 * x)
          .then([=](int32_t y) mutable { rp.deliver(y); },
                [=](error& e) mutable { rp.deliver(std::move(e)); });
        return {};
      },
    };
  });
  auto mortal = [](event_based_actor* self) -> behavior {
    return {
      [=](die_atom, const std::string& why) {
        self->quit(troupe::make_error(troupe::errc::overloaded, why));
      },
    };
  };
  names["mortal"] = sys.spawn(mortal);
  names["linker"] = sys.spawn([](event_based_actor* self) -> behavior {
    auto observer = std::make_shared<actor>();
    self->set_exit_handler([=](exit_msg& em) {
      if (*observer)
        self->send(*observer, em.reason);
    });
    return {
      [=](linkto_atom, const actor& other, const actor& obs) {
        *observer = obs;
        self->link_to(other);
        return true;
      },
      [=](die_atom, const std::string& why) {
        self->quit(troupe::make_error(troupe::errc::overloaded, why));
      },
    };
  });
}

int run_client(const std::string& endpoint, int n) {
  config cfg;
  actor_system sys{cfg};
  troupe::bridges::hub_options opts;
  opts.logger = spdlog::stderr_logger_mt("hub");
  troupe::bridges::hub sut{sys, "client", opts};
  if (auto err = sut.connect("cxx", endpoint)) {
    std::cerr << "connect failed: " << troupe::describe(err) << "\n";
    return 1;
  }
  auto park = sut.remote_lookup("cxx", "park", std::chrono::seconds{5});
  if (!park) {
    std::cerr << "lookup failed: " << troupe::describe(park.error()) << "\n";
    return 1;
  }
  scoped_actor self{sys};
  self->monitor(*park);
  for (int i = 0; i < n; ++i)
    self->send(*park, int32_t{i}); // warm-up: ordinary messages are fine too
  auto obs = actor_cast<actor>(self);
  auto requester = sys.spawn([=](event_based_actor* me) {
    for (int i = 0; i < n; ++i)
      me->request(*park, std::chrono::seconds{60}, int32_t{i})
        .then([=](int32_t) { me->send(obs, std::string{"answered"}); },
              [=](error& e) { me->send(obs, e); });
  });
  // All requests are on their way once the hub counts them as pending.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (sut.stats().peers.empty() || sut.stats().peers[0].pending_requests < size_t(n)) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "requests never became pending\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  auto t0 = std::chrono::steady_clock::now();
  std::cout << "inflight " << n << std::endl;
  auto ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                 - t0)
      .count();
  };
  for (int i = 0; i < n + 1; ++i)
    self->receive(
      [&](error& e) { std::cout << "error " << troupe::describe(e) << " " << ms() << std::endl; },
      [&](down_msg& dm) {
        std::cout << "down " << troupe::describe(dm.reason) << " " << ms() << std::endl;
      },
      [&](const std::string& x) { std::cout << x << " " << ms() << std::endl; },
      after(std::chrono::seconds{30}) >> [&] { std::cout << "timeout" << std::endl; });
  anon_send_exit(requester, exit_reason::kill);
  sut.stop();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string{argv[1]} == "--client")
    return run_client(argv[2], std::stoi(argv[3]));
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " ENDPOINT | --client ENDPOINT N\n";
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
  names["park"] = sys.spawn([](stateful_actor<park_state>* self) -> behavior {
    return {
      [=](int32_t) -> delegated<int32_t> {
        self->state.parked.push_back(self->make_response_promise());
        return {};
      },
    };
  });
  spawn_behaviour_actors(sys, names);
  std::mutex mtx;
  troupe::bridges::hub_options opts;
  // stdout carries the endpoint line; logs go to stderr.
  opts.logger = spdlog::stderr_logger_mt("hub");
  if (auto v = std::getenv("TROUPE_TEST_MAX_PROXIES")) // tests/bridges/proxy_flood.py
    opts.max_proxies_per_peer = std::stoul(v);
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
