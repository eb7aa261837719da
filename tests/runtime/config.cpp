#define CAF_SUITE runtime.config

#include "troupe/config.hpp"

#include "troupe_test.hpp"

#include "troupe/actors/catalog.hpp"
#include "troupe/catalog.hpp"
#include "troupe/errc.hpp"

using namespace std::chrono_literals;
using namespace troupe;

namespace {

struct fixture {
  catalog types;

  fixture() {
    actors::add_to(types);
  }

  caf::expected<app_spec> parse(const std::string& text) {
    return parse_app(text, "app.toml", types);
  }

  /// Parses `text`, requires a config error and returns its one-line message.
  std::string error_of(const std::string& text) {
    auto res = parse(text);
    if (res) {
      CAF_FAIL("config was accepted:\n" << text);
    }
    CAF_CHECK_EQUAL(res.error(), make_error(errc::bad_config));
    auto msg = config_error_message(res.error());
    CAF_CHECK_EQUAL(msg.find('\n'), std::string::npos);
    return msg;
  }
};

const std::string header = "[app]\nname = \"demo\"\n[nodes.main]\n"; // lines 1-3

bool starts_with(const std::string& x, const std::string& prefix) {
  return x.compare(0, prefix.size(), prefix) == 0;
}

#define CHECK_ERROR(text, prefix, needle)                                                          \
  do {                                                                                             \
    auto msg = error_of(text);                                                                     \
    TROUPE_CHECK_MSG(starts_with(msg, prefix), "message: " << msg);                                \
    TROUPE_CHECK_MSG(msg.find(needle) != std::string::npos, "message: " << msg);                   \
  } while (false)

} // namespace

CAF_TEST_FIXTURE_SCOPE(config_tests, fixture)

CAF_TEST(a complete app file parses into a typed spec) {
  auto res = parse(header + R"(
[nodes.user]
launch = false

[[actors]]
name = "mylib"
type = "mylib_driver"
node = "main"
params = { read_config = ["1s", "3s"], seed = 7 }

[[actors]]
name = "config"
type = "config_supervisor"
node = "main"
params = { driver = "mylib" }
)");
  CAF_REQUIRE(res);
  auto& app = *res;
  CAF_CHECK_EQUAL(app.name, "demo");
  CAF_CHECK_EQUAL(app.log_dir, "logs");
  CAF_CHECK_EQUAL(app.log_level, "info");
  CAF_REQUIRE_EQUAL(app.nodes.size(), 2u);
  CAF_CHECK_EQUAL(app.nodes[0].name, "main");
  CAF_CHECK(app.nodes[0].launch);
  CAF_CHECK_EQUAL(app.nodes[1].name, "user");
  CAF_CHECK(!app.nodes[1].launch);
  CAF_REQUIRE_EQUAL(app.actors.size(), 2u);
  auto& drv = app.actors[0];
  CAF_CHECK_EQUAL(drv.where.line, 8u);
  auto range = drv.args.get<duration_range>("read_config");
  CAF_CHECK_EQUAL(range.min, timespan{1s});
  CAF_CHECK_EQUAL(range.max, timespan{3s});
  CAF_CHECK_EQUAL(drv.args.get<int64_t>("seed"), 7);
  auto& sup = app.actors[1];
  CAF_CHECK_EQUAL(sup.args.get<std::string>("driver"), "mylib");
  // Defaults fill in what the file leaves out.
  CAF_CHECK_EQUAL(sup.args.get<timespan>("idle_before_reload"), timespan{10s});
  CAF_CHECK_EQUAL(app.actors_on("main").size(), 2u);
  CAF_CHECK_EQUAL(app.actors_on("user").size(), 0u);
}

CAF_TEST(a one - node app may omit the node of its actors) {
  auto res = parse(header + "[[actors]]\nname = \"mylib\"\ntype = \"mylib_driver\"\n");
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->actors[0].node, "main");
}

CAF_TEST(syntax errors name the file and line) {
  CHECK_ERROR(header + "[[actors]]\nname = \"x\ntype = 1\n", "app.toml:5:", "syntax");
}

CAF_TEST(unknown keys are rejected with their line) {
  CHECK_ERROR(header + "colour = \"red\"\n", "app.toml:4: nodes.main.colour:", "unknown key");
  CHECK_ERROR("[app]\nname = \"x\"\nlog_dri = \"l\"\n[nodes.main]\n",
              "app.toml:3: app.log_dri:", "unknown key");
  CHECK_ERROR(header + "[extra]\nx = 1\n", "app.toml:4: extra:", "unknown key");
  CHECK_ERROR(header + "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\nnod = \"main\"\n",
              "app.toml:7: actors[0].nod:", "unknown key");
}

