#include "troupe/introspection.hpp"

#include <cstdio>
#include <unistd.h>

#include "caf/event_based_actor.hpp"

#include "troupe/errc.hpp"

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
                           std::string app, std::vector<actor_report> actors) {
  auto& st = self->state;
  st.node = std::move(node);
  st.app = std::move(app);
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
    [self](status_atom) {
      auto& s = self->state;
      std::string out = "{\"node\":\"" + json_escape(s.node) + "\",\"app\":\"" + json_escape(s.app)
                        + "\",\"pid\":" + std::to_string(::getpid()) + ",\"actors\":[";
      bool first = true;
      for (auto& a : s.actors) {
        out += first ? "" : ",";
        first = false;
        out += "{\"name\":\"" + json_escape(a.name) + "\",\"type\":\"" + json_escape(a.type)
               + "\",\"id\":" + std::to_string(a.handle ? a.handle.id() : 0) + ",\"state\":\""
               + json_escape(a.state) + "\"}";
      }
      out += "]}";
      return out;
    },
  };
}

} // namespace troupe
