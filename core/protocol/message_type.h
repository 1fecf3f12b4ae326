#pragma once

#include <cstdint>
#include <string_view>

namespace sprawl::protocol {

// The message types of the client protocol (docs/protocol.md). The numbers
// are on the wire: never renumber or reuse one.
enum class MessageType : uint16_t {
  kPing = 1,
  kCreateTopic = 2,
  kDeleteTopic = 3,
  kDescribeTopic = 4,
  kListTopics = 5,
  kAlterTopic = 6,
  kMetadata = 7,        // partition -> leader and replicas; any node answers
  kTransferLeader = 8,  // hands a partition's leadership to a replica; its leader answers
  kInitProducer = 9,    // a new epoch for a named producer; any node answers
  kPublish = 10,
  kFetch = 11,
  kListOffsets = 12,
  kJoinGroup = 20,
  kHeartbeat = 21,
  kLeaveGroup = 22,
  kSettle = 23,
  kDeliver = 24,  // server push
  kDescribeGroup = 25,
  kListGroups = 26,
  kResetGroupOffsets = 27,
  // The peer port (node to node). One-way: sent with NO_REPLY, never answered.
  kGossip = 100,       // overlay membership: the body is the membership codec's bytes
  kRaft = 101,         // Raft groups: the body is one PeerBatch (replication/multi_raft.h)
  kMetaForward = 102,  // a metadata command for the metadata group's leader (meta_command.h)
  // A partition group's leader tells a node it removed from the group to
  // close its replica: the body is the group id (u64, little-endian).
  kReplicaRemoved = 103,
};

// The upper-case name of a type ("PUBLISH"), or "" for an unknown number.
std::string_view MessageTypeName(uint16_t type);

// Whether `type` belongs on the peer port rather than the client port.
bool IsPeerMessageType(uint16_t type);

}  // namespace sprawl::protocol
