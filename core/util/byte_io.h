#pragma once

#include <boost/endian/conversion.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sprawl {

// Appends fixed-width little-endian integers, big-endian keys and LEB128
// varints to a std::string. Varints are hand-written because none of the
// packaged serialization libraries exposes them on their own.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { Fixed(boost::endian::native_to_little(v)); }
  void U32(uint32_t v) { Fixed(boost::endian::native_to_little(v)); }
  void U64(uint64_t v) { Fixed(boost::endian::native_to_little(v)); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void BigU32(uint32_t v) { Fixed(boost::endian::native_to_big(v)); }
  void BigU64(uint64_t v) { Fixed(boost::endian::native_to_big(v)); }

  void VarU64(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }
  // Zig-zag so that small negative numbers stay short.
  void VarI64(int64_t v) {
    VarU64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Bytes(std::string_view b) { out_->append(b.data(), b.size()); }

 private:
  template <typename T>
  void Fixed(T v) {
    out_->append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  std::string* out_;
};

// Reads what ByteWriter wrote, never past the end of its input: every call
// returns false (and leaves the output alone) when the bytes run out or a
// varint is malformed.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }

  bool U8(uint8_t* v) { return Fixed(v, false); }
  bool U16(uint16_t* v) { return Fixed(v, false); }
  bool U32(uint32_t* v) { return Fixed(v, false); }
  bool U64(uint64_t* v) { return Fixed(v, false); }
  bool I64(int64_t* v) {
    uint64_t u;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool BigU32(uint32_t* v) { return Fixed(v, true); }
  bool BigU64(uint64_t* v) { return Fixed(v, true); }

  bool VarU64(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      const auto byte = static_cast<uint8_t>(in_[pos_++]);
      if (shift == 63 && byte > 1) return false;  // would overflow 64 bits
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool VarI64(int64_t* v) {
    uint64_t u;
    if (!VarU64(&u)) return false;
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  // A view of the next `n` bytes, valid as long as the input is.
  bool Bytes(size_t n, std::string_view* v) {
    if (remaining() < n) return false;
    *v = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  template <typename T>
  bool Fixed(T* v, bool big_endian) {
    if (remaining() < sizeof(T)) return false;
    T raw;
    std::memcpy(&raw, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    *v = big_endian ? boost::endian::big_to_native(raw) : boost::endian::little_to_native(raw);
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace sprawl
