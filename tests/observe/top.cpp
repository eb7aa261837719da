#define CAF_SUITE observe.top

#include "troupe/observe/top.hpp"

#include <sstream>

#include "troupe_test.hpp"

using namespace troupe;
using namespace troupe::observe;

namespace {

// Two app states one second apart (observer::status_json): a handled 10 -> 60 messages, b 5 -> 5
// with 7 waiting; the node used 250 ms of CPU; the supervised child c restarted twice.
std::string state(int t, int a_handled, int cpu_ms, int frames) {
  std::ostringstream out;
  out
    << R"({"app":"demo","launcher_pid":1,"time_ms":)" << t
    << R"(,"nodes":[{"node":"n1","pid":11,"restarts":1,"state":"running","last_exit":"was killed by signal Killed","report":{"node":"n1","pid":11,"actors":[{"name":"a","state":"running","mailbox":0,"handled":)"
    << a_handled
    << R"(},{"name":"b","state":"running","mailbox":7,"handled":5}],"process":{"cpu_ms":)" << cpu_ms
    << R"(,"rss_bytes":2097152,"threads":5,"started_ms":0,"now_ms":)" << t
    << R"(},"bridges":{"queue_depth":0,"bad_frames":0,"peers":[{"peer":"n2","transport":"ipc","connected":true,"frames_in":)"
    << frames << R"(,"frames_out":0,"bytes_in":)" << frames * 100
    << R"(,"bytes_out":0,"errors":0,"dropped":0,"pending":0,"rtt_last_us":1500,"rtt_count":1}]},"supervisors":[{"supervisor":"s","children":[{"name":"c","state":"running","restarts":2,"last_exit":"boom"}]}],"relays":[{"name":"c","mailbox":1,"handled":0}]}},{"node":"n2","pid":0,"restarts":0,"state":"restarting","last_exit":"","report":null}],"actors":[{"name":"a","node":"n1"},{"name":"b","node":"n1"},{"name":"c","node":"n1"}]})";
  return out.str();
}

std::vector<std::string> actor_order(const std::string& frame) {
  std::vector<std::string> out;
  std::istringstream in{frame};
  std::string line;
  bool in_actors = false;
  while (std::getline(in, line)) {
    if (line.rfind("ACTOR", 0) == 0) {
      in_actors = true;
      continue;
    }
    if (in_actors && line.empty())
      break;
    if (in_actors)
      out.push_back(line.substr(0, line.find(' ')));
  }
  return out;
}

bool has_row(const std::string& frame, std::vector<std::string> cells) {
  std::istringstream in{frame};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words{line};
    std::vector<std::string> got;
    std::string w;
    while (words >> w)
      got.push_back(w);
    if (got.size() >= cells.size() && std::equal(cells.begin(), cells.end(), got.begin()))
      return true;
  }
  return false;
}

} // namespace

CAF_TEST(rates and cpu come from two states) {
  auto prev = parse_json(state(1000, 10, 100, 10));
  auto cur = parse_json(state(2000, 60, 350, 30));
  CAF_REQUIRE(prev && cur);
  auto sut = render_top(*cur, &*prev, top_sort::rate, {"ev1"});
  TROUPE_CHECK_MSG(has_row(sut, {"n1", "running", "11", "25.0", "2.0M", "5", "1", "2s", "was"}),
                   sut);
  TROUPE_CHECK_MSG(has_row(sut, {"n2", "restarting", "-", "-", "-", "-", "0"}), sut);
  TROUPE_CHECK_MSG(has_row(sut, {"a", "n1", "running", "50.0", "0", "60", "-", "-"}), sut);
  TROUPE_CHECK_MSG(has_row(sut, {"c", "n1", "running", "0.0", "1", "0", "2", "boom"}), sut);
  TROUPE_CHECK_MSG(has_row(sut, {"n1", "n2", "ipc", "up", "20.0", "2.0K", "1.50ms"}), sut);
  CAF_CHECK(sut.find("\nev1\n") != std::string::npos);
}

CAF_TEST(without a previous state rates show as dashes) {
  auto cur = parse_json(state(2000, 60, 350, 30));
  CAF_REQUIRE(cur);
  auto sut = render_top(*cur, nullptr, top_sort::rate, {});
  TROUPE_CHECK_MSG(has_row(sut, {"a", "n1", "running", "-", "0", "60"}), sut);
  TROUPE_CHECK_MSG(has_row(sut, {"n1", "running", "11", "-"}), sut);
}

CAF_TEST(sort orders) {
  auto prev = parse_json(state(1000, 10, 100, 10));
  auto cur = parse_json(state(2000, 60, 350, 30));
  CAF_REQUIRE(prev && cur);
  using v = std::vector<std::string>;
  CAF_CHECK_EQUAL(actor_order(render_top(*cur, &*prev, top_sort::rate, {})), (v{"a", "b", "c"}));
  CAF_CHECK_EQUAL(actor_order(render_top(*cur, &*prev, top_sort::mailbox, {})), (v{"b", "c", "a"}));
  CAF_CHECK_EQUAL(actor_order(render_top(*cur, &*prev, top_sort::restarts, {})),
                  (v{"c", "a", "b"}));
  CAF_CHECK_EQUAL(actor_order(render_top(*cur, &*prev, top_sort::name, {})), (v{"a", "b", "c"}));
  CAF_CHECK(render_top(*cur, &*prev, top_sort::mailbox, {}).find("sort: mailbox")
            != std::string::npos);
}
