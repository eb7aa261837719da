#pragma once

#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "troupe/params.hpp"

namespace troupe {

class catalog;

/// Where a value came from in the app file, for error messages and `troupe check`.
struct source_ref {
  std::string file;
  unsigned line = 0;
};

/// One `[nodes.NAME]` table: a process of the app.
struct node_spec {
  std::string name;
  /// Whether `troupe run` starts this node; `false` for nodes the user starts (like `prog`).
  bool launch = true;
  /// Where the node accepts bridges from other nodes: `tcp://HOST:PORT`, `ipc://PATH` or
  /// `shm://NAME` (the file's `"shm"` becomes `shm://APP.NODE`); empty when the node only connects
  /// out. The first of `endpoints`: what peers use unless a `[links]` entry says otherwise.
  std::string listen;
  /// Every endpoint of the node (`listen` may be an array, at most one endpoint per transport).
  std::vector<std::string> endpoints;
  /// The host or IPv4 address the node's tcp endpoint binds to (`bind = "0.0.0.0"` accepts on
  /// every interface) when it differs from the address peers connect to; empty: the same.
  std::string bind;
  /// `HOST:PORT` where the node serves Prometheus metrics over HTTP (`/metrics`); empty: none.
  std::string metrics;
  source_ref where;

  /// Returns where the node accepts connections for endpoint `ep`: `ep` itself, or for a tcp
  /// endpoint with `bind` set, `tcp://BIND:PORT`.
  std::string bind_endpoint(const std::string& ep) const;
};

/// The `[bridges]` table: timing of the connections between nodes.
struct bridge_settings {
  /// A heartbeat goes to every peer this often.
  timespan heartbeat_interval{std::chrono::milliseconds{250}};
  /// A peer that sent nothing for this long is lost.
  timespan heartbeat_timeout{std::chrono::milliseconds{1500}};
  /// How long a node keeps trying to reach a peer before giving up.
  timespan connect_timeout{std::chrono::seconds{5}};
  /// How long a lookup of a name on another node may take.
  timespan lookup_timeout{std::chrono::seconds{2}};
  /// Bytes of each shared-memory ring (one per direction and node pair), a power of two.
  size_t shm_ring_size = size_t{1} << 20;
  /// How long a shared-memory bridge's reader spins before it sleeps on its futex.
  timespan shm_spin{std::chrono::microseconds{5}};
  /// Path of the app's CURVE key file (`troupe keys FILE`); empty: tcp and ipc are plain.
  std::string curve_key;
};

/// One `[[actors]]` entry: an actor placed on a node.
struct actor_spec {
  /// App-wide name, what code looks up.
  std::string name;
  /// Catalog type name.
  std::string type;
  /// Name of the hosting node.
  std::string node;
  /// Validated parameters, defaults filled in.
  params args;
  /// When supervised: permanent, transient or temporary (see supervisor.hpp).
  std::string restart = "permanent";
  /// How long messages to this name wait for its next incarnation on other nodes (`buffer`);
  /// zero: a request fails at once with `unavailable` while the name has none.
  timespan buffer{0};
  /// How many messages may wait per node (`buffer = { time = "2s", max = N }`).
  size_t buffer_max = 10000;
  /// Names of the actors its `actor_ref` parameters refer to.
  std::vector<std::string> refs;
  source_ref where;
};

/// One `[[supervisors]]` entry: an OTP-style supervisor of actors on its node.
struct supervisor_entry {
  std::string name;
  std::string node;
  /// one_for_one, one_for_all or rest_for_one.
  std::string strategy = "one_for_one";
  int64_t max_restarts = 3;
  timespan within{std::chrono::seconds{5}};
  timespan backoff_initial{0};
  timespan backoff_max{0};
  /// Names of actors (or supervisors declared earlier) on the same node, in start order.
  std::vector<std::string> children;
  source_ref where;
};

/// One `[links]` entry: the transport of the bridge between two nodes.
struct link_spec {
  std::string a;
  std::string b;
  /// tcp, ipc or shm: which endpoint of the listening node of the pair the other one uses.
  std::string transport;
  source_ref where;
};

/// The `[launcher]` table: how `troupe run` supervises the node processes it starts.
struct launcher_settings {
  /// More node restarts than this within `within` stop the whole app.
  int64_t max_restarts = 3;
  timespan within{std::chrono::seconds{10}};
  /// `HOST:PORT` where `troupe run` serves the web view and its JSON API; empty: none.
  std::string web;
};

/// Splits an HTTP listen address `HOST:PORT` (port 1..65535; HOST an IPv4 address or a name);
/// returns the problem, or an empty string when it is valid.
std::string http_address_problem(const std::string& address);

/// The validated contents of an app file.
struct app_spec {
  std::string name;
  std::string file;
  /// The app file's content as it was read: `troupe run` hands exactly this to every node it
  /// starts, restarts included.
  std::string text;
  /// Hash of `text` (16 hex digits, FNV-1a 64), shown per node by `troupe ps`.
  std::string hash;
  /// Directory for the per-node log files; relative paths are relative to the working directory.
  std::string log_dir = "logs";
  /// One of trace, debug, info, warn, error, off.
  std::string log_level = "info";
  /// Settings of the bridges between nodes.
  bridge_settings bridges;
  /// Supervision of node processes by `troupe run`.
  launcher_settings launcher;
  /// Nodes in file order.
  std::vector<node_spec> nodes;
  /// Actors in file order, which is also their start order on each node.
  std::vector<actor_spec> actors;
  /// Supervisors in file order.
  std::vector<supervisor_entry> supervisors;
  /// Per-pair transport choices.
  std::vector<link_spec> links;

