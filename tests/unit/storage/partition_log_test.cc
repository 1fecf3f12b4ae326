// Behaviour every partition log shares, run against memory and disk storage.
#include "core/storage/partition_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/storage/store.h"
#include "storage_test_util.h"

namespace sprawl::storage {
namespace {

using testing::MakeBatch;
using testing::ReadValues;
using testing::TempDir;

class PartitionLogTest : public ::testing::TestWithParam<StorageMode> {
 protected:
  void SetUp() override {
    options_.mode = GetParam();
    options_.data_dir = dir_.Sub("data");
    options_.segment_bytes = 4096;
    options_.memory_tier_bytes_per_partition = 1 << 16;
    Open();
  }

  void Open() {
    auto store = Store::Open(options_, registry_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto log = store_->OpenPartition({"orders", 0});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = *log;
  }

  AppendInfo Append(int count, const std::string& prefix, uint64_t term = 1,
                    int64_t first_ts = 1000) {
    auto info = log_->Append(MakeBatch(count, prefix, first_ts), term);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? *info : AppendInfo{};
  }

  TempDir dir_;
  StoreOptions options_;
  metrics::Registry registry_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  PartitionLog* log_ = nullptr;
};

TEST_P(PartitionLogTest, AppendAssignsConsecutiveOffsets) {
  EXPECT_EQ(log_->FirstOffset(), 0u);
  EXPECT_EQ(log_->NextOffset(), 0u);
  const AppendInfo a = Append(3, "a");
  const AppendInfo b = Append(2, "b");
  EXPECT_EQ(a.base_offset, 0u);
  EXPECT_EQ(a.last_offset, 2u);
  EXPECT_EQ(b.base_offset, 3u);
  EXPECT_EQ(b.last_offset, 4u);
  EXPECT_EQ(log_->NextOffset(), 5u);
  EXPECT_EQ(ReadValues(*log_, 0), (std::vector<std::string>{"a-0", "a-1", "a-2", "b-0", "b-1"}));
  EXPECT_EQ(ReadValues(*log_, 4), (std::vector<std::string>{"b-1"}));
}

TEST_P(PartitionLogTest, ReadsRespectLimits) {
  for (int i = 0; i < 10; ++i) Append(10, "x" + std::to_string(i));
  ReadLimits limits;
  limits.max_records = 15;
  auto r = log_->Read(0, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->batches.size(), 2u);  // whole batches, stopping once the limit is reached
  EXPECT_EQ(r->next_offset, 20u);

  limits = ReadLimits();
  limits.max_bytes = 1;  // always at least one batch
  r = log_->Read(55, limits);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->batches.size(), 1u);
  EXPECT_EQ(r->batches[0].base_offset, 50u);
  EXPECT_EQ(r->next_offset, 60u);

  limits = ReadLimits();
  limits.end_offset = 30;  // e.g. the commit index
  r = log_->Read(0, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->next_offset, 30u);
}

TEST_P(PartitionLogTest, OutOfRangeReadsAreClearErrors) {
  Append(5, "a");
  auto beyond = log_->Read(6, {});
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.status().code(), ErrorCode::kOffsetOutOfRange);
  EXPECT_NE(beyond.status().message().find("beyond the end"), std::string::npos);
  auto at_end = log_->Read(5, {});
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->batches.empty());
  EXPECT_EQ(at_end->next_offset, 5u);
}

TEST_P(PartitionLogTest, InvalidBatchesAreRejectedAndChangeNothing) {
  Append(2, "a");
  std::string corrupt = MakeBatch(3, "c");
  corrupt[corrupt.size() - 1] ^= 0x40;
  auto r = log_->Append(corrupt, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kDataCorruption);
  auto empty = log_->Append("", 1);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(log_->NextOffset(), 2u);
  EXPECT_EQ(ReadValues(*log_, 0), (std::vector<std::string>{"a-0", "a-1"}));
}

