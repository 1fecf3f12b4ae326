#pragma once

#include <cstddef>
#include <cstdint>

// The on-disk and on-wire layout of a record batch. docs/storage.md describes
// every field; change both together and bump kBatchFormatVersion for any
// incompatible change.
namespace sprawl::storage::batch_format {

// The newest version this build reads and writes. Version 2 added the
// producer epoch (offset 30, a reserved zero in version 1); a batch without
// an epoch is still written as version 1, byte for byte as before.
inline constexpr uint8_t kBatchFormatVersion = 2;
inline constexpr uint8_t kFirstVersionWithEpoch = 2;

// Field offsets in the fixed header (all integers little-endian).
inline constexpr size_t kBaseOffsetPos = 0;  // u64, assigned by the log
inline constexpr size_t kTermPos = 8;        // u64, assigned by the log
inline constexpr size_t kChecksumPos = 16;   // u64, XXH3-64 of bytes [kChecksummedFrom, end)
inline constexpr size_t kChecksummedFrom = 24;
inline constexpr size_t kBatchLengthPos = 24;     // u32, whole batch including this header
inline constexpr size_t kVersionPos = 28;         // u8
inline constexpr size_t kFlagsPos = 29;           // u8, bits 0-2: compression
inline constexpr size_t kProducerEpochPos = 30;   // u16, 0 without a producer identity
inline constexpr size_t kRecordCountPos = 32;     // u32, at least 1
inline constexpr size_t kFirstTimestampPos = 36;  // i64 ms
inline constexpr size_t kMaxTimestampPos = 44;    // i64 ms
inline constexpr size_t kProducerIdPos = 52;      // u64, 0 = no producer identity
inline constexpr size_t kBaseSequencePos = 60;    // u32
inline constexpr size_t kPayloadLengthPos = 64;   // u32, payload size once decompressed
inline constexpr size_t kHeaderSize = 68;

inline constexpr uint8_t kCompressionMask = 0x07;

// Hard upper bounds that every decoder enforces before allocating.
inline constexpr uint32_t kMaxBatchBytes = 64u << 20;
inline constexpr uint32_t kMaxRecordsPerBatch = 1u << 20;

}  // namespace sprawl::storage::batch_format