  /// Returns the supervisor named `name` or `nullptr`.
  const supervisor_entry* find_supervisor(const std::string& name) const;

  /// Returns the supervisor that has `name` (an actor or a supervisor) as a child, or `nullptr`.
  const supervisor_entry* supervisor_of(const std::string& name) const;

  /// Returns the node named `name` or `nullptr`.
  const node_spec* find_node(const std::string& wanted) const;

  /// Returns the actor named `name` or `nullptr`.
  const actor_spec* find_actor(const std::string& wanted) const;

  /// Returns the actors placed on `node`, in start order: file order, except that an actor comes
  /// after the actors of the same node its `actor_ref` parameters name.
  std::vector<const actor_spec*> actors_on(const std::string& node) const;

  /// Returns the nodes in the order `troupe run` starts them: a node that hosts an actor
  /// supervised from another node starts before the supervisor's node; otherwise file order.
  std::vector<std::string> node_start_order() const;

  /// Returns the file where `troupe run` records its pid and the state of the nodes it runs:
  /// `LOG_DIR/APP.run`.
  std::string run_file() const;

  /// Returns whether node `from` opens the bridge to node `to` (rather than waiting for `to` to
  /// connect): `to` listens, and `from` either does not listen or sorts before `to` by name.
  bool connects_to(const std::string& from, const std::string& to) const;

  /// Returns the endpoint of node `to` that node `from` connects to: the one of the transport a
  /// `[links]` entry names for the pair, else `to`'s first endpoint (empty if it does not listen).
  std::string endpoint_for(const std::string& from, const std::string& to) const;
};

/// Checks that `log_dir` is a writable directory, or can be created as one (its nearest existing
/// ancestor is a writable directory); the error (`bad_config`) names the problem.
caf::error check_log_dir(const std::string& log_dir);

/// App files larger than this (bytes) are refused before they are read.
constexpr long max_app_file_size = long{4} << 20;

/// Reads and validates the app file at `path` against the actor types of `types`.
/// On failure the error (category `troupe`, code `bad_config`) carries one line of the form
/// `FILE:LINE: KEY: PROBLEM`.
caf::expected<app_spec> load_app(const std::string& path, const catalog& types);

/// Like `load_app`, but parses `text` and reports errors against the file name `name`.
caf::expected<app_spec> parse_app(const std::string& text, const std::string& name,
                                  const catalog& types);

/// Returns the 16-hex-digit FNV-1a 64 hash of `text` (stable across processes and builds).
std::string content_hash(const std::string& text);

/// Returns the one-line message of a config error (its context), or `describe(err)` otherwise.
std::string config_error_message(const caf::error& err);

} // namespace troupe
