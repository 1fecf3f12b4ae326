// Elections: randomized timeouts, pre-vote, check quorum, the leader lease,
// and the hard state being durable before a vote leaves.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <vector>

#include "tests/unit/replication/raft_harness.h"

namespace sprawl::replication {
namespace {

using testing::Harness;

TEST(RaftElectionTest, ASingleNodeGroupElectsItselfAndCommitsItsNoop) {
  Harness h({1});
  ASSERT_TRUE(h.ElectByTicks(1));
  EXPECT_EQ(h.node(1).term(), 1u);
  h.Settle();
  ASSERT_EQ(h.stored(1).applied.size(), 1u);
  EXPECT_EQ(h.stored(1).applied[0].type, EntryType::kNoop);
  EXPECT_EQ(h.node(1).commit(), 1u);
}

TEST(RaftElectionTest, ThreeNodesElectExactlyOneLeaderWhoseFirstEntryIsANoop) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(2));
  h.Settle();
  EXPECT_EQ(h.Leaders(), 1);
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(h.node(id).leader(), 2u);
    EXPECT_EQ(h.node(id).term(), 1u);
    ASSERT_EQ(h.stored(id).entries.size(), 1u);
    EXPECT_EQ(h.stored(id).entries[0].type, EntryType::kNoop);
  }
  EXPECT_EQ(h.node(2).commit(), 1u);
}

TEST(RaftElectionTest, TimeoutsAreRandomizedBetweenOneAndTwoElectionPeriods) {
  Harness h({1, 2, 3});
  int ticks = 0;
  while (h.node(1).role() == Role::kFollower && ticks < 100) {
    h.node(1).Tick();
    ++ticks;
  }
  EXPECT_GE(ticks, 10);
  EXPECT_LT(ticks, 20);
}

TEST(RaftElectionTest, AVoteLeavesOnlyAfterTheHardStateHoldingItIsPersisted) {
  Harness h({1, 2, 3});
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 2;
  vote.to = 1;
  vote.term = 5;
  h.node(1).Step(vote);
  Raft& r = h.node(1);
  ASSERT_TRUE(r.HasReady());
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term, 5u);
  EXPECT_EQ(rd.hard_state->vote, 2u);
  // Nothing leaves before Advance, and no second Ready is handed out meanwhile.
  EXPECT_FALSE(r.HasReady());
  std::vector<Message> out = r.Advance();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, MessageType::kVoteResponse);
  EXPECT_FALSE(out[0].reject);
}

TEST(RaftElectionTest, ARestartedNodeNeverVotesTwiceInATerm) {
  Harness h({1, 2, 3});
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 2;
  vote.to = 1;
  vote.term = 5;
  h.node(1).Step(vote);
  h.Flush();
  h.outbox.clear();
  h.Start(1);  // crash and restart from what was persisted
  vote.from = 3;
  h.node(1).Step(vote);
  h.Flush();
  ASSERT_EQ(h.outbox.size(), 1u);
  EXPECT_TRUE(h.outbox[0].reject);
  EXPECT_EQ(h.stored(1).hard_state.vote, 2u);
}

TEST(RaftElectionTest, AVoteGoesOnlyToACandidateWithAnUpToDateLog) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();  // everyone holds the term-1 noop
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 3;
  vote.to = 2;
  vote.term = 9;
  vote.index = 0;  // an empty log
  vote.log_term = 0;
  vote.force = true;  // past the lease, so the log rule alone decides
  h.node(2).Step(vote);
  h.Flush();
  ASSERT_EQ(h.outbox.size(), 1u);
  EXPECT_TRUE(h.outbox[0].reject);
}

TEST(RaftElectionTest, PreVoteKeepsAPartitionedNodeFromRaisingItsTerm) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  h.drop = [](const Message& m) { return m.from == 3 || m.to == 3; };
  for (int i = 0; i < 100; ++i) {
    h.TickAll();
    h.Settle();
  }
  EXPECT_EQ(h.node(3).term(), 1u) << "an isolated node's polls fail, its term stays";
  h.drop = nullptr;
  for (int i = 0; i < 30; ++i) {
    h.TickAll();
    h.Settle();
  }
  EXPECT_EQ(h.node(1).role(), Role::kLeader) << "the rejoining node disrupted the leader";
  EXPECT_EQ(h.node(1).term(), 1u);
  EXPECT_EQ(h.node(3).leader(), 1u);
}

TEST(RaftElectionTest, WithoutPreVoteAPartitionedNodeRaisesItsTerm) {
  Harness h({1, 2, 3}, [](RaftConfig& c) { c.pre_vote = false; });
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  h.drop = [](const Message& m) { return m.from == 3 || m.to == 3; };
  for (int i = 0; i < 100; ++i) {
    h.TickAll();
    h.Settle();
  }
  EXPECT_GT(h.node(3).term(), 1u);
}

TEST(RaftElectionTest, CheckQuorumMakesALeaderCutOffFromAMajorityStepDown) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  h.drop = [](const Message& m) { return m.from == 1 || m.to == 1; };
  int ticks = 0;
  while (h.node(1).role() == Role::kLeader && ticks < 100) {
    h.node(1).Tick();
    h.Settle();
    ++ticks;
  }
  EXPECT_EQ(h.node(1).role(), Role::kFollower);
  EXPECT_LE(ticks, 2 * 10);
}

