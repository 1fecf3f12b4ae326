// Many groups per node (core/replication/multi_raft.h): coalesced
// heartbeats, per-peer batches, quiescence of idle groups, and the load
// figures with 3,000 groups on three nodes.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/sim/raft_multi_cluster.h"

namespace sprawl::sim {
namespace {

using replication::GroupId;
using replication::MultiRaftOptions;
using replication::NodeId;

bool AllLed(MultiRaftCluster& c, size_t groups) {
  for (GroupId g = 1; g <= groups; ++g) {
    if (c.Leader(g) == replication::kNoNode) return false;
  }
  return true;
}

TEST(RaftMultiTest, TheBatchCodecRoundTripsAndRejectsAForeignMessage) {
  replication::PeerBatch b;
  b.from = 1;
  b.to = 2;
  b.heartbeats = {{7, 3, 10, false}, {9, 4, 2, true}};
  b.acks = {{8, 3}};
  replication::Message m;
  m.type = replication::MessageType::kVote;
  m.from = 1;
  m.to = 2;
  m.term = 5;
  b.messages = {{11, m}};
  auto d = replication::DecodeBatch(replication::EncodeBatch(b));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, b);
  b.messages[0].message.from = 3;
  EXPECT_FALSE(replication::DecodeBatch(replication::EncodeBatch(b)).ok());
  const std::string bytes = replication::EncodeBatch(b);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(replication::DecodeBatch(std::string_view(bytes).substr(0, n)).ok()) << n;
  }
}

TEST(RaftMultiTest, IdleGroupsQuiesceAndANodePairThenCarriesNothing) {
  const size_t groups = 200;
  MultiRaftCluster c(groups, MultiRaftOptions{});
  c.Run(3'000);
  ASSERT_TRUE(AllLed(c, groups));
  for (NodeId n = 1; n <= 3; ++n) EXPECT_EQ(c.host(n).awake(), 0u) << "node " << n;
  const uint64_t before = c.all_batches();
  c.Run(10'000);
  EXPECT_EQ(c.all_batches(), before) << "idle groups sent messages";
}

TEST(RaftMultiTest, AProposalWakesOnlyItsGroupAndCommitsEverywhere) {
  const size_t groups = 50;
  MultiRaftCluster c(groups, MultiRaftOptions{});
  c.Run(3'000);
  const NodeId leader = c.Leader(7);
  ASSERT_NE(leader, replication::kNoNode);
  auto r = c.host(leader).Propose(7, "hello");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(c.host(leader).awake(), 1u);
  c.Run(200);
  for (NodeId n = 1; n <= 3; ++n) {
    EXPECT_GE(c.host(n).group(7)->commit(), *r) << "node " << n;
    EXPECT_EQ(c.host(n).awake(), 0u) << "node " << n << ": the group quiesced again";
  }
}

TEST(RaftMultiTest, GroupsLedByADeadNodeWakeAndElectANewLeader) {
  const size_t groups = 60;
  MultiRaftCluster c(groups, MultiRaftOptions{});
  c.Run(3'000);
  ASSERT_TRUE(AllLed(c, groups));
  size_t led_by_1 = 0;
  for (GroupId g = 1; g <= groups; ++g) led_by_1 += c.Leader(g) == 1 ? 1 : 0;
  ASSERT_GT(led_by_1, 0u);
  c.Crash(1);
  c.Run(1'000);
  EXPECT_FALSE(AllLed(c, groups)) << "quiesced followers cannot notice on their own";
  // The membership layer declares node 1 dead.
  c.host(2).OnNodeDown(1);
  c.host(3).OnNodeDown(1);
  c.Run(1'000);
  EXPECT_TRUE(AllLed(c, groups));
}

TEST(RaftMultiTest, HeartbeatsOfAllGroupsShareOneBatchPerPeerPerTurn) {
  const size_t groups = 100;
  MultiRaftCluster c(groups, MultiRaftOptions{false});
  c.Run(3'000);
  ASSERT_TRUE(AllLed(c, groups));
  const uint64_t before = c.batches(1, 2);
  c.Run(1'000);
  // 100 ticks, one heartbeat per group per tick: at most one batch per turn
  // with heartbeats and one with their answers, not one per group.
  EXPECT_LE(c.batches(1, 2) - before, 2u * 100u);
}

// The load of idle groups, with and without quiescence (300 groups here;
// raft_multi_load prints the 3,000-group figures).
TEST(RaftMultiTest, IdleGroupsCostNothingQuiescedAndOneBatchPerTickOtherwise) {
  const size_t groups = 300;
  for (bool quiesce : {false, true}) {
    MultiRaftCluster c(groups, MultiRaftOptions{quiesce});
    c.Run(3'000);
    ASSERT_TRUE(AllLed(c, groups));
    const uint64_t batches = c.all_batches();
    const uint64_t heartbeats = c.heartbeats();
    c.Run(2'000);
    const uint64_t idle_batches = c.all_batches() - batches;
    const uint64_t idle_heartbeats = c.heartbeats() - heartbeats;
    if (quiesce) {
      EXPECT_EQ(idle_batches, 0u);
      EXPECT_EQ(idle_heartbeats, 0u);
    } else {
      // 200 ticks: per ordered pair one heartbeat batch and one answer batch per tick.
      EXPECT_LE(idle_batches, 6u * 2u * 200u);
      EXPECT_EQ(idle_heartbeats, groups * 2u * 200u);
    }
  }
}

TEST(RaftMultiTest, ASnapshotTheGateRefusesIsSentAgainAndInstallsOnceAccepted) {
  MultiRaftCluster c(1, MultiRaftOptions{});
  c.Run(3'000);
  const NodeId leader = c.Leader(1);
  ASSERT_NE(leader, replication::kNoNode);
  const NodeId behind = leader == 3 ? 2 : 3;
  c.Crash(behind);
  uint64_t last = 0;
  for (int i = 0; i < 5; ++i) last = *c.host(leader).Propose(1, "entry " + std::to_string(i));
  c.Run(200);
  // The leader's log drops what `behind` lacks: it can only get the image.
  c.host(leader).group(1)->Compact(last, "image");
  ASSERT_EQ(c.host(leader).group(1)->log().snapshot_index(), last);

  bool accept = false;
  int asked = 0;
  c.host(behind).SetSnapshotGate([&](GroupId g, NodeId from, const replication::Snapshot& s) {
    EXPECT_EQ(g, 1u);
    EXPECT_EQ(from, leader);
    EXPECT_EQ(s.index, last);
    EXPECT_EQ(s.data, "image");
    ++asked;
    return accept;
  });
  c.Recover(behind);
  c.Run(1'000);
  EXPECT_GE(asked, 3) << "a refused image is sent again";
  EXPECT_LT(c.host(behind).group(1)->log().last_index(), last) << "a refused image installed";
  EXPECT_FALSE(c.host(behind).group(1)->snapshot().has_value());

  accept = true;
  c.Run(500);
  ASSERT_TRUE(c.host(behind).group(1)->snapshot().has_value());
  EXPECT_EQ(c.host(behind).group(1)->snapshot()->index, last);
  EXPECT_GE(c.host(behind).group(1)->commit(), last);
  const int after = asked;
  c.Run(500);
  EXPECT_EQ(asked, after) << "an installed image is not sent again";
}

}  // namespace
}  // namespace sprawl::sim
