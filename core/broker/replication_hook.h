#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/result.h"

namespace sprawl::broker {

// How this node serves one partition, as the cluster's placement and the
// partition's Raft group say now.
struct PartitionRoute {
  enum class Kind : uint8_t {
    kLocal,      // served from this node's own log, no Raft group (one node,
                 // a replication factor of 1, or a topic that is not placed)
    kLeader,     // this node leads the partition's Raft group
    kFollower,   // a replica that does not lead: reads yes, publishes no
    kElsewhere,  // this node holds no replica
  };
  Kind kind = Kind::kLocal;
  // kFollower and kElsewhere: the client address to send the client to
  // (the leader's, else a replica's); "" when none is known.
  std::string hint;
  // kLeader: its term, and whether it has applied an entry of that term (so
  // every entry committed before it is applied here too).
  uint64_t term = 0;
  bool settled = false;

  bool HoldsData() const { return kind != Kind::kElsewhere; }
  bool Replicated() const { return kind == Kind::kLeader || kind == Kind::kFollower; }
};

// A proposed entry: its Raft index and the term it was proposed in. The
// entry that commits at `index` is this one only if its term is `term`.
struct ProposalId {
  uint64_t index = 0;
  uint64_t term = 0;
};

// What the broker needs from replication (core/replica implements it):
// where each partition is served, and proposing a batch or a group
// checkpoint to a partition's Raft group. Committed entries come back through
// Broker::ApplyReplicated and Broker::ApplyGroupCheckpoint.
// Loop thread only.
class ReplicationHook {
 public:
  virtual ~ReplicationHook() = default;
  virtual PartitionRoute Route(std::string_view topic, uint32_t partition) const = 0;
  // Proposes `batch` (an encoded record batch) to the partition's group.
  // NOT_LEADER (with the leader's hint) when this node does not lead it.
  virtual Result<ProposalId> Propose(std::string_view topic, uint32_t partition,
                                     std::string batch) = 0;
  // Proposes a consumer group's checkpoint (EncodeGroupCheckpointEntry) to
  // the group of `partition`, the consumer group's home; once committed,
  // every replica hands it to Broker::ApplyGroupCheckpoint. NOT_LEADER when
  // this node does not lead that partition.
  virtual Status ProposeGroupCheckpoint(std::string_view topic, uint32_t partition,
                                        std::string entry) = 0;
};

}  // namespace sprawl::broker
