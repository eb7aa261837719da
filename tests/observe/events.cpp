#define CAF_SUITE observe.events

#include "troupe/events.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "troupe_test.hpp"

#include "troupe/config.hpp"
#include "troupe/json.hpp"
#include "troupe/observe/events_reader.hpp"

using namespace troupe;
using namespace troupe::observe;

namespace {

struct fixture {
  app_spec app;
  std::string dir;

  fixture() {
    dir = "/tmp/troupe-events-test-" + std::to_string(::getpid());
    std::filesystem::remove_all(dir);
    app.name = "evapp";
    app.log_dir = dir;
    node_spec a;
    a.name = "a";
    node_spec b;
    b.name = "b";
    app.nodes = {a, b};
    open_events(app, "a");
  }

  ~fixture() {
    close_events();
    std::filesystem::remove_all(dir);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(events_tests, fixture)

CAF_TEST(events are JSON lines with common fields that a reader picks up incrementally) {
  events_reader sut{events_file(app)};
  CAF_CHECK(sut.poll().empty());
  emit_event("child_exited", {{"supervisor", "s"}, {"child", "c\"q"}, {"reason", "kill"}});
  emit_event("node_restarted", {{"node", "b"}, {"pid", 42}, {"restarts", uint64_t{1}}});
  auto lines = sut.poll();
  CAF_REQUIRE_EQUAL(lines.size(), 2u);
  auto ev = parse_json(lines[0]);
  CAF_REQUIRE(ev);
  CAF_CHECK_EQUAL((*ev)["kind"].text(), "child_exited");
  CAF_CHECK_EQUAL((*ev)["app"].text(), "evapp");
  CAF_CHECK_EQUAL((*ev)["source"].text(), "a");
  CAF_CHECK_EQUAL((*ev)["child"].text(), "c\"q");
  CAF_CHECK((*ev)["t"].number > 1.7e12);
  CAF_CHECK_EQUAL((*ev)["ts"].text().size(), 24u); // 2026-12-02T14:00:10.011Z
  auto ev2 = parse_json(lines[1]);
  CAF_REQUIRE(ev2);
  CAF_CHECK((*ev2)["pid"].type == json_value::kind::number);
  CAF_CHECK_EQUAL((*ev2)["pid"].text(), "42");
  CAF_CHECK(sut.poll().empty());
  emit_event("app_stopped", {{"status", 0}});
  CAF_CHECK_EQUAL(sut.poll().size(), 1u);
}

CAF_TEST(peer events about tools and muted nodes are dropped) {
  mute_events_of("web-1");
  emit_event("peer_connected", {{"node", "a"}, {"peer", "call-77"}});
  emit_event("peer_lost", {{"node", "web-1"}, {"peer", "b"}});
  emit_event("peer_lost", {{"node", "a"}, {"peer", "b"}, {"reason", "goodbye"}});
  events_reader sut{events_file(app)};
  auto lines = sut.poll();
  CAF_REQUIRE_EQUAL(lines.size(), 1u);
  CAF_CHECK_EQUAL(render_event(lines[0]).substr(24),
                  "  a  peer_lost  node=a  peer=b  reason=goodbye");
}

CAF_TEST(a reader keeps a partial line for later and restarts on a shrunk file) {
  auto path = events_file(app);
  close_events();
  std::filesystem::create_directories(dir);
  {
    std::ofstream out{path};
    out << "{\"t\":1}\n{\"t\":2";
  }
  events_reader sut{path};
  CAF_CHECK_EQUAL(sut.poll().size(), 1u);
  {
    std::ofstream out{path, std::ios::app};
    out << "}\n";
  }
  auto lines = sut.poll();
  CAF_REQUIRE_EQUAL(lines.size(), 1u);
  CAF_CHECK_EQUAL(lines[0], "{\"t\":2}");
  {
    std::ofstream out{path, std::ios::trunc};
    out << "{\"t\":3}\n";
  }
  lines = sut.poll();
  CAF_REQUIRE_EQUAL(lines.size(), 1u);
  CAF_CHECK_EQUAL(lines[0], "{\"t\":3}");
  CAF_CHECK_EQUAL(events_json(path, 0, 10), "[{\"t\":3}]");
  CAF_CHECK_EQUAL(events_json(path, 3, 10), "[]");
}

CAF_TEST(events_json returns the newest events after since) {
  for (int i = 0; i < 5; ++i)
    emit_event("child_restarted", {{"restarts", i}});
  auto all = parse_json(events_json(events_file(app), 0, 3));
  CAF_REQUIRE(all);
  CAF_REQUIRE_EQUAL(all->array.size(), 3u);
  CAF_CHECK_EQUAL(all->array[0]["restarts"].text(), "2");
  CAF_CHECK_EQUAL(all->array[2]["restarts"].text(), "4");
}

CAF_TEST_FIXTURE_SCOPE_END()
