#include "core/overlay/placement.h"

#include <xxhash.h>

#include <algorithm>
#include <set>

namespace sprawl::overlay {
namespace {

uint64_t Score(const std::string& node, const std::string& topic, uint32_t partition) {
  // Seeded by the partition's identity, keyed by the node: the same on every
  // node and every run.
  std::string key = topic;
  key.push_back('\0');
  key.append(std::to_string(partition));
  const uint64_t seed = XXH3_64bits(key.data(), key.size());
  return XXH3_64bits_withSeed(node.data(), node.size(), seed);
}

}  // namespace

Placement::Placement(std::vector<PlacementNode> nodes) : nodes_(std::move(nodes)) {
  std::sort(nodes_.begin(), nodes_.end(),
            [](const PlacementNode& a, const PlacementNode& b) { return a.id < b.id; });
}

const std::vector<std::string>& Placement::ReplicaSet(const std::string& topic, uint32_t partition,
                                                      size_t replication) {
  auto key = std::make_pair(topic, (static_cast<uint64_t>(partition) << 16) | replication);
  auto it = cache_.find(key);
  if (it == cache_.end()) it = cache_.emplace(key, Compute(topic, partition, replication)).first;
  return it->second;
}

std::vector<std::string> Placement::Compute(const std::string& topic, uint32_t partition,
                                            size_t replication) const {
  std::vector<std::pair<uint64_t, const PlacementNode*>> ranked;
  ranked.reserve(nodes_.size());
  for (const PlacementNode& n : nodes_) ranked.emplace_back(Score(n.id, topic, partition), &n);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second->id < b.second->id;
  });
  std::vector<std::string> out;
  std::set<std::string> racks_used;
  std::set<std::string> all_racks;
  for (const PlacementNode& n : nodes_) all_racks.insert(n.rack);
  std::vector<bool> taken(ranked.size(), false);
  // First pass: the best node of each rack not yet used, in score order.
  for (size_t i = 0; i < ranked.size() && out.size() < replication; ++i) {
    if (racks_used.insert(ranked[i].second->rack).second) {
      out.push_back(ranked[i].second->id);
      taken[i] = true;
    }
  }
  // Then the rest by score (when there are fewer racks than replicas).
  for (size_t i = 0; i < ranked.size() && out.size() < replication; ++i) {
    if (!taken[i]) out.push_back(ranked[i].second->id);
  }
  // The replica order is the score order among the chosen, so the preferred
  // leader is the best-scoring chosen node.
  std::vector<std::string> ordered;
  for (const auto& [score, node] : ranked) {
    if (std::find(out.begin(), out.end(), node->id) != out.end()) ordered.push_back(node->id);
  }
  return ordered;
}

std::vector<Move> PlanMoves(Placement& before, Placement& after,
                            const std::vector<std::pair<std::string, uint32_t>>& topics,
                            size_t replication) {
  std::vector<Move> moves;
  for (const auto& [topic, count] : topics) {
    for (uint32_t p = 0; p < count; ++p) {
      const auto& a = before.ReplicaSet(topic, p, replication);
      const auto& b = after.ReplicaSet(topic, p, replication);
      Move m{topic, p, {}, {}};
      for (const std::string& id : b) {
        if (std::find(a.begin(), a.end(), id) == a.end()) m.gained.push_back(id);
      }
      for (const std::string& id : a) {
        if (std::find(b.begin(), b.end(), id) == b.end()) m.lost.push_back(id);
      }
      if (!m.gained.empty() || !m.lost.empty()) moves.push_back(std::move(m));
    }
  }
  return moves;
}

Balance MeasureBalance(Placement& placement,
                       const std::vector<std::pair<std::string, uint32_t>>& topics,
                       size_t replication) {
  Balance b;
  for (const PlacementNode& n : placement.nodes()) b.replicas[n.id] = 0;
  size_t total = 0;
  for (const auto& [topic, count] : topics) {
    for (uint32_t p = 0; p < count; ++p) {
      for (const std::string& id : placement.ReplicaSet(topic, p, replication)) {
        ++b.replicas[id];
        ++total;
      }
    }
  }
  if (b.replicas.empty() || total == 0) return b;
  size_t most = 0;
  for (const auto& [id, n] : b.replicas) most = std::max(most, n);
  const double mean = static_cast<double>(total) / static_cast<double>(b.replicas.size());
  b.imbalance = static_cast<double>(most) / mean;
  return b;
}

}  // namespace sprawl::overlay
