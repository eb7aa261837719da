#include "troupe/bridges/msgpack_serializer.hpp"

#include <limits>

#include "caf/actor_system.hpp"
#include "caf/sec.hpp"

#include "troupe/bridges/detail/msgpack_io.hpp"

namespace troupe::bridges {

using detail::msgpack_reader;
using detail::msgpack_writer;

namespace {

// Upper bound for a single string or sequence inside a payload; frames are capped far below this
// anyway, the limit only keeps a hostile length field from reserving memory.
constexpr size_t max_string_size = size_t{64} << 20;

} // namespace

// -- msgpack_serializer ---------------------------------------------------------------------------

msgpack_serializer::msgpack_serializer(caf::execution_unit* ctx, std::vector<char>& buf)
  : caf::serializer(ctx), buf_(buf) {
  // nop
}

msgpack_serializer::msgpack_serializer(caf::actor_system& sys, std::vector<char>& buf)
  : caf::serializer(sys), buf_(buf) {
  // nop
}

caf::error msgpack_serializer::begin_object(uint16_t& typenr, std::string& name) {
  msgpack_writer w{buf_};
  if (typenr != 0)
    w.write_uint(typenr);
  else
    w.write_str(name);
  ++objects_;
  return caf::none;
}

caf::error msgpack_serializer::end_object() {
  return caf::none;
}

caf::error msgpack_serializer::begin_sequence(size_t& num) {
  msgpack_writer{buf_}.write_uint(num);
  ++objects_;
  return caf::none;
}

caf::error msgpack_serializer::end_sequence() {
  return caf::none;
}

caf::error msgpack_serializer::apply_raw(size_t num_bytes, void* data) {
  msgpack_writer{buf_}.write_bin(data, num_bytes);
  ++objects_;
  return caf::none;
}

#define TROUPE_SERIALIZE_INT(type, fn)                                                             \
  caf::error msgpack_serializer::apply_impl(type& x) {                                             \
    msgpack_writer{buf_}.fn(x);                                                                    \
    ++objects_;                                                                                    \
    return caf::none;                                                                              \
  }

TROUPE_SERIALIZE_INT(int8_t, write_int)
TROUPE_SERIALIZE_INT(uint8_t, write_uint)
TROUPE_SERIALIZE_INT(int16_t, write_int)
TROUPE_SERIALIZE_INT(uint16_t, write_uint)
TROUPE_SERIALIZE_INT(int32_t, write_int)
TROUPE_SERIALIZE_INT(uint32_t, write_uint)
TROUPE_SERIALIZE_INT(int64_t, write_int)
TROUPE_SERIALIZE_INT(uint64_t, write_uint)
TROUPE_SERIALIZE_INT(float, write_float)
TROUPE_SERIALIZE_INT(double, write_double)

#undef TROUPE_SERIALIZE_INT

caf::error msgpack_serializer::apply_impl(long double& x) {
  // msgpack has no extended float; long double travels as float64 (documented precision loss).
  msgpack_writer{buf_}.write_double(static_cast<double>(x));
  ++objects_;
  return caf::none;
}

caf::error msgpack_serializer::apply_impl(std::string& x) {
  msgpack_writer{buf_}.write_str(x);
  ++objects_;
  return caf::none;
}

caf::error msgpack_serializer::apply_impl(std::u16string& x) {
  msgpack_writer w{buf_};
  w.write_array_header(x.size());
  for (auto c : x)
    w.write_uint(c);
  ++objects_;
  return caf::none;
}

caf::error msgpack_serializer::apply_impl(std::u32string& x) {
  msgpack_writer w{buf_};
  w.write_array_header(x.size());
  for (auto c : x)
    w.write_uint(c);
  ++objects_;
  return caf::none;
}

// -- msgpack_deserializer -------------------------------------------------------------------------

msgpack_deserializer::msgpack_deserializer(caf::execution_unit* ctx, const char* data, size_t size)
  : caf::deserializer(ctx), pos_(data), end_(data + size) {
  // nop
}

msgpack_deserializer::msgpack_deserializer(caf::actor_system& sys, const char* data, size_t size)
  : caf::deserializer(sys), pos_(data), end_(data + size) {
  // nop
}

msgpack_deserializer::~msgpack_deserializer() {
  // nop
}

size_t msgpack_deserializer::remaining() const noexcept {
  return static_cast<size_t>(end_ - pos_);
}

namespace {

// Runs `f` on a reader positioned at `pos`; advances `pos` only on success.
template <class F>
caf::error with_reader(const char*& pos, const char* end, size_t& objects, F f) {
  msgpack_reader r{pos, static_cast<size_t>(end - pos)};
  if (r.at_end())
    return caf::sec::end_of_stream;
  if (!f(r))
    return caf::sec::invalid_argument;
  pos = r.pos();
  ++objects;
  return caf::none;
}

} // namespace

caf::error msgpack_deserializer::begin_object(uint16_t& typenr, std::string& name) {
  // Refuse before CAF recurses into the object: the bound is on depth, not on total count.
  if (depth_ >= max_depth)
    return caf::sec::invalid_argument;
  ++depth_;
  return with_reader(pos_, end_, objects_, [&](msgpack_reader& r) {
    if (r.peek() == detail::msgpack_type::str) {
      typenr = 0;
      return r.read_str(name, 4096);
    }
    uint64_t nr;
    if (!r.read_uint(nr) || nr == 0 || nr > std::numeric_limits<uint16_t>::max())
      return false;
    typenr = static_cast<uint16_t>(nr);
    name.clear();
    return true;
  });
}

caf::error msgpack_deserializer::end_object() {
  if (depth_ > 0)
    --depth_;
  return caf::none;
}

caf::error msgpack_deserializer::begin_sequence(size_t& num) {
  return with_reader(pos_, end_, objects_, [&](msgpack_reader& r) {
    uint64_t n;
    // Each element is at least one byte on the wire, so a count beyond the remaining input is
    // a lie; refusing it here keeps CAF from reserving memory for it.
    if (!r.read_uint(n) || n > r.remaining())
      return false;
    num = static_cast<size_t>(n);
    return true;
  });
}

caf::error msgpack_deserializer::end_sequence() {
  return caf::none;
}

caf::error msgpack_deserializer::apply_raw(size_t num_bytes, void* data) {
  return with_reader(pos_, end_, objects_, [&](msgpack_reader& r) {
    const char* bytes;
    size_t n;
    if (!r.read_bin(bytes, n) || n != num_bytes)
      return false;
    if (n > 0)
      std::memcpy(data, bytes, n);
    return true;
  });
}

template <class T>
caf::error msgpack_deserializer::read_signed(T& x) {
  return with_reader(pos_, end_, objects_, [&](msgpack_reader& r) {
    int64_t tmp;
    if (!r.read_int(tmp) || tmp < std::numeric_limits<T>::min()
        || tmp > std::numeric_limits<T>::max())
      return false;
    x = static_cast<T>(tmp);
    return true;
  });
}

template <class T>
caf::error msgpack_deserializer::read_unsigned(T& x) {
  return with_reader(pos_, end_, objects_, [&](msgpack_reader& r) {
    uint64_t tmp;
    if (!r.read_uint(tmp) || tmp > std::numeric_limits<T>::max())
      return false;
    x = static_cast<T>(tmp);
    return true;
  });
}

caf::error msgpack_deserializer::apply_impl(int8_t& x) {
  return read_signed(x);
}

caf::error msgpack_deserializer::apply_impl(uint8_t& x) {
  return read_unsigned(x);
}

caf::error msgpack_deserializer::apply_impl(int16_t& x) {
  return read_signed(x);
}

caf::error msgpack_deserializer::apply_impl(uint16_t& x) {
  return read_unsigned(x);
}

caf::error msgpack_deserializer::apply_impl(int32_t& x) {
  return read_signed(x);
}

caf::error msgpack_deserializer::apply_impl(uint32_t& x) {
  return read_unsigned(x);
}

caf::error msgpack_deserializer::apply_impl(int64_t& x) {
  return read_signed(x);
}

caf::error msgpack_deserializer::apply_impl(uint64_t& x) {
  return read_unsigned(x);
}

caf::error msgpack_deserializer::apply_impl(float& x) {
  // Accepts float64 too: many msgpack libraries (Python's among them) always write float64.
  return with_reader(pos_, end_, objects_, [&](msgpack_reader& r) {
    double tmp;
    if (!r.read_double(tmp))
      return false;
    x = static_cast<float>(tmp);
    return true;
  });
}

caf::error msgpack_deserializer::apply_impl(double& x) {
  return with_reader(pos_, end_, objects_, [&](msgpack_reader& r) { return r.read_double(x); });
}

caf::error msgpack_deserializer::apply_impl(long double& x) {
  return with_reader(pos_, end_, objects_, [&](msgpack_reader& r) {
    double tmp;
    if (!r.read_double(tmp))
      return false;
    x = tmp;
    return true;
  });
}

caf::error msgpack_deserializer::apply_impl(std::string& x) {
  return with_reader(pos_, end_, objects_,
                     [&](msgpack_reader& r) { return r.read_str(x, max_string_size); });
}

template <class String>
caf::error msgpack_deserializer::read_code_units(String& x) {
  using unit = typename String::value_type;
  return with_reader(pos_, end_, objects_, [&](msgpack_reader& r) {
    size_t n;
    if (!r.read_array_header(n) || n > max_string_size)
      return false;
    x.clear();
    x.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      uint64_t c;
      if (!r.read_uint(c) || c > std::numeric_limits<unit>::max())
        return false;
      x.push_back(static_cast<unit>(c));
    }
    return true;
  });
}

caf::error msgpack_deserializer::apply_impl(std::u16string& x) {
  return read_code_units(x);
}

caf::error msgpack_deserializer::apply_impl(std::u32string& x) {
  return read_code_units(x);
}

} // namespace troupe::bridges