CAF_TEST(unknown parameters are rejected and the allowed ones listed) {
  CHECK_ERROR(
    header
      + "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\n"
        "params = { read_config = [\"0s\", \"1s\"], speed = 3 }\n",
    "app.toml:7: actors.m.params.speed:", "allowed: read_config, seed, crash_probability");
}

CAF_TEST(wrong types are rejected) {
  CHECK_ERROR("[app]\nname = 5\n[nodes.main]\n", "app.toml:2: app.name:", "expected a string");
  CHECK_ERROR(header + "launch = \"yes\"\n",
              "app.toml:4: nodes.main.launch:", "expected a boolean");
  CHECK_ERROR(header
                + "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\n"
                  "params = { seed = \"seven\" }\n",
              "app.toml:7: actors.m.params.seed:", "expected integer, got string");
  CHECK_ERROR("actors = 3\n" + header, "app.toml:1: actors:", "expected an array");
}

CAF_TEST(bad durations are rejected) {
  CHECK_ERROR(header
                + "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\n"
                  "params = { read_config = [\"0s\", \"30\"] }\n",
              "app.toml:7: actors.m.params.read_config[1]:", "invalid duration \"30\"");
  CHECK_ERROR(header
                + "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\n"
                  "params = { read_config = [\"3s\", \"1s\"] }\n",
              "app.toml:7: actors.m.params.read_config:", "first duration is larger");
  CHECK_ERROR(header
                + "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\n"
                  "params = { read_config = \"1s\" }\n",
              "app.toml:7: actors.m.params.read_config:", "duration range");
}

CAF_TEST(unknown actor types are rejected and the known ones listed) {
  // The list follows the catalog (it grows when types are added), sorted and comma-separated.
  std::string known;
  for (auto& n : types.names())
    known += known.empty() ? n : ", " + n;
  TROUPE_CHECK_MSG(known.find("echo, ") != std::string::npos
                     && known.find("mylib_driver") != std::string::npos,
                   "catalog: " << known);
  CHECK_ERROR(header + "[[actors]]\nname = \"m\"\ntype = \"mylib_drvier\"\n",
              "app.toml:6: actors.m.type:", "(known types: " + known + ")");
  types.add({"aaa_user_type", "a program's own type", {}, nullptr});
  CHECK_ERROR(header + "[[actors]]\nname = \"m\"\ntype = \"mylib_drvier\"\n",
              "app.toml:6: actors.m.type:", "(known types: aaa_user_type, " + known + ")");
}

CAF_TEST(duplicate actor names are rejected) {
  CHECK_ERROR(header
                + "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\n"
                  "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\n",
              "app.toml:8: actors.m.name:", "duplicate actor name (first defined at line 4)");
}

CAF_TEST(missing and unknown nodes are rejected) {
  CHECK_ERROR("[app]\nname = \"x\"\n", "app.toml:1: nodes:", "missing required table");
  CHECK_ERROR(header + "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\nnode = \"backend\"\n",
              "app.toml:7: actors.m.node:", "no node named \"backend\" (nodes: main)");
  CHECK_ERROR(header + "[nodes.other]\n[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\n",
              "app.toml:5: actors.m.node:", "missing required key");
}

CAF_TEST(missing required keys and parameters are rejected) {
  CHECK_ERROR("[nodes.main]\n", "app.toml:1: app:", "missing required table [app]");
  CHECK_ERROR("[app]\nlog_dir = \"l\"\n[nodes.main]\n",
              "app.toml:1: app.name:", "missing required key");
  CHECK_ERROR(header + "[[actors]]\nname = \"c\"\ntype = \"config_supervisor\"\n",
              "app.toml:4: actors.c.params.driver:", "missing required parameter");
  CHECK_ERROR(header + "[[actors]]\ntype = \"mylib_driver\"\n",
              "app.toml:4: actors[0].name:", "missing required key");
}

CAF_TEST(actor references must name an actor of the app) {
  CHECK_ERROR(header
                + "[[actors]]\nname = \"c\"\ntype = \"config_supervisor\"\n"
                  "params = { driver = \"mylib\" }\n",
              "app.toml:7: actors.c.params.driver:", "no actor named \"mylib\"");
}

