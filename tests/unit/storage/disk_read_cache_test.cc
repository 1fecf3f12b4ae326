// Disk reads read ahead and keep what they read for the reads that follow
// (core/storage/disk_read_cache.h); what they keep never outlives a change of
// the log at those offsets.
#include "core/storage/disk_read_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/storage/store.h"
#include "storage_test_util.h"

namespace sprawl::storage {
namespace {

using testing::MakeBatch;
using testing::MetricValue;
using testing::ReadValues;
using testing::TempDir;

StoredBatch Batch(uint64_t base, uint64_t last, size_t bytes = 100) {
  return {std::make_shared<const std::string>(bytes, 'x'), base, last};
}

// A memory budget and the gauges it shows, for caches built alone.
struct Budget {
  explicit Budget(uint64_t limit) : budget(limit, bytes, limit_gauge) {}
  metrics::Registry registry;
  metrics::Gauge& bytes = registry.GetGauge("budget_bytes", "");
  metrics::Gauge& limit_gauge = registry.GetGauge("budget_limit", "");
  metrics::Gauge& read_ahead = registry.GetGauge("read_ahead", "");
  MemoryBudget budget;
};

TEST(DiskReadCacheTest, ServesFromTheBatchHoldingTheOffsetWithinTheLimits) {
  Budget budget(1 << 20);
  DiskReadCache cache(budget.budget, budget.read_ahead);
  cache.Fill({Batch(10, 19), Batch(20, 29), Batch(30, 39)}, cache.generation());
  EXPECT_FALSE(cache.Serve(9, 100, {}).has_value());
  EXPECT_FALSE(cache.Serve(40, 100, {}).has_value());

  // The cache ends before the limits: RocksDB may hold more, so it is a miss.
  EXPECT_FALSE(cache.Serve(25, 100, {}).has_value());
  auto all = cache.Serve(25, 40, {});
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->batches.size(), 2u);
  EXPECT_EQ(all->batches[0].base_offset, 20u);
  EXPECT_EQ(all->next_offset, 40u);
  EXPECT_EQ(all->tier, Tier::kDisk);

  ReadLimits one;
  one.max_records = 1;
  auto first = cache.Serve(15, 100, one);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->batches.size(), 1u);
  EXPECT_EQ(first->next_offset, 20u);

  // end_offset: batches reaching it are not returned; none left is a miss.
  auto bounded = cache.Serve(10, 30, {});
  ASSERT_TRUE(bounded.has_value());
  EXPECT_EQ(bounded->batches.size(), 2u);
  EXPECT_FALSE(cache.Serve(10, 15, {}).has_value());
}

TEST(DiskReadCacheTest, AFillFromBeforeAnInvalidateIsDropped) {
  Budget budget(1 << 20);
  DiskReadCache cache(budget.budget, budget.read_ahead);
  const uint64_t before = cache.generation();
  cache.Invalidate();
  cache.Fill({Batch(0, 9)}, before);
  EXPECT_FALSE(cache.Serve(0, 10, {}).has_value());
  cache.Fill({Batch(0, 9)}, cache.generation());
  EXPECT_TRUE(cache.Serve(0, 10, {}).has_value());
  cache.Invalidate();
  EXPECT_FALSE(cache.Serve(0, 10, {}).has_value());
}

TEST(DiskReadCacheTest, FillsAreChargedToTheBudgetAndTheOldestGoesWhenItIsFull) {
  Budget budget(1000);
  DiskReadCache a(budget.budget, budget.read_ahead);
  DiskReadCache b(budget.budget, budget.read_ahead);
  DiskReadCache c(budget.budget, budget.read_ahead);
  a.Fill({Batch(0, 9, 400)}, a.generation());
  b.Fill({Batch(0, 9, 200), Batch(10, 19, 200)}, b.generation());
  EXPECT_EQ(budget.budget.bytes(), 800u);
  EXPECT_EQ(budget.read_ahead.Value(), 800);

  // Over the budget: the oldest fill (a's) is dropped, the newest kept.
  c.Fill({Batch(0, 9, 400)}, c.generation());
  EXPECT_EQ(a.bytes(), 0u);
  EXPECT_FALSE(a.Serve(0, 10, {}).has_value());
  EXPECT_TRUE(b.Serve(0, 20, {}).has_value());
  EXPECT_TRUE(c.Serve(0, 10, {}).has_value());
  EXPECT_EQ(budget.budget.bytes(), 800u);
  EXPECT_EQ(budget.read_ahead.Value(), 800);

  // A refill replaces what the cache held; an invalidation gives it back.
  b.Fill({Batch(20, 29, 100)}, b.generation());
  EXPECT_EQ(budget.budget.bytes(), 500u);
  c.Invalidate();
  EXPECT_EQ(budget.budget.bytes(), 100u);
  EXPECT_EQ(budget.read_ahead.Value(), 100);
}

TEST(DiskReadCacheTest, ADestroyedCacheGivesItsBytesBack) {
  Budget budget(1000);
  {
    DiskReadCache cache(budget.budget, budget.read_ahead);
    cache.Fill({Batch(0, 9, 300)}, cache.generation());
    EXPECT_EQ(budget.budget.bytes(), 300u);
  }
  EXPECT_EQ(budget.budget.bytes(), 0u);
  EXPECT_EQ(budget.read_ahead.Value(), 0);
}

