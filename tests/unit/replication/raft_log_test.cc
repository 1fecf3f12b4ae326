// The in-memory log: conflict truncation, the backtracking hint, compaction
// and the persistence bookkeeping behind Ready.
#include <gtest/gtest.h>

#include "core/replication/raft_log.h"

namespace sprawl::replication {
namespace {

Entry E(uint64_t index, uint64_t term) { return {term, index, EntryType::kNormal, "d"}; }

TEST(RaftLogTest, AppendMatchingKeepsWhatAgreesAndTruncatesAtTheFirstConflict) {
  RaftLog log(0, 0, {E(1, 1), E(2, 1), E(3, 2), E(4, 2)});
  log.AppendMatching({E(2, 1), E(3, 3)});
  EXPECT_EQ(log.last_index(), 3u);
  EXPECT_EQ(*log.Term(3), 3u);
  log.AppendMatching({E(1, 1), E(2, 1)});  // an old, duplicated append
  EXPECT_EQ(log.last_index(), 3u) << "a stale append must not truncate";
}

TEST(RaftLogTest, FindConflictByTermSkipsWholeTerms) {
  RaftLog log(0, 0, {E(1, 1), E(2, 2), E(3, 2), E(4, 4), E(5, 4)});
  EXPECT_EQ(log.FindConflictByTerm(5, 3), 3u);
  EXPECT_EQ(log.FindConflictByTerm(5, 1), 1u);
  EXPECT_EQ(log.FindConflictByTerm(9, 4), 5u);
  EXPECT_EQ(log.FindConflictByTerm(5, 0), 0u);
}

TEST(RaftLogTest, UpToDateComparesLastTermThenLength) {
  RaftLog log(0, 0, {E(1, 1), E(2, 2)});
  EXPECT_TRUE(log.IsUpToDate(1, 3));
  EXPECT_TRUE(log.IsUpToDate(2, 2));
  EXPECT_FALSE(log.IsUpToDate(5, 1));
  EXPECT_FALSE(log.IsUpToDate(1, 2));
}

TEST(RaftLogTest, CompactionKeepsTheTermOfTheSnapshotPoint) {
  RaftLog log(0, 0, {E(1, 1), E(2, 2), E(3, 3)});
  log.Compact(2);
  EXPECT_EQ(log.first_index(), 3u);
  EXPECT_EQ(*log.Term(2), 2u);
  EXPECT_FALSE(log.Term(1).has_value());
  EXPECT_TRUE(log.MatchTerm(2, 2));
}

TEST(RaftLogTest, APersistOfEntriesReplacedMeanwhileDoesNotCount) {
  RaftLog log;
  log.Append(E(1, 1));
  log.Append(E(2, 1));
  std::vector<Entry> out;
  log.TakeUnpersisted(&out);
  ASSERT_EQ(out.size(), 2u);
  log.AppendMatching({E(2, 2)});  // index 2 replaced before its persist finished
  log.MarkPersisted(2);
  EXPECT_EQ(log.persisted_index(), 1u);
  out.clear();
  log.TakeUnpersisted(&out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].term, 2u);
  log.MarkPersisted(2);
  EXPECT_EQ(log.persisted_index(), 2u);
}

TEST(RaftLogTest, SliceHonoursItsLimitsButAlwaysReturnsOneEntry) {
  RaftLog log(0, 0, {E(1, 1), E(2, 1), E(3, 1)});
  std::vector<Entry> out;
  log.Slice(1, 4, 2, 1 << 20, &out);
  EXPECT_EQ(out.size(), 2u);
  out.clear();
  log.Slice(1, 4, 10, 0, &out);
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace sprawl::replication
