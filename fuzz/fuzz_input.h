#pragma once

// How the fuzz targets read their input. The first byte picks what the rest
// means; fuzz/make_seeds.cc writes seeds in the same layouts, so keep the two
// in step.

#include <cstdint>

namespace sprawl::fuzz {

// record_batch_fuzz: the first byte, modulo kBatchModeCount.
enum class BatchMode : uint8_t {
  // The rest is a batch exactly as it would arrive from a client or the disk.
  kRaw = 0,
  // The rest is a batch whose length field and checksum the target rewrites to
  // match, so that mutations reach the checks behind the checksum.
  kSealed = 1,
  // The rest is flags (u8), record count (u32), first and max timestamps
  // (i64 each, all little-endian) and an uncompressed record payload. The
  // target compresses the payload by the flags and builds a sealed batch
  // around it, so mutations of plain records reach every codec's path.
  kPayload = 2,
};
inline constexpr uint8_t kBatchModeCount = 3;

// storage_codec_fuzz: the first byte, modulo kCodecTargetCount, picks the
// decoder that gets the rest.
enum class CodecTarget : uint8_t {
  kSegmentInfo = 0,  // first offset (u64 LE), then SegmentInfo::Decode's bytes
  kLogStart = 1,     // state_codec::DecodeLogStart
  kOffset = 2,       // state_codec::DecodeOffset
  kSnapshot = 3,     // state_codec::DecodeSnapshot
  kPartitionId = 4,  // state_codec::DecodePartitionId
  kOffsetKey = 5,    // keys::ParseOffset
  kRegistryKey = 6,  // keys::ParseRegistry
  kByteReader = 7,   // a program for ByteReader: op byte, then what the op reads
  kFsyncPolicy = 8,  // FsyncPolicy::Parse
  kNames = 9,        // ParseCompression and ParseStorageMode
};
inline constexpr uint8_t kCodecTargetCount = 10;

// Operations of a kByteReader program: the low nibble of the op byte, modulo
// kByteReaderOpCount. For kBytes the high nibble is the length to read.
enum class ByteReaderOp : uint8_t {
  kU8 = 0,
  kU16 = 1,
  kU32 = 2,
  kU64 = 3,
  kI64 = 4,
  kBigU32 = 5,
  kBigU64 = 6,
  kVarU64 = 7,
  kVarI64 = 8,
  kBytes = 9,
};
inline constexpr uint8_t kByteReaderOpCount = 10;

}  // namespace sprawl::fuzz