TEST(RaftElectionTest, FollowersToldTheirLeaderIsDownElectAnotherWithinHalfATimeout) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  h.drop = [](const Message& m) { return m.from == 1 || m.to == 1; };
  h.node(2).OnLeaderDown(3);  // not its leader: nothing changes
  EXPECT_EQ(h.node(2).leader(), 1u);
  for (NodeId id : {2, 3}) {
    h.node(id).OnLeaderDown(1);
    EXPECT_EQ(h.node(id).leader(), kNoNode) << "a dead leader is not named";
  }
  int ticks = 0;
  while (h.node(2).role() != Role::kLeader && h.node(3).role() != Role::kLeader && ticks < 100) {
    h.node(2).Tick();
    h.node(3).Tick();
    h.Settle();
    ++ticks;
  }
  EXPECT_LE(ticks, 10 / 2) << "within half an election timeout, not 10 to 20 ticks";
  EXPECT_EQ(h.node(2).leader(), h.node(3).leader());
  EXPECT_NE(h.node(2).leader(), kNoNode);
  EXPECT_EQ(h.node(2).term(), 2u);
  h.node(1).OnLeaderDown(1);  // a leader ignores it
  EXPECT_EQ(h.node(1).role(), Role::kLeader);
}

// Ticks every node but `dead` until one leads; returns how many it took.
int TicksToElect(Harness& h, const std::vector<NodeId>& ids, NodeId dead) {
  for (int ticks = 1; ticks <= 100; ++ticks) {
    for (NodeId id : ids) {
      if (id != dead) h.node(id).Tick();
    }
    h.Settle();
    for (NodeId id : ids) {
      if (id != dead && h.node(id).role() == Role::kLeader) return ticks;
    }
  }
  return 1000;
}

TEST(RaftElectionTest, SurvivorsOfALeaderNeverSplitTheVoteAndShareTheNewLeaderships) {
  // Whatever the seeds draw, the followers told their leader died campaign
  // one after the other, never in the same tick: a split vote would cost a
  // whole election timeout more. Across groups the winners differ, so a
  // dead node's partitions are not all handed to one survivor.
  for (const std::vector<NodeId>& ids : {std::vector<NodeId>{1, 2, 3}, {1, 2, 3, 4, 5}}) {
    std::map<NodeId, int> wins;
    for (uint64_t group = 1; group <= 200; ++group) {
      Harness h(ids, [group](RaftConfig& c) {
        c.seed = group * 7919;
        c.group = group;
      });
      ASSERT_TRUE(h.ElectByTicks(1));
      h.Settle();
      h.drop = [](const Message& m) { return m.from == 1 || m.to == 1; };
      for (NodeId id : ids) {
        if (id != 1) h.node(id).OnLeaderDown(1);
      }
      const int ticks = TicksToElect(h, ids, 1);
      ASSERT_LE(ticks, 10 / 2) << ids.size() << " voters, group " << group;
      for (NodeId id : ids) {
        if (h.node(id).role() == Role::kLeader) ++wins[id];
      }
    }
    for (NodeId id : ids) {
      if (id == 1) continue;
      EXPECT_GT(wins[id], 200 / static_cast<int>(ids.size()) / 2)
          << "node " << id << " of " << ids.size() << " leads too few of the groups";
    }
  }
}

TEST(RaftElectionTest, AMessageTheDeadLeaderSentBeforeItDiedDoesNotRestoreItsLease) {
  // The dead leader's last heartbeats can still be unread when the peer
  // transport reports its connection lost (the two arrive on different
  // sockets). Read after the report, they must not make it the leader again
  // for a whole lease, which would refuse the survivors' votes and cost
  // them an election timeout or two.
  for (uint64_t group = 1; group <= 50; ++group) {
    Harness h({1, 2, 3}, [group](RaftConfig& c) {
      c.seed = group * 104729;
      c.group = group;
    });
    ASSERT_TRUE(h.ElectByTicks(1));
    h.Settle();
    h.node(1).Tick();  // a heartbeat round, held back below
    h.Flush();
    std::deque<Message> last_words;
    last_words.swap(h.outbox);
    h.drop = [](const Message& m) { return m.from == 1 || m.to == 1; };
    for (NodeId id : {2, 3}) h.node(id).OnLeaderDown(1);
    for (const Message& m : last_words) {
      if (m.to != 1) h.node(m.to).Step(m);
    }
    const int ticks = TicksToElect(h, {1, 2, 3}, 1);
    ASSERT_LE(ticks, 10 / 2) << "group " << group;
  }
}

TEST(RaftElectionTest, AFollowerThatHeardFromTheLeaderIgnoresVoteRequests) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 3;
  vote.to = 2;
  vote.term = 7;
  vote.index = 100;
  vote.log_term = 1;
  h.node(2).Step(vote);
  h.Flush();
  EXPECT_TRUE(h.outbox.empty());
  EXPECT_EQ(h.node(2).term(), 1u) << "the lease kept the term";
}

TEST(RaftElectionTest, AStaleLeaderLearnsTheNewTermFromAnyFollower) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  // 1 is cut off while 2 wins term 2.
  h.drop = [](const Message& m) { return m.from == 1 || m.to == 1; };
  ASSERT_TRUE(h.ForceElection(2));
  h.drop = nullptr;
  h.node(1).Tick();  // heartbeats at term 1 are answered with term 2
  h.Settle();
  EXPECT_EQ(h.node(1).role(), Role::kFollower);
  EXPECT_EQ(h.node(1).term(), 2u);
  EXPECT_EQ(h.Leaders(), 1);
}

}  // namespace
}  // namespace sprawl::replication
