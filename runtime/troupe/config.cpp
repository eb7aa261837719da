#include "troupe/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <unordered_map>

#include <sys/stat.h>
#include <unistd.h>

#include <toml.hpp>

#include "troupe/catalog.hpp"
#include "troupe/errc.hpp"

namespace troupe {

const node_spec* app_spec::find_node(const std::string& wanted) const {
  auto i = std::find_if(nodes.begin(), nodes.end(), [&](auto& x) { return x.name == wanted; });
  return i != nodes.end() ? &*i : nullptr;
}

const actor_spec* app_spec::find_actor(const std::string& wanted) const {
  auto i = std::find_if(actors.begin(), actors.end(), [&](auto& x) { return x.name == wanted; });
  return i != actors.end() ? &*i : nullptr;
}

const supervisor_entry* app_spec::find_supervisor(const std::string& wanted) const {
  for (auto& x : supervisors)
    if (x.name == wanted)
      return &x;
  return nullptr;
}

const supervisor_entry* app_spec::supervisor_of(const std::string& child) const {
  for (auto& x : supervisors)
    for (auto& c : x.children)
      if (c == child)
        return &x;
  return nullptr;
}

std::string http_address_problem(const std::string& x) {
  auto colon = x.rfind(':');
  if (x.find("://") != std::string::npos)
    return "expected \"HOST:PORT\" without a scheme, e.g. \"127.0.0.1:9100\"";
  if (colon == std::string::npos || colon == 0)
    return "expected \"HOST:PORT\", e.g. \"127.0.0.1:9100\"";
  auto host = x.substr(0, colon);
  if (!std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
      }))
    return "invalid host \"" + host + "\" (an IPv4 address or a host name)";
  auto port = x.substr(colon + 1);
  if (port.empty() || port.size() > 5
      || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })
      || std::stoi(port) < 1 || std::stoi(port) > 65535)
    return "invalid port \"" + port + "\" (use 1..65535)";
  return {};
}

std::string app_spec::run_file() const {
  return log_dir + "/" + name + ".run";
}

bool app_spec::connects_to(const std::string& from, const std::string& to) const {
  auto x = find_node(from);
  auto y = find_node(to);
  if (x == nullptr || y == nullptr || from == to || y->listen.empty())
    return false;
  return x->listen.empty() || from < to;
}

namespace {

std::string transport_of(const std::string& endpoint) {
  auto pos = endpoint.find("://");
  return pos == std::string::npos ? std::string{} : endpoint.substr(0, pos);
}

} // namespace

std::string app_spec::endpoint_for(const std::string& from, const std::string& to) const {
  auto y = find_node(to);
  if (y == nullptr)
    return {};
  for (auto& l : links)
    if ((l.a == from && l.b == to) || (l.a == to && l.b == from))
      for (auto& ep : y->endpoints)
        if (transport_of(ep) == l.transport)
          return ep;
  return y->listen;
}

std::string node_spec::bind_endpoint(const std::string& ep) const {
  if (bind.empty() || ep.rfind("tcp://", 0) != 0)
    return ep;
  return "tcp://" + bind + ep.substr(ep.rfind(':'));
}

namespace {

/// Orders `items` (indices 0..n-1) so that every item comes after the items `deps(i)` returns,
/// keeping the given order otherwise. Returns an empty vector and fills `cycle` (the items of one
/// cycle, first repeated at the end) when there is no such order.
std::vector<size_t> ordered(size_t n, const std::function<std::vector<size_t>(size_t)>& deps,
                            std::vector<size_t>* cycle) {
  std::vector<int> mark(n, 0); // 0 new, 1 on the path, 2 done
  std::vector<size_t> result;
  std::vector<size_t> path;
  std::function<bool(size_t)> visit = [&](size_t i) {
    if (mark[i] == 2)
      return true;
    if (mark[i] == 1) {
      if (cycle) {
        auto from = std::find(path.begin(), path.end(), i);
        cycle->assign(from, path.end());
        cycle->push_back(i);
      }
      return false;
    }
    mark[i] = 1;
    path.push_back(i);
    for (auto d : deps(i))
      if (!visit(d))
        return false;
    path.pop_back();
    mark[i] = 2;
    result.push_back(i);
    return true;
  };
  for (size_t i = 0; i < n; ++i)
    if (!visit(i))
      return {};
  return result;
}

} // namespace

namespace {

/// The actors of `node` (file order) and their start order by same-node references; the order is
/// empty (and `cycle` filled) when the references form a cycle.
std::pair<std::vector<const actor_spec*>, std::vector<size_t>>
start_order(const std::vector<actor_spec>& actors, const std::string& node,
            std::vector<size_t>* cycle) {
  std::vector<const actor_spec*> here;
  for (auto& x : actors)
    if (x.node == node)
      here.push_back(&x);
  std::unordered_map<std::string, size_t> index; // linear, not quadratic, in the actor count
  for (size_t j = 0; j < here.size(); ++j)
    index.emplace(here[j]->name, j);
  auto deps = [&](size_t i) {
    std::vector<size_t> result;
    for (auto& ref : here[i]->refs)
      if (auto j = index.find(ref); j != index.end() && j->second != i)
        result.push_back(j->second);
    return result;
  };
  auto order = ordered(here.size(), deps, cycle);
  return {std::move(here), std::move(order)};
}

} // namespace

std::vector<const actor_spec*> app_spec::actors_on(const std::string& node) const {
  auto [here, order] = start_order(actors, node, nullptr);
  if (order.size() != here.size())
    return here; // a cycle; `parse_app` refuses such a file
  std::vector<const actor_spec*> result;
  for (auto i : order)
    result.push_back(here[i]);
  return result;
}

