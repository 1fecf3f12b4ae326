// Which tier serves what, and what the memory bound and retention task drop.
#include <gtest/gtest.h>

#include <thread>

#include "core/storage/retention_task.h"
#include "core/storage/store.h"
#include "storage_test_util.h"

namespace sprawl::storage {
namespace {

using testing::MakeBatch;
using testing::ReadValues;
using testing::TempDir;

class TieringTest : public ::testing::Test {
 protected:
  StoreOptions Options(StorageMode mode) const {
    StoreOptions o;
    o.mode = mode;
    o.data_dir = dir_.Sub("data");
    o.memory_tier_bytes_per_partition = 64 * 1024;  // the smallest bound allowed
    o.segment_bytes = 16 * 1024;
    return o;
  }

  TempDir dir_;
  metrics::Registry registry_;
};

TEST_F(TieringTest, TailIsServedFromMemoryAndOlderDataFromDisk) {
  auto store = *Store::Open(Options(StorageMode::kDisk), registry_);
  auto* log = *store->OpenPartition({"tiers", 0});
  // ~1 KiB batches: 200 of them overflow the 64 KiB memory tier.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(log->Append(MakeBatch(60, "b" + std::to_string(i)), 1).ok());
  }
  ASSERT_TRUE(log->Flush().ok());
  // One more append evicts what has been written beyond the bound.
  ASSERT_TRUE(log->Append(MakeBatch(60, "last"), 1).ok());
  const PartitionStats stats = log->Stats();
  EXPECT_LE(stats.memory_bytes, 64u * 1024 + 2048);
  EXPECT_GT(stats.memory_batches, 0u);
  EXPECT_EQ(stats.first_offset, 0u);

  auto tail = log->Read(log->NextOffset() - 1, {});
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->tier, Tier::kMemory);
  auto head = log->Read(0, {});
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->tier, Tier::kDisk);
  // Both tiers together hold the whole log, seamlessly.
  const auto values = ReadValues(*log, 0);
  ASSERT_EQ(values.size(), 201u * 60);
  EXPECT_EQ(values.front(), "b0-0");
  EXPECT_EQ(values.back(), "last-59");
  const std::string text = registry_.RenderPrometheus();
  EXPECT_NE(text.find("sprawl_storage_read_records_total{tier=\"disk\"}"), std::string::npos);
  EXPECT_NE(text.find("sprawl_storage_read_records_total{tier=\"memory\"}"), std::string::npos);
}

TEST_F(TieringTest, AfterReopenEverythingIsServedFromDisk) {
  {
    auto store = *Store::Open(Options(StorageMode::kDisk), registry_);
    auto* log = *store->OpenPartition({"tiers", 0});
    ASSERT_TRUE(log->Append(MakeBatch(5, "x"), 1).ok());
  }
  auto store = *Store::Open(Options(StorageMode::kDisk), registry_);
  auto* log = *store->GetPartition({"tiers", 0});
  auto r = log->Read(0, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tier, Tier::kDisk);
  // New appends land in memory again.
  ASSERT_TRUE(log->Append(MakeBatch(5, "y"), 1).ok());
  EXPECT_EQ(log->Read(5, {})->tier, Tier::kMemory);
}

TEST_F(TieringTest, MemoryModeDropsTheOldestBeyondItsBoundAndCountsThem) {
  auto store = *Store::Open(Options(StorageMode::kMemory), registry_);
  auto* log = *store->OpenPartition({"mem", 0});
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(log->Append(MakeBatch(60, "b" + std::to_string(i)), 1).ok());
  }
  const PartitionStats stats = log->Stats();
  EXPECT_GT(stats.first_offset, 0u);
  EXPECT_LE(stats.memory_bytes, 64u * 1024);
  EXPECT_EQ(log->Read(0, {}).status().code(), ErrorCode::kOffsetOutOfRange);
  const auto values = ReadValues(*log, log->FirstOffset());
  EXPECT_EQ(values.size(), log->NextOffset() - log->FirstOffset());
  EXPECT_EQ(values.back(), "b199-59");
  EXPECT_EQ(testing::MetricValue(registry_, "sprawl_storage_memory_dropped_records_total"),
            stats.first_offset);
}

TEST_F(TieringTest, RetentionTaskAppliesPoliciesInTheBackground) {
  auto store = *Store::Open(Options(StorageMode::kDisk), registry_);
  auto* log = *store->OpenPartition({"kept", 0});
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->Append(MakeBatch(60, "r"), 1).ok());
  ASSERT_TRUE(log->SetCommitIndex(log->NextOffset()).ok());
  RetentionPolicy policy;
  policy.max_bytes = 32 * 1024;
  ASSERT_TRUE(store->SetRetention({"kept", 0}, policy).ok());
  EXPECT_EQ(store->SetRetention({"absent", 0}, policy).code(), ErrorCode::kNotFound);
  {
    RetentionTask task(*store, std::chrono::milliseconds(10));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (log->FirstOffset() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  EXPECT_GT(log->FirstOffset(), 0u);
  EXPECT_LE(log->Stats().disk_bytes, 32u * 1024 + 16 * 1024);  // at most one segment over
  EXPECT_EQ(ReadValues(*log, log->FirstOffset()).size(), log->NextOffset() - log->FirstOffset());
}

}  // namespace
}  // namespace sprawl::storage

namespace sprawl::storage {
namespace {

// Regression: a disk read that stopped at a batch crossing its end offset
// reported the offset as no longer retained, which broke TermAt and
// TruncateSuffix for multi-record batches that lived only on disk.
TEST_F(TieringTest, TermAtAndTruncateWorkOnMultiRecordBatchesOnlyOnDisk) {
  auto store = *Store::Open(Options(StorageMode::kDisk), registry_);
  auto* log = *store->OpenPartition({"tiers", 0});
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(log->Append(MakeBatch(60, "b" + std::to_string(i)), 1 + i / 100).ok());
  }
  ASSERT_TRUE(log->Flush().ok());
  ASSERT_TRUE(log->Append(MakeBatch(60, "evict"), 2).ok());
  ASSERT_EQ(log->Read(0, {})->tier, Tier::kDisk);

  auto term = log->TermAt(5);
  ASSERT_TRUE(term.ok()) << term.status().ToString();
  EXPECT_EQ(*term, 1u);
  ReadLimits limits;
  limits.end_offset = 15;  // inside the first batch
  auto r = log->Read(10, limits);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->batches.empty());
  EXPECT_EQ(log->TruncateSuffix(125).code(), ErrorCode::kInvalidArgument);  // mid-batch
  ASSERT_TRUE(log->TruncateSuffix(120).ok());
  EXPECT_EQ(log->NextOffset(), 120u);
  EXPECT_EQ(testing::ReadValues(*log, 0).size(), 120u);
}

}  // namespace
}  // namespace sprawl::storage
