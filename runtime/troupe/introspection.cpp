#include "troupe/introspection.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "caf/event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "troupe/counted_actor.hpp"
#include "troupe/errc.hpp"
#include "troupe/relay.hpp"

namespace troupe {

namespace {

using status_atom = caf::atom_constant<caf::atom("status")>;

/// How long a report waits for a supervisor or relay. A supervisor restarting a child on a node
/// that is down may be busy for seconds; the report then shows it as null rather than arriving
/// after the asker (the web view waits 700 ms) gave up on the whole node.
constexpr auto status_wait = std::chrono::milliseconds{500};

} // namespace

std::string json_escape(const std::string& x) {
  std::string out;
  for (char c : x) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string process_json(int64_t started_ms) {
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  long threads = 0;
  long rss_pages = 0;
  if (auto* f = std::fopen("/proc/self/stat", "r")) {
    char buf[1024];
    auto n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields after the command name, which may contain spaces: start after the last ')'.
    if (auto* p = std::strrchr(buf, ')'))
      std::sscanf(p + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld %*d "
                  "%*u %*u %ld",
                  &utime, &stime, &threads, &rss_pages);
  }
  auto ticks = ::sysconf(_SC_CLK_TCK);
  auto page = ::sysconf(_SC_PAGESIZE);
  auto cpu_ms = ticks > 0 ? (utime + stime) * 1000 / static_cast<unsigned long long>(ticks) : 0;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  return "{\"cpu_ms\":" + std::to_string(cpu_ms)
         + ",\"rss_bytes\":" + std::to_string(static_cast<long long>(rss_pages) * page)
         + ",\"threads\":" + std::to_string(threads) + ",\"started_ms\":"
         + std::to_string(started_ms) + ",\"now_ms\":" + std::to_string(now) + "}";
}

std::string to_json(const bridges_report& x) {
  std::string out = "{\"queue_depth\":" + std::to_string(x.queue_depth)
                    + ",\"bad_frames\":" + std::to_string(x.bad_frames) + ",\"peers\":[";
  bool first = true;
  for (auto& p : x.peers) {
    out += first ? "" : ",";
    first = false;
    out += "{\"peer\":\"" + json_escape(p.peer) + "\",\"transport\":\"" + json_escape(p.transport)
           + "\",\"connected\":" + (p.connected ? "true" : "false") + ",\"frames_in\":"
           + std::to_string(p.frames_in) + ",\"frames_out\":" + std::to_string(p.frames_out)
           + ",\"bytes_in\":" + std::to_string(p.bytes_in)
           + ",\"bytes_out\":" + std::to_string(p.bytes_out)
           + ",\"errors\":" + std::to_string(p.errors) + ",\"dropped\":" + std::to_string(p.dropped)
           + ",\"pending\":" + std::to_string(p.pending_requests) + ",\"rtt_last_us\":"
           + std::to_string(p.rtt_last_us) + ",\"rtt_sum_us\":" + std::to_string(p.rtt_sum_us)
           + ",\"rtt_count\":" + std::to_string(p.rtt_count) + ",\"rtt_buckets\":[";
    for (size_t i = 0; i < p.rtt_buckets.size(); ++i)
      out += (i > 0 ? "," : "") + std::to_string(p.rtt_buckets[i]);
    out += "]}";
  }
  return out + "]}";
}

caf::behavior introspector(caf::stateful_actor<introspector_state>* self, std::string node,
                           std::string app, std::string app_hash, std::vector<actor_report> actors,
                           std::vector<std::pair<std::string, caf::actor>> supervisors,
                           std::vector<std::pair<std::string, caf::actor>> relays,
                           std::function<caf::expected<caf::actor>(const std::string&)> spawn,
                           std::function<std::vector<name_stats>()> names,
                           const remote_nodes* remote) {
  auto& st = self->state;
  st.remote = remote;
  st.started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  st.supervisors = std::move(supervisors);
  st.relays = std::move(relays);
  st.spawn = std::move(spawn);
  st.names = std::move(names);
  st.node = std::move(node);
  st.app = std::move(app);
  st.app_hash = std::move(app_hash);
  st.actors = std::move(actors);
  for (auto& a : st.actors)
    if (a.handle)
      self->monitor(a.handle);
  self->set_down_handler([self](caf::down_msg& dm) {
    for (auto& a : self->state.actors)
      if (a.handle && a.handle.address() == dm.source)
        a.state = "down: " + describe(dm.reason);
  });
  return {
    [self](remote_spawn_atom, const std::string& name) -> caf::result<caf::actor> {
      if (!self->state.spawn)
        return make_error(errc::invalid_state, "node cannot spawn");
      auto hdl = self->state.spawn(name);
      if (!hdl)
        return std::move(hdl.error());
      return *hdl;
    },
    [self](status_atom) -> caf::result<std::string> {
      auto& s = self->state;
      std::string out = "{\"node\":\"" + json_escape(s.node) + "\",\"app\":\"" + json_escape(s.app)
                        + "\",\"app_hash\":\"" + json_escape(s.app_hash)
                        + "\",\"pid\":" + std::to_string(::getpid()) + ",\"actors\":[";
      bool first = true;
      for (auto& a : s.actors) {
        out += first ? "" : ",";
        first = false;
        auto c = counters_of(a.handle);
        out += "{\"name\":\"" + json_escape(a.name) + "\",\"type\":\"" + json_escape(a.type)
               + "\",\"id\":" + std::to_string(a.handle ? a.handle.id() : 0) + ",\"state\":\""
               + json_escape(a.state) + "\",\"mailbox\":" + (c ? std::to_string(c->depth) : "null")
               + ",\"handled\":" + (c ? std::to_string(c->handled) : "null") + "}";
      }
      out += "],\"names\":[";
      first = true;
      if (s.names)
        for (auto& n : s.names()) {
          out += first ? "" : ",";
          first = false;
          out += "{\"name\":\"" + json_escape(n.name) + "\",\"home\":\"" + json_escape(n.home)
                 + "\",\"state\":\"" + n.state + "\",\"epoch\":" + std::to_string(n.epoch)
                 + ",\"forwarded\":" + std::to_string(n.forwarded) + ",\"refused\":"
                 + std::to_string(n.refused) + ",\"dropped\":" + std::to_string(n.dropped)
                 + ",\"retried\":" + std::to_string(n.retried) + ",\"held\":"
                 + std::to_string(n.held) + ",\"why\":\"" + json_escape(n.why) + "\"}";
        }
      out += "],\"process\":" + process_json(s.started_ms)
             + ",\"bridges\":" + to_json(s.remote ? s.remote->report() : bridges_report{});
      // Ask every supervisor and relay; answer once all replied (or failed), in order.
      struct pending {
        caf::typed_response_promise<std::string> rp;
        std::string head;
        std::vector<std::string> sups;
        std::vector<std::string> relays;
        size_t left;
      };
      auto p = std::make_shared<pending>(
        pending{self->make_response_promise<std::string>(), std::move(out),
                std::vector<std::string>(s.supervisors.size(), "null"),
                std::vector<std::string>(s.relays.size()), s.supervisors.size() + s.relays.size()});
      for (size_t i = 0; i < s.relays.size(); ++i)
        p->relays[i] = "{\"name\":\"" + json_escape(s.relays[i].first) + "\"}";
      auto finish = [p] {
        std::string all = p->head + ",\"supervisors\":[";
        for (size_t i = 0; i < p->sups.size(); ++i)
          all += (i > 0 ? "," : "") + p->sups[i];
        all += "],\"relays\":[";
        for (size_t i = 0; i < p->relays.size(); ++i)
          all += (i > 0 ? "," : "") + p->relays[i];
        p->rp.deliver(all + "]}");
      };
      if (p->left == 0) {
        finish();
        return p->rp;
      }
      auto done = [p, finish] {
        if (--p->left == 0)
          finish();
      };
      for (size_t i = 0; i < s.supervisors.size(); ++i)
        self->request(s.supervisors[i].second, status_wait, status_atom::value)
          .then(
            [p, i, done](std::string& json) {
              p->sups[i] = std::move(json);
              done();
            },
            [done](caf::error&) { done(); });
      for (size_t i = 0; i < s.relays.size(); ++i)
        self->request(s.relays[i].second, status_wait, relay_stat_atom::value)
          .then(
            [p, i, done, name = s.relays[i].first](uint64_t fwd, uint64_t refused, uint64_t,
                                                   int64_t depth, int64_t handled) {
              auto num = [](int64_t x) { return x < 0 ? std::string{"null"} : std::to_string(x); };
              p->relays[i] = "{\"name\":\"" + json_escape(name) + "\",\"forwarded\":"
                             + std::to_string(fwd) + ",\"refused\":" + std::to_string(refused)
                             + ",\"mailbox\":" + num(depth) + ",\"handled\":" + num(handled) + "}";
              done();
            },
            [done](caf::error&) { done(); });
      return p->rp;
    },
  };
}

} // namespace troupe