namespace {

/// The start order of the app's nodes as indices into `app.nodes`; empty (and `cycle` filled) when
/// supervision between nodes goes both ways.
std::vector<size_t> node_order(const app_spec& app, std::vector<size_t>* cycle) {
  auto& nodes = app.nodes;
  auto index_of = [&](const std::string& n) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].name == n)
        return i;
    return nodes.size();
  };
  // A supervisor starts its children: those on other nodes need their node up first.
  auto deps = [&](size_t i) {
    std::vector<size_t> result;
    for (auto& sup : app.supervisors) {
      if (sup.node != nodes[i].name)
        continue;
      for (auto& child : sup.children)
        if (auto a = app.find_actor(child); a && a->node != sup.node) {
          auto j = index_of(a->node);
          if (j < nodes.size() && std::find(result.begin(), result.end(), j) == result.end())
            result.push_back(j);
        }
    }
    return result;
  };
  return ordered(nodes.size(), deps, cycle);
}

} // namespace

std::vector<std::string> app_spec::node_start_order() const {
  auto order = node_order(*this, nullptr);
  std::vector<std::string> result;
  if (order.size() != nodes.size()) {
    for (auto& n : nodes)
      result.push_back(n.name);
    return result;
  }
  for (auto i : order)
    result.push_back(nodes[i].name);
  return result;
}

namespace {

/// Thrown inside the parser only; `parse_app` turns it into a `caf::error` at its edge.
struct config_failure {
  std::string message;
};

std::string type_name(const toml::value& v) {
  switch (v.type()) {
    case toml::value_t::boolean: return "boolean";
    case toml::value_t::integer: return "integer";
    case toml::value_t::floating: return "float";
    case toml::value_t::string: return "string";
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime:
    case toml::value_t::local_date:
    case toml::value_t::local_time: return "date/time";
    case toml::value_t::array: return "array";
    case toml::value_t::table: return "table";
    default: return "empty";
  }
}

/// Returns the line of `v` in its source. toml11's `location().line()` counts the newlines from
/// the start of the file on every call, which made checking a file with many actors quadratic;
/// this looks the offset up in a newline index built once per source.
size_t line_of(const toml::value& v) {
  auto* reg = dynamic_cast<const toml::detail::region*>(toml::detail::get_region(v));
  if (reg == nullptr || !reg->source())
    return v.location().line();
  // A weak reference, not an address: a later file's source may be allocated where an earlier,
  // freed one was.
  thread_local std::weak_ptr<const std::vector<char>> indexed;
  thread_local std::vector<size_t> newlines;
  auto& ptr = reg->source();
  auto& src = *ptr;
  if (indexed.owner_before(ptr) || ptr.owner_before(indexed) || indexed.expired()) {
    newlines.clear();
    for (size_t i = 0; i < src.size(); ++i)
      if (src[i] == '\n')
        newlines.push_back(i);
    indexed = ptr;
  }
  auto offset = static_cast<size_t>(reg->first() - src.cbegin());
  return 1
         + static_cast<size_t>(std::lower_bound(newlines.begin(), newlines.end(), offset)
                               - newlines.begin());
}

class reader {
public:
  explicit reader(std::string file) : file_(std::move(file)) {
    // nop
  }

  [[noreturn]] void fail(const toml::value& at, const std::string& key,
                         const std::string& problem) const {
    fail(static_cast<unsigned>(line_of(at)), key, problem);
  }

  [[noreturn]] void fail(unsigned line, const std::string& key, const std::string& problem) const {
    std::ostringstream out;
    out << file_;
    if (line > 0)
      out << ':' << line;
    out << ": ";
    if (!key.empty())
      out << key << ": ";
    out << problem;
    throw config_failure{out.str()};
  }

  source_ref where(const toml::value& v) const {
    return {file_, static_cast<unsigned>(line_of(v))};
  }

