// PartitionReplicas: a partition's replica set changes (the metadata gives
// it new replicas: an altered replication factor, a gone member replaced),
// and the group's leader brings the Raft membership in line one step at a
// time (docs/replication.md, "Changing a partition's replicas"); and hands
// the leadership back to the preferred replica ("Leader balance").
#include <algorithm>

#include "core/replica/control_entry.h"
#include "core/replica/partition_replicas.h"
#include "core/util/logging.h"

namespace sprawl::replica {
namespace {

using replication::ConfChangeType;
using replication::GroupId;
using replication::NodeId;

// A learner within this many entries of the commit index is promoted: it
// holds the log but for what is in flight, so it can take part in commits
// at once.
constexpr uint64_t kPromoteLag = 64;
// A removed replica is told to close every this many ticks, for this many.
constexpr uint64_t kFarewellEveryTicks = 10;
constexpr uint64_t kFarewellTicks = 300;

bool Contains(const std::vector<NodeId>& nodes, NodeId node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

std::string Join(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

}  // namespace

void PartitionReplicas::UpdateReplicas(TopicParts& topic, const Placement& placement) {
  for (Part& part : topic.parts) {
    const auto& replicas = placement.assignment[part.partition];
    if (replicas == part.replicas) continue;
    log::Info("partition replicas change", {{"topic", part.topic},
                                            {"partition", part.partition},
                                            {"from", Join(part.replicas)},
                                            {"to", Join(replicas)}});
    part.replicas = replicas;
    part.mine = std::find(replicas.begin(), replicas.end(), node_id_) != replicas.end();
    if (part.partition < placement.moves.size()) part.moves = placement.moves[part.partition];
    // A replica newly placed here opens in Open, once the broker holds the
    // topic as altered; one that leaves serves on until its leader removes it.
  }
  topic.placement = placement;
}

void PartitionReplicas::ReconcileMembers(Part& part, const replication::Raft& raft) {
  if (!part.raft || part.replicas.empty()) return;
  const replication::ConfState& now = raft.conf();
  // The common case, checked without allocating: the membership is the set.
  if (now.learners.empty() && now.voters.size() == part.replicas.size() &&
      std::all_of(part.replicas.begin(), part.replicas.end(), [&](const std::string& id) {
        return Contains(now.voters, replication::RaftNodeId(id));
      })) {
    return;
  }
  std::vector<NodeId> wanted;
  for (const std::string& id : part.replicas) wanted.push_back(replication::RaftNodeId(id));
  const replication::ConfState& conf = raft.conf();
  auto change = [&](ConfChangeType type, NodeId node, const char* what) {
    Status s = host_.ProposeConfChange(part.group, type, node);
    // RESOURCE_EXHAUSTED while the previous change commits: the next tick
    // tries again.
    if (!s.ok()) return;
    log::Info("partition membership change proposed", {{"topic", part.topic},
                                                       {"partition", part.partition},
                                                       {"change", what},
                                                       {"member", view_.member_id(node)}});
    if (type == ConfChangeType::kRemove) part.farewells[node] = ticks_ + kFarewellTicks;
  };
  // 1. Every wanted replica joins as a learner: it counts in no majority
  // until it has caught up.
  for (NodeId node : wanted) {
    if (!Contains(conf.voters, node) && !Contains(conf.learners, node)) {
      return change(ConfChangeType::kAddLearner, node, "add learner");
    }
  }
  // 2. A learner that caught up becomes a voter; until all have, nothing
  // leaves, so the group never has fewer caught-up voters than it had.
  bool learning = false;
  for (NodeId node : conf.learners) {
    if (!Contains(wanted, node)) continue;
    auto progress = raft.progress().find(node);
    if (progress != raft.progress().end() &&
        progress->second.match() + kPromoteLag >= raft.commit()) {
      return change(ConfChangeType::kPromote, node, "promote");
    }
    learning = true;
  }
  if (learning) return;
  // 3. Members no longer wanted leave; this node hands its leadership to
  // the most caught-up wanted voter first.
  for (NodeId node : conf.voters) {
    if (Contains(wanted, node)) continue;
    if (node != raft.id()) return change(ConfChangeType::kRemove, node, "remove");
  }
  for (NodeId node : conf.learners) {
    if (!Contains(wanted, node)) return change(ConfChangeType::kRemove, node, "remove learner");
  }
  if (!Contains(wanted, raft.id())) {
    NodeId target = replication::kNoNode;
    uint64_t best = 0;
    for (const auto& [node, progress] : raft.progress()) {
      if (!Contains(wanted, node) || !raft.IsVoter(node)) continue;
      if (target == replication::kNoNode || progress.match() > best) {
        target = node;
        best = progress.match();
      }
    }
    if (target != replication::kNoNode && raft.transferee() == replication::kNoNode) {
      (void)host_.TransferLeadership(part.group, target);
    }
  }
}

void PartitionReplicas::BalanceLeadership(Part& part, const replication::Raft& raft) {
  if (balance_after_ticks_ == 0 || part.replicas.empty()) return;
  const NodeId preferred = replication::RaftNodeId(part.replicas.front());
  auto progress = raft.progress().find(preferred);
  auto heard = part.heard.find(preferred);
  // Only a voter that answers and holds the log could take over at once.
  const bool able = preferred != raft.id() && raft.IsVoter(preferred) &&
                    progress != raft.progress().end() &&
                    progress->second.match() + kPromoteLag >= raft.commit() &&
                    heard != part.heard.end() && ticks_ - heard->second <= 10;
  if (!able) {
    part.unpreferred_since = 0;
    return;
  }
  if (part.unpreferred_since == 0) part.unpreferred_since = ticks_;
  if (ticks_ - part.unpreferred_since < balance_after_ticks_) return;
  if (raft.transferee() != replication::kNoNode) return;
  if (host_.TransferLeadership(part.group, preferred).ok()) {
    log::Info(
        "partition leadership handed back to its preferred replica",
        {{"topic", part.topic}, {"partition", part.partition}, {"member", part.replicas.front()}});
  }
  part.unpreferred_since = ticks_;  // if it does not take over, again a period later
}

void PartitionReplicas::SendFarewells(Part& part) {
  for (auto it = part.farewells.begin(); it != part.farewells.end();) {
    if (ticks_ > it->second) {
      it = part.farewells.erase(it);
      continue;
    }
    if (ticks_ % kFarewellEveryTicks == 0 && view_.send_removed) {
      view_.send_removed(it->first, part.group);
    }
    ++it;
  }
}

void PartitionReplicas::OnStranger(GroupId group, NodeId from) {
  Part* part = PartOfGroup(group);
  if (part == nullptr || !view_.send_removed) return;
  const std::string member = view_.member_id(from);
  if (std::find(part->replicas.begin(), part->replicas.end(), member) != part->replicas.end()) {
    return;  // wanted: the leader adds it
  }
  view_.send_removed(from, group);
}

void PartitionReplicas::OnRemoved(GroupId group) {
  Part* part = PartOfGroup(group);
  if (part == nullptr || !part->open || part->mine) return;
  CloseRemoved(*part);
}

void PartitionReplicas::CloseRemoved(Part& part) {
  uint64_t term = 0;
  CloseGroupHere(part,
                 NotLeader("this node no longer holds partition " + std::to_string(part.partition) +
                               " of topic '" + part.topic + "'",
                           LeaderOf(part, &term)));
  log::Info("partition replica removed from its group; closed here",
            {{"topic", part.topic}, {"partition", part.partition}});
  // Its group's Raft state and applied mark went with the group; its
  // records follow, off the loop.
  DropRecords(part);
}

}  // namespace sprawl::replica
