#pragma once

#include "troupe/remote.hpp"

namespace troupe::bridges {

/// Creates a node's bridges: a `hub` configured from the app's `[bridges]` settings, behind the
/// runtime's `remote_nodes` interface. Pass it as `node_options::bridges`.
caf::expected<std::unique_ptr<remote_nodes>> make_remote_nodes(const remote_context& ctx);

} // namespace troupe::bridges