  /// Checks that `table` has no keys other than `allowed`.
  void only_keys(const toml::value& table, const std::string& path,
                 std::initializer_list<const char*> allowed) const {
    for (auto& [key, val] : table.as_table()) {
      auto ok
        = std::any_of(allowed.begin(), allowed.end(), [&](const char* x) { return key == x; });
      if (!ok) {
        std::string list;
        for (auto x : allowed)
          list += list.empty() ? std::string{x} : ", " + std::string{x};
        fail(val, join(path, key), "unknown key (allowed here: " + list + ")");
      }
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  const toml::value& require_table(const toml::value& v, const std::string& key) const {
    if (!v.is_table())
      fail(v, key, "expected a table, got " + type_name(v));
    return v;
  }

  std::string get_string(const toml::value& table, const std::string& path, const char* key,
                         unsigned table_line, const std::string* fallback = nullptr) const {
    auto& t = table.as_table();
    auto i = t.find(key);
    if (i == t.end()) {
      if (fallback)
        return *fallback;
      fail(table_line, join(path, key), "missing required key");
    }
    if (!i->second.is_string())
      fail(i->second, join(path, key), "expected a string, got " + type_name(i->second));
    return i->second.as_string().str;
  }

  std::string file_;
};

bool valid_name(const std::string& x) {
  if (x.empty() || x.size() > 64)
    return false;
  return std::all_of(x.begin(), x.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || c == '.';
  });
}

timespan read_duration(const reader& r, const toml::value& v, const std::string& key) {
  if (!v.is_string())
    r.fail(v, key,
           "expected a duration string with a unit such as \"10s\" or \"250ms\", got "
             + type_name(v));
  auto d = parse_duration(v.as_string().str);
  if (!d)
    r.fail(v, key,
           "invalid duration \"" + v.as_string().str
             + "\" (use a number and one of ns, us, ms, s, min, h, e.g. \"10s\")");
  return *d;
}

param_value read_param(const reader& r, const param_spec& spec, const toml::value& v,
                       const std::string& key) {
  auto expect = [&](bool ok) {
    if (!ok)
      r.fail(v, key, "expected " + to_string(spec.kind) + ", got " + type_name(v));
  };
  switch (spec.kind) {
    case param_kind::boolean: expect(v.is_boolean()); return v.as_boolean();
    case param_kind::integer: expect(v.is_integer()); return static_cast<int64_t>(v.as_integer());
    case param_kind::number:
      expect(v.is_floating() || v.is_integer());
      return v.is_floating() ? v.as_floating() : static_cast<double>(v.as_integer());
    case param_kind::string:
    case param_kind::actor_ref: expect(v.is_string()); return v.as_string().str;
    case param_kind::duration: return read_duration(r, v, key);
    case param_kind::actor_refs: {
      if (!v.is_array())
        r.fail(v, key, "expected an array of actor names like [\"a\", \"b\"], got " + type_name(v));
      std::vector<std::string> names;
      auto& xs = v.as_array();
      for (size_t i = 0; i < xs.size(); ++i) {
        if (!xs[i].is_string())
          r.fail(xs[i], key + "[" + std::to_string(i) + "]",
                 "expected an actor name, got " + type_name(xs[i]));
        names.push_back(xs[i].as_string().str);
      }
      return names;
    }
    case param_kind::duration_range: {
      if (!v.is_array() || v.as_array().size() != 2)
        r.fail(v, key, "expected a duration range like [\"0s\", \"30s\"], got " + type_name(v));
      auto lo = read_duration(r, v.as_array()[0], key + "[0]");
      auto hi = read_duration(r, v.as_array()[1], key + "[1]");
      if (lo > hi)
        r.fail(v, key, "the range's first duration is larger than its second");
      return duration_range{lo, hi};
    }
  }
  r.fail(v, key, "unsupported parameter kind");
}

/// Checks the syntax of a `listen` endpoint; returns a problem description or an empty string.
std::string endpoint_problem(const std::string& x) {
  if (x.rfind("tcp://", 0) == 0) {
    auto rest = x.substr(6);
    auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return "a tcp endpoint needs a host and a port, e.g. \"tcp://127.0.0.1:7100\"";
    auto host = rest.substr(0, colon);
    if (host == "*" || host == "0.0.0.0" || host == "[::]" || host == "::" || host == "[*]")
      return "wildcard host \"" + host
             + "\" is an address to bind, which other nodes cannot connect to: give the address "
               "they use (e.g. \"tcp://10.0.0.5"
             + rest.substr(colon)
             + "\") and add bind = \"0.0.0.0\" to the node to accept on every interface";
    auto port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5
        || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })
        || std::stoi(port) < 1 || std::stoi(port) > 65535)
      return "invalid port \"" + port + "\" (use 1..65535; other nodes must know it)";
    return {};
  }
  if (x.rfind("ipc://", 0) == 0) {
    auto path = x.substr(6);
    if (path.empty())
      return "an ipc endpoint needs a path, e.g. \"ipc:///tmp/troupe-app-backend\"";
    if (path.size() > 100)
      return "ipc path too long (at most 100 characters: it must fit a unix socket address)";
    return {};
  }
  if (x.rfind("shm://", 0) == 0) {
    auto name = x.substr(6);
    // "shm" expands to shm://APP.NODE, up to 129 characters; the transport shortens long names
    // for its segment names itself.
    auto valid_char = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
             || c == '_' || c == '.';
    };
    if (name.empty() || name.size() > 200 || !std::all_of(name.begin(), name.end(), valid_char))
      return "an shm endpoint needs a name of letters, digits, '-', '_', '.', e.g. "
             "\"shm://myapp.backend\" (or write \"shm\" for one derived from the app and node)";
    return {};
  }
  return "unknown transport (use \"tcp://HOST:PORT\", \"ipc://PATH\" or \"shm\")";
}

/// Reads an HTTP address (`metrics`, `web`) at `path`.
std::string read_http_address(const reader& r, const toml::value& v, const std::string& path) {
  if (!v.is_string())
    r.fail(v, path, "expected \"HOST:PORT\", got " + type_name(v));
  auto x = v.as_string().str;
  if (auto problem = http_address_problem(x); !problem.empty())
    r.fail(v, path, problem);
  return x;
}

const std::set<std::string> log_levels = {"trace", "debug", "info", "warn", "error", "off"};

