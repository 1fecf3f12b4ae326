#include "core/broker/producer_table.h"

#include <gtest/gtest.h>

#include "core/storage/producer_identity.h"

namespace sprawl::broker {
namespace {

TEST(ProducerTableTest, FirstBatchOfAnUnknownProducerIsAppended) {
  ProducerTable table;
  EXPECT_EQ(table.Check(7, 0, 10).verdict, SequenceVerdict::kAppend);
  EXPECT_EQ(table.Check(7, 500, 10).verdict, SequenceVerdict::kAppend);
}

TEST(ProducerTableTest, NextSequenceIsAppendedAndRetriesAreDuplicatesWithOriginalOffsets) {
  ProducerTable table;
  table.Record(7, 0, 10, 100, 109);
  table.Record(7, 10, 5, 200, 204);
  EXPECT_EQ(table.Check(7, 15, 3).verdict, SequenceVerdict::kAppend);

  const SequenceCheck retry = table.Check(7, 10, 5);
  EXPECT_EQ(retry.verdict, SequenceVerdict::kDuplicate);
  ASSERT_TRUE(retry.base_offset.has_value());
  EXPECT_EQ(*retry.base_offset, 200u);
  EXPECT_EQ(*retry.last_offset, 204u);

  const SequenceCheck older = table.Check(7, 0, 10);
  EXPECT_EQ(older.verdict, SequenceVerdict::kDuplicate);
  EXPECT_EQ(*older.base_offset, 100u);
}

TEST(ProducerTableTest, ANamedProducersOlderEpochIsFencedAndANewerOneStartsAfresh) {
  ProducerTable table;
  const uint64_t family = storage::NamedProducerFamily("billing");
  const uint64_t zombie = family | 1;  // the first id of the instance of epoch 1
  table.Record(zombie, 0, 10, 0, 9, /*epoch=*/1);
  EXPECT_EQ(table.Check(zombie, 10, 1, 1).verdict, SequenceVerdict::kAppend);

  // The next instance reuses the same id (its counter starts over) under
  // epoch 2, from sequence 0: a new session, not a duplicate.
  EXPECT_EQ(table.Check(zombie, 0, 5, 2).verdict, SequenceVerdict::kAppend);
  table.Record(zombie, 0, 5, 10, 14, 2);
  EXPECT_EQ(table.Check(zombie, 5, 1, 2).verdict, SequenceVerdict::kAppend);

  // Every id of the family under epoch 1 is fenced now, known or not.
  for (uint64_t id : {zombie, family | 7}) {
    const SequenceCheck old = table.Check(id, 10, 1, 1);
    EXPECT_EQ(old.verdict, SequenceVerdict::kFenced);
    EXPECT_EQ(old.latest_epoch, 2);
  }
  // Another family, and anonymous producers, are not touched.
  EXPECT_EQ(table.Check(storage::NamedProducerFamily("audit") | 1, 0, 1, 1).verdict,
            SequenceVerdict::kAppend);
  EXPECT_EQ(table.Check(storage::AnonymousProducerId(family), 0, 1).verdict,
            SequenceVerdict::kAppend);
}

TEST(ProducerTableTest, AProposedBatchOfANewEpochFencesBeforeItCommits) {
  ProducerTable table;
  const uint64_t id = storage::NamedProducerFamily("billing") | 1;
  table.Propose(id, 0, 3, 0, 2, 4);
  EXPECT_EQ(table.Check(id, 0, 3, 3).verdict, SequenceVerdict::kFenced);
  EXPECT_EQ(table.Check(id, 0, 3, 4).verdict, SequenceVerdict::kInFlight);
}

TEST(ProducerTableTest, AGapIsOutOfOrderAndNamesTheExpectedSequence) {
  ProducerTable table;
  table.Record(7, 0, 10, 0, 9);
  const SequenceCheck gap = table.Check(7, 11, 1);
  EXPECT_EQ(gap.verdict, SequenceVerdict::kOutOfOrder);
  EXPECT_EQ(gap.expected_sequence, 10u);
}

TEST(ProducerTableTest, DuplicatesOlderThanTheRememberedBatchesHaveNoOffsets) {
  ProducerTable table;
  for (uint32_t i = 0; i < ProducerTable::kRecentBatches + 3; ++i) table.Record(1, i, 1, i, i);
  const SequenceCheck old = table.Check(1, 0, 1);
  EXPECT_EQ(old.verdict, SequenceVerdict::kDuplicate);
  EXPECT_FALSE(old.base_offset.has_value());
}

TEST(ProducerTableTest, ForgetsTheLeastRecentlySeenProducerWhenFull) {
  ProducerTable table(2);
  table.Record(1, 0, 1, 0, 0);
  table.Record(2, 0, 1, 1, 1);
  table.Record(1, 1, 1, 2, 2);  // producer 1 is now the most recent
  table.Record(3, 0, 1, 3, 3);  // evicts producer 2
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.Check(2, 5, 1).verdict, SequenceVerdict::kAppend);     // forgotten
  EXPECT_EQ(table.Check(1, 0, 1).verdict, SequenceVerdict::kDuplicate);  // remembered
}

TEST(ProducerTableTest, ProducersAreIndependent) {
  ProducerTable table;
  table.Record(1, 0, 10, 0, 9);
  table.Record(2, 0, 10, 10, 19);
  EXPECT_EQ(table.Check(1, 10, 1).verdict, SequenceVerdict::kAppend);
  EXPECT_EQ(table.Check(2, 10, 1).verdict, SequenceVerdict::kAppend);
  EXPECT_EQ(table.Check(2, 0, 10).base_offset.value_or(0), 10u);
}

TEST(ProducerTableTest, AProposedBatchCountsOnlyOnceCommitted) {
  ProducerTable table;
  table.Record(7, 0, 2, 0, 1);
  table.Propose(7, 2, 3, 2, 4);
  // The next batch follows the proposed one; its retry waits for it.
  EXPECT_EQ(table.Check(7, 5, 1).verdict, SequenceVerdict::kAppend);
  const SequenceCheck retry = table.Check(7, 2, 3);
  EXPECT_EQ(retry.verdict, SequenceVerdict::kInFlight);
  EXPECT_EQ(retry.base_offset.value_or(0), 2u);
  EXPECT_EQ(retry.last_offset.value_or(0), 4u);
  table.Commit(4);  // offset 4 is not committed yet
  EXPECT_EQ(table.Check(7, 2, 3).verdict, SequenceVerdict::kInFlight);
  table.Commit(5);
  EXPECT_EQ(table.in_flight(), 0u);
  const SequenceCheck committed = table.Check(7, 2, 3);
  EXPECT_EQ(committed.verdict, SequenceVerdict::kDuplicate);
  EXPECT_EQ(committed.base_offset.value_or(0), 2u);
}

TEST(ProducerTableTest, AnAbortedBatchLeavesNoTrace) {
  ProducerTable table;
  table.Record(7, 0, 2, 0, 1);
  table.Propose(7, 2, 3, 2, 4);
  table.Abort(2);
  EXPECT_EQ(table.in_flight(), 0u);
  const SequenceCheck retry = table.Check(7, 2, 3);
  EXPECT_EQ(retry.verdict, SequenceVerdict::kAppend) << "the retry of a failed batch is appended";
  EXPECT_EQ(table.Check(7, 5, 1).verdict, SequenceVerdict::kOutOfOrder);
  table.Commit(100);  // nothing was committed for the aborted batch
  EXPECT_EQ(table.Check(7, 2, 3).verdict, SequenceVerdict::kAppend);
}

TEST(ProducerTableTest, AProducerWithBatchesInFlightIsNotForgotten) {
  ProducerTable table(1);
  table.Propose(1, 0, 1, 0, 0);
  table.Record(2, 0, 1, 1, 1);
  EXPECT_EQ(table.Check(1, 0, 1).verdict, SequenceVerdict::kInFlight);
}

}  // namespace
}  // namespace sprawl::broker
