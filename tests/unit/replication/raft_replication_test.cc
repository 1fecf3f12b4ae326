// Log replication: proposals, the commit rule, fast backtracking, probe and
// pipelined replicate states with a bounded window.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/replication/raft_harness.h"

namespace sprawl::replication {
namespace {

using testing::Harness;

Entry E(uint64_t index, uint64_t term, std::string data = "x") {
  return {term, index, EntryType::kNormal, std::move(data)};
}

TEST(RaftReplicationTest, AProposalIsCommittedAndAppliedEverywhereInOrder) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.node(1).Propose("p" + std::to_string(i)).ok());
  h.Settle();
  h.node(1).Tick();  // the heartbeat carries the final commit to the followers
  h.Settle();
  for (NodeId id : {1, 2, 3}) {
    const auto& applied = h.stored(id).applied;
    ASSERT_EQ(applied.size(), 6u) << "node " << id;
    for (int i = 0; i < 5; ++i) EXPECT_EQ(applied[i + 1].data, "p" + std::to_string(i));
  }
}

TEST(RaftReplicationTest, AFollowerRefusesProposalsWithNotLeader) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  auto r = h.node(2).Propose("x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotLeader);
  EXPECT_TRUE(r.status().retriable());
}

TEST(RaftReplicationTest, CommittedEntriesAreHandedOutOnlyWithOrAfterTheirPersistence) {
  Harness h({1});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  ASSERT_TRUE(h.node(1).Propose("a").ok());
  Raft& r = h.node(1);
  Ready rd = r.GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.committed.empty()) << "the leader's own copy is not durable yet";
  r.Advance();
  ASSERT_TRUE(r.HasReady());
  rd = r.GetReady();
  ASSERT_EQ(rd.committed.size(), 1u);
  EXPECT_EQ(rd.committed[0].data, "a");
  r.Advance();
}

// Raft paper, figure 8: a leader must not commit an entry of an earlier
// term by counting replicas, only under an entry of its own term.
TEST(RaftReplicationTest, AnEarlierTermEntryOnAMajorityIsNotCommittedUntilOneOfThisTermIs) {
  Harness h({1, 2, 3});
  auto& s1 = h.stored(1);
  s1.hard_state = {2, 1, 1};
  s1.entries = {E(1, 1), E(2, 2)};
  h.stored(2).hard_state = {2, 1, 1};
  h.stored(2).entries = {E(1, 1)};
  h.stored(3).hard_state = {2, 1, 1};
  h.stored(3).entries = {E(1, 1)};
  for (NodeId id : {1, 2, 3}) h.Start(id);
  // Node 2 receives nothing of the new leader's log: its acknowledgements
  // below are written by hand.
  h.drop = [](const Message& m) {
    return m.to == 3 || m.from == 3 || (m.to == 2 && m.type == MessageType::kAppend);
  };
  ASSERT_TRUE(h.ForceElection(1));
  EXPECT_EQ(h.node(1).term(), 3u);
  Message ack;
  ack.type = MessageType::kAppendResponse;
  ack.from = 2;
  ack.to = 1;
  ack.term = 3;
  ack.index = 2;
  h.node(1).Step(ack);
  h.Flush();
  EXPECT_EQ(h.node(1).commit(), 1u) << "index 2 is on a majority but of term 2";
  ack.index = 3;
  h.node(1).Step(ack);
  h.Flush();
  EXPECT_EQ(h.node(1).commit(), 3u) << "the term-3 noop commits, and index 2 with it";
}

