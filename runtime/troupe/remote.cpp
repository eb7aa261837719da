#include "troupe/remote.hpp"

namespace troupe {

remote_nodes::~remote_nodes() {
  // nop
}

} // namespace troupe
