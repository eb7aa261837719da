#pragma once

// Everything a program built on Troupe needs, in one header (link Troupe::troupe):
// - actor types: troupe::catalog, troupe::make_type + troupe::param<T> (typed registration),
//   troupe::actor_type / spawn_context / actor_factory (hand-written factories), spawn_counted;
// - the app file: troupe::app_spec, actor_spec, params, timespan, duration_range, load_app;
// - a node in your own process: troupe::node, node_options, troupe::bridges::make_remote_nodes;
// - errors: troupe::errc, make_error, describe;
// - the command line: troupe::cli_main;
// - the CAF 0.17 headers an actor needs (event-based, stateful, typed and blocking actors,
//   atoms, requests, response promises, message type registration).

#include "caf/actor.hpp"
#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/atom.hpp"
#include "caf/behavior.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/result.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"
#include "caf/spawn_options.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "troupe/actors/builtin.hpp"
#include "troupe/bridges/remote_nodes.hpp"
#include "troupe/catalog.hpp"
#include "troupe/cli.hpp"
#include "troupe/config.hpp"
#include "troupe/counted_actor.hpp"
#include "troupe/define.hpp"
#include "troupe/duration.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"
#include "troupe/params.hpp"
