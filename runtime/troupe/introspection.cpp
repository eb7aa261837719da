#include "troupe/introspection.hpp"

#include <cstdio>
#include <unistd.h>

#include "caf/event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "troupe/counted_actor.hpp"
#include "troupe/errc.hpp"
#include "troupe/relay.hpp"

namespace troupe {

namespace {

using status_atom = caf::atom_constant<caf::atom("status")>;

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

caf::behavior introspector(caf::stateful_actor<introspector_state>* self, std::string node,
                           std::string app, std::string app_hash, std::vector<actor_report> actors,
                           std::vector<std::pair<std::string, caf::actor>> supervisors,
                           std::vector<std::pair<std::string, caf::actor>> relays,
                           std::function<caf::expected<caf::actor>(const std::string&)> spawn,
                           std::function<std::vector<name_stats>()> names) {
  auto& st = self->state;
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
      out += "]";
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
        self->request(s.supervisors[i].second, std::chrono::seconds{1}, status_atom::value)
          .then(
            [p, i, done](std::string& json) {
              p->sups[i] = std::move(json);
              done();
            },
            [done](caf::error&) { done(); });
      for (size_t i = 0; i < s.relays.size(); ++i)
        self->request(s.relays[i].second, std::chrono::seconds{1}, relay_stat_atom::value)
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