TEST_P(PartitionLogTest, TermsNeverGoBackwards) {
  Append(1, "a", 5);
  auto r = log_->Append(MakeBatch(1, "b"), 4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  Append(1, "c", 6);
  EXPECT_EQ(*log_->TermAt(0), 5u);
  EXPECT_EQ(*log_->TermAt(1), 6u);
  EXPECT_EQ(log_->TermAt(2).status().code(), ErrorCode::kOffsetOutOfRange);
}

TEST_P(PartitionLogTest, TruncateSuffixRemovesUncommittedBatches) {
  Append(3, "a", 1);
  Append(3, "b", 2);
  Append(3, "c", 2);
  ASSERT_TRUE(log_->SetCommitIndex(3).ok());
  EXPECT_EQ(log_->TruncateSuffix(1).code(), ErrorCode::kInvalidArgument);  // committed
  EXPECT_EQ(log_->TruncateSuffix(4).code(), ErrorCode::kInvalidArgument);  // inside a batch
  ASSERT_TRUE(log_->TruncateSuffix(3).ok());
  EXPECT_EQ(log_->NextOffset(), 3u);
  EXPECT_EQ(ReadValues(*log_, 0), (std::vector<std::string>{"a-0", "a-1", "a-2"}));
  // After truncation the log accepts the new leader's entries at the same offsets.
  const AppendInfo d = Append(2, "d", 3);
  EXPECT_EQ(d.base_offset, 3u);
  EXPECT_EQ(*log_->TermAt(3), 3u);
  EXPECT_EQ(ReadValues(*log_, 0), (std::vector<std::string>{"a-0", "a-1", "a-2", "d-0", "d-1"}));
}

TEST_P(PartitionLogTest, TruncateToStartEmptiesTheLog) {
  Append(3, "a", 4);
  ASSERT_TRUE(log_->TruncateSuffix(0).ok());
  EXPECT_EQ(log_->NextOffset(), 0u);
  // The log's last term goes back with it: a lower term may now append.
  EXPECT_EQ(Append(1, "b", 1).base_offset, 0u);
}

TEST_P(PartitionLogTest, CommitIndexOnlyMovesForwardWithinTheLog) {
  Append(5, "a");
  EXPECT_EQ(log_->SetCommitIndex(6).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(log_->SetCommitIndex(4).ok());
  EXPECT_EQ(log_->SetCommitIndex(3).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(log_->CommitIndex(), 4u);
}

TEST_P(PartitionLogTest, OffsetForTimestampFindsTheFirstRecordAtOrAfter) {
  Append(10, "a", 1, 1000);  // ts 1000..1009
  Append(10, "b", 1, 2000);  // ts 2000..2009
  Append(10, "c", 1, 3000);
  EXPECT_EQ(*log_->OffsetForTimestamp(0), 0u);
  EXPECT_EQ(*log_->OffsetForTimestamp(1005), 5u);
  EXPECT_EQ(*log_->OffsetForTimestamp(1500), 10u);
  EXPECT_EQ(*log_->OffsetForTimestamp(3009), 29u);
  EXPECT_EQ(*log_->OffsetForTimestamp(5000), 30u);  // none: the next offset
}

TEST_P(PartitionLogTest, OffsetForTimestampHandlesUnorderedTimestamps) {
  RecordBatchBuilder builder;
  builder.Add(std::nullopt, "late", 5000);
  builder.Add(std::nullopt, "early", 100);
  builder.Add(std::nullopt, "mid", 3000);
  ASSERT_TRUE(log_->Append(*builder.Build(), 1).ok());
  EXPECT_EQ(*log_->OffsetForTimestamp(200), 0u);
  EXPECT_EQ(*log_->OffsetForTimestamp(5000), 0u);
  EXPECT_EQ(*log_->OffsetForTimestamp(5001), 3u);
}

TEST_P(PartitionLogTest, SnapshotsSaveAndInstall) {
  Append(10, "a", 2);
  EXPECT_EQ(log_->SaveSnapshot({9, 2, "state"}).code(),
            ErrorCode::kInvalidArgument);  // uncommitted
  ASSERT_TRUE(log_->SetCommitIndex(10).ok());
  ASSERT_TRUE(log_->SaveSnapshot({9, 2, "state"}).ok());
  auto loaded = log_->LoadSnapshot();
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->data, "state");

  ASSERT_TRUE(log_->InstallSnapshot({499, 7, "leader-state"}).ok());
  EXPECT_EQ(log_->FirstOffset(), 500u);
  EXPECT_EQ(log_->NextOffset(), 500u);
  EXPECT_EQ(log_->CommitIndex(), 500u);
  EXPECT_EQ(*log_->TermAt(499), 7u);
  EXPECT_EQ(log_->Read(10, {}).status().code(), ErrorCode::kOffsetOutOfRange);
  EXPECT_EQ(Append(2, "b", 7).base_offset, 500u);
  EXPECT_EQ(ReadValues(*log_, 500), (std::vector<std::string>{"b-0", "b-1"}));
}

TEST_P(PartitionLogTest, RetentionByBytesDropsOldestCommittedData) {
  for (int i = 0; i < 40; ++i) Append(10, "r" + std::to_string(i));
  const uint64_t before = log_->Stats().memory_bytes + log_->Stats().disk_bytes;
  ASSERT_GT(before, 0u);
  RetentionPolicy policy;
  policy.max_bytes = 2000;  // on disk: the first 4 KiB segment goes, the active one stays
  // Nothing is committed yet, so nothing may go.
  auto outcome = log_->ApplyRetention(policy, clock_.WallMillis());
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->records_deleted, 0u);

  ASSERT_TRUE(log_->SetCommitIndex(log_->NextOffset()).ok());
  outcome = log_->ApplyRetention(policy, clock_.WallMillis());
  ASSERT_TRUE(outcome.ok());
  EXPECT_GT(outcome->records_deleted, 0u);
  EXPECT_EQ(log_->FirstOffset(), outcome->records_deleted);
  EXPECT_EQ(log_->Read(0, {}).status().code(), ErrorCode::kOffsetOutOfRange);
  // What is left reads back intact and ends where it did.
  const auto values = ReadValues(*log_, log_->FirstOffset());
  EXPECT_EQ(values.size(), 400u - outcome->records_deleted);
  EXPECT_EQ(values.back(), "r39-9");
  // The term of the last removed entry is still known (Raft's prev check).
  EXPECT_EQ(*log_->TermAt(log_->FirstOffset() - 1), 1u);
}

TEST_P(PartitionLogTest, RetentionByAgeDropsExpiredData) {
  // 400 records overflow one 4 KiB segment, so the newer batch starts a new
  // one: on disk, retention removes whole segments.
  Append(400, "old", 1, clock_.WallMillis() - 100'000);
  Append(10, "new", 1, clock_.WallMillis());
  ASSERT_TRUE(log_->SetCommitIndex(410).ok());
  RetentionPolicy policy;
  policy.max_age_ms = 60'000;
  ASSERT_TRUE(store_->SetRetention({"orders", 0}, policy).ok());
  auto outcome = store_->ApplyRetention();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->records_deleted, 400u);
  EXPECT_EQ(ReadValues(*log_, log_->FirstOffset()).front(), "new-0");
  clock_.Advance(std::chrono::minutes(2));
  outcome = store_->ApplyRetention();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->records_deleted, 10u);
  EXPECT_EQ(log_->FirstOffset(), 410u);
  EXPECT_EQ(Append(1, "after", 1, clock_.WallMillis()).base_offset, 410u);
}

