#define CAF_SUITE runtime.node

#include "troupe/node.hpp"

#include "caf/test/unit_test.hpp"

#include "caf/actor_system.hpp"

#include "troupe/actors/catalog.hpp"
#include "troupe/actors/mylib_client.hpp"
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

  std::unique_ptr<node> make(const std::string& text, const std::string& name = "main") {
    auto app = parse_app(text, "app.toml", types);
    if (!app)
      CAF_FAIL(config_error_message(app.error()));
    node_options opts;
    opts.configure = actors::add_message_types;
    opts.log_to_file = false;
    opts.stderr_level = "off";
    auto n = node::make(std::move(*app), name, types, opts);
    if (!n)
      CAF_FAIL(describe(n.error()));
    return std::move(*n);
  }
};

const char* slow_app = R"(
[app]
name = "t"
[nodes.main]
[nodes.other]
[[actors]]
name = "mylib"
type = "mylib_driver"
node = "main"
params = { read_config = ["30s", "30s"] }
[[actors]]
name = "config"
type = "config_supervisor"
node = "main"
params = { driver = "mylib", idle_before_reload = "0s" }
[[actors]]
name = "elsewhere"
type = "mylib_driver"
node = "other"
)";

} // namespace

CAF_TEST_FIXTURE_SCOPE(node_tests, fixture)

CAF_TEST(a node spawns its actors and finds them by name) {
  auto sut = make(slow_app);
  CAF_REQUIRE_EQUAL(sut->start(), caf::error{});
  CAF_CHECK_EQUAL(sut->names().names(), std::vector<std::string>({"config", "mylib"}));
  auto config = sut->lookup("config");
  CAF_REQUIRE(config);
  actors::mylib_client client{sut->system(), *config, 2s};
  CAF_CHECK_EQUAL(client.init(), caf::error{});
  auto y = client.calc(1);
  CAF_REQUIRE(y);
  CAF_CHECK_EQUAL(*y, 2);
  CAF_CHECK_EQUAL(sut->stop(), caf::error{});
  CAF_CHECK_EQUAL(sut->stop(), caf::error{}); // idempotent
  CAF_CHECK(!sut->lookup("config"));
}

CAF_TEST(lookup explains names that are unknown or placed elsewhere) {
  auto sut = make(slow_app);
  CAF_REQUIRE_EQUAL(sut->start(), caf::error{});
  auto missing = sut->lookup("nobody");
  CAF_REQUIRE(!missing);
  CAF_CHECK_EQUAL(missing.error(), make_error(errc::not_found));
  auto remote = sut->lookup("elsewhere");
  CAF_REQUIRE(!remote);
  CAF_CHECK_NOT_EQUAL(describe(remote.error()).find("runs on node other"), std::string::npos);
}

CAF_TEST(stopping a node does not wait for a running 30 s readConfig) {
  auto sut = make(slow_app);
  CAF_REQUIRE_EQUAL(sut->start(), caf::error{});
  actors::mylib_client client{sut->system(), *sut->lookup("config"), 2s};
  CAF_REQUIRE_EQUAL(client.init(), caf::error{});
  CAF_REQUIRE_EQUAL(client.reload(), caf::error{});
  // Keep the result: CAF_CHECK_EQUAL binds `auto&&` to its argument, and a reference into a
  // temporary `expected` dangled (found by scripts/sanitize.sh).
  auto during_reload = client.calc(1);
  CAF_CHECK_EQUAL(during_reload.error(), make_error(errc::calc_fail));
  auto start = std::chrono::steady_clock::now();
  CAF_CHECK_EQUAL(sut->stop(), caf::error{});
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - start, std::chrono::seconds{5});
}

CAF_TEST(a node name that the app does not define is rejected) {
  auto app = parse_app(slow_app, "app.toml", types);
  CAF_REQUIRE(app);
  node_options opts;
  opts.log_to_file = false;
  auto n = node::make(std::move(*app), "nope", types, opts);
  CAF_REQUIRE(!n);
  CAF_CHECK_EQUAL(n.error(), make_error(errc::bad_config));
}

CAF_TEST_FIXTURE_SCOPE_END()