void parse_supervisors(const reader& r, const toml::value::table_type& top, app_spec& app) {
  auto it = top.find("supervisors");
  if (it == top.end())
    return;
  if (!it->second.is_array())
    r.fail(it->second, "supervisors",
           "expected an array of tables ([[supervisors]]), got " + type_name(it->second));
  size_t index = 0;
  for (auto& entry : it->second.as_array()) {
    auto path = "supervisors[" + std::to_string(index++) + "]";
    r.require_table(entry, path);
    r.only_keys(entry, path, {"name", "node", "strategy", "intensity", "backoff", "children"});
    auto line = static_cast<unsigned>(line_of(entry));
    auto& t = entry.as_table();
    supervisor_entry sup;
    sup.where = r.where(entry);
    sup.name = r.get_string(entry, path, "name", line);
    if (!valid_name(sup.name))
      r.fail(t.at("name"), path + ".name", "invalid supervisor name \"" + sup.name + "\"");
    path = "supervisors." + sup.name;
    if (app.find_actor(sup.name) || app.find_supervisor(sup.name))
      r.fail(t.at("name"), path + ".name", "name already used by an actor or supervisor");
    if (t.count("node") == 0) {
      if (app.nodes.size() != 1)
        r.fail(line, path + ".node", "missing required key (the app has several nodes)");
      sup.node = app.nodes.front().name;
    } else {
      sup.node = r.get_string(entry, path, "node", line);
      if (!app.find_node(sup.node))
        r.fail(t.at("node"), path + ".node", "no node named \"" + sup.node + "\"");
    }
    sup.strategy = r.get_string(entry, path, "strategy", line, &sup.strategy);
    if (sup.strategy != "one_for_one" && sup.strategy != "one_for_all"
        && sup.strategy != "rest_for_one")
      r.fail(t.at("strategy"), path + ".strategy",
             "unknown strategy \"" + sup.strategy
               + "\" (use one_for_one, one_for_all or rest_for_one)");
    if (auto i = t.find("intensity"); i != t.end()) {
      auto& tbl = r.require_table(i->second, path + ".intensity");
      r.only_keys(tbl, path + ".intensity", {"max_restarts", "within"});
      auto& it2 = tbl.as_table();
      if (auto k = it2.find("max_restarts"); k != it2.end()) {
        if (!k->second.is_integer() || k->second.as_integer() < 0)
          r.fail(k->second, path + ".intensity.max_restarts", "expected a non-negative integer");
        sup.max_restarts = k->second.as_integer();
      }
      if (auto k = it2.find("within"); k != it2.end()) {
        sup.within = read_duration(r, k->second, path + ".intensity.within");
        if (sup.within.count() <= 0)
          r.fail(k->second, path + ".intensity.within", "must be greater than zero");
      }
    }
    if (auto i = t.find("backoff"); i != t.end()) {
      auto& tbl = r.require_table(i->second, path + ".backoff");
      r.only_keys(tbl, path + ".backoff", {"initial", "max"});
      auto& bt = tbl.as_table();
      if (auto k = bt.find("initial"); k != bt.end())
        sup.backoff_initial = read_duration(r, k->second, path + ".backoff.initial");
      sup.backoff_max = sup.backoff_initial;
      if (auto k = bt.find("max"); k != bt.end())
        sup.backoff_max = read_duration(r, k->second, path + ".backoff.max");
      if (sup.backoff_max < sup.backoff_initial)
        r.fail(tbl, path + ".backoff.max", "must not be smaller than backoff.initial");
    }
    auto ci = t.find("children");
    if (ci == t.end())
      r.fail(line, path + ".children", "missing required key (the names of the supervised actors)");
    if (!ci->second.is_array() || ci->second.as_array().empty())
      r.fail(ci->second, path + ".children", "expected a non-empty array of actor names");
    for (auto& c : ci->second.as_array()) {
      if (!c.is_string())
        r.fail(c, path + ".children", "expected actor names (strings), got " + type_name(c));
      auto& child = c.as_string().str;
      std::string child_node;
      if (auto a = app.find_actor(child))
        child_node = a->node;
      else if (auto s2 = app.find_supervisor(child))
        child_node = s2->node;
      else
        r.fail(c, path + ".children", "no actor or earlier supervisor named \"" + child + "\"");
      if (child_node != sup.node && app.find_supervisor(child))
        r.fail(c, path + ".children",
               "supervisor \"" + child + "\" runs on node " + child_node
                 + "; a nested supervisor must run on its parent's node " + sup.node);
      if (child_node != sup.node && !app.connects_to(sup.node, child_node)
          && !app.connects_to(child_node, sup.node))
        r.fail(c, path + ".children",
               "\"" + child + "\" runs on node " + child_node + ", which node " + sup.node
                 + " cannot reach: give one of the two nodes a listen endpoint");
      if (auto other = app.supervisor_of(child))
        r.fail(c, path + ".children", "\"" + child + "\" is already supervised by " + other->name);
      if (std::count(sup.children.begin(), sup.children.end(), child) > 0)
        r.fail(c, path + ".children", "\"" + child + "\" is listed twice");
      sup.children.push_back(child);
    }
    app.supervisors.push_back(std::move(sup));
  }
}

