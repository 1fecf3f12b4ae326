#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/storage/partition_log.h"
#include "core/util/result.h"

// Encodings of the per-partition records in the state column family
// (docs/storage.md). Each starts with a version byte.
namespace sprawl::storage::state_codec {

struct LogStart {
  uint64_t first_offset = 0;
  uint64_t prev_term = 0;  // term of first_offset - 1
};

std::string EncodeLogStart(const LogStart& start);
Result<LogStart> DecodeLogStart(std::string_view bytes);

std::string EncodeOffset(uint64_t offset);
Result<uint64_t> DecodeOffset(std::string_view bytes);

std::string EncodeSnapshot(const PartitionSnapshot& snapshot);
Result<PartitionSnapshot> DecodeSnapshot(std::string_view bytes);

std::string EncodePartitionId(uint32_t id);
Result<uint32_t> DecodePartitionId(std::string_view bytes);

}  // namespace sprawl::storage::state_codec