TEST_P(PartitionLogTest, ConcurrentAppendersAndReadersSeeAConsistentLog) {
  constexpr int kThreads = 4;
  constexpr int kBatches = 200;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      const uint64_t next = log_->NextOffset();
      if (next == 0) continue;
      auto r = log_->Read(log_->FirstOffset(), {});
      // Memory mode may drop the oldest batches between the two calls.
      if (!r.ok() && r.status().code() == ErrorCode::kOffsetOutOfRange) continue;
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      uint64_t expect = r->batches.empty() ? 0 : r->batches.front().base_offset;
      for (const auto& b : r->batches) {
        ASSERT_EQ(b.base_offset, expect);
        expect = b.last_offset + 1;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        ASSERT_TRUE(log_->Append(MakeBatch(5, "t" + std::to_string(t)), 1).ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  EXPECT_EQ(log_->NextOffset(), uint64_t{kThreads} * kBatches * 5);
  // Memory mode keeps only what fits its bound; disk keeps everything.
  if (GetParam() == StorageMode::kDisk) {
    EXPECT_EQ(log_->FirstOffset(), 0u);
  }
  EXPECT_GT(log_->NextOffset() - log_->FirstOffset(), 1000u);
  EXPECT_EQ(ReadValues(*log_, log_->FirstOffset()).size(),
            log_->NextOffset() - log_->FirstOffset());
}

TEST_P(PartitionLogTest, CompressedBatchesAreStoredAsSent) {
  const std::string batch = MakeBatch(50, "z", 1000, Compression::kZstd);
  auto info = log_->Append(batch, 1);
  ASSERT_TRUE(info.ok());
  auto r = log_->Read(0, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->batches.size(), 1u);
  EXPECT_EQ(r->batches[0].bytes->size(), batch.size());
  EXPECT_EQ(ReadValues(*log_, 0).size(), 50u);
}

INSTANTIATE_TEST_SUITE_P(BothModes, PartitionLogTest,
                         ::testing::Values(StorageMode::kMemory, StorageMode::kDisk),
                         [](const auto& info) {
                           return info.param == StorageMode::kMemory ? "Memory" : "Disk";
                         });

}  // namespace
}  // namespace sprawl::storage
