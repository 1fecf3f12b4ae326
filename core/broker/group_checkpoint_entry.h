#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/result.h"

namespace sprawl::broker {

// A consumer group's checkpoint as its coordinator proposes it to the Raft
// group of the topic's partition that is the group's home, so that every
// replica stores the same cursors and a new coordinator resumes from them
// (docs/replication.md, "Group cursors"). Layout, little-endian: version
// (u8, 1), group name (u16 length, bytes), where a new group starts (u8: 0
// earliest, 1 latest), count (u32), then per partition its number (u32) and
// its checkpoint (u32 length, EncodeCheckpoint bytes).
struct GroupCheckpointEntry {
  std::string group;
  bool latest = false;
  std::vector<std::pair<uint32_t, std::string>> cursors;  // partition, checkpoint

  friend bool operator==(const GroupCheckpointEntry&, const GroupCheckpointEntry&) = default;
};

std::string EncodeGroupCheckpointEntry(const GroupCheckpointEntry& entry);
// DATA_CORRUPTION for anything truncated, oversized or with trailing bytes;
// UNSUPPORTED_VERSION for a newer version. The checkpoints themselves are
// not decoded here (DecodeCheckpoint does, when they are loaded).
Result<GroupCheckpointEntry> DecodeGroupCheckpointEntry(std::string_view bytes);

// The partition whose Raft group coordinates every consumer group of a
// replicated topic (its leader) and carries their checkpoints. Partition 0,
// because it always exists and stays put: a hash over the partition count
// would move a group's home, and its records, when the topic grows.
inline constexpr uint32_t kGroupHomePartition = 0;

}  // namespace sprawl::broker
