// A partition replica removed from its group (docs/replication.md,
// "Changing a partition's replicas"): its records, its group's Raft state
// and its applied mark leave the node, whether it was up when its leader
// removed it or down, and it can be placed there again afterwards.
#include <gtest/gtest.h>

#include "../broker/broker_test_util.h"
#include "replica_under_test.h"

namespace sprawl::replica {
namespace {

using namespace under_test;  // NOLINT(google-build-using-namespace)

class PartitionRemovalTest : public ::testing::Test {
 protected:
  // Nobody's records are copied here: the leader's log is whole.
  static ClusterView View() {
    return ClusterView{[](std::string_view) { return std::string(); },
                       [](NodeId) { return std::string(); }, [](NodeId, GroupId) {}};
  }

  // Leader a's append of entries [1, batches], one batch of kPerBatch
  // records ("v0", "v1", ...) each, committing them all.
  static Message AppendFromA(uint64_t term, int batches) {
    Message m;
    m.type = MessageType::kAppend;
    m.from = RaftNodeId("a");
    m.to = RaftNodeId("f");
    m.term = term;
    m.index = 0;
    m.log_term = 0;
    m.commit = static_cast<uint64_t>(batches);
    for (int k = 0; k < batches; ++k) {
      storage::RecordBatchBuilder builder;
      for (int i = 0; i < kPerBatch; ++i) {
        builder.Add(std::nullopt, "v" + std::to_string(k * kPerBatch + i), 0);
      }
      auto built = builder.Build();
      EXPECT_TRUE(built.ok());
      m.entries.push_back(Entry{term, static_cast<uint64_t>(k + 1), replication::EntryType::kNormal,
                                std::move(*built)});
    }
    return m;
  }

  // The replica applied `batches` batches and stores their records.
  static void ExpectApplied(Replica& f, int batches) {
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto mark = f.Mark();
          return mark && mark->first == static_cast<uint64_t>(batches);
        },
        10s));
    EXPECT_EQ(f.LogEnd(), static_cast<uint64_t>(batches * kPerBatch));
    EXPECT_EQ(f.Values().size(), static_cast<size_t>(batches * kPerBatch));
  }

  // Nothing of the partition is left on the replica's node.
  static bool Gone(Replica& f) { return f.LogEnd() == 0 && !f.RaftStateStored() && !f.Mark(); }

  broker::testing::ScratchDir dir_;
};

TEST_F(PartitionRemovalTest, AReplicaItsLeaderRemovesDropsItsRecordsRaftStateAndMark) {
  Replica f(dir_.Sub("f"), View());
  f.Place();
  f.Receive(AppendFromA(1, 10));
  ExpectApplied(f, 10);
  ASSERT_TRUE(f.RaftStateStored());

  // The factor is lowered: the metadata drops f, and the leader removes it.
  f.Replace({"a", "b"}, 1);
  EXPECT_TRUE(f.GroupOpen());  // serves on until its leader removes it
  f.Removed();
  EXPECT_FALSE(f.GroupOpen());
  ASSERT_TRUE(WaitUntil([&] { return Gone(f); }, 10s))
      << "log end " << f.LogEnd() << ", raft state " << f.RaftStateStored();
  EXPECT_TRUE(f.Values().empty());

  // Placed here again later: the group joins empty, and the log starts at
  // offset 0 as the leader's entries say.
  f.Replace({"a", "b", "f"}, 2);
  ASSERT_TRUE(WaitUntil([&] { return f.GroupOpen(); }, 10s));
  f.Receive(AppendFromA(2, 10));
  ExpectApplied(f, 10);
  const std::vector<std::string> values = f.Values();
  ASSERT_EQ(values.size(), static_cast<size_t>(10 * kPerBatch));
  EXPECT_EQ(values.front(), "v0");
  EXPECT_EQ(values.back(), "v99");
}

TEST_F(PartitionRemovalTest, AReplicaRemovedWhileItsNodeWasDownDropsEverythingOnceItsLeaderSaysSo) {
  {
    Replica f(dir_.Sub("f"), View());
    f.Place();
    f.Receive(AppendFromA(1, 10));
    ExpectApplied(f, 10);
  }  // down; meanwhile the factor is lowered and the leader removes f
  {
    Replica f(dir_.Sub("f"), View());
    f.Place({"a", "b"}, 1);  // the metadata, caught up, no longer places f
    // Its stored group opens, so that its leader hears from it...
    ASSERT_TRUE(f.GroupOpen());
    EXPECT_EQ(f.LogEnd(), static_cast<uint64_t>(10 * kPerBatch));
    f.Removed();  // ...and answers that it was removed
    ASSERT_TRUE(WaitUntil([&] { return Gone(f); }, 10s))
        << "log end " << f.LogEnd() << ", raft state " << f.RaftStateStored();
  }
  {
    Replica f(dir_.Sub("f"), View());
    f.Place({"a", "b"}, 1);
    EXPECT_FALSE(f.GroupOpen());  // nothing left to open
    EXPECT_TRUE(Gone(f));
  }
}

TEST_F(PartitionRemovalTest, RecordsAReplicaLeftWithoutRaftStateAreDroppedAtTheNextStart) {
  {
    Replica f(dir_.Sub("f"), View());
    f.Place();
    f.Receive(AppendFromA(1, 10));
    ExpectApplied(f, 10);
    f.CloseGroupOnly();  // a replica closed before its records went with it
    ASSERT_TRUE(WaitUntil([&] { return !f.RaftStateStored(); }, 10s));
  }
  Replica f(dir_.Sub("f"), View());
  f.Place({"a", "b"}, 1);
  EXPECT_FALSE(f.GroupOpen());
  ASSERT_TRUE(WaitUntil([&] { return Gone(f); }, 10s)) << "log end " << f.LogEnd();
  EXPECT_TRUE(f.Values().empty());
}

}  // namespace
}  // namespace sprawl::replica
