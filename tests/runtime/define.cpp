#define CAF_SUITE runtime.define

#include "troupe/define.hpp"

#include "troupe_test.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include <thread>

#include "troupe/actors/builtin.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"

using namespace std::chrono_literals;
using namespace troupe;

namespace {

/// A user message type, registered through the catalog.
struct reading {
  std::string sensor;
  int32_t value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reading& x) {
  return f(caf::meta::type_name("reading"), x.sensor, x.value);
}

struct counter_state {
  int64_t count = 0;
  static inline const char* name = "counter";
};

using add_atom = caf::atom_constant<caf::atom("add")>;
using get_atom = caf::atom_constant<caf::atom("get")>;

caf::behavior counter(caf::stateful_actor<counter_state>* self, int64_t start, int32_t step,
                      std::string label) {
  self->state.count = start;
  return {
    [=](add_atom) { return self->state.count += step; },
    [=](get_atom) { return self->state.count; },
    [=](reading& r) { return label + ":" + r.sensor + "=" + std::to_string(r.value); },
  };
}

/// Asks every counter it was given for its count and answers the sum.
caf::behavior summer(caf::event_based_actor* self, std::vector<caf::actor> parts) {
  return {
    [=](get_atom) {
      auto rp = self->make_response_promise<int64_t>();
      auto sum = std::make_shared<int64_t>(0);
      auto left = std::make_shared<size_t>(parts.size());
      if (parts.empty())
        rp.deliver(int64_t{0});
      for (auto& p : parts)
        self->request(p, 1s, get_atom::value).then([=](int64_t x) mutable {
          *sum += x;
          if (--*left == 0)
            rp.deliver(*sum);
        });
      return rp;
    },
  };
}

/// A typed actor: adds `k`.
using adder_actor = caf::typed_actor<caf::replies_to<int32_t>::with<int32_t>>;

adder_actor::behavior_type adder(adder_actor::pointer, int32_t k) {
  return {
    [=](int32_t x) { return x + k; },
  };
}

/// A detached actor: answers the id of the thread it runs on, so a test can tell it has its own.
caf::behavior thread_teller(caf::event_based_actor*) {
  return {
    [](get_atom) {
      return static_cast<int64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    },
  };
}

struct fixture {
  catalog types;

  fixture() {
    actors::add_builtin_types(types);
    types.add(make_type("counter", "counts", counter, param<int64_t>("start", 0, "initial count"),
                        param<int32_t>("step", 1, "added per add")
                          .require([](int64_t x) { return x != 0; }, "non-zero"),
                        param<std::string>("label", "its name in replies")));
    types.add(make_type("summer", "sums counters", summer,
                        param<std::vector<caf::actor>>("parts", "the counters")));
    types.add_message_type<reading>("reading");
    types.add(make_type("adder", "typed", adder, param<int32_t>("k", 1, "what it adds")));
    types.add(make_type<caf::detached>("teller", "detached", thread_teller));
  }

