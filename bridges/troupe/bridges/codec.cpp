#include "troupe/bridges/codec.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "caf/actor_system_config.hpp"
#include "caf/detail/dynamic_message_data.hpp"
#include "caf/make_counted.hpp"
#include "caf/sec.hpp"
#include "caf/type_erased_value.hpp"
#include "caf/type_nr.hpp"
#include "caf/uniform_type_info_map.hpp"

#include "troupe/bridges/detail/msgpack_io.hpp"
#include "troupe/bridges/msgpack_serializer.hpp"
#include "troupe/errc.hpp"

namespace troupe::bridges {

using detail::msgpack_reader;
using detail::msgpack_type;
using detail::msgpack_writer;

namespace {

constexpr size_t header_fields = 6; // version, kind, sender, receiver, mid, body
constexpr size_t host_id_size = caf::node_id::default_data::host_id_size;
constexpr size_t max_name_size = 1024;

caf::error bad_frame(const char* what) {
  return make_error(errc::bad_frame, what);
}

// Returns the type number of the builtin type `name`, 0 for any other name. CAF's
// `make_value(name)` compares the name with every builtin name in turn before it looks at the
// user types; `make_value(nr)` indexes.
uint16_t builtin_type_nr(std::string_view name) {
  static const auto table = [] {
    std::unordered_map<std::string_view, uint16_t> result;
    for (size_t i = 0; i + 1 < caf::type_nrs; ++i)
      result.emplace(caf::numbered_type_names[i], static_cast<uint16_t>(i + 1));
    return result;
  }();
  auto i = table.find(name);
  return i != table.end() ? i->second : 0;
}

} // namespace

const char* to_string(frame_kind x) {
  switch (x) {
    case frame_kind::hello: return "hello";
    case frame_kind::hello_ack: return "hello_ack";
    case frame_kind::message: return "message";
    case frame_kind::monitor: return "monitor";
    case frame_kind::down: return "down";
    case frame_kind::link: return "link";
    case frame_kind::unlink: return "unlink";
    case frame_kind::lookup: return "lookup";
    case frame_kind::lookup_reply: return "lookup_reply";
    case frame_kind::heartbeat: return "heartbeat";
    case frame_kind::goodbye: return "goodbye";
    case frame_kind::hello_reject: return "hello_reject";
  }
  return "unknown";
}

// -- encoding -------------------------------------------------------------------------------------

namespace {

void write_node(msgpack_writer& w, const caf::node_id& node) {
  uint32_t pid = 0;
  caf::node_id::default_data::host_id_type host{};
  if (node && node->implementation_id() == caf::node_id::default_data::class_id) {
    auto& dd = static_cast<const caf::node_id::default_data&>(*node);
    pid = dd.process_id();
    host = dd.host_id();
  }
  w.write_uint(pid);
  w.write_bin(host.data(), host.size());
}

bool read_node(msgpack_reader& r, caf::node_id& node) {
  uint64_t pid;
  if (!r.read_uint(pid) || pid > UINT32_MAX)
    return false;
  const char* host_bytes;
  size_t host_size;
  if (!r.read_bin(host_bytes, host_size) || host_size != host_id_size)
    return false;
  caf::node_id::default_data::host_id_type host;
  std::memcpy(host.data(), host_bytes, host_id_size);
  if (!caf::node_id::default_data::valid(host))
    return false;
  node = caf::make_node_id(static_cast<uint32_t>(pid), host);
  return true;
}

void write_rest(msgpack_writer& w, caf::actor_id receiver, const std::string& receiver_name,
                uint64_t mid) {
  if (!receiver_name.empty())
    w.write_str(receiver_name);
  else
    w.write_uint(receiver);
  w.write_uint(mid);
}

} // namespace

void encode_header(std::vector<char>& buf, frame_kind kind, caf::actor_id sender,
                   const caf::node_id& sender_node, caf::actor_id receiver,
                   const std::string& receiver_name, uint64_t mid) {
  msgpack_writer w{buf};
  w.write_array_header(header_fields);
  w.write_uint(protocol_version);
  w.write_uint(static_cast<uint8_t>(kind));
  w.write_array_header(3);
  w.write_uint(sender);
  write_node(w, sender_node);
  write_rest(w, receiver, receiver_name, mid);
}

void encode_routed_header(std::vector<char>& buf, frame_kind kind, caf::actor_id sender,
                          const caf::node_id& sender_node, caf::actor_id receiver,
                          const caf::node_id& receiver_node, uint64_t mid) {
  msgpack_writer w{buf};
  w.write_array_header(header_fields);
  w.write_uint(protocol_version);
  w.write_uint(static_cast<uint8_t>(kind));
  if (sender_node) {
    w.write_array_header(3);
    w.write_uint(sender);
    write_node(w, sender_node);
  } else {
    w.write_uint(sender);
  }
  w.write_array_header(3);
  w.write_uint(receiver);
  write_node(w, receiver_node);
  w.write_uint(mid);
}

void encode_header(std::vector<char>& buf, frame_kind kind, caf::actor_id sender,
                   caf::actor_id receiver, const std::string& receiver_name, uint64_t mid) {
  msgpack_writer w{buf};
  w.write_array_header(header_fields);
  w.write_uint(protocol_version);
  w.write_uint(static_cast<uint8_t>(kind));
  w.write_uint(sender);
  write_rest(w, receiver, receiver_name, mid);
}

void encode_nil_body(std::vector<char>& buf) {
  msgpack_writer{buf}.write_nil();
}

void encode_uint_body(std::vector<char>& buf, uint64_t x) {
  msgpack_writer{buf}.write_uint(x);
}

void encode_str_body(std::vector<char>& buf, const std::string& x) {
  msgpack_writer{buf}.write_str(x);
}

std::string element_type_name(const caf::actor_system& sys, const caf::message& msg, size_t pos) {
  auto [nr, ti] = msg.type(pos);
  if (nr != 0)
    return caf::numbered_type_names[nr - 1];
  if (ti == nullptr)
    return {};
  auto& name = sys.types().portable_name(0, ti);
  // CAF answers unregistered types with a placeholder name rather than an error.
  if (name.empty() || name.front() == '?')
    return {};
  return name;
}

caf::error encode_payload(caf::actor_system& sys, caf::execution_unit* ctx, const caf::message& msg,
                          std::vector<char>& buf) {
  return encode_payload(sys, ctx, msg, buf, nullptr);
}

caf::error encode_payload(caf::actor_system& sys, caf::execution_unit* ctx, const caf::message& msg,
                          std::vector<char>& buf, const std::vector<std::string>* peer_types) {
  if (msg.size() > max_payload_elements)
    return make_error(errc::bad_request, "too many message elements");
  msgpack_writer w{buf};
  w.write_array_header(msg.size());
  for (size_t i = 0; i < msg.size(); ++i) {
    auto name = element_type_name(sys, msg, i);
    if (name.empty())
      return caf::make_error(caf::sec::unknown_type);
    // Builtin types (non-zero type number) are known to every peer by construction.
    if (peer_types != nullptr && msg.type(i).first == 0
        && !std::binary_search(peer_types->begin(), peer_types->end(), name))
      return caf::make_error(caf::sec::unknown_type, "peer cannot decode type " + name);
    w.write_array_header(2);
    w.write_str(name);
    // The value count is known only afterwards: reserve an array32 header (valid msgpack even
    // for small counts) and patch it, instead of serializing into a scratch buffer and copying.
    auto header_pos = buf.size();
    w.write_array32_placeholder();
    msgpack_serializer sink{ctx, buf};
    if (auto err = msg.save(i, sink))
      return err;
    w.patch_array32(header_pos, sink.objects_written());
  }
  return caf::none;
}

void encode_hello(std::vector<char>& buf, const hello_body& x) {
  msgpack_writer w{buf};
  w.write_array_header(x.heartbeat_timeout_ms != 0 ? 6 : 5);
  w.write_str(x.node_name);
  write_node(w, x.node);
  w.write_uint(x.heartbeat_ms);
  w.write_array_header(x.types.size());
  for (auto& t : x.types)
    w.write_str(t);
  if (x.heartbeat_timeout_ms != 0)
    w.write_uint(x.heartbeat_timeout_ms);
}

// -- decoding -------------------------------------------------------------------------------------

caf::expected<envelope> decode_envelope(const char* frame, size_t size, size_t max_frame_size) {
  if (size > max_frame_size)
    return bad_frame("oversized frame");
  msgpack_reader r{frame, size};
  size_t n;
  if (!r.read_array_header(n) || n != header_fields)
    return bad_frame("frame is not a 6-element array");
  uint64_t version;
  if (!r.read_uint(version))
    return bad_frame("bad version field");
  if (version != protocol_version)
    return bad_frame("unsupported protocol version");
  uint64_t kind;
  if (!r.read_uint(kind) || kind < static_cast<uint8_t>(frame_kind::hello)
      || kind > static_cast<uint8_t>(frame_kind::hello_reject))
    return bad_frame("unknown frame kind");
  envelope result;
  result.kind = static_cast<frame_kind>(kind);
  if (r.peek() == msgpack_type::array) {
    size_t sn;
    if (!r.read_array_header(sn) || sn != 3 || !r.read_uint(result.sender)
        || !read_node(r, result.sender_node))
      return bad_frame("bad node-qualified sender field");
  } else if (!r.read_uint(result.sender)) {
    return bad_frame("bad sender field");
  }
  if (r.peek() == msgpack_type::str) {
    if (!r.read_str(result.receiver_name, max_name_size) || result.receiver_name.empty())
      return bad_frame("bad receiver name");
  } else if (r.peek() == msgpack_type::array) {
    size_t rn;
    if (!r.read_array_header(rn) || rn != 3 || !r.read_uint(result.receiver)
        || !read_node(r, result.receiver_node))
      return bad_frame("bad node-qualified receiver field");
  } else if (!r.read_uint(result.receiver)) {
    return bad_frame("bad receiver field");
  }
  if (!r.read_uint(result.mid))
    return bad_frame("bad message id field");
  result.body = r.pos();
  if (!r.skip())
    return bad_frame("malformed or truncated body");
  result.body_size = static_cast<size_t>(r.pos() - result.body);
  if (!r.at_end())
    return bad_frame("trailing bytes after body");
  return result;
}

caf::expected<caf::message> decode_payload(caf::actor_system& sys, caf::execution_unit* ctx,
                                           const char* body, size_t size) {
  msgpack_reader r{body, size};
  size_t n;
  if (!r.read_array_header(n) || n > max_payload_elements)
    return bad_frame("payload is not an array of at most 1024 elements");
  caf::detail::dynamic_message_data::elements elements;
  elements.reserve(n);
  std::string name;
  for (size_t i = 0; i < n; ++i) {
    size_t pair_size;
    if (!r.read_array_header(pair_size) || pair_size != 2)
      return bad_frame("payload element is not a [name, values] pair");
    const char* name_data;
    size_t name_size;
    if (!r.read_str(name_data, name_size) || name_size > max_name_size)
      return bad_frame("bad payload element type name");
    name.assign(name_data, name_size);
    size_t num_values;
    if (!r.read_array_header(num_values))
      return bad_frame("payload element values are not an array");
    auto first = r.pos();
    for (size_t j = 0; j < num_values; ++j)
      if (!r.skip())
        return bad_frame("malformed or truncated payload element");
    auto last = r.pos();
    auto nr = builtin_type_nr(name);
    auto value = nr != 0 ? sys.types().make_value(nr) : sys.types().make_value(name);
    if (!value)
      return make_error(errc::bad_frame, "unknown type " + name);
    msgpack_deserializer source{ctx, first, static_cast<size_t>(last - first)};
    if (auto err = value->load(source))
      return make_error(errc::bad_frame,
                        "cannot decode element of type " + name + " (" + to_string(err) + ")");
    // Both checks matter: a value that reads fewer objects than announced would let the rest be
    // misread as the next element's type name.
    if (source.remaining() != 0 || source.objects_read() != num_values)
      return make_error(errc::bad_frame, "element of type " + name + " has the wrong field count");
    elements.emplace_back(std::move(value));
  }
  if (!r.at_end())
    return bad_frame("trailing bytes after payload");
  auto data = caf::make_counted<caf::detail::dynamic_message_data>(std::move(elements));
  return caf::message{caf::detail::message_data::cow_ptr{std::move(data)}};
}

caf::expected<uint64_t> decode_uint_body(const char* body, size_t size) {
  msgpack_reader r{body, size};
  uint64_t x;
  if (!r.read_uint(x) || !r.at_end())
    return bad_frame("body is not a uint");
  return x;
}

caf::expected<std::string> decode_str_body(const char* body, size_t size) {
  msgpack_reader r{body, size};
  std::string x;
  if (!r.read_str(x, max_name_size) || !r.at_end())
    return bad_frame("body is not a str");
  return x;
}

caf::expected<hello_body> decode_hello(const char* body, size_t size) {
  msgpack_reader r{body, size};
  size_t n;
  if (!r.read_array_header(n) || (n != 5 && n != 6))
    return bad_frame("hello body is not a 5- or 6-element array");
  hello_body result;
  if (!r.read_str(result.node_name, max_name_size) || result.node_name.empty())
    return bad_frame("bad node name in hello");
  if (!read_node(r, result.node))
    return bad_frame("bad node id (pid, host) in hello");
  uint64_t hb;
  if (!r.read_uint(hb) || hb > UINT32_MAX)
    return bad_frame("bad heartbeat interval in hello");
  result.heartbeat_ms = static_cast<uint32_t>(hb);
  size_t num_types;
  if (!r.read_array_header(num_types))
    return bad_frame("bad type list in hello");
  result.types.reserve(num_types);
  for (size_t i = 0; i < num_types; ++i) {
    std::string t;
    if (!r.read_str(t, max_name_size))
      return bad_frame("bad type name in hello");
    result.types.emplace_back(std::move(t));
  }
  if (n == 6) {
    uint64_t timeout;
    if (!r.read_uint(timeout) || timeout > UINT32_MAX)
      return bad_frame("bad heartbeat timeout in hello");
    result.heartbeat_timeout_ms = static_cast<uint32_t>(timeout);
  }
  if (!r.at_end())
    return bad_frame("trailing bytes after hello body");
  return result;
}

std::vector<std::string> registered_type_names(const caf::actor_system& sys) {
  std::vector<std::string> result;
  for (auto& kvp : sys.config().value_factories_by_name)
    result.emplace_back(kvp.first);
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace troupe::bridges
