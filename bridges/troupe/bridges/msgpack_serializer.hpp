#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/deserializer.hpp"
#include "caf/serializer.hpp"

namespace troupe::bridges {

/// A CAF serializer that writes every primitive as exactly one msgpack object, so that any type
/// with an `inspect` overload can go on the wire without a second field list.
///
/// Mapping: integers (and `bool`, which CAF passes as `uint8_t`) → msgpack int; `float` → float32;
/// `double` and `long double` → float64; `std::string` → str; `u16string`/`u32string` → array of
/// code units; raw blocks → bin; a sequence header → uint element count (the elements follow
/// flat); an object header → uint type number when non-zero, else str type name. CAF 0.17's
/// inspector gives no field counts, so structs are flat runs of their fields (see PROTOCOL.md).
class msgpack_serializer final : public caf::serializer {
public:
  /// Writes into `buf` (appending); `ctx` decides how actor handles are registered.
  msgpack_serializer(caf::execution_unit* ctx, std::vector<char>& buf);

  /// Writes into `buf` (appending) using the dummy execution unit of `sys`.
  msgpack_serializer(caf::actor_system& sys, std::vector<char>& buf);

  /// Returns the number of top-level msgpack objects written so far.
  size_t objects_written() const noexcept {
    return objects_;
  }

  caf::error begin_object(uint16_t& typenr, std::string& name) override;
  caf::error end_object() override;
  caf::error begin_sequence(size_t& num) override;
  caf::error end_sequence() override;
  caf::error apply_raw(size_t num_bytes, void* data) override;

protected:
  caf::error apply_impl(int8_t&) override;
  caf::error apply_impl(uint8_t&) override;
  caf::error apply_impl(int16_t&) override;
  caf::error apply_impl(uint16_t&) override;
  caf::error apply_impl(int32_t&) override;
  caf::error apply_impl(uint32_t&) override;
  caf::error apply_impl(int64_t&) override;
  caf::error apply_impl(uint64_t&) override;
  caf::error apply_impl(float&) override;
  caf::error apply_impl(double&) override;
  caf::error apply_impl(long double&) override;
  caf::error apply_impl(std::string&) override;
  caf::error apply_impl(std::u16string&) override;
  caf::error apply_impl(std::u32string&) override;

private:
  std::vector<char>& buf_;
  size_t objects_ = 0;
};

/// The reading counterpart of `msgpack_serializer`. Every read is bounds-checked; malformed,
/// truncated or out-of-range input yields an error (`sec::end_of_stream` or
/// `sec::invalid_argument`), never a crash or an exception.
class msgpack_deserializer final : public caf::deserializer {
public:
  /// Deepest nesting of objects (messages inside messages or error contexts) accepted. CAF
  /// loads nested messages recursively; without a bound a 30,000-deep payload overflows the
  /// stack of the thread that decodes it.
  static constexpr size_t max_depth = 32;

  /// Reads from `[data, data + size)`; the range must outlive the deserializer. With a `ctx`
  /// whose `proxy_registry_ptr()` is set, actor handles of other nodes become proxies.
  msgpack_deserializer(caf::execution_unit* ctx, const char* data, size_t size);

  /// Reads using the dummy execution unit of `sys` (remote handles then fail to load).
  msgpack_deserializer(caf::actor_system& sys, const char* data, size_t size);

  ~msgpack_deserializer() override;

  /// Returns the number of unread bytes.
  size_t remaining() const noexcept;

  /// Returns the number of top-level msgpack objects read so far.
  size_t objects_read() const noexcept {
    return objects_;
  }

  caf::error begin_object(uint16_t& typenr, std::string& name) override;
  caf::error end_object() override;
  caf::error begin_sequence(size_t& num) override;
  caf::error end_sequence() override;
  caf::error apply_raw(size_t num_bytes, void* data) override;

protected:
  caf::error apply_impl(int8_t&) override;
  caf::error apply_impl(uint8_t&) override;
  caf::error apply_impl(int16_t&) override;
  caf::error apply_impl(uint16_t&) override;
  caf::error apply_impl(int32_t&) override;
  caf::error apply_impl(uint32_t&) override;
  caf::error apply_impl(int64_t&) override;
  caf::error apply_impl(uint64_t&) override;
  caf::error apply_impl(float&) override;
  caf::error apply_impl(double&) override;
  caf::error apply_impl(long double&) override;
  caf::error apply_impl(std::string&) override;
  caf::error apply_impl(std::u16string&) override;
  caf::error apply_impl(std::u32string&) override;

private:
  template <class T>
  caf::error read_signed(T& x);

  template <class T>
  caf::error read_unsigned(T& x);

  template <class String>
  caf::error read_code_units(String& x);

  const char* pos_;
  const char* end_;
  size_t objects_ = 0;
  size_t depth_ = 0;
};

} // namespace troupe::bridges
