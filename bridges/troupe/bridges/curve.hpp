#pragma once

#include <string>

#include "caf/error.hpp"
#include "caf/expected.hpp"

namespace troupe::bridges {

/// A CURVE key pair (ZeroMQ's Z85 text, 40 characters each).
struct curve_keys {
  std::string public_key;
  std::string secret_key;
};

/// Returns whether the linked libzmq supports CURVE (`zmq_has("curve")`).
bool curve_available();

/// Generates a key pair and writes it to `path` (created, mode 0600; an existing file is never
/// overwritten) as two TOML lines `public = "..."` and `secret = "..."`.
caf::error write_curve_key_file(const std::string& path);

/// Reads a key file written by `write_curve_key_file`. Refuses a file that is not a regular
/// file of this user with mode 0600 or 0400 (its secret would be readable by others) and keys
/// that are not 40 characters of Z85.
caf::expected<curve_keys> read_curve_key_file(const std::string& path);

} // namespace troupe::bridges
