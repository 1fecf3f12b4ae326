#include "core/broker/batch_slicer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace sprawl::broker {
namespace {

storage::StoredBatch MakeBatch(uint64_t base, int records, storage::Compression compression) {
  storage::RecordBatchBuilder builder(compression);
  std::vector<std::string> values;
  for (int i = 0; i < records; ++i) values.push_back("value-" + std::to_string(base + i));
  for (int i = 0; i < records; ++i) {
    builder.Add(storage::RecordInput{std::nullopt, values[i], {{"h", values[i]}}, 1000 + i});
  }
  std::string bytes = builder.Build().value();
  storage::StampBatch(&bytes, base, 1);
  return storage::StoredBatch{std::make_shared<const std::string>(std::move(bytes)), base,
                              base + records - 1};
}

// (offset, value, header value) of every record in every batch of a slice.
std::vector<std::string> Records(const Slice& slice) {
  std::vector<std::string> out;
  for (const auto& b : slice.batches) {
    auto view = storage::RecordBatchView::Parse(*b);
    EXPECT_TRUE(view.ok()) << "a sliced batch carries a valid checksum";
    auto records = view->Records();
    storage::RecordView r;
    while (records->Next(&r)) {
      out.push_back(std::to_string(r.offset) + ":" + std::string(r.value) + ":" +
                    std::string(r.Headers().at(0).value));
    }
  }
  return out;
}

std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t o = from; o < to; ++o) out.push_back(o);
  return out;
}

class BatchSlicerTest : public ::testing::TestWithParam<storage::Compression> {};

TEST_P(BatchSlicerTest, AWholeBatchIsSentUnchanged) {
  auto stored = MakeBatch(100, 10, GetParam());
  auto slice = SliceBatch(stored, Range(100, 110), 0, 0);
  ASSERT_TRUE(slice.ok());
  ASSERT_EQ(slice->batches.size(), 1u);
  EXPECT_EQ(slice->batches[0], stored.bytes) << "the stored bytes themselves, not a copy";
}

TEST_P(BatchSlicerTest, ConsecutiveSlicesWithAResumeCacheMatchFreshOnes) {
  auto stored = MakeBatch(100, 50, GetParam());
  SliceResumeCache cache;
  const std::vector<std::vector<uint64_t>> pushes = {
      Range(100, 117), Range(117, 130), {130, 131, 140, 141}, Range(142, 149)};
  for (const auto& offsets : pushes) {
    auto resumed = SliceBatch(stored, offsets, 0, 0, &cache);
    auto fresh = SliceBatch(stored, offsets, 0, 0);
    ASSERT_TRUE(resumed.ok() && fresh.ok());
    EXPECT_EQ(Records(*resumed), Records(*fresh));
    EXPECT_EQ(Records(*resumed).size(), offsets.size());
  }
  EXPECT_EQ(cache.size(), 1u) << "one position kept for the batch";
  // A redelivery behind the kept position starts from the head again.
  auto again = SliceBatch(stored, {101, 102}, 0, 0, &cache);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Records(*again),
            (std::vector<std::string>{"101:value-101:value-101", "102:value-102:value-102"}));
  auto last = SliceBatch(stored, {149}, 0, 0, &cache);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(Records(*last), (std::vector<std::string>{"149:value-149:value-149"}));
}

TEST_P(BatchSlicerTest, GapsSplitIntoRunsAndExpiredRecordsAreLeftOut) {
  auto stored = MakeBatch(0, 10, GetParam());
  auto slice = SliceBatch(stored, {1, 2, 5, 6, 7}, 0, 0);
  ASSERT_TRUE(slice.ok());
  EXPECT_EQ(slice->batches.size(), 2u) << "runs 1-2 and 5-7";
  // Timestamps are 1000 + i: with a TTL of 5 ms at 1010, records 0-4 expired.
  auto ttl = SliceBatch(stored, {3, 4, 5, 6}, 5, 1010);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->expired, (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(Records(*ttl), (std::vector<std::string>{"5:value-5:value-5", "6:value-6:value-6"}));
}

INSTANTIATE_TEST_SUITE_P(Compressions, BatchSlicerTest,
                         ::testing::Values(storage::Compression::kNone, storage::Compression::kLz4,
                                           storage::Compression::kZstd));

}  // namespace
}  // namespace sprawl::broker
