// libFuzzer target for the small decoders of the disk tier: segment index
// entries (core/storage/segment_index.h), the per-partition state records
// (core/storage/partition_state_codec.h), the RocksDB key parsers
// (core/storage/keys.h), the varint and fixed-width reader they are built on
// (core/util/byte_io.h) and the option parsers of core/storage. All of them
// read bytes that a damaged disk or an operator can get wrong, so on any
// input they must fail cleanly or return a value that encodes back to the
// same value. The first input byte picks the decoder (fuzz/fuzz_input.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/storage/compression.h"
#include "core/storage/keys.h"
#include "core/storage/partition_log.h"
#include "core/storage/partition_state_codec.h"
#include "core/storage/segment_index.h"
#include "core/storage/store_options.h"
#include "core/util/byte_io.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_support.h"

namespace sprawl::fuzz {
namespace {

namespace keys = storage::keys;
namespace state_codec = storage::state_codec;
using storage::PartitionKey;
using storage::PartitionSnapshot;
using storage::SegmentInfo;

bool IsDecodeError(const Status& s) {
  return s.code() == ErrorCode::kDataCorruption || s.code() == ErrorCode::kUnsupportedVersion;
}

// The encodings below are fixed-width after a version byte: a decoded value
// encodes back to the input, except that the version byte is rewritten to the
// current version.
void CheckSameAfterVersion(std::string_view encoded, std::string_view input) {
  FUZZ_CHECK(encoded.size() == input.size());
  FUZZ_CHECK(encoded.substr(1) == input.substr(1));
}

bool SameSegment(const SegmentInfo& a, const SegmentInfo& b) {
  return a.first_offset == b.first_offset && a.last_offset == b.last_offset && a.bytes == b.bytes &&
         a.batches == b.batches && a.max_timestamp_ms == b.max_timestamp_ms &&
         a.last_term == b.last_term;
}

void FuzzSegmentInfo(std::string_view input) {
  // The first offset comes from the RocksDB key, not the value.
  ByteReader r(input);
  uint64_t first_offset = 0;
  if (!r.U64(&first_offset)) return;
  const ExactBuffer value(input.substr(r.position()));
  auto decoded = SegmentInfo::Decode(first_offset, value.view());
  if (!decoded.ok()) {
    FUZZ_CHECK(IsDecodeError(decoded.status()));
    return;
  }
  FUZZ_CHECK(decoded->first_offset == first_offset);
  FUZZ_CHECK(decoded->last_offset >= first_offset);
  const std::string encoded = decoded->Encode();
  CheckSameAfterVersion(encoded, value.view());
  auto again = SegmentInfo::Decode(first_offset, encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(SameSegment(*again, *decoded));
}

void FuzzLogStart(std::string_view input) {
  auto decoded = state_codec::DecodeLogStart(input);
  if (!decoded.ok()) {
    FUZZ_CHECK(IsDecodeError(decoded.status()));
    return;
  }
  const std::string encoded = state_codec::EncodeLogStart(*decoded);
  CheckSameAfterVersion(encoded, input);
  auto again = state_codec::DecodeLogStart(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->first_offset == decoded->first_offset);
  FUZZ_CHECK(again->prev_term == decoded->prev_term);
}

void FuzzOffset(std::string_view input) {
  auto decoded = state_codec::DecodeOffset(input);
  if (!decoded.ok()) {
    FUZZ_CHECK(IsDecodeError(decoded.status()));
    return;
  }
  const std::string encoded = state_codec::EncodeOffset(*decoded);
  CheckSameAfterVersion(encoded, input);
  auto again = state_codec::DecodeOffset(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *decoded);
}

void FuzzSnapshot(std::string_view input) {
  auto decoded = state_codec::DecodeSnapshot(input);
  if (!decoded.ok()) {
    FUZZ_CHECK(IsDecodeError(decoded.status()));
    return;
  }
  // The data length is a varint, so the input may have used a longer form
  // than the encoder writes; the value must still survive a round trip.
  const std::string encoded = state_codec::EncodeSnapshot(*decoded);
  FUZZ_CHECK(encoded.size() <= input.size());
  auto again = state_codec::DecodeSnapshot(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->last_offset == decoded->last_offset);
  FUZZ_CHECK(again->last_term == decoded->last_term);
  FUZZ_CHECK(again->data == decoded->data);
}

void FuzzPartitionId(std::string_view input) {
  auto decoded = state_codec::DecodePartitionId(input);
  if (!decoded.ok()) {
    FUZZ_CHECK(IsDecodeError(decoded.status()));
    return;
  }
  const std::string encoded = state_codec::EncodePartitionId(*decoded);
  CheckSameAfterVersion(encoded, input);
  auto again = state_codec::DecodePartitionId(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *decoded);
}

void FuzzOffsetKey(std::string_view input) {
  uint32_t partition_id = 0;
  uint64_t offset = 0;
  if (!keys::ParseOffset(input, &partition_id, &offset)) return;
  // Offset keys are exactly 12 bytes, so parsing is a bijection.
  FUZZ_CHECK(keys::Offset(partition_id, offset) == input);
  FUZZ_CHECK(keys::Offset(partition_id, offset) < keys::PartitionEnd(partition_id));
}

void FuzzRegistryKey(std::string_view input) {
  PartitionKey key;
  if (!keys::ParseRegistry(input, &key)) return;
  FUZZ_CHECK(!key.topic.empty());
  PartitionKey again;
  FUZZ_CHECK(keys::ParseRegistry(keys::Registry(key), &again));
  FUZZ_CHECK(again == key);
}

template <typename T>
constexpr T Sentinel() {
  return static_cast<T>(0xa5a5a5a5a5a5a5a5ull);
}

// One fixed-width read: on success the bytes read are exactly what the writer
// emits for the value; on failure nothing moves and the output is untouched.
template <typename T>
void CheckFixed(ByteReader& r, std::string_view input, bool (ByteReader::*read)(T*),
                void (ByteWriter::*write)(T)) {
  const size_t before = r.position();
  T v = Sentinel<T>();
  if ((r.*read)(&v)) {
    FUZZ_CHECK(r.position() == before + sizeof(T));
    std::string out;
    ByteWriter w(&out);
    (w.*write)(v);
    FUZZ_CHECK(out == input.substr(before, sizeof(T)));
  } else {
    FUZZ_CHECK(input.size() - before < sizeof(T));
    FUZZ_CHECK(r.position() == before);
    FUZZ_CHECK(v == Sentinel<T>());
  }
}

// One varint read: the value re-encodes to at most as many bytes and decodes
// back to itself; a minimal encoding re-encodes to the same bytes. A failed
// read leaves the output untouched.
template <typename T>
void CheckVarint(ByteReader& r, std::string_view input, bool (ByteReader::*read)(T*),
                 void (ByteWriter::*write)(T)) {
  const size_t before = r.position();
  T v = Sentinel<T>();
  if (!(r.*read)(&v)) {
    FUZZ_CHECK(v == Sentinel<T>());
    FUZZ_CHECK(r.position() <= input.size());
    return;
  }
  const size_t used = r.position() - before;
  FUZZ_CHECK(used >= 1 && used <= 10);
  std::string out;
  ByteWriter w(&out);
  (w.*write)(v);
  FUZZ_CHECK(out.size() <= used);
  ByteReader back(out);
  T again = Sentinel<T>();
  FUZZ_CHECK((back.*read)(&again));
  FUZZ_CHECK(again == v);
  FUZZ_CHECK(back.remaining() == 0);
  const std::string_view read_bytes = input.substr(before, used);
  if (used == 1 || read_bytes.back() != 0) FUZZ_CHECK(out == read_bytes);
}

// Runs the input as a program of reads on one ByteReader over the input
// itself, so reads of every kind meet every position and every ending.
void FuzzByteReader(std::string_view input) {
  const ExactBuffer buffer(input);
  const std::string_view in = buffer.view();
  ByteReader r(in);
  uint8_t op = 0;
  while (r.U8(&op)) {
    FUZZ_CHECK(r.position() + r.remaining() == in.size());
    switch (static_cast<ByteReaderOp>((op & 0x0f) % kByteReaderOpCount)) {
      case ByteReaderOp::kU8:
        CheckFixed<uint8_t>(r, in, &ByteReader::U8, &ByteWriter::U8);
        break;
      case ByteReaderOp::kU16:
        CheckFixed<uint16_t>(r, in, &ByteReader::U16, &ByteWriter::U16);
        break;
      case ByteReaderOp::kU32:
        CheckFixed<uint32_t>(r, in, &ByteReader::U32, &ByteWriter::U32);
        break;
      case ByteReaderOp::kU64:
        CheckFixed<uint64_t>(r, in, &ByteReader::U64, &ByteWriter::U64);
        break;
      case ByteReaderOp::kI64:
        CheckFixed<int64_t>(r, in, &ByteReader::I64, &ByteWriter::I64);
        break;
      case ByteReaderOp::kBigU32:
        CheckFixed<uint32_t>(r, in, &ByteReader::BigU32, &ByteWriter::BigU32);
        break;
      case ByteReaderOp::kBigU64:
        CheckFixed<uint64_t>(r, in, &ByteReader::BigU64, &ByteWriter::BigU64);
        break;
      case ByteReaderOp::kVarU64:
        CheckVarint<uint64_t>(r, in, &ByteReader::VarU64, &ByteWriter::VarU64);
        break;
      case ByteReaderOp::kVarI64:
        CheckVarint<int64_t>(r, in, &ByteReader::VarI64, &ByteWriter::VarI64);
        break;
      case ByteReaderOp::kBytes: {
        const size_t n = op >> 4;
        const size_t before = r.position();
        std::string_view v = "unchanged";
        if (r.Bytes(n, &v)) {
          // A view into the input, not a copy.
          FUZZ_CHECK(v.data() == in.data() + before && v.size() == n);
          FUZZ_CHECK(r.position() == before + n);
        } else {
          FUZZ_CHECK(r.remaining() < n);
          FUZZ_CHECK(r.position() == before);
          FUZZ_CHECK(v == "unchanged");
        }
        break;
      }
    }
  }
  FUZZ_CHECK(r.position() <= in.size());
}

void FuzzFsyncPolicy(std::string_view input) {
  auto policy = storage::FsyncPolicy::Parse(input);
  if (!policy.ok()) {
    FUZZ_CHECK(policy.status().code() == ErrorCode::kInvalidArgument);
    return;
  }
  if (policy->kind == storage::FsyncPolicy::Kind::kInterval) {
    FUZZ_CHECK(policy->interval.count() >= 1 && policy->interval.count() <= 60000);
  }
  auto again = storage::FsyncPolicy::Parse(policy->ToString());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->kind == policy->kind);
  FUZZ_CHECK(again->kind != storage::FsyncPolicy::Kind::kInterval ||
             again->interval == policy->interval);
}

void FuzzNames(std::string_view input) {
  auto compression = storage::ParseCompression(input);
  if (compression.ok()) {
    FUZZ_CHECK(storage::CompressionName(*compression) == input);
  } else {
    FUZZ_CHECK(compression.status().code() == ErrorCode::kInvalidArgument);
  }
  auto mode = storage::ParseStorageMode(input);
  if (mode.ok()) {
    FUZZ_CHECK(input == (*mode == storage::StorageMode::kMemory ? "memory" : "disk"));
  } else {
    FUZZ_CHECK(mode.status().code() == ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace sprawl::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sprawl::fuzz::CodecTarget;
  if (size == 0) return 0;
  const auto target = static_cast<CodecTarget>(data[0] % sprawl::fuzz::kCodecTargetCount);
  // libFuzzer's own copy of the input is exactly `size` bytes long, so a
  // view of its tail ends where the allocation does.
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (target) {
    case CodecTarget::kSegmentInfo:
      sprawl::fuzz::FuzzSegmentInfo(rest);
      break;
    case CodecTarget::kLogStart:
      sprawl::fuzz::FuzzLogStart(rest);
      break;
    case CodecTarget::kOffset:
      sprawl::fuzz::FuzzOffset(rest);
      break;
    case CodecTarget::kSnapshot:
      sprawl::fuzz::FuzzSnapshot(rest);
      break;
    case CodecTarget::kPartitionId:
      sprawl::fuzz::FuzzPartitionId(rest);
      break;
    case CodecTarget::kOffsetKey:
      sprawl::fuzz::FuzzOffsetKey(rest);
      break;
    case CodecTarget::kRegistryKey:
      sprawl::fuzz::FuzzRegistryKey(rest);
      break;
    case CodecTarget::kByteReader:
      sprawl::fuzz::FuzzByteReader(rest);
      break;
    case CodecTarget::kFsyncPolicy:
      sprawl::fuzz::FuzzFsyncPolicy(rest);
      break;
    case CodecTarget::kNames:
      sprawl::fuzz::FuzzNames(rest);
      break;
  }
  return 0;
}
