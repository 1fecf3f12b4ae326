#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/storage/partition_log.h"

// Key layout of the disk tier (docs/storage.md). Log and index keys are
// big-endian so that RocksDB's bytewise order is (partition, offset) order.
namespace sprawl::storage::keys {

// Log and segment-index column families: partition id (u32 BE) | offset (u64 BE).
std::string Offset(uint32_t partition_id, uint64_t offset);
// The first key past every offset of the partition.
std::string PartitionEnd(uint32_t partition_id);
// Splits an Offset() key; false if `key` has another shape.
bool ParseOffset(std::string_view key, uint32_t* partition_id, uint64_t* offset);

// State column family.
inline constexpr std::string_view kFormat = "meta/format";
inline constexpr std::string_view kNextPartitionId = "meta/next_partition_id";
inline constexpr std::string_view kRegistryPrefix = "reg/";
// "reg/<topic>/<partition>" -> partition id (u32 LE).
std::string Registry(const PartitionKey& key);
// Parses a registry key back into a partition key; false if malformed.
bool ParseRegistry(std::string_view key, PartitionKey* out);
// "x/<key>": records of the layers above the storage (Store::PutRecord).
inline constexpr std::string_view kRecordPrefix = "x/";
// "p/<id BE>/<field>": start (first offset, previous term), commit, snapshot.
std::string PartitionState(uint32_t partition_id, std::string_view field);
// The first key past every state key of the partition.
std::string PartitionStateEnd(uint32_t partition_id);

}  // namespace sprawl::storage::keys
