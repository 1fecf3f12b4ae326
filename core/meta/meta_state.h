#pragma once

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/broker/topic_config.h"
#include "core/meta/meta_command.h"
#include "core/util/result.h"

namespace sprawl::meta {

// A topic as the cluster's metadata records it.
struct MetaTopic {
  std::string topic_id;
  broker::TopicConfig config;
  // Per partition, its replica set (member ids, placement order: the first
  // is the preferred leader). Empty for a topic that is not placed.
  std::vector<std::vector<std::string>> assignment;
  // Per partition, how many times its replica set changed since it was
  // placed. A node that first opens a partition's group at 0 forms it with
  // the replica set as voters; later, it waits to be added by the group's
  // leader (docs/replication.md, "Changing a partition's replicas").
  std::vector<uint32_t> moves;
};

// The cluster's topics: the state machine of the metadata Raft group. Pure
// and deterministic: every node that applies the same committed commands in
// the same order holds the same topics and computes the same outcomes.
class MetaState {
 public:
  // Applies one committed command. OK when it changed the topics; otherwise
  // why it changed nothing, which is what the asking node answers its
  // client: ALREADY_EXISTS, NOT_FOUND, INVALID_ARGUMENT (a dead letter topic
  // that does not exist or is still named by another topic, a config that
  // does not decode). A command whose request id was applied already (a
  // retry forwarded again after a leader change) changes nothing and is OK.
  Status Apply(const MetaCommand& command);

  // Null when absent.
  const MetaTopic* Find(std::string_view topic) const;
  // The latest epoch given to the producers named `name` (0: none yet).
  uint16_t ProducerEpoch(std::string_view name) const;
  // The latest epoch of a named producer family (storage/producer_identity.h;
  // 0: none yet).
  uint16_t FamilyEpoch(uint64_t family) const;
  const std::map<std::string, MetaTopic, std::less<>>& topics() const { return topics_; }

 private:
  Status CheckDeadLetter(std::string_view topic, const broker::TopicConfig& config) const;
  // INVALID_ARGUMENT for a change of the replication factor (`from` to the
  // altered config's) that the replicas cannot carry out.
  static Status CheckReplicationChange(std::string_view topic, uint32_t from,
                                       const broker::TopicConfig& altered);
  // INVALID_ARGUMENT unless `assignment` (when not empty) places partitions
  // [0, partitions) on distinct members.
  static Status CheckAssignment(std::string_view topic,
                                const std::vector<std::vector<std::string>>& assignment,
                                uint32_t partitions);

  std::map<std::string, MetaTopic, std::less<>> topics_;
  // Named producers: family (a hash of the name) -> its latest epoch.
  std::map<uint64_t, uint16_t> family_epochs_;
  // The request ids of the last kRememberedRequests commands, oldest first.
  static constexpr size_t kRememberedRequests = 10'000;
  std::set<std::string, std::less<>> applied_;
  std::deque<std::string> applied_order_;
};

}  // namespace sprawl::meta
