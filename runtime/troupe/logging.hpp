#pragma once

#include <memory>

namespace spdlog {
class logger;
} // namespace spdlog

namespace troupe {

/// Returns a logger that discards everything, for actors spawned outside a node (tests).
std::shared_ptr<spdlog::logger> null_logger();

} // namespace troupe
