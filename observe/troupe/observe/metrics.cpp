#include "troupe/observe/metrics.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <vector>

#include "caf/scoped_actor.hpp"

#include "troupe/errc.hpp"
#include "troupe/node.hpp"
#include "troupe/remote.hpp"

namespace troupe::observe {

namespace {

using labels = std::vector<std::pair<std::string, std::string>>;

struct sample {
  std::string suffix;
  labels lbls;
  double value;
};

struct family {
  std::string name; // without _total
  std::string type; // counter, gauge, histogram
  std::string help;
  std::vector<sample> samples;
};

std::string escape_label(const std::string& x) {
  std::string out;
  for (char c : x) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string number(double x) {
  char buf[64];
  if (x == static_cast<double>(static_cast<long long>(x)) && x < 1e15 && x > -1e15)
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(x));
  else
    std::snprintf(buf, sizeof(buf), "%.9g", x);
  return buf;
}

class registry {
public:
  family& get(const std::string& name, const std::string& type, const std::string& help) {
    auto i = index_.find(name);
    if (i != index_.end())
      return families_[i->second];
    index_[name] = families_.size();
    families_.push_back({name, type, help, {}});
    return families_.back();
  }

  std::string render(metrics_format fmt) const {
    std::string out;
    bool om = fmt == metrics_format::openmetrics;
    for (auto& f : families_) {
      // The text format names a counter family after its samples (`_total`); OpenMetrics does not.
      auto fname = f.type == "counter" && !om ? f.name + "_total" : f.name;
      out += "# HELP " + fname + " " + f.help + "\n";
      out += "# TYPE " + fname + " " + f.type + "\n";
      for (auto& s : f.samples) {
        out += f.name + s.suffix;
        if (!s.lbls.empty()) {
          out += "{";
          for (size_t i = 0; i < s.lbls.size(); ++i)
            out += (i > 0 ? "," : "") + s.lbls[i].first + "=\"" + escape_label(s.lbls[i].second)
                   + "\"";
          out += "}";
        }
        out += " " + number(s.value) + "\n";
      }
    }
    if (om)
      out += "# EOF\n";
    return out;
  }

private:
  std::map<std::string, size_t> index_;
  std::vector<family> families_;
};

bool has_number(const json_value& x) {
  return x.type == json_value::kind::number;
}

} // namespace

std::string render_metrics(const json_value& report, const std::string& app,
                           const std::string& node, metrics_format format) {
  registry reg;
  labels base{{"app", app}, {"node", node}};
  auto with = [&](std::initializer_list<std::pair<std::string, std::string>> extra) {
    auto result = base;
    result.insert(result.end(), extra.begin(), extra.end());
    return result;
  };
  auto counter = [&](const std::string& name, const std::string& help, labels l, double v) {
    reg.get(name, "counter", help).samples.push_back({"_total", std::move(l), v});
  };
  auto gauge = [&](const std::string& name, const std::string& help, labels l, double v) {
    reg.get(name, "gauge", help).samples.push_back({"", std::move(l), v});
  };
  // Process.
  auto& proc = report["process"];
  if (has_number(proc["cpu_ms"])) {
    counter("troupe_process_cpu_seconds", "CPU time (user + system) used by the node process", base,
            proc["cpu_ms"].number / 1000.0);
    gauge("troupe_process_resident_memory_bytes", "Resident memory of the node process", base,
          proc["rss_bytes"].number);
    gauge("troupe_process_threads", "Threads of the node process", base, proc["threads"].number);
    gauge("troupe_node_uptime_seconds", "Time since the node started", base,
          (proc["now_ms"].number - proc["started_ms"].number) / 1000.0);
  }
  // Actors: unsupervised ones, then supervised names (relays) with their supervisors' counts.
  const char* msgs_help = "Messages the actor took out of its mailbox";
  const char* depth_help = "Messages waiting in the actor's mailbox";
  const char* up_help = "1 while the actor runs, 0 while it is down or restarting";
  for (auto& a : report["actors"].array) {
    auto l = with({{"actor", a["name"].text()}});
    if (has_number(a["handled"]))
      counter("troupe_actor_messages", msgs_help, l, a["handled"].number);
    if (has_number(a["mailbox"]))
      gauge("troupe_actor_mailbox_depth", depth_help, l, a["mailbox"].number);
    gauge("troupe_actor_up", up_help, l, a["state"].text() == "running" ? 1 : 0);
  }
  for (auto& r : report["relays"].array) {
    auto l = with({{"actor", r["name"].text()}});
    if (has_number(r["handled"]))
      counter("troupe_actor_messages", msgs_help, l, r["handled"].number);
    if (has_number(r["mailbox"]))
      gauge("troupe_actor_mailbox_depth", depth_help, l, r["mailbox"].number);
    if (has_number(r["forwarded"]))
      counter("troupe_name_forwarded_messages",
              "Messages delivered through a supervised name (across restarts)", l,
              r["forwarded"].number);
    if (has_number(r["refused"]))
      counter("troupe_name_refused_requests",
              "Requests refused while the supervised actor was down", l, r["refused"].number);
  }
  for (auto& s : report["supervisors"].array)
    for (auto& c : s["children"].array) {
      auto l = with({{"actor", c["name"].text()}, {"supervisor", s["supervisor"].text()}});
      counter("troupe_actor_restarts", "Restarts of a supervised actor by its supervisor", l,
              c["restarts"].number);
      gauge("troupe_actor_up", up_help, with({{"actor", c["name"].text()}}),
            c["state"].text() == "running" ? 1 : 0);
    }
  // Bridges.
  auto& br = report["bridges"];
  if (br.type == json_value::kind::object) {
    gauge("troupe_bridge_queue_depth", "Frames queued for sending to any peer", base,
          br["queue_depth"].number);
    counter("troupe_bridge_bad_frames", "Frames rejected before a peer session was known", base,
            br["bad_frames"].number);
    for (auto& p : br["peers"].array) {
      auto peer = p["peer"].text();
      auto tr = p["transport"].text();
      auto l = with({{"peer", peer}, {"transport", tr}});
      auto dir = [&](const char* d) {
        return with({{"peer", peer}, {"transport", tr}, {"direction", d}});
      };
      gauge("troupe_bridge_connected", "1 while the session with the peer is up", l,
            p["connected"].boolean ? 1 : 0);
      const char* fh = "Frames sent to or received from the peer";
      counter("troupe_bridge_frames", fh, dir("in"), p["frames_in"].number);
      counter("troupe_bridge_frames", fh, dir("out"), p["frames_out"].number);
      const char* bh = "Bytes of frames sent to or received from the peer";
      counter("troupe_bridge_bytes", bh, dir("in"), p["bytes_in"].number);
      counter("troupe_bridge_bytes", bh, dir("out"), p["bytes_out"].number);
      counter("troupe_bridge_drops", "Frames for the peer refused by the full outbound queue", l,
              p["dropped"].number);
      counter("troupe_bridge_errors", "Rejected frames from the peer and unencodable messages", l,
              p["errors"].number);
      gauge("troupe_bridge_pending_requests", "Requests to the peer waiting for a response", l,
            p["pending"].number);
      auto& buckets = p["rtt_buckets"].array;
      if (buckets.size() == rtt_bucket_bounds_us.size() + 1) {
        auto& f = reg.get("troupe_bridge_rtt_seconds", "histogram",
                          "Round trips of heartbeat probes to the peer");
        double cum = 0;
        for (size_t i = 0; i < buckets.size(); ++i) {
          cum += buckets[i].number;
          auto le = i < rtt_bucket_bounds_us.size()
                      ? number(static_cast<double>(rtt_bucket_bounds_us[i]) / 1e6)
                      : std::string{"+Inf"};
          auto bl = l;
          bl.emplace_back("le", le);
          f.samples.push_back({"_bucket", std::move(bl), cum});
        }
        f.samples.push_back({"_sum", l, p["rtt_sum_us"].number / 1e6});
        f.samples.push_back({"_count", l, p["rtt_count"].number});
      }
    }
  }
  return reg.render(format);
}

caf::expected<std::unique_ptr<http_server>> serve_metrics(node& n) {
  auto spec = n.app().find_node(n.name());
  if (!spec || spec->metrics.empty())
    return std::unique_ptr<http_server>{};
  auto app = n.app().name;
  auto name = n.name();
  auto* sys = &n.system();
  auto intro = n.introspection_actor();
  return http_server::start(spec->metrics, [=](const http_request& req) {
    if (req.path != "/metrics")
      return http_response{404, "text/plain; charset=utf-8", "try /metrics\n"};
    std::string json;
    caf::error err;
    {
      caf::scoped_actor self{*sys};
      self->request(intro, std::chrono::seconds{2}, caf::atom("status"))
        .receive([&](std::string& x) { json = std::move(x); },
                 [&](caf::error& x) { err = std::move(x); });
    }
    if (err)
      return http_response{503, "text/plain; charset=utf-8",
                           "node " + name + " did not report: " + describe(err) + "\n"};
    auto parsed = parse_json(json);
    if (!parsed)
      return http_response{500, "text/plain; charset=utf-8", "malformed node report\n"};
    bool om = req.accept.find("application/openmetrics-text") != std::string::npos;
    auto fmt = om ? metrics_format::openmetrics : metrics_format::prometheus;
    return http_response{200,
                         om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                            : "text/plain; version=0.0.4; charset=utf-8",
                         render_metrics(*parsed, app, name, fmt)};
  });
}

} // namespace troupe::observe
