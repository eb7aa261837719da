#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/message.hpp"
#include "caf/node_id.hpp"

namespace troupe::bridges {

/// Wire protocol version carried by every frame; a frame of another version is rejected.
constexpr uint32_t protocol_version = 1;

/// Default upper bound for one frame on the wire (16 MiB).
constexpr size_t default_max_frame_size = size_t{16} << 20;

/// Upper bound for the number of elements of one message payload.
constexpr size_t max_payload_elements = 1024;

/// What a frame means; the numeric values are part of the wire protocol (docs/PROTOCOL.md).
enum class frame_kind : uint8_t {
  hello = 1,         ///< Opens a session: node name, node id, heartbeat interval, type names.
  hello_ack = 2,     ///< Answers `hello` with the same body.
  message = 3,       ///< A CAF message (ordinary, request or response: see `mid`).
  monitor = 4,       ///< Sender watches actor `receiver`; answered by `down` when it terminates.
  down = 5,          ///< Actor `sender` terminated; body is a payload with one `@error`.
  link = 6,          ///< Remote actor `sender` links to local actor `receiver`.
  unlink = 7,        ///< Removes a link made by `link`.
  lookup = 8,        ///< Asks for the actor id registered under the name in the body.
  lookup_reply = 9,  ///< Answers `lookup`: body is the actor id (0 = not found).
  heartbeat = 10,    ///< Keeps the session alive; no body.
  goodbye = 11,      ///< Closes the session on purpose; no body.
  hello_reject = 12, ///< Answers a `hello` that opens no session; body: str reason.
};

/// Returns the name of `x`, e.g. "message".
const char* to_string(frame_kind x);

/// The decoded fixed part of a frame. `body` points into the decoded frame buffer.
struct envelope {
  frame_kind kind = frame_kind::heartbeat;
  caf::actor_id sender = 0;
  /// Node of the sender when it is not the node that sent the frame (e.g. a delegated request).
  caf::node_id sender_node;
  /// Receiver actor id; 0 when `receiver_name` addresses the receiver instead.
  caf::actor_id receiver = 0;
  /// Node of the receiver when it is not the node that receives the frame: the frame is to be
  /// forwarded there (a reply routed through this node, docs/PROTOCOL.md §2).
  caf::node_id receiver_node;
  std::string receiver_name;
  /// CAF message id (request / response bits included), or the lookup id.
  uint64_t mid = 0;
  /// The msgpack-encoded, kind-specific body (exactly one msgpack object).
  const char* body = nullptr;
  size_t body_size = 0;
};

/// The body of `hello` and `hello_ack`.
struct hello_body {
  std::string node_name;
  caf::node_id node;
  uint32_t heartbeat_ms = 0;
  /// Sorted names of the user message types the sender can decode.
  std::vector<std::string> types;
  /// Optional 6th field: after this long without a frame the sender drops the session (0 = not
  /// announced, the field is then not written; readers accept 5 or 6 fields).
  uint32_t heartbeat_timeout_ms = 0;
};

/// Appends the fixed part of a frame to `buf`; the caller appends exactly one body object next.
/// A non-empty `receiver_name` addresses by name (and `receiver` is ignored).
void encode_header(std::vector<char>& buf, frame_kind kind, caf::actor_id sender,
                   caf::actor_id receiver, const std::string& receiver_name, uint64_t mid);

/// Like `encode_header`, but names the sender's node explicitly (`[aid, pid, host]`) because the
/// sender lives on neither end of the session.
void encode_header(std::vector<char>& buf, frame_kind kind, caf::actor_id sender,
                   const caf::node_id& sender_node, caf::actor_id receiver,
                   const std::string& receiver_name, uint64_t mid);

/// Like `encode_header`, but names the receiver's node (`[aid, pid, host]`) because the receiver
/// lives beyond the peer, which forwards the frame; the sender's node is named too when valid.
void encode_routed_header(std::vector<char>& buf, frame_kind kind, caf::actor_id sender,
                          const caf::node_id& sender_node, caf::actor_id receiver,
                          const caf::node_id& receiver_node, uint64_t mid);

/// Appends a nil body.
void encode_nil_body(std::vector<char>& buf);

/// Appends a uint body.
void encode_uint_body(std::vector<char>& buf, uint64_t x);

/// Appends a str body.
void encode_str_body(std::vector<char>& buf, const std::string& x);

/// Appends `msg` as a payload body: an array of `[type name, [values...]]` pairs. `ctx` decides
/// how actor handles are written (local ones are registered so that the far side can address
/// them). Fails with `sec::unknown_type` if an element type is not registered.
caf::error encode_payload(caf::actor_system& sys, caf::execution_unit* ctx, const caf::message& msg,
                          std::vector<char>& buf);

/// Like `encode_payload`, but also fails with `sec::unknown_type` for a user type (one without a
/// builtin type number) missing from `peer_types` (sorted), i.e. one the receiver cannot decode.
caf::error encode_payload(caf::actor_system& sys, caf::execution_unit* ctx, const caf::message& msg,
                          std::vector<char>& buf, const std::vector<std::string>* peer_types);

/// Appends a hello body.
void encode_hello(std::vector<char>& buf, const hello_body& x);

/// Decodes the fixed part of `frame`, checks the version and that exactly one body object follows.
caf::expected<envelope> decode_envelope(const char* frame, size_t size,
                                        size_t max_frame_size = default_max_frame_size);

/// Decodes a payload body. With a `ctx` whose `proxy_registry_ptr()` is set, actor handles of
/// other nodes turn into proxies.
caf::expected<caf::message> decode_payload(caf::actor_system& sys, caf::execution_unit* ctx,
                                           const char* body, size_t size);

/// Decodes a uint body.
caf::expected<uint64_t> decode_uint_body(const char* body, size_t size);

/// Decodes a str body.
caf::expected<std::string> decode_str_body(const char* body, size_t size);

/// Decodes a hello body.
caf::expected<hello_body> decode_hello(const char* body, size_t size);

/// Returns the sorted names of all user-registered message types of `sys`.
std::vector<std::string> registered_type_names(const caf::actor_system& sys);

/// Returns the wire name of the element at `pos` of `msg` ("@i32", "point", ...), or an empty
/// string if the type is not registered.
std::string element_type_name(const caf::actor_system& sys, const caf::message& msg, size_t pos);

} // namespace troupe::bridges