  std::string error_of(const std::string& text) {
    auto res = parse_app(text, "app.toml", types);
    if (res) {
      CAF_FAIL("config was accepted:\n" << text);
    }
    return config_error_message(res.error());
  }
};

const std::string header = "[app]\nname = \"d\"\n[nodes.main]\n"; // lines 1-3

bool contains(const std::string& x, const std::string& needle) {
  return x.find(needle) != std::string::npos;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(define_tests, fixture)

CAF_TEST(typed parameters declare their kinds and defaults) {
  auto t = types.find("counter");
  CAF_REQUIRE(t != nullptr);
  CAF_REQUIRE_EQUAL(t->params.size(), 3u);
  CAF_CHECK(t->params[0].kind == param_kind::integer);
  CAF_CHECK(t->params[0].default_value && std::get<int64_t>(*t->params[0].default_value) == 0);
  CAF_CHECK(t->params[1].kind == param_kind::integer);
  CAF_CHECK(t->params[2].kind == param_kind::string);
  CAF_CHECK(!t->params[2].default_value);
  auto s = types.find("summer");
  CAF_REQUIRE(s != nullptr);
  CAF_CHECK(s->params[0].kind == param_kind::actor_refs);
  CAF_CHECK_EQUAL(types.message_type_names(), std::vector<std::string>{"reading"});
}

CAF_TEST(parameter checks run when the app file is loaded) {
  auto msg = error_of(header
                      + "[[actors]]\nname = \"c\"\ntype = \"counter\"\n"
                        "params = { label = \"x\", step = 0 }\n");
  TROUPE_CHECK_MSG(contains(msg, "app.toml:7: actors.c.params.step: must be non-zero"), msg);
  msg = error_of(header
                 + "[[actors]]\nname = \"c\"\ntype = \"counter\"\n"
                   "params = { label = \"x\", step = 3000000000 }\n");
  TROUPE_CHECK_MSG(contains(msg, "actors.c.params.step: out of range (a 32-bit integer)"), msg);
  msg = error_of(header + "[[actors]]\nname = \"c\"\ntype = \"counter\"\n");
  TROUPE_CHECK_MSG(contains(msg, "actors.c.params.label: missing required parameter"), msg);
}

CAF_TEST(actor lists are validated name by name) {
  auto two = header
             + "[[actors]]\nname = \"a\"\ntype = \"counter\"\nparams = { label = \"a\" }\n"
               "[[actors]]\nname = \"b\"\ntype = \"counter\"\nparams = { label = \"b\" }\n";
  auto ok = parse_app(two
                        + "[[actors]]\nname = \"s\"\ntype = \"summer\"\n"
                          "params = { parts = [\"a\", \"b\"] }\n",
                      "app.toml", types);
  CAF_REQUIRE(ok);
  CAF_CHECK_EQUAL(to_string(ok->find_actor("s")->args.values().at("parts")), "[\"a\", \"b\"]");
  auto msg = error_of(two
                      + "[[actors]]\nname = \"s\"\ntype = \"summer\"\n"
                        "params = { parts = [\"a\", \"nobody\"] }\n");
  TROUPE_CHECK_MSG(contains(msg, "actors.s.params.parts[1]: no actor named \"nobody\""), msg);
  msg = error_of(two
                 + "[[actors]]\nname = \"s\"\ntype = \"summer\"\n"
                   "params = { parts = \"a\" }\n");
  TROUPE_CHECK_MSG(contains(msg, "actors.s.params.parts: expected an array of actor names"), msg);
  msg = error_of(two
                 + "[[actors]]\nname = \"s\"\ntype = \"summer\"\n"
                   "params = { parts = [\"a\", 3] }\n");
  TROUPE_CHECK_MSG(contains(msg, "actors.s.params.parts[1]: expected an actor name"), msg);
}

CAF_TEST(a node spawns typed actors with their parameters and registers message types) {
  auto app = parse_app(header
                         + "[[actors]]\nname = \"a\"\ntype = \"counter\"\n"
                           "params = { label = \"a\", start = 10, step = 5 }\n"
                           "[[actors]]\nname = \"b\"\ntype = \"counter\"\n"
                           "params = { label = \"b\", step = -1 }\n"
                           "[[actors]]\nname = \"s\"\ntype = \"summer\"\n"
                           "params = { parts = [\"a\", \"b\"] }\n"
                           "[[actors]]\nname = \"plus2\"\ntype = \"adder\"\n"
                           "params = { k = 2 }\n"
                           "[[actors]]\nname = \"t1\"\ntype = \"teller\"\n"
                           "[[actors]]\nname = \"t2\"\ntype = \"teller\"\n",
                       "app.toml", types);
  CAF_REQUIRE(app);
  node_options opts;
  opts.log_to_file = false;
  opts.stderr_level = "off";
  auto n = node::make(std::move(*app), "main", types, opts);
  CAF_REQUIRE(n);
  auto& sut = **n;
  CAF_REQUIRE_EQUAL(sut.start(), caf::error{});
  CAF_CHECK_EQUAL(sut.system().config().value_factories_by_name.count("reading"), 1u);
  auto a = sut.lookup("a");
  auto s = sut.lookup("s");
  CAF_REQUIRE(a && s);
  {
    caf::scoped_actor self{sut.system()};
    int64_t after_add = 0;
    self->request(*a, 2s, add_atom::value)
      .receive([&](int64_t x) { after_add = x; },
               [&](caf::error& err) { CAF_FAIL(describe(err)); });
    CAF_CHECK_EQUAL(after_add, 15);
    std::string echoed;
    self->request(*a, 2s, reading{"t1", 7})
      .receive([&](std::string& x) { echoed = x; },
               [&](caf::error& err) { CAF_FAIL(describe(err)); });
    CAF_CHECK_EQUAL(echoed, "a:t1=7");
    int64_t sum = 0;
    self->request(*s, 2s, get_atom::value)
      .receive([&](int64_t x) { sum = x; }, [&](caf::error& err) { CAF_FAIL(describe(err)); });
    CAF_CHECK_EQUAL(sum, 15);
    auto plus2 = sut.lookup("plus2");
    CAF_REQUIRE(plus2);
    int32_t y = 0;
    self->request(*plus2, 2s, int32_t{40})
      .receive([&](int32_t x) { y = x; }, [&](caf::error& err) { CAF_FAIL(describe(err)); });
    CAF_CHECK_EQUAL(y, 42);
    // Two detached actors run on two threads of their own, neither of them this one.
    std::vector<int64_t> ids;
    for (auto name : {"t1", "t2"}) {
      auto t = sut.lookup(name);
      CAF_REQUIRE(t);
      self->request(*t, 2s, get_atom::value)
        .receive([&](int64_t id) { ids.push_back(id); },
                 [&](caf::error& err) { CAF_FAIL(describe(err)); });
    }
    CAF_REQUIRE_EQUAL(ids.size(), 2u);
    CAF_CHECK_NOT_EQUAL(ids[0], ids[1]);
    CAF_CHECK_NOT_EQUAL(
      ids[0], static_cast<int64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id())));
    CAF_CHECK(counters_of(*a)); // spawned with spawn_counted: troupe ps sees its mailbox
  }
  CAF_CHECK_EQUAL(sut.stop(), caf::error{});
}

CAF_TEST(catalogs merge actor and message types) {
  catalog mine;
  mine.add({"echo", "my own echo", {}, nullptr});
  mine.add_message_type<reading>("reading2");
  catalog sut;
  actors::add_builtin_types(sut);
  sut.merge(mine);
  CAF_REQUIRE(sut.find("echo") != nullptr);
  CAF_CHECK_EQUAL(sut.find("echo")->help, "my own echo");
  CAF_CHECK(sut.find("watcher") != nullptr);
  CAF_CHECK_EQUAL(sut.message_type_names(), std::vector<std::string>{"reading2"});
}

CAF_TEST_FIXTURE_SCOPE_END()
