#include "troupe/logging.hpp"

#include <spdlog/logger.h>

namespace troupe {

std::shared_ptr<spdlog::logger> null_logger() {
  static auto instance = [] {
    auto log = std::make_shared<spdlog::logger>("null");
    log->set_level(spdlog::level::off);
    return log;
  }();
  return instance;
}

} // namespace troupe