CAF_TEST(references may name later actors and order the start on their node) {
  auto app = parse(header
                   + "[[actors]]\nname = \"w\"\ntype = \"watcher\"\nparams = { target = \"c\" }\n"
                     "[[actors]]\nname = \"c\"\ntype = \"config_supervisor\"\n"
                     "params = { driver = \"mylib\" }\n"
                     "[[actors]]\nname = \"mylib\"\ntype = \"mylib_driver\"\n");
  CAF_REQUIRE(app);
  std::vector<std::string> order;
  for (auto a : app->actors_on("main"))
    order.push_back(a->name);
  CAF_CHECK_EQUAL(order, std::vector<std::string>({"mylib", "c", "w"}));
}

CAF_TEST(a cycle of references on one node is rejected and named) {
  CHECK_ERROR(header
                + "[[actors]]\nname = \"w1\"\ntype = \"watcher\"\nparams = { target = \"w2\" }\n"
                  "[[actors]]\nname = \"w2\"\ntype = \"watcher\"\nparams = { target = \"w1\" }\n",
              "app.toml:4: actors.w1.params:", "form a cycle (w1 -> w2 -> w1)");
}

CAF_TEST(references between nodes need no order and no cycle check) {
  auto app
    = parse("[app]\nname = \"demo\"\n[nodes.a]\nlisten = \"shm\"\n[nodes.b]\nlisten = \"shm\"\n"
            "[[actors]]\nname = \"w1\"\ntype = \"watcher\"\nnode = \"a\"\n"
            "params = { target = \"w2\" }\n"
            "[[actors]]\nname = \"w2\"\ntype = \"watcher\"\nnode = \"b\"\n"
            "params = { target = \"w1\" }\n");
  CAF_CHECK(app);
}

CAF_TEST(buffer takes a duration or a table with time and max) {
  auto app = parse(header
                   + "[[actors]]\nname = \"e1\"\ntype = \"echo\"\nbuffer = \"2s\"\n"
                     "[[actors]]\nname = \"e2\"\ntype = \"echo\"\n"
                     "buffer = { time = \"500ms\", max = 7 }\n"
                     "[[actors]]\nname = \"e3\"\ntype = \"echo\"\n");
  CAF_REQUIRE(app);
  CAF_CHECK_EQUAL(app->find_actor("e1")->buffer, timespan{std::chrono::seconds{2}});
  CAF_CHECK_EQUAL(app->find_actor("e1")->buffer_max, 10000u);
  CAF_CHECK_EQUAL(app->find_actor("e2")->buffer, timespan{std::chrono::milliseconds{500}});
  CAF_CHECK_EQUAL(app->find_actor("e2")->buffer_max, 7u);
  CAF_CHECK_EQUAL(app->find_actor("e3")->buffer, timespan{0});
  CHECK_ERROR(header + "[[actors]]\nname = \"e\"\ntype = \"echo\"\nbuffer = 5\n",
              "app.toml:7: actors.e.buffer:", "expected a duration");
  CHECK_ERROR(header + "[[actors]]\nname = \"e\"\ntype = \"echo\"\nbuffer = { max = 5 }\n",
              "app.toml:7: actors.e.buffer.time:", "missing required key");
  CHECK_ERROR(header
                + "[[actors]]\nname = \"e\"\ntype = \"echo\"\n"
                  "buffer = { time = \"1s\", max = 0 }\n",
              "app.toml:7: actors.e.buffer.max:", "from 1 to 10000000");
  CHECK_ERROR(header + "[[actors]]\nname = \"e\"\ntype = \"echo\"\nbuffer = \"1h\"\n",
              "app.toml:7: actors.e.buffer:", "from 0s to 10min");
}