app_spec parse(const toml::value& root, const std::string& file, const catalog& types) {
  reader r{file};
  app_spec app;
  app.file = file;
  r.only_keys(root, "", {"app", "nodes", "actors", "bridges", "launcher", "supervisors", "links"});
  auto& top = root.as_table();
  // [app]
  auto app_it = top.find("app");
  if (app_it == top.end())
    r.fail(1, "app", "missing required table [app] (with at least name = \"...\")");
  auto& app_tbl = r.require_table(app_it->second, "app");
  r.only_keys(app_tbl, "app", {"name", "log_dir", "log_level"});
  auto app_line = static_cast<unsigned>(line_of(app_tbl));
  app.name = r.get_string(app_tbl, "app", "name", app_line);
  if (!valid_name(app.name))
    r.fail(app_tbl.as_table().at("name"), "app.name",
           "invalid name \"" + app.name + "\" (use letters, digits, '-', '_', '.')");
  app.log_dir = r.get_string(app_tbl, "app", "log_dir", app_line, &app.log_dir);
  app.log_level = r.get_string(app_tbl, "app", "log_level", app_line, &app.log_level);
  if (log_levels.count(app.log_level) == 0)
    r.fail(app_tbl.as_table().at("log_level"), "app.log_level",
           "unknown log level \"" + app.log_level
             + "\" (use trace, debug, info, warn, error or off)");
  // [nodes.NAME]
  auto nodes_it = top.find("nodes");
  if (nodes_it == top.end())
    r.fail(1, "nodes", "missing required table [nodes.NAME] (an app needs at least one node)");
  auto& nodes_tbl = r.require_table(nodes_it->second, "nodes");
  for (auto& [name, val] : nodes_tbl.as_table()) {
    auto path = "nodes." + name;
    r.require_table(val, path);
    if (!valid_name(name))
      r.fail(val, path, "invalid node name (use letters, digits, '-', '_', '.')");
    r.only_keys(val, path, {"launch", "listen", "bind", "metrics"});
    node_spec ns;
    ns.name = name;
    ns.where = r.where(val);
    auto& t = val.as_table();
    if (auto i = t.find("launch"); i != t.end()) {
      if (!i->second.is_boolean())
        r.fail(i->second, path + ".launch", "expected a boolean, got " + type_name(i->second));
      ns.launch = i->second.as_boolean();
    }
    if (auto i = t.find("listen"); i != t.end()) {
      std::vector<const toml::value*> items;
      if (i->second.is_string()) {
        items.push_back(&i->second);
      } else if (i->second.is_array() && !i->second.as_array().empty()) {
        for (auto& x : i->second.as_array())
          items.push_back(&x);
      } else {
        r.fail(i->second, path + ".listen",
               "expected an endpoint or a non-empty array of endpoints, got "
                 + type_name(i->second));
      }
      for (auto* x : items) {
        if (!x->is_string())
          r.fail(*x, path + ".listen", "expected a string, got " + type_name(*x));
        auto ep = x->as_string().str;
        // Shared memory within one host: the segment name carries app and node, so that two
        // apps (or two nodes) never collide.
        if (ep == "shm")
          ep = "shm://" + app.name + "." + name;
        if (auto problem = endpoint_problem(ep); !problem.empty())
          r.fail(*x, path + ".listen", problem);
        for (auto& other : ns.endpoints)
          if (transport_of(other) == transport_of(ep))
            r.fail(*x, path + ".listen",
                   "a second " + transport_of(ep) + " endpoint (one per transport)");
        ns.endpoints.push_back(ep);
      }
      ns.listen = ns.endpoints.front();
    }
    if (auto i = t.find("bind"); i != t.end()) {
      if (!i->second.is_string())
        r.fail(i->second, path + ".bind",
               "expected a host or IPv4 address such as \"0.0.0.0\", got " + type_name(i->second));
      ns.bind = i->second.as_string().str;
      if (ns.bind.empty() || ns.bind.find_first_of(":/ *[]") != std::string::npos)
        r.fail(i->second, path + ".bind",
               "invalid bind address \"" + ns.bind
                 + "\" (a host name or IPv4 address without port, e.g. \"0.0.0.0\")");
      bool has_tcp = false;
      for (auto& ep : ns.endpoints)
        has_tcp = has_tcp || ep.rfind("tcp://", 0) == 0;
      if (!has_tcp)
        r.fail(i->second, path + ".bind",
               "bind applies to a tcp endpoint, and this node listens on none");
    }
    if (auto i = t.find("metrics"); i != t.end())
      ns.metrics = read_http_address(r, i->second, path + ".metrics");
    app.nodes.push_back(std::move(ns));
  }
  if (app.nodes.empty())
    r.fail(nodes_tbl, "nodes", "an app needs at least one node ([nodes.NAME])");
  // toml11 keeps tables unordered; order nodes by their position in the file.
  std::sort(app.nodes.begin(), app.nodes.end(),
            [](auto& x, auto& y) { return x.where.line < y.where.line; });
  for (auto i = app.nodes.begin(); i != app.nodes.end(); ++i)
    for (auto j = app.nodes.begin(); j != i; ++j)
      for (auto& ep : i->endpoints)
        if (std::count(j->endpoints.begin(), j->endpoints.end(), ep) > 0)
          r.fail(i->where.line, "nodes." + i->name + ".listen",
                 "endpoint " + ep + " already used by node " + j->name);
  for (auto i = app.nodes.begin(); i != app.nodes.end(); ++i)
    for (auto j = app.nodes.begin(); j != i; ++j)
      if (!i->metrics.empty() && i->metrics == j->metrics)
        r.fail(i->where.line, "nodes." + i->name + ".metrics",
               "address " + i->metrics + " already used by node " + j->name);
  // [links]
  if (auto i = top.find("links"); i != top.end()) {
    auto& tbl = r.require_table(i->second, "links");
    for (auto& [key, val] : tbl.as_table()) {
      auto path = "links." + key;
      r.require_table(val, path);
      r.only_keys(val, path, {"transport"});
      link_spec ls;
      ls.where = r.where(val);
      // "A-B" where node names may contain '-': exactly one split must name two nodes.
      int matches = 0;
      for (size_t pos = key.find('-'); pos != std::string::npos; pos = key.find('-', pos + 1)) {
        auto a = key.substr(0, pos);
        auto b = key.substr(pos + 1);
        if (app.find_node(a) && app.find_node(b) && a != b) {
          ls.a = a;
          ls.b = b;
          ++matches;
        }
      }
      if (matches != 1)
        r.fail(val, path,
               matches == 0 ? "expected \"NODE-NODE\" naming two different nodes of the app"
                            : "ambiguous: more than one way to read it as \"NODE-NODE\"");
      auto& t = val.as_table();
      auto k = t.find("transport");
      if (k == t.end())
        r.fail(val, path + ".transport", "missing required key (tcp, ipc or shm)");
      if (!k->second.is_string())
        r.fail(k->second, path + ".transport", "expected a string, got " + type_name(k->second));
      ls.transport = k->second.as_string().str;
      if (ls.transport != "tcp" && ls.transport != "ipc" && ls.transport != "shm")
        r.fail(k->second, path + ".transport",
               "unknown transport \"" + ls.transport + "\" (use tcp, ipc or shm)");
      auto to = app.connects_to(ls.a, ls.b) ? ls.b : ls.a;
      auto from = to == ls.b ? ls.a : ls.b;
      if (!app.connects_to(from, to))
        r.fail(val, path, "neither node listens, so there is no bridge to choose a transport for");
      auto eps = app.find_node(to)->endpoints;
      if (std::none_of(eps.begin(), eps.end(),
                       [&](auto& ep) { return transport_of(ep) == ls.transport; }))
        r.fail(k->second, path + ".transport",
               "node " + to + " (which node " + from + " connects to) has no " + ls.transport
                 + " endpoint in its listen list");
      for (auto& other : app.links)
        if ((other.a == ls.a && other.b == ls.b) || (other.a == ls.b && other.b == ls.a))
          r.fail(val, path,
                 "a second entry for this pair (first at line " + std::to_string(other.where.line)
                   + ")");
      app.links.push_back(std::move(ls));
    }
  }
  // [launcher]
  if (auto i = top.find("launcher"); i != top.end()) {
    auto& tbl = r.require_table(i->second, "launcher");
    r.only_keys(tbl, "launcher", {"max_restarts", "within", "web"});
    auto& t = tbl.as_table();
    if (auto k = t.find("max_restarts"); k != t.end()) {
      if (!k->second.is_integer() || k->second.as_integer() < 0)
        r.fail(k->second, "launcher.max_restarts", "expected a non-negative integer");
      app.launcher.max_restarts = k->second.as_integer();
    }
    if (auto k = t.find("within"); k != t.end()) {
      app.launcher.within = read_duration(r, k->second, "launcher.within");
      if (app.launcher.within.count() <= 0)
        r.fail(k->second, "launcher.within", "must be greater than zero");
    }
    if (auto k = t.find("web"); k != t.end()) {
      app.launcher.web = read_http_address(r, k->second, "launcher.web");
      for (auto& n : app.nodes)
        if (n.metrics == app.launcher.web)
          r.fail(k->second, "launcher.web",
                 "address " + app.launcher.web + " already used by nodes." + n.name + ".metrics");
    }
  }
  // [bridges]
  if (auto i = top.find("bridges"); i != top.end()) {
    auto& tbl = r.require_table(i->second, "bridges");
    r.only_keys(tbl, "bridges",
                {"heartbeat_interval", "heartbeat_timeout", "connect_timeout", "lookup_timeout",
                 "shm_ring_size", "shm_spin", "curve_key"});
    auto& t = tbl.as_table();
    auto get = [&](const char* key, timespan& out) {
      if (auto k = t.find(key); k != t.end()) {
        out = read_duration(r, k->second, std::string{"bridges."} + key);
        if (out.count() <= 0)
          r.fail(k->second, std::string{"bridges."} + key, "must be greater than zero");
      }
    };
    get("heartbeat_interval", app.bridges.heartbeat_interval);
    get("heartbeat_timeout", app.bridges.heartbeat_timeout);
    get("connect_timeout", app.bridges.connect_timeout);
    get("lookup_timeout", app.bridges.lookup_timeout);
    if (auto k = t.find("shm_ring_size"); k != t.end()) {
      auto ok = k->second.is_integer();
      auto n = ok ? k->second.as_integer() : 0;
      if (!ok || n < 1024 || n > (int64_t{1} << 30) || (n & (n - 1)) != 0)
        r.fail(k->second, "bridges.shm_ring_size",
               "expected a power of two from 1024 to 1073741824 (bytes per ring and direction)");
      app.bridges.shm_ring_size = static_cast<size_t>(n);
    }
    if (auto k = t.find("shm_spin"); k != t.end()) {
      app.bridges.shm_spin = read_duration(r, k->second, "bridges.shm_spin");
      if (app.bridges.shm_spin.count() < 0 || app.bridges.shm_spin > std::chrono::milliseconds{10})
        r.fail(k->second, "bridges.shm_spin", "must be from 0s to 10ms");
    }
    if (auto k = t.find("curve_key"); k != t.end()) {
      if (!k->second.is_string() || k->second.as_string().str.empty())
        r.fail(k->second, "bridges.curve_key",
               "expected the path of a key file written by troupe keys FILE");
      app.bridges.curve_key = k->second.as_string().str;
    }
    if (app.bridges.heartbeat_timeout <= app.bridges.heartbeat_interval)
      r.fail(tbl, "bridges.heartbeat_timeout", "must be longer than bridges.heartbeat_interval");
  }
  // [[actors]]
  auto actors_it = top.find("actors");
  static const toml::value no_actors(toml::array{});
  // Without [[actors]] the rest (supervisors above all) is still checked, not skipped.
  auto& actors_val = actors_it != top.end() ? actors_it->second : no_actors;
  if (!actors_val.is_array())
    r.fail(actors_val, "actors",
           "expected an array of tables ([[actors]]), got " + type_name(actors_val));
  struct pending_ref {
    size_t actor;
    std::string key;
    std::string name;
    const toml::value* value;
  };
  std::vector<pending_ref> refs;
  std::unordered_map<std::string, size_t> actor_index; // name -> position in app.actors
  size_t index = 0;
  for (auto& entry : actors_val.as_array()) {
    auto path = "actors[" + std::to_string(index++) + "]";
    r.require_table(entry, path);
    r.only_keys(entry, path, {"name", "type", "node", "params", "restart", "buffer"});
    auto line = static_cast<unsigned>(line_of(entry));
    actor_spec spec;
    spec.where = r.where(entry);
    spec.name = r.get_string(entry, path, "name", line);
    auto& t = entry.as_table();
    if (!valid_name(spec.name))
      r.fail(t.at("name"), path + ".name",
             "invalid actor name \"" + spec.name + "\" (use letters, digits, '-', '_', '.')");
    path = "actors." + spec.name;
    if (auto prev = actor_index.find(spec.name); prev != actor_index.end())
      r.fail(t.at("name"), path + ".name",
             "duplicate actor name (first defined at line "
               + std::to_string(app.actors[prev->second].where.line) + ")");
    spec.type = r.get_string(entry, path, "type", line);
    auto type = types.find(spec.type);
    if (!type) {
      std::string known;
      for (auto& n : types.names())
        known += known.empty() ? n : ", " + n;
      r.fail(t.at("type"), path + ".type",
             "unknown actor type \"" + spec.type + "\" (known types: " + known + ")");
    }
    if (t.count("node") == 0) {
      if (app.nodes.size() != 1)
        r.fail(line, path + ".node", "missing required key (the app has several nodes)");
      spec.node = app.nodes.front().name;
    } else {
      spec.node = r.get_string(entry, path, "node", line);
      if (!app.find_node(spec.node)) {
        std::string known;
        for (auto& n : app.nodes)
          known += known.empty() ? n.name : ", " + n.name;
        r.fail(t.at("node"), path + ".node",
               "no node named \"" + spec.node + "\" (nodes: " + known + ")");
      }
    }
    std::map<std::string, param_value> values;
    const toml::value* given = nullptr;
    if (auto i = t.find("params"); i != t.end()) {
      given = &r.require_table(i->second, path + ".params");
      for (auto& [key, val] : given->as_table()) {
        auto& ps = type->params;
        auto spec_it = std::find_if(ps.begin(), ps.end(), [&](auto& p) { return p.name == key; });
        if (spec_it == ps.end()) {
          std::string allowed;
          for (auto& p : ps)
            allowed += allowed.empty() ? p.name : ", " + p.name;
          r.fail(val, path + ".params." + key,
                 "unknown parameter for type " + spec.type
                   + " (allowed: " + (allowed.empty() ? "none" : allowed) + ")");
        }
        auto pv = read_param(r, *spec_it, val, path + ".params." + key);
        if (spec_it->kind == param_kind::actor_ref) {
          // Checked once every actor is known: a reference may name an actor declared later.
          spec.refs.push_back(std::get<std::string>(pv));
          refs.push_back({app.actors.size(), path + ".params." + key, spec.refs.back(), &val});
        }
        if (spec_it->kind == param_kind::actor_refs) {
          auto& names = std::get<std::vector<std::string>>(pv);
          for (size_t k = 0; k < names.size(); ++k) {
            spec.refs.push_back(names[k]);
            refs.push_back({app.actors.size(),
                            path + ".params." + key + "[" + std::to_string(k) + "]", names[k],
                            &val.as_array()[k]});
          }
        }
        if (spec_it->check)
          if (auto problem = spec_it->check(pv); !problem.empty())
            r.fail(val, path + ".params." + key, problem);
        values.emplace(key, std::move(pv));
      }
    }
    for (auto& p : type->params) {
      if (values.count(p.name) > 0)
        continue;
      if (!p.default_value)
        r.fail(given ? static_cast<unsigned>(line_of(*given)) : line, path + ".params." + p.name,
               "missing required parameter (" + to_string(p.kind) + ": " + p.help + ")");
      values.emplace(p.name, *p.default_value);
    }
    spec.args = params{std::move(values)};
    if (auto i = t.find("restart"); i != t.end()) {
      spec.restart = r.get_string(entry, path, "restart", line);
      if (spec.restart != "permanent" && spec.restart != "transient" && spec.restart != "temporary")
        r.fail(i->second, path + ".restart",
               "unknown restart type \"" + spec.restart
                 + "\" (use permanent, transient or temporary)");
    }
    if (auto i = t.find("buffer"); i != t.end()) {
      auto key = path + ".buffer";
      if (i->second.is_table()) {
        r.only_keys(i->second, key, {"time", "max"});
        auto& bt = i->second.as_table();
        if (auto k = bt.find("time"); k != bt.end())
          spec.buffer = read_duration(r, k->second, key + ".time");
        else
          r.fail(i->second, key + ".time", "missing required key (how long messages may wait)");
        if (auto k = bt.find("max"); k != bt.end()) {
          if (!k->second.is_integer() || k->second.as_integer() < 1
              || k->second.as_integer() > 10000000)
            r.fail(k->second, key + ".max", "expected an integer from 1 to 10000000");
          spec.buffer_max = static_cast<size_t>(k->second.as_integer());
        }
      } else {
        spec.buffer = read_duration(r, i->second, key);
      }
      if (spec.buffer.count() < 0 || spec.buffer > std::chrono::minutes{10})
        r.fail(i->second, key, "expected a duration from 0s to 10min");
    }
    actor_index.emplace(spec.name, app.actors.size());
    app.actors.push_back(std::move(spec));
  }
  for (auto& ref : refs) {
    auto& spec = app.actors[ref.actor];
    auto& name = ref.name;
    auto found = actor_index.find(name);
    if (found == actor_index.end())
      r.fail(*ref.value, ref.key, "no actor named \"" + name + "\"");
    auto target = &app.actors[found->second];
    if (target->node != spec.node && !app.connects_to(spec.node, target->node)
        && !app.connects_to(target->node, spec.node))
      r.fail(*ref.value, ref.key,
             "actor \"" + name + "\" runs on node " + target->node + ", which node " + spec.node
               + " cannot reach: give one of the two nodes a listen endpoint");
  }
  // References between actors of one node decide their start order; a cycle has none.
  for (auto& n : app.nodes) {
    std::vector<size_t> cycle;
    auto [here, order] = start_order(app.actors, n.name, &cycle);
    if (order.size() != here.size()) {
      std::string names;
      for (auto i : cycle)
        names += (names.empty() ? "" : " -> ") + here[i]->name;
      r.fail(here[cycle.front()]->where.line, "actors." + here[cycle.front()]->name + ".params",
             "actor references on node " + n.name + " form a cycle (" + names
               + "): no start order; break it or place one of them on another node");
    }
  }
  parse_supervisors(r, top, app);
  std::vector<size_t> cycle;
  if (node_order(app, &cycle).size() != app.nodes.size()) {
    std::string names;
    for (auto i : cycle)
      names += (names.empty() ? "" : " -> ") + app.nodes[i].name;
    r.fail(1, "supervisors",
           "supervision between nodes forms a cycle (" + names
             + ", where A -> B means a supervisor on A has a child on B, so B must start first): "
               "no start order; move a supervisor or a child so that it goes one way");
  }
  return app;
}