TEST(RaftReplicationTest, FastBacktrackingSkipsAConflictingTermInFewRoundTrips) {
  Harness h({1, 2, 3}, [](RaftConfig& c) { c.max_entries_per_append = 1000; });
  // Node 2 holds 60 entries of term 2 that the others never saw; 1 and 3
  // hold 60 different entries of term 3.
  std::vector<Entry> stale{E(1, 1)};
  std::vector<Entry> good{E(1, 1)};
  for (uint64_t i = 2; i <= 61; ++i) {
    stale.push_back(E(i, 2, "old"));
    good.push_back(E(i, 3, "new"));
  }
  h.stored(1).entries = good;
  h.stored(1).hard_state = {3, 1, 1};
  h.stored(3).entries = good;
  h.stored(3).hard_state = {3, 1, 1};
  h.stored(2).entries = stale;
  h.stored(2).hard_state = {2, 0, 1};
  for (NodeId id : {1, 2, 3}) h.Start(id);
  int rejections = 0;
  h.drop = [&](const Message& m) {
    if (m.type == MessageType::kAppendResponse && m.from == 2 && m.reject) ++rejections;
    return false;
  };
  ASSERT_TRUE(h.ForceElection(1));
  h.Settle();
  EXPECT_LE(rejections, 2) << "one rejection per conflicting term, not per entry";
  ASSERT_EQ(h.stored(2).entries.size(), 62u);
  EXPECT_EQ(h.stored(2).entries[30].data, "new");
  EXPECT_EQ(h.stored(2).entries.back().type, EntryType::kNoop);
}

TEST(RaftReplicationTest, AProbingFollowerGetsNoFurtherAppendUntilItAnswers) {
  Harness h({1, 2, 3});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  // Node 3 stops answering: the leader probes it again only after heartbeats.
  size_t appends_to_3 = 0;
  h.drop = [&](const Message& m) {
    if (m.to == 3 && m.type == MessageType::kAppend) ++appends_to_3;
    return m.to == 3 || m.from == 3;
  };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.node(1).Propose("p").ok());
  h.Settle();
  // A rejection of the last of those appends sends node 3 back to probing.
  Message reject;
  reject.type = MessageType::kAppendResponse;
  reject.from = 3;
  reject.to = 1;
  reject.term = 1;
  reject.reject = true;
  reject.index = h.node(1).progress().at(3).next() - 1;
  reject.reject_hint = 1;
  reject.log_term = 1;
  h.node(1).Step(reject);
  h.Settle();
  ASSERT_EQ(h.node(1).progress().at(3).state(), Progress::State::kProbe);
  appends_to_3 = 0;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(h.node(1).Propose("p").ok());
  h.Settle();
  EXPECT_EQ(h.node(1).progress().at(3).state(), Progress::State::kProbe);
  EXPECT_EQ(appends_to_3, 0u) << "a probe is already out";
}

TEST(RaftReplicationTest, ReplicateStateKeepsAtMostTheWindowOfAppendsInFlight) {
  Harness h({1, 2}, [](RaftConfig& c) {
    c.max_inflight = 4;
    c.max_entries_per_append = 1;
  });
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  ASSERT_EQ(h.node(1).progress().at(2).state(), Progress::State::kReplicate);
  std::vector<Message> held;
  h.drop = [&](const Message& m) {
    if (m.type == MessageType::kAppend && !m.entries.empty()) held.push_back(m);
    return true;  // nothing arrives: no acknowledgement frees the window
  };
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.node(1).Propose("p").ok());
  h.Settle();
  EXPECT_EQ(held.size(), 4u);
  EXPECT_EQ(h.node(1).progress().at(2).inflight(), 4u);
  // The held appends arrive: their acknowledgements free the window and the
  // rest follow, pipelined.
  h.drop = nullptr;
  for (const Message& m : held) h.node(2).Step(m);
  h.Settle();
  EXPECT_EQ(h.stored(2).entries.size(), h.stored(1).entries.size());
}

TEST(RaftReplicationTest, ADuplicatedOrReorderedAppendChangesNothing) {
  Harness h({1, 2});
  ASSERT_TRUE(h.ElectByTicks(1));
  h.Settle();
  std::vector<Message> seen;
  h.drop = [&](const Message& m) {
    if (m.type == MessageType::kAppend && m.to == 2) seen.push_back(m);
    return false;
  };
  ASSERT_TRUE(h.node(1).Propose("a").ok());
  h.Settle();
  ASSERT_TRUE(h.node(1).Propose("b").ok());
  h.Settle();
  h.drop = nullptr;
  const auto before = h.stored(2).entries;
  for (auto it = seen.rbegin(); it != seen.rend(); ++it) h.node(2).Step(*it);
  h.Settle();
  EXPECT_EQ(h.stored(2).entries, before);
}

}  // namespace
}  // namespace sprawl::replication