CAF_TEST(nodes start children 's nodes before their supervisors' and refuse a cycle) {
  const std::string nodes = "[app]\nname = \"demo\"\n[nodes.a]\nlisten = \"shm\"\n"
                            "[nodes.b]\nlisten = \"shm\"\n[nodes.c]\nlisten = \"shm\"\n";
  auto app = parse(nodes
                   + "[[actors]]\nname = \"e1\"\ntype = \"echo\"\nnode = \"c\"\n"
                     "[[actors]]\nname = \"e2\"\ntype = \"echo\"\nnode = \"b\"\n"
                     "[[supervisors]]\nname = \"s\"\nnode = \"a\"\nchildren = [\"e1\"]\n");
  CAF_REQUIRE(app);
  CAF_CHECK_EQUAL(app->node_start_order(), std::vector<std::string>({"c", "a", "b"}));
  CHECK_ERROR(nodes
                + "[[actors]]\nname = \"e1\"\ntype = \"echo\"\nnode = \"b\"\n"
                  "[[actors]]\nname = \"e2\"\ntype = \"echo\"\nnode = \"a\"\n"
                  "[[supervisors]]\nname = \"s1\"\nnode = \"a\"\nchildren = [\"e1\"]\n"
                  "[[supervisors]]\nname = \"s2\"\nnode = \"b\"\nchildren = [\"e2\"]\n",
              "app.toml:1: supervisors:", "forms a cycle (a -> b -> a");
}

CAF_TEST(bad names and log levels are rejected) {
  CHECK_ERROR("[app]\nname = \"a b\"\n[nodes.main]\n", "app.toml:2: app.name:", "invalid name");
  CHECK_ERROR("[app]\nname = \"x\"\nlog_level = \"loud\"\n[nodes.main]\n",
              "app.toml:3: app.log_level:", "unknown log level");
}

CAF_TEST(supervisors parse with defaults and validated children) {
  auto res = parse(header + R"(
[[actors]]
name = "mylib"
type = "mylib_driver"
restart = "transient"
[[actors]]
name = "config"
type = "config_supervisor"
params = { driver = "mylib" }
[[supervisors]]
name = "inner"
strategy = "rest_for_one"
intensity = { max_restarts = 2, within = "1s" }
backoff = { initial = "100ms", max = "2s" }
children = ["mylib"]
[[supervisors]]
name = "outer"
children = ["inner", "config"]
)");
  CAF_REQUIRE(res);
  CAF_REQUIRE_EQUAL(res->supervisors.size(), 2u);
  auto& inner = res->supervisors[0];
  CAF_CHECK_EQUAL(inner.node, "main");
  CAF_CHECK_EQUAL(inner.strategy, "rest_for_one");
  CAF_CHECK_EQUAL(inner.max_restarts, 2);
  CAF_CHECK_EQUAL(inner.within, timespan{1s});
  CAF_CHECK_EQUAL(inner.backoff_initial, timespan{100ms});
  CAF_CHECK_EQUAL(inner.backoff_max, timespan{2s});
  auto& outer = res->supervisors[1];
  CAF_CHECK_EQUAL(outer.strategy, "one_for_one");
  CAF_CHECK_EQUAL(outer.children, std::vector<std::string>({"inner", "config"}));
  CAF_CHECK_EQUAL(res->supervisor_of("mylib"), &inner);
  CAF_CHECK_EQUAL(res->supervisor_of("inner"), &outer);
  CAF_CHECK_EQUAL(res->actors[0].restart, "transient");
}

CAF_TEST(bad supervisors are rejected) {
  auto actors = header + "[[actors]]\nname = \"m\"\ntype = \"mylib_driver\"\n"; // lines 4-6
  CHECK_ERROR(
    actors + "[[supervisors]]\nname = \"s\"\nstrategy = \"all_for_none\"\nchildren = [\"m\"]\n",
    "app.toml:9: supervisors.s.strategy:", "unknown strategy");
  CHECK_ERROR(actors + "[[supervisors]]\nname = \"s\"\nchildren = [\"x\"]\n",
              "app.toml:9: supervisors.s.children:", "no actor or earlier supervisor named \"x\"");
  CHECK_ERROR(actors
                + "[[supervisors]]\nname = \"s\"\nchildren = [\"m\"]\n"
                  "[[supervisors]]\nname = \"t\"\nchildren = [\"m\"]\n",
              "app.toml:12: supervisors.t.children:", "already supervised by s");
  CHECK_ERROR(actors + "[[supervisors]]\nname = \"m\"\nchildren = [\"m\"]\n",
              "app.toml:8: supervisors.m.name:", "name already used");
  CHECK_ERROR(actors + "[[supervisors]]\nname = \"s\"\n",
              "app.toml:7: supervisors.s.children:", "missing required key");
  CHECK_ERROR(actors
                + "[[supervisors]]\nname = \"s\"\nchildren = [\"m\"]\nbackoff = { initial = "
                  "\"2s\", max = \"1s\" }\n",
              "app.toml:10: supervisors.s.backoff.max:", "must not be smaller");
  CHECK_ERROR(header
                + "[nodes.other]\n[[actors]]\nname = \"m\"\ntype = \"echo\"\nnode = \"other\"\n"
                  "[[supervisors]]\nname = \"s\"\nnode = \"main\"\nchildren = [\"m\"]\n",
              "app.toml:12: supervisors.s.children:", "cannot reach");
  CHECK_ERROR(actors + "restart = \"sometimes\"\n",
              "app.toml:7: actors.m.restart:", "unknown restart type");
}

