#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace troupe::detail {

/// Appends msgpack objects to a byte buffer; always picks the smallest encoding.
/// Hand-written (instead of msgpack-cxx's packer) so that the writer and the bounds-checked reader
/// below are visibly symmetric and neither can throw.
class msgpack_writer {
public:
  explicit msgpack_writer(std::vector<char>& buf) : buf_(buf) {
    // nop
  }

  void write_nil() {
    put(0xc0);
  }

  void write_bool(bool x) {
    put(x ? 0xc3 : 0xc2);
  }

  void write_uint(uint64_t x) {
    if (x < 0x80) {
      put(static_cast<uint8_t>(x));
    } else if (x <= 0xff) {
      put(0xcc);
      put(static_cast<uint8_t>(x));
    } else if (x <= 0xffff) {
      put(0xcd);
      put_be(x, 2);
    } else if (x <= 0xffffffffu) {
      put(0xce);
      put_be(x, 4);
    } else {
      put(0xcf);
      put_be(x, 8);
    }
  }

  void write_int(int64_t x) {
    if (x >= 0) {
      write_uint(static_cast<uint64_t>(x));
    } else if (x >= -32) {
      put(static_cast<uint8_t>(static_cast<int8_t>(x)));
    } else if (x >= INT8_MIN) {
      put(0xd0);
      put_be(static_cast<uint64_t>(x), 1);
    } else if (x >= INT16_MIN) {
      put(0xd1);
      put_be(static_cast<uint64_t>(x), 2);
    } else if (x >= INT32_MIN) {
      put(0xd2);
      put_be(static_cast<uint64_t>(x), 4);
    } else {
      put(0xd3);
      put_be(static_cast<uint64_t>(x), 8);
    }
  }

  void write_float(float x) {
    uint32_t bits;
    std::memcpy(&bits, &x, 4);
    put(0xca);
    put_be(bits, 4);
  }

  void write_double(double x) {
    uint64_t bits;
    std::memcpy(&bits, &x, 8);
    put(0xcb);
    put_be(bits, 8);
  }

  void write_str(const char* data, size_t n) {
    if (n < 32) {
      put(static_cast<uint8_t>(0xa0 | n));
    } else if (n <= 0xff) {
      put(0xd9);
      put_be(n, 1);
    } else if (n <= 0xffff) {
      put(0xda);
      put_be(n, 2);
    } else {
      put(0xdb);
      put_be(n, 4);
    }
    buf_.insert(buf_.end(), data, data + n);
  }

  void write_str(const std::string& x) {
    write_str(x.data(), x.size());
  }

  void write_bin(const void* data, size_t n) {
    if (n <= 0xff) {
      put(0xc4);
      put_be(n, 1);
    } else if (n <= 0xffff) {
      put(0xc5);
      put_be(n, 2);
    } else {
      put(0xc6);
      put_be(n, 4);
    }
    auto first = static_cast<const char*>(data);
    buf_.insert(buf_.end(), first, first + n);
  }

  void write_array_header(size_t n) {
    if (n < 16) {
      put(static_cast<uint8_t>(0x90 | n));
    } else if (n <= 0xffff) {
      put(0xdc);
      put_be(n, 2);
    } else {
      put(0xdd);
      put_be(n, 4);
    }
  }

  /// Appends an array32 header with a zero count, to be fixed by `patch_array32`.
  void write_array32_placeholder() {
    put(0xdd);
    put_be(0, 4);
  }

  /// Sets the count of the array32 header written at `pos` by `write_array32_placeholder`.
  void patch_array32(size_t pos, size_t n) {
    for (int i = 0; i < 4; ++i)
      buf_[pos + 1 + static_cast<size_t>(i)] = static_cast<char>(n >> (8 * (3 - i)));
  }

  /// Appends already encoded msgpack bytes.
  void write_raw(const char* data, size_t n) {
    buf_.insert(buf_.end(), data, data + n);
  }

  std::vector<char>& buf() {
    return buf_;
  }

private:
  void put(uint8_t x) {
    buf_.push_back(static_cast<char>(x));
  }

  void put_be(uint64_t x, int n) {
    for (int i = n - 1; i >= 0; --i)
      put(static_cast<uint8_t>(x >> (8 * i)));
  }

  std::vector<char>& buf_;
};

