#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/util/result.h"

namespace sprawl::replica {

// A partition group's entries are record batches, except control entries
// that the replicas themselves propose. A control entry starts with eight
// 0xff bytes where a batch has its base offset: the leader stamps every
// proposed batch's base offset to 0 (the log assigns it at apply), so no
// batch starts that way. Layout: the marker, a version byte, a kind byte,
// then the kind's fields (little-endian).
enum class ControlKind : uint8_t {
  // Every replica may drop the Raft log through `index`: every voter had
  // stored it when the leader proposed this (docs/replication.md,
  // "Compacting a partition's Raft log").
  kCompact = 1,
  // A consumer group's checkpoint (broker::GroupCheckpointEntry, opaque
  // here), proposed by the group's coordinator to its home partition and
  // stored by every replica.
  kGroupCheckpoint = 2,
};

struct ControlEntry {
  ControlKind kind = ControlKind::kCompact;
  uint64_t index = 0;   // kCompact
  std::string payload;  // kGroupCheckpoint: the rest of the entry

  friend bool operator==(const ControlEntry&, const ControlEntry&) = default;
};

// Whether `data` carries the control marker (it may still be malformed).
bool IsControlEntry(std::string_view data);
std::string EncodeControlEntry(const ControlEntry& entry);
// DATA_CORRUPTION for a missing marker, a truncated or oversized entry, an
// unknown kind; UNSUPPORTED_VERSION for a newer version.
Result<ControlEntry> DecodeControlEntry(std::string_view data);

// What a partition group's snapshot holds: the Raft index it covers and the
// offset after the last batch applied through it. The records themselves
// are the partition log's; a replica that lacks some of them cannot install
// the image (see PartitionReplicas).
struct PartitionImage {
  uint64_t index = 0;
  uint64_t end_offset = 0;

  friend bool operator==(const PartitionImage&, const PartitionImage&) = default;
};

// The body of REPLICA_REMOVED (peer port): the group id, u64 little-endian.
std::string EncodeReplicaRemoved(uint64_t group);
// DATA_CORRUPTION for anything but 8 bytes.
Result<uint64_t> DecodeReplicaRemoved(std::string_view body);

std::string EncodePartitionImage(const PartitionImage& image);
// DATA_CORRUPTION for anything but a version-1 image of 17 bytes.
Result<PartitionImage> DecodePartitionImage(std::string_view bytes);

}  // namespace sprawl::replica