CAF_TEST(listen endpoints are checked and shm names derived from app and node) {
  auto res = parse("[app]\nname = \"demo\"\n[nodes.a]\nlisten = \"shm\"\n"
                   "[nodes.b]\nlisten = \"shm://other.name\"\n[nodes.c]\n"
                   "listen = \"ipc:///tmp/x\"\n[nodes.d]\nlisten = \"tcp://127.0.0.1:7100\"\n"
                   "[bridges]\nshm_ring_size = 65536\nshm_spin = \"0s\"\n");
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->find_node("a")->listen, "shm://demo.a");
  CAF_CHECK_EQUAL(res->find_node("b")->listen, "shm://other.name");
  CAF_CHECK_EQUAL(res->bridges.shm_ring_size, 65536u);
  CAF_CHECK_EQUAL(res->bridges.shm_spin.count(), 0);
  auto with_listen = [](const std::string& ep) { return header + "listen = \"" + ep + "\"\n"; };
  CHECK_ERROR(with_listen("shm://"), "app.toml:4: nodes.main.listen:", "an shm endpoint needs");
  CHECK_ERROR(with_listen("shm://a/b"), "app.toml:4: nodes.main.listen:", "an shm endpoint needs");
  CHECK_ERROR(with_listen("udp://x:1"), "app.toml:4: nodes.main.listen:", "unknown transport");
  CHECK_ERROR(with_listen("tcp://127.0.0.1:99999"),
              "app.toml:4: nodes.main.listen:", "invalid port");
  CHECK_ERROR(with_listen("ipc://"), "app.toml:4: nodes.main.listen:", "needs a path");
  CHECK_ERROR(header + "[nodes.b]\nlisten = \"shm\"\n[nodes.c]\nlisten = \"shm://demo.b\"\n",
              "app.toml:6: nodes.c.listen:", "endpoint shm://demo.b already used by node b");
  CHECK_ERROR(header + "[bridges]\nshm_ring_size = 1000\n",
              "app.toml:5: bridges.shm_ring_size:", "power of two");
  CHECK_ERROR(header + "[bridges]\nshm_spin = \"1s\"\n",
              "app.toml:5: bridges.shm_spin:", "from 0s to 10ms");
}

CAF_TEST(a node may listen on several transports and links choose between them) {
  auto res = parse("[app]\nname = \"demo\"\n"
                   "[nodes.front]\nlaunch = false\n"
                   "[nodes.back-end]\nlisten = [\"tcp://127.0.0.1:7100\", \"shm\"]\n"
                   "[nodes.other]\n"
                   "[links]\n\"front-back-end\" = { transport = \"shm\" }\n");
  CAF_REQUIRE(res);
  auto back = res->find_node("back-end");
  CAF_REQUIRE_EQUAL(back->endpoints.size(), 2u);
  CAF_CHECK_EQUAL(back->listen, "tcp://127.0.0.1:7100");
  CAF_CHECK_EQUAL(back->endpoints[1], "shm://demo.back-end");
  CAF_REQUIRE_EQUAL(res->links.size(), 1u);
  CAF_CHECK_EQUAL(res->links[0].a, "front");
  CAF_CHECK_EQUAL(res->links[0].b, "back-end");
  CAF_CHECK_EQUAL(res->endpoint_for("front", "back-end"), "shm://demo.back-end");
  CAF_CHECK_EQUAL(res->endpoint_for("other", "back-end"), "tcp://127.0.0.1:7100");
  CAF_CHECK_EQUAL(res->endpoint_for("someone", "back-end"), "tcp://127.0.0.1:7100");
  const std::string two = "[app]\nname = \"demo\"\n[nodes.a]\n[nodes.b]\n"
                          "listen = [\"tcp://127.0.0.1:7100\", \"shm\"]\n"; // lines 1-5
  CHECK_ERROR(two + "[links]\n\"a-c\" = { transport = \"shm\" }\n",
              "app.toml:7: links.a-c:", "naming two different nodes");
  CHECK_ERROR(two + "[links]\n\"a-b\" = { transport = \"ipc\" }\n",
              "app.toml:7: links.a-b.transport:", "node b (which node a connects to) has no ipc");
  CHECK_ERROR(two + "[links]\n\"a-b\" = { transport = \"udp\" }\n",
              "app.toml:7: links.a-b.transport:", "unknown transport \"udp\"");
  CHECK_ERROR(two + "[links]\n\"a-b\" = { via = \"shm\" }\n",
              "app.toml:7: links.a-b.via:", "unknown key");
  CHECK_ERROR(two
                + "[links]\n\"a-b\" = { transport = \"shm\" }\n"
                  "\"b-a\" = { transport = \"tcp\" }\n",
              "app.toml:", "a second entry for this pair");
  CHECK_ERROR("[app]\nname = \"demo\"\n[nodes.a]\n[nodes.b]\n[links]\n"
              "\"a-b\" = { transport = \"shm\" }\n",
              "app.toml:6: links.a-b:", "neither node listens");
  CHECK_ERROR(header + "listen = [\"shm\", \"shm://x\"]\n",
              "app.toml:4: nodes.main.listen:", "a second shm endpoint");
  CHECK_ERROR(header + "listen = []\n",
              "app.toml:4: nodes.main.listen:", "non-empty array of endpoints");
  CHECK_ERROR(header + "listen = [3]\n", "app.toml:4: nodes.main.listen:", "expected a string");
}

