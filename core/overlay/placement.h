#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sprawl::overlay {

// A node as placement sees it: its id and its rack ("" = none).
struct PlacementNode {
  std::string id;
  std::string rack;
};

// Where the replicas of (topic, partition) live: rendezvous (highest random
// weight) hashing over the live nodes, rack-aware. Every node computes the
// same ordered replica set from the same membership view: the first is the
// preferred leader. When nodes join or leave, only the partitions whose top
// `replication` scores change move, about replication/N of the slots.
class Placement {
 public:
  explicit Placement(std::vector<PlacementNode> nodes);

  // Up to `replication` node ids, best first; distinct racks first when
  // there are several (a second replica in a rack only once every rack has
  // one). Cached per (topic, partition, replication) for this view.
  const std::vector<std::string>& ReplicaSet(const std::string& topic, uint32_t partition,
                                             size_t replication);

  const std::vector<PlacementNode>& nodes() const { return nodes_; }

 private:
  std::vector<std::string> Compute(const std::string& topic, uint32_t partition,
                                   size_t replication) const;

  std::vector<PlacementNode> nodes_;  // sorted by id
  std::map<std::pair<std::string, uint64_t>, std::vector<std::string>> cache_;
};

// One partition whose replica set differs between two views.
struct Move {
  std::string topic;
  uint32_t partition = 0;
  std::vector<std::string> gained;  // nodes that must receive a replica
  std::vector<std::string> lost;    // nodes that drop theirs
};

// The movement plan from `before` to `after` for partitions 0..count-1 of
// each topic.
std::vector<Move> PlanMoves(Placement& before, Placement& after,
                            const std::vector<std::pair<std::string, uint32_t>>& topics,
                            size_t replication);

// Replicas per node and the imbalance: the most loaded node's count over the
// mean (1.0 = perfectly even).
struct Balance {
  std::map<std::string, size_t> replicas;
  double imbalance = 1.0;
};
Balance MeasureBalance(Placement& placement,
                       const std::vector<std::pair<std::string, uint32_t>>& topics,
                       size_t replication);

}  // namespace sprawl::overlay