std::string first_line(const std::string& x) {
  auto s = x;
  if (s.rfind("[error] ", 0) == 0)
    s.erase(0, 8);
  auto nl = s.find('\n');
  if (nl != std::string::npos)
    s.erase(nl);
  return s;
}

/// Nesting of arrays and inline tables deeper than this is refused before toml11 sees the text:
/// its parser recurses once per level and overflowed the stack at a few thousand.
constexpr int max_toml_depth = 64;

/// Returns the line of the first bracket nested deeper than `max_toml_depth`, or 0. Skips
/// comments and all four kinds of TOML strings, so brackets inside them do not count.
size_t too_deep_at(const std::string& text) {
  int depth = 0;
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
    } else if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
    } else if (c == '"' || c == '\'') {
      bool multi = text.compare(i, 3, std::string(3, c)) == 0;
      i += multi ? 3 : 1;
      for (; i < text.size(); ++i) {
        if (text[i] == '\n')
          ++line;
        if (c == '"' && text[i] == '\\') {
          ++i;
          continue;
        }
        if (text[i] == c && (!multi || text.compare(i, 3, std::string(3, c)) == 0)) {
          i += multi ? 2 : 0;
          break;
        }
      }
    } else if (c == '[' || c == '{') {
      if (++depth > max_toml_depth)
        return line;
    } else if (c == ']' || c == '}') {
      depth = std::max(0, depth - 1);
    }
  }
  return 0;
}

} // namespace