CAF_TEST(a bind address is separate from the address peers connect to) {
  CHECK_ERROR("[app]\nname = \"b\"\n[nodes.main]\nlisten = \"tcp://*:7313\"\n",
              "app.toml:4: nodes.main.listen:", "\"*\" is an address to bind");
  CHECK_ERROR("[app]\nname = \"b\"\n[nodes.main]\nlisten = \"tcp://0.0.0.0:7313\"\n",
              "app.toml:4: nodes.main.listen:", "add bind = \"0.0.0.0\"");
  auto res = parse("[app]\nname = \"b\"\n[nodes.main]\n"
                   "listen = [\"tcp://10.0.0.5:7313\", \"ipc:///tmp/b\"]\nbind = \"0.0.0.0\"\n");
  CAF_REQUIRE(res);
  auto& n = res->nodes.front();
  CAF_CHECK_EQUAL(n.listen, "tcp://10.0.0.5:7313");
  CAF_CHECK_EQUAL(n.bind_endpoint(n.listen), "tcp://0.0.0.0:7313");
  CAF_CHECK_EQUAL(n.bind_endpoint("ipc:///tmp/b"), "ipc:///tmp/b");
  auto plain = parse("[app]\nname = \"b\"\n[nodes.main]\nlisten = \"tcp://127.0.0.1:7313\"\n");
  CAF_REQUIRE(plain);
  CAF_CHECK_EQUAL(plain->nodes.front().bind_endpoint("tcp://127.0.0.1:7313"),
                  "tcp://127.0.0.1:7313");
  CHECK_ERROR("[app]\nname = \"b\"\n[nodes.main]\nlisten = \"ipc:///tmp/b\"\nbind = \"0.0.0.0\"\n",
              "app.toml:5: nodes.main.bind:", "this node listens on none");
  CHECK_ERROR("[app]\nname = \"b\"\n[nodes.main]\nlisten = \"tcp://h:1\"\nbind = \"0.0.0.0:1\"\n",
              "app.toml:5: nodes.main.bind:", "invalid bind address");
}

CAF_TEST(a missing file is reported by name) {
  auto res = load_app("/nonexistent/app.toml", types);
  CAF_REQUIRE(!res);
  CAF_CHECK_EQUAL(config_error_message(res.error()), "/nonexistent/app.toml: no such app file");
}

CAF_TEST(the shipped examples are valid) {
  for (auto name : {"slow-config.toml", "slow-config-demo.toml", "slow-config-ipc.toml",
                    "slow-config-tcp.toml", "slow-config-shm.toml", "flowkit/flowkit.toml"}) {
    auto res = load_app(std::string{TROUPE_EXAMPLES_DIR} + "/" + name, types);
    TROUPE_CHECK_MSG(res, name << ": " << (res ? "" : config_error_message(res.error())));
  }
}

CAF_TEST_FIXTURE_SCOPE_END()