class DiskReadAheadTest : public ::testing::Test {
 protected:
  StoreOptions Options() const {
    StoreOptions o;
    o.data_dir = dir_.Sub("data");
    o.fsync = *FsyncPolicy::Parse("never");
    return o;
  }
  TempDir dir_;
};

// The pattern of a consumer group's pushes: one batch per read, from the disk.
TEST_F(DiskReadAheadTest, BatchAtATimeReadsAfterAReopenReturnTheLogInOrder) {
  std::vector<std::string> expected;
  {
    metrics::Registry registry;
    auto store = Store::Open(Options(), registry);
    ASSERT_TRUE(store.ok());
    auto log = *(*store)->OpenPartition({"t", 0});
    for (int i = 0; i < 300; ++i)
      ASSERT_TRUE(log->Append(MakeBatch(7, "b" + std::to_string(i)), 1).ok());
    expected = ReadValues(*log, 0);
  }
  metrics::Registry registry;
  auto store = Store::Open(Options(), registry);
  ASSERT_TRUE(store.ok());
  auto log = *(*store)->GetPartition({"t", 0});
  ReadLimits one;
  one.max_records = 1;
  uint64_t offset = 0;
  size_t batches = 0;
  while (offset < log->NextOffset()) {
    auto read = log->Read(offset + 3, one);  // inside the batch, like a later slice
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ASSERT_EQ(read->batches.size(), 1u);
    EXPECT_EQ(read->tier, Tier::kDisk);
    EXPECT_EQ(read->batches[0].base_offset, offset);
    offset = read->next_offset;
    ++batches;
  }
  EXPECT_EQ(batches, 300u);
  EXPECT_EQ(MetricValue(registry, "sprawl_storage_read_records_total{tier=\"disk\"}"),
            0u + 300 * 4);
  EXPECT_EQ(ReadValues(*log, 0), expected);
}

TEST_F(DiskReadAheadTest, ReadsAfterATruncationSeeTheNewBatchesNotTheCachedOnes) {
  StoreOptions options = Options();
  options.memory_tier_bytes_per_partition = 64 << 10;  // the smallest allowed
  {
    metrics::Registry registry;
    auto store = Store::Open(options, registry);
    ASSERT_TRUE(store.ok());
    auto log = *(*store)->OpenPartition({"t", 0});
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->Append(MakeBatch(5, "old"), 1).ok());
  }
  metrics::Registry registry;
  auto store = Store::Open(options, registry);
  ASSERT_TRUE(store.ok());
  auto log = *(*store)->GetPartition({"t", 0});
  // Fills the cache with the old batches from 50 on.
  auto before = log->Read(50, {});
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->tier, Tier::kDisk);
  ASSERT_TRUE(log->TruncateSuffix(50).ok());
  // New batches at 50 on, then enough more that the memory tier lets go of
  // them: a read at 50 goes to the disk tier again.
  const std::string big(4096, 'n');
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(MakeBatch(5, "new" + big), 2).ok());
  ASSERT_TRUE(log->Flush().ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(MakeBatch(5, "later" + big), 2).ok());
  auto after = log->Read(50, {});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_EQ(after->tier, Tier::kDisk);
  const std::vector<std::string> values = ReadValues(*log, 50);
  ASSERT_EQ(values.size(), 100u);
  for (size_t i = 0; i < 50; ++i) EXPECT_EQ(values[i].substr(0, 3), "new") << i;
}

// Read-aheads of many partitions stay within the node's memory budget
// instead of keeping about 1 MiB for every partition ever read from disk.
TEST_F(DiskReadAheadTest, ReadAheadsOfManyPartitionsStayWithinTheMemoryBudget) {
  StoreOptions options = Options();
  options.memory_tier_bytes = 1 << 20;  // the smallest allowed
  constexpr int kPartitions = 6;
  const std::string value(8 << 10, 'v');
  {
    metrics::Registry registry;
    auto store = Store::Open(options, registry);
    ASSERT_TRUE(store.ok());
    for (uint32_t p = 0; p < kPartitions; ++p) {
      auto log = *(*store)->OpenPartition({"t", p});
      for (int i = 0; i < 80; ++i) ASSERT_TRUE(log->Append(MakeBatch(1, value), 1).ok());
    }
  }
  metrics::Registry registry;
  auto store = Store::Open(options, registry);
  ASSERT_TRUE(store.ok());
  for (uint32_t p = 0; p < kPartitions; ++p) {
    auto log = *(*store)->GetPartition({"t", p});
    ReadLimits one;
    one.max_records = 1;
    auto read = log->Read(0, one);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ASSERT_EQ(read->tier, Tier::kDisk);
    EXPECT_GE(MetricValue(registry, "sprawl_storage_read_ahead_bytes"), 512u << 10)
        << "partition " << p << ": the read read ahead";
    EXPECT_LE(MetricValue(registry, "sprawl_storage_memory_tier_bytes"), options.memory_tier_bytes)
        << "after reading partition " << p;
  }
  // Every partition still reads back whole, from the disk or what is kept.
  for (uint32_t p = 0; p < kPartitions; ++p) {
    auto log = *(*store)->GetPartition({"t", p});
    EXPECT_EQ(ReadValues(*log, 0).size(), 80u) << p;
  }
}

}  // namespace
}  // namespace sprawl::storage
