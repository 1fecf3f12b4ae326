// Leadership transfer, learners and single-server membership changes, and
// snapshots for followers behind the leader's first retained index.
#include <gtest/gtest.h>

#include "core/replication/codec.h"
#include "tests/unit/replication/raft_harness.h"

namespace sprawl::replication {
namespace {

using testing::Harness;

void Heartbeats(Harness& h, NodeId leader, int n) {
  for (int i = 0; i < n; ++i) {
    h.node(leader).Tick();
    h.Settle();
  }
}

TEST(RaftMembershipTest, LeadershipTransferHandsOverToACaughtUpVoter) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  ASSERT_TRUE(h.node(1).TransferLeadership(3).ok());
  h.Settle();
  EXPECT_EQ(h.node(3).role(), Role::kLeader);
  EXPECT_EQ(h.node(3).term(), 2u);
  EXPECT_EQ(h.node(1).role(), Role::kFollower);
  EXPECT_EQ(h.Leaders(), 1);
}

TEST(RaftMembershipTest, ALeaderRefusesProposalsWhileTransferring) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  h.drop = [](const Message& m) { return m.to == 3; };
  ASSERT_TRUE(h.node(1).TransferLeadership(3).ok());
  auto r = h.node(1).Propose("x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotLeader);
  // The transfer times out after an election period and proposals work again.
  Heartbeats(h, 1, 10);
  EXPECT_TRUE(h.node(1).Propose("x").ok());
}

TEST(RaftMembershipTest, ALearnerIsAddedCaughtUpPromotedAndThenCountsForCommits) {
  Harness g({1, 2, 3});
  ASSERT_TRUE(g.ElectByTicks(1));
  g.Settle();
  ASSERT_TRUE(g.node(1).ProposeConfChange(ConfChangeType::kAddLearner, 3).code() ==
              ErrorCode::kAlreadyExists);
  ASSERT_TRUE(g.node(1).ProposeConfChange(ConfChangeType::kRemove, 3).ok());
  auto second = g.node(1).ProposeConfChange(ConfChangeType::kRemove, 2);
  EXPECT_EQ(second.code(), ErrorCode::kResourceExhausted) << "two changes in flight";
  g.Settle();
  Heartbeats(g, 1, 2);
  EXPECT_EQ(g.node(1).conf().voters, (std::vector<NodeId>{1, 2}));
  // Re-add 3 as a learner, catch it up, promote it.
  ASSERT_TRUE(g.node(1).ProposeConfChange(ConfChangeType::kAddLearner, 3).ok());
  g.Settle();
  Heartbeats(g, 1, 2);
  EXPECT_EQ(g.node(3).conf().learners, (std::vector<NodeId>{3}));
  EXPECT_EQ(g.node(1).progress().at(3).match(), g.node(1).log().last_index());
  ASSERT_TRUE(g.node(1).ProposeConfChange(ConfChangeType::kPromote, 3).ok());
  g.Settle();
  Heartbeats(g, 1, 2);
  EXPECT_EQ(g.node(2).conf().voters, (std::vector<NodeId>{1, 2, 3}));
  // With 2 gone, 1 and 3 are a majority of three and still commit.
  g.drop = [](const Message& m) { return m.to == 2 || m.from == 2; };
  const uint64_t before = g.node(1).commit();
  ASSERT_TRUE(g.node(1).Propose("after").ok());
  g.Settle();
  EXPECT_GT(g.node(1).commit(), before);
}

TEST(RaftMembershipTest, ALearnerNeverCampaigns) {
  Harness g({1, 2});
  ASSERT_TRUE(g.ElectByTicks(1));
  g.Settle();
  ASSERT_TRUE(g.node(1).ProposeConfChange(ConfChangeType::kRemove, 2).ok());
  g.Settle();
  Heartbeats(g, 1, 2);
  ASSERT_TRUE(g.node(1).ProposeConfChange(ConfChangeType::kAddLearner, 2).ok());
  g.Settle();
  Heartbeats(g, 1, 2);
  ASSERT_EQ(g.node(2).conf().learners, (std::vector<NodeId>{2}));
  g.drop = [](const Message&) { return true; };
  for (int i = 0; i < 100; ++i) g.node(2).Tick();
  EXPECT_EQ(g.node(2).role(), Role::kFollower);
}

TEST(RaftMembershipTest, TheLeaderCannotRemoveItself) {
  Harness g({1, 2, 3});
  ASSERT_TRUE(g.ElectByTicks(1));
  g.Settle();
  EXPECT_EQ(g.node(1).ProposeConfChange(ConfChangeType::kRemove, 1).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RaftMembershipTest, AFollowerBehindTheFirstRetainedIndexIsCaughtUpByOneSnapshot) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  size_t snapshots = 0;
  h.drop = [&](const Message& m) {
    if (m.type == MessageType::kSnapshot) ++snapshots;
    return m.to == 3 || m.from == 3;
  };
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(h.node(1).Propose("p" + std::to_string(i)).ok());
  h.Settle();
  Heartbeats(h, 1, 1);
  const uint64_t applied = h.stored(1).applied.back().index;
  h.node(1).Compact(applied, "image@" + std::to_string(applied));
  EXPECT_EQ(h.node(1).log().first_index(), applied + 1);
  h.drop = [&](const Message& m) {
    if (m.type == MessageType::kSnapshot) ++snapshots;
    return false;
  };
  Heartbeats(h, 1, 3);
  EXPECT_EQ(snapshots, 1u);
  ASSERT_TRUE(h.stored(3).snapshot.has_value());
  EXPECT_EQ(h.stored(3).snapshot->index, applied);
  EXPECT_EQ(h.stored(3).snapshot->data, "image@" + std::to_string(applied));
  EXPECT_EQ(h.node(3).log().last_index(), h.node(1).log().last_index());
  EXPECT_EQ(h.node(3).commit(), h.node(1).commit());
  // And it keeps replicating from there.
  ASSERT_TRUE(h.node(1).Propose("later").ok());
  h.Settle();
  Heartbeats(h, 1, 1);
  EXPECT_EQ(h.stored(3).applied.back().data, "later");
}

TEST(RaftMembershipTest, ALostSnapshotIsSentAgain) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  h.drop = [](const Message& m) { return m.to == 3 || m.from == 3; };
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(h.node(1).Propose("p").ok());
  h.Settle();
  Heartbeats(h, 1, 1);
  h.node(1).Compact(h.stored(1).applied.back().index, "img");
  int lost = 0;
  h.drop = [&](const Message& m) { return m.type == MessageType::kSnapshot && lost++ == 0; };
  Heartbeats(h, 1, 5);
  EXPECT_EQ(lost, 2);
  ASSERT_TRUE(h.stored(3).snapshot.has_value());
  EXPECT_EQ(h.node(3).log().last_index(), h.node(1).log().last_index());
}

TEST(RaftMembershipTest, ARestartedNodeRecoversItsMembershipFromItsLog) {
  Harness g({1, 2, 3});
  ASSERT_TRUE(g.ElectByTicks(1));
  g.Settle();
  ASSERT_TRUE(g.node(1).ProposeConfChange(ConfChangeType::kRemove, 3).ok());
  g.Settle();
  Heartbeats(g, 1, 1);
  g.Start(2);
  EXPECT_EQ(g.node(2).conf().voters, (std::vector<NodeId>{1, 2}));
}

TEST(RaftMembershipTest, ConfStateRoundTripsAndRejectsMalformedLists) {
  ConfState c{{1, 2, 5}, {7}};
  auto d = DecodeConfState(EncodeConfState(c));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, c);
  EXPECT_FALSE(DecodeConfState(EncodeConfState({{2, 1}, {}})).ok()) << "unsorted";
  EXPECT_FALSE(DecodeConfState(EncodeConfState({{1, 2}, {2}})).ok()) << "not disjoint";
  EXPECT_FALSE(DecodeConfState(EncodeConfState({{0}, {}})).ok()) << "node 0";
}

}  // namespace
}  // namespace sprawl::replication
