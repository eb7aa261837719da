#define CAF_SUITE observe.metrics

#include "troupe/observe/metrics.hpp"

#include "troupe_test.hpp"

#include "troupe/actors/catalog.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/errc.hpp"

using namespace troupe;
using namespace troupe::observe;

namespace {

// A node report as the introspection actor writes it (introspection.hpp), with one peer whose
// heartbeat round trips fell into the 3rd, 4th and last buckets.
const char* report_text = R"({"node":"n1","app":"a","pid":1,
  "actors":[{"name":"plain","type":"echo","id":3,"state":"running","mailbox":2,"handled":7},
            {"name":"gone","type":"echo","id":4,"state":"down: kill","mailbox":null,"handled":null}],
  "process":{"cpu_ms":1500,"rss_bytes":1048576,"threads":9,"started_ms":1000,"now_ms":61000},
  "bridges":{"queue_depth":4,"bad_frames":1,"peers":[{"peer":"n2","transport":"shm",
    "connected":true,"frames_in":10,"frames_out":12,"bytes_in":100,"bytes_out":120,"errors":0,
    "dropped":5,"pending":1,"rtt_last_us":300,"rtt_sum_us":2000300,"rtt_count":3,
    "rtt_buckets":[0,0,1,1,0,0,0,0,0,0,0,0,0,0,1]}]},
  "supervisors":[{"supervisor":"sup","strategy":"one_for_one","children":[
    {"name":"kid\"1","restart":"permanent","state":"restarting","restarts":4,"id":0,
     "last_exit":"x"}]}],
  "relays":[{"name":"kid\"1","forwarded":9,"refused":2,"mailbox":0,"handled":3}]})";

json_value report() {
  auto x = parse_json(report_text);
  if (!x)
    CAF_FAIL("bad test input");
  return *x;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

} // namespace

CAF_TEST(the text format names counters with _total and carries app and node labels) {
  auto sut = render_metrics(report(), "a", "n1", metrics_format::prometheus);
  TROUPE_CHECK_MSG(has_line(sut, "# TYPE troupe_actor_messages_total counter"), sut);
  TROUPE_CHECK_MSG(
    has_line(sut, "troupe_actor_messages_total{app=\"a\",node=\"n1\",actor=\"plain\"} 7"), sut);
  TROUPE_CHECK_MSG(
    has_line(sut, "troupe_actor_mailbox_depth{app=\"a\",node=\"n1\",actor=\"plain\"} 2"), sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_actor_up{app=\"a\",node=\"n1\",actor=\"gone\"} 0"), sut);
  CAF_CHECK(sut.find("actor=\"gone\"} null") == std::string::npos);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_process_cpu_seconds_total{app=\"a\",node=\"n1\"} 1.5"),
                   sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_node_uptime_seconds{app=\"a\",node=\"n1\"} 60"), sut);
  CAF_CHECK(sut.find("# EOF") == std::string::npos);
}

CAF_TEST(label values are escaped) {
  auto sut = render_metrics(report(), "a", "n1", metrics_format::prometheus);
  TROUPE_CHECK_MSG(has_line(sut,
                            "troupe_actor_restarts_total{app=\"a\",node=\"n1\",actor=\"kid\\\"1\","
                            "supervisor=\"sup\"} 4"),
                   sut);
}

CAF_TEST(bridges become counters per direction and a cumulative round trip histogram) {
  auto sut = render_metrics(report(), "a", "n1", metrics_format::prometheus);
  std::string l = "app=\"a\",node=\"n1\",peer=\"n2\",transport=\"shm\"";
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_frames_total{" + l + ",direction=\"out\"} 12"),
                   sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_bytes_total{" + l + ",direction=\"in\"} 100"), sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_drops_total{" + l + "} 5"), sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_queue_depth{app=\"a\",node=\"n1\"} 4"), sut);
  TROUPE_CHECK_MSG(has_line(sut, "# TYPE troupe_bridge_rtt_seconds histogram"), sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_rtt_seconds_bucket{" + l + ",le=\"0.0001\"} 0"),
                   sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_rtt_seconds_bucket{" + l + ",le=\"0.00025\"} 1"),
                   sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_rtt_seconds_bucket{" + l + ",le=\"1\"} 2"), sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_rtt_seconds_bucket{" + l + ",le=\"+Inf\"} 3"), sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_rtt_seconds_count{" + l + "} 3"), sut);
  TROUPE_CHECK_MSG(has_line(sut, "troupe_bridge_rtt_seconds_sum{" + l + "} 2.0003"), sut);
}

CAF_TEST(openmetrics names counter families without _total and ends with EOF) {
  auto sut = render_metrics(report(), "a", "n1", metrics_format::openmetrics);
  TROUPE_CHECK_MSG(has_line(sut, "# TYPE troupe_actor_messages counter"), sut);
  TROUPE_CHECK_MSG(
    has_line(sut, "troupe_actor_messages_total{app=\"a\",node=\"n1\",actor=\"plain\"} 7"), sut);
  CAF_CHECK(sut.size() > 6 && sut.substr(sut.size() - 6) == "# EOF\n");
}

CAF_TEST(an empty report gives no samples but stays well formed) {
  auto sut = render_metrics(json_value{}, "a", "n1", metrics_format::openmetrics);
  CAF_CHECK_EQUAL(sut, "# EOF\n");
}

CAF_TEST(metrics and web addresses are validated) {
  catalog types;
  actors::add_to(types);
  auto error_of = [&](const std::string& text) {
    auto res = parse_app(text, "app.toml", types);
    return res ? std::string{"accepted"} : config_error_message(res.error());
  };
  std::string head = "[app]\nname = \"x\"\n";
  CAF_CHECK_EQUAL(error_of(head + "[nodes.a]\nmetrics = \"127.0.0.1:99999\"\n"),
                  "app.toml:4: nodes.a.metrics: invalid port \"99999\" (use 1..65535)");
  CAF_CHECK_EQUAL(error_of(head + "[nodes.a]\nmetrics = \"localhost\"\n"),
                  "app.toml:4: nodes.a.metrics: expected \"HOST:PORT\", e.g. \"127.0.0.1:9100\"");
  CAF_CHECK_EQUAL(error_of(head + "[nodes.a]\nmetrics = \"a b:1\"\n"),
                  "app.toml:4: nodes.a.metrics: invalid host \"a b\" (an IPv4 address or a host "
                  "name)");
  CAF_CHECK_EQUAL(error_of(head + "[nodes.a]\nmetrics = \"h:1\"\n[nodes.b]\nmetrics = \"h:1\"\n"),
                  "app.toml:5: nodes.b.metrics: address h:1 already used by node a");
  CAF_CHECK_EQUAL(error_of(head + "[launcher]\nweb = 80\n[nodes.a]\n"),
                  "app.toml:4: launcher.web: expected \"HOST:PORT\", got integer");
  auto ok = parse_app(head
                        + "[launcher]\nweb = \"127.0.0.1:7080\"\n[nodes.a]\nmetrics = "
                          "\"127.0.0.1:9100\"\n",
                      "app.toml", types);
  CAF_REQUIRE(ok);
  CAF_CHECK_EQUAL(ok->launcher.web, "127.0.0.1:7080");
  CAF_CHECK_EQUAL(ok->nodes.front().metrics, "127.0.0.1:9100");
}