caf::expected<app_spec> parse_app(const std::string& text, const std::string& name,
                                  const catalog& types) {
  if (auto line = too_deep_at(text))
    return make_error(errc::bad_config, name + ":" + std::to_string(line)
                                          + ": arrays or inline tables nested deeper than "
                                          + std::to_string(max_toml_depth) + " levels");
  try {
    std::istringstream in{text};
    auto root = toml::parse(in, name);
    auto result = parse(root, name, types);
    result.text = text;
    result.hash = content_hash(text);
    return result;
  } catch (const config_failure& x) {
    return make_error(errc::bad_config, x.message);
  } catch (const toml::exception& x) {
    auto line = x.location().line();
    return make_error(errc::bad_config, name + ":" + std::to_string(line)
                                          + ": TOML syntax error: " + first_line(x.what()));
  } catch (const std::exception& x) {
    return make_error(errc::bad_config, name + ": " + first_line(x.what()));
  }
}

caf::error check_log_dir(const std::string& log_dir) {
  auto fail = [&](const std::string& why) {
    return make_error(errc::bad_config, "app.log_dir \"" + log_dir + "\": " + why);
  };
  if (log_dir.empty())
    return fail("empty");
  // The nearest existing ancestor decides: run creates the missing rest.
  auto dir = log_dir;
  struct stat st;
  while (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return fail(std::string{"cannot inspect "} + dir + ": " + std::strerror(errno));
    auto slash = dir.find_last_of('/');
    dir = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
  }
  if (!S_ISDIR(st.st_mode))
    return fail(dir + " exists and is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return fail(dir == log_dir ? "directory not writable by this user"
                               : "cannot be created: " + dir + " is not writable by this user");
  return caf::none;
}