/// The kind of the next object in a msgpack stream, as far as Troupe uses it.
enum class msgpack_type {
  nil,
  boolean,
  uint,
  sint,
  float32,
  float64,
  str,
  bin,
  array,
  map,
  ext,
  invalid
};

/// Reads msgpack objects from a byte range; every read is bounds-checked and returns false on
/// malformed or truncated input (the position is then unspecified). Never throws, never allocates
/// more than the input can justify.
class msgpack_reader {
public:
  msgpack_reader(const char* first, size_t size) : pos_(first), end_(first + size) {
    // nop
  }

  size_t remaining() const {
    return static_cast<size_t>(end_ - pos_);
  }

  bool at_end() const {
    return pos_ == end_;
  }

  const char* pos() const {
    return pos_;
  }

  /// Returns the type of the next object without consuming it.
  msgpack_type peek() const {
    if (pos_ == end_)
      return msgpack_type::invalid;
    auto b = static_cast<uint8_t>(*pos_);
    if (b <= 0x7f || b == 0xcc || b == 0xcd || b == 0xce || b == 0xcf)
      return msgpack_type::uint;
    if (b >= 0xe0 || (b >= 0xd0 && b <= 0xd3))
      return msgpack_type::sint;
    if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb))
      return msgpack_type::str;
    if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd)
      return msgpack_type::array;
    if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf)
      return msgpack_type::map;
    switch (b) {
      case 0xc0: return msgpack_type::nil;
      case 0xc2:
      case 0xc3: return msgpack_type::boolean;
      case 0xc4:
      case 0xc5:
      case 0xc6: return msgpack_type::bin;
      case 0xca: return msgpack_type::float32;
      case 0xcb: return msgpack_type::float64;
      case 0xc7:
      case 0xc8:
      case 0xc9:
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8: return msgpack_type::ext;
      default: return msgpack_type::invalid;
    }
  }

  bool read_nil() {
    if (peek() != msgpack_type::nil)
      return false;
    ++pos_;
    return true;
  }

  bool read_bool(bool& x) {
    if (peek() != msgpack_type::boolean)
      return false;
    x = static_cast<uint8_t>(*pos_++) == 0xc3;
    return true;
  }

  /// Reads any integer encoding that holds a value in [0, 2^64).
  bool read_uint(uint64_t& x) {
    auto t = peek();
    if (t == msgpack_type::sint) {
      int64_t tmp;
      if (!read_int(tmp) || tmp < 0)
        return false;
      x = static_cast<uint64_t>(tmp);
      return true;
    }
    if (t != msgpack_type::uint)
      return false;
    auto b = static_cast<uint8_t>(*pos_++);
    if (b <= 0x7f) {
      x = b;
      return true;
    }
    return get_be(x, 1 << (b - 0xcc));
  }

  /// Reads any integer encoding that holds a value in [-2^63, 2^63).
  bool read_int(int64_t& x) {
    auto t = peek();
    if (t == msgpack_type::uint) {
      uint64_t tmp;
      if (!read_uint(tmp) || tmp > static_cast<uint64_t>(INT64_MAX))
        return false;
      x = static_cast<int64_t>(tmp);
      return true;
    }
    if (t != msgpack_type::sint)
      return false;
    auto b = static_cast<uint8_t>(*pos_++);
    if (b >= 0xe0) {
      x = static_cast<int8_t>(b);
      return true;
    }
    int n = 1 << (b - 0xd0);
    uint64_t tmp;
    if (!get_be(tmp, n))
      return false;
    // Sign-extend from n bytes.
    if (n < 8) {
      auto sign_bit = uint64_t{1} << (8 * n - 1);
      if (tmp & sign_bit)
        tmp |= ~((sign_bit << 1) - 1);
    }
    x = static_cast<int64_t>(tmp);
    return true;
  }

  bool read_float(float& x) {
    uint64_t bits;
    if (peek() != msgpack_type::float32)
      return false;
    ++pos_;
    if (!get_be(bits, 4))
      return false;
    auto b32 = static_cast<uint32_t>(bits);
    std::memcpy(&x, &b32, 4);
    return true;
  }

  /// Reads a float64 (or a float32, widened).
  bool read_double(double& x) {
    if (peek() == msgpack_type::float32) {
      float f;
      if (!read_float(f))
        return false;
      x = f;
      return true;
    }
    if (peek() != msgpack_type::float64)
      return false;
    ++pos_;
    uint64_t bits;
    if (!get_be(bits, 8))
      return false;
    std::memcpy(&x, &bits, 8);
    return true;
  }

  /// Reads a str header and returns a view on its bytes (valid while the input lives).
  bool read_str(const char*& data, size_t& n) {
    if (peek() != msgpack_type::str)
      return false;
    auto b = static_cast<uint8_t>(*pos_++);
    uint64_t len;
    if ((b & 0xe0) == 0xa0)
      len = b & 0x1f;
    else if (!get_be(len, 1 << (b - 0xd9)))
      return false;
    return take(len, data, n);
  }

  bool read_str(std::string& x, size_t max_size = SIZE_MAX) {
    const char* data;
    size_t n;
    if (!read_str(data, n) || n > max_size)
      return false;
    x.assign(data, n);
    return true;
  }

  bool read_bin(const char*& data, size_t& n) {
    if (peek() != msgpack_type::bin)
      return false;
    auto b = static_cast<uint8_t>(*pos_++);
    uint64_t len;
    if (!get_be(len, 1 << (b - 0xc4)))
      return false;
    return take(len, data, n);
  }

  /// Reads an array header; rejects counts that the remaining input cannot possibly hold
  /// (every element takes at least one byte), so callers may reserve `n` safely.
  bool read_array_header(size_t& n) {
    if (peek() != msgpack_type::array)
      return false;
    auto b = static_cast<uint8_t>(*pos_++);
    uint64_t len;
    if ((b & 0xf0) == 0x90)
      len = b & 0x0f;
    else if (!get_be(len, b == 0xdc ? 2 : 4))
      return false;
    if (len > remaining())
      return false;
    n = static_cast<size_t>(len);
    return true;
  }

  /// Skips one complete object (recursing into arrays and maps up to `max_depth` levels).
  bool skip(int max_depth = 32) {
    if (max_depth <= 0)
      return false;
    const char* data;
    size_t n;
    switch (peek()) {
      case msgpack_type::nil: return read_nil();
      case msgpack_type::boolean: {
        bool tmp;
        return read_bool(tmp);
      }
      case msgpack_type::uint: {
        uint64_t tmp;
        return read_uint(tmp);
      }
      case msgpack_type::sint: {
        int64_t tmp;
        return read_int(tmp);
      }
      case msgpack_type::float32:
      case msgpack_type::float64: {
        double tmp;
        return read_double(tmp);
      }
      case msgpack_type::str: return read_str(data, n);
      case msgpack_type::bin: return read_bin(data, n);
      case msgpack_type::array: {
        if (!read_array_header(n))
          return false;
        for (size_t i = 0; i < n; ++i)
          if (!skip(max_depth - 1))
            return false;
        return true;
      }
      case msgpack_type::map: {
        auto b = static_cast<uint8_t>(*pos_++);
        uint64_t len;
        if ((b & 0xf0) == 0x80)
          len = b & 0x0f;
        else if (!get_be(len, b == 0xde ? 2 : 4))
          return false;
        if (len > remaining())
          return false;
        for (uint64_t i = 0; i < 2 * len; ++i)
          if (!skip(max_depth - 1))
            return false;
        return true;
      }
      case msgpack_type::ext: {
        auto b = static_cast<uint8_t>(*pos_++);
        uint64_t len;
        if (b >= 0xd4 && b <= 0xd8) {
          len = uint64_t{1} << (b - 0xd4);
        } else if (!get_be(len, 1 << (b - 0xc7))) {
          return false;
        }
        return take(len + 1, data, n); // type byte + data
      }
      default: return false;
    }
  }

private:
  bool get_be(uint64_t& x, int n) {
    if (remaining() < static_cast<size_t>(n))
      return false;
    x = 0;
    for (int i = 0; i < n; ++i)
      x = (x << 8) | static_cast<uint8_t>(*pos_++);
    return true;
  }

  bool take(uint64_t len, const char*& data, size_t& n) {
    if (len > remaining())
      return false;
    data = pos_;
    n = static_cast<size_t>(len);
    pos_ += len;
    return true;
  }

  const char* pos_;
  const char* end_;
};

} // namespace troupe::detail
