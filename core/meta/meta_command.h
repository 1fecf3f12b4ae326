#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.h"

namespace sprawl::meta {

// One change of the cluster's topic metadata: the data of an entry of the
// metadata Raft group. Every node applies the same commands in the same
// order to its MetaState, so every node reaches the same topics.
struct MetaCommand {
  // kInitProducer: a new epoch for the named producer `topic` holds
  // (docs/replication.md, "Fencing"); the other fields are empty.
  // kMove: the partitions of topic `topic` (whose id is `topic_id`) take the
  // replica sets of `assignment`, each as large as before (replicas on
  // members gone for good replaced); `config` is empty.
  enum class Kind : uint8_t { kCreate = 1, kAlter = 2, kDelete = 3, kInitProducer = 4, kMove = 5 };
  Kind kind = Kind::kCreate;
  // "<node id>/<incarnation>/<n>": the node that asked, which answers its
  // client once it applied the command; unique per request, across restarts.
  std::string request_id;
  std::string topic;
  // kCreate: the new topic's id, drawn by the node that proposed it.
  std::string topic_id;
  // kCreate: the whole configuration (broker::EncodeTopicConfig);
  // kAlter: the protobuf TopicConfig holding the fields to change.
  std::string config;
  // kCreate, and kAlter when it adds partitions: the replica set of every
  // partition (member ids, placement order), chosen by the proposing node.
  // Empty: the topic is not placed (every node serves its own copy), as
  // topics created before assignments were recorded.
  std::vector<std::vector<std::string>> assignment;

  friend bool operator==(const MetaCommand&, const MetaCommand&) = default;
};

// Version 1 has no assignment; 2 adds it (written only when there is one).
inline constexpr uint8_t kMetaCommandVersion = 2;
inline constexpr size_t kMaxMetaFieldBytes = 64u << 10;
inline constexpr size_t kMaxAssignedPartitions = 1024;
inline constexpr size_t kMaxAssignedReplicas = 7;

std::string EncodeMetaCommand(const MetaCommand& command);
// INVALID_ARGUMENT for anything truncated, oversized, of an unknown kind or
// with trailing bytes; UNSUPPORTED_VERSION for a newer version. Never reads
// out of bounds (fuzzed by fuzz/meta_fuzz.cc).
Result<MetaCommand> DecodeMetaCommand(std::string_view bytes);

}  // namespace sprawl::meta