caf::expected<app_spec> load_app(const std::string& path, const catalog& types) {
  // Refuse what is not a plain file of sane size before reading: /dev/zero never ends (bad_alloc)
  // and a FIFO blocks the reader until someone writes.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return make_error(errc::bad_config, path + ": no such app file");
  if (!S_ISREG(st.st_mode))
    return make_error(errc::bad_config, path + ": not a regular file ("
                                          + (S_ISDIR(st.st_mode)    ? "a directory"
                                             : S_ISFIFO(st.st_mode) ? "a FIFO"
                                             : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)
                                               ? "a device"
                                               : "a socket or other special file")
                                          + ")");
  if (st.st_size > max_app_file_size)
    return make_error(errc::bad_config, path + ": " + std::to_string(st.st_size)
                                          + " bytes; app files are limited to "
                                          + std::to_string(max_app_file_size >> 20) + " MiB");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::bad_config, path + ": cannot open the app file");
  // Read at most the bound, even if the file grew since the stat.
  std::string text(static_cast<size_t>(max_app_file_size) + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > static_cast<size_t>(max_app_file_size))
    return make_error(errc::bad_config, path + ": app files are limited to "
                                          + std::to_string(max_app_file_size >> 20) + " MiB");
  return parse_app(text, path, types);
}

std::string content_hash(const std::string& text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::string config_error_message(const caf::error& err) {
  if (err.category() == errc_category && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return describe(err);
}

} // namespace troupe
