// Which tier serves what, and what the memory bounds (the node's budget, a
// partition's cap) and the retention task drop.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "core/storage/retention_task.h"
#include "core/storage/store.h"
#include "storage_test_util.h"
#include "tests/support/fault_injection_fs.h"

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
    o.memory_tier_bytes_per_partition = 64 * 1024;  // the smallest cap allowed
    o.segment_bytes = 16 * 1024;
    return o;
  }

  // The node's budget alone (no cap per partition), at its smallest.
  StoreOptions BudgetOptions(StorageMode mode) const {
    StoreOptions o = Options(mode);
    o.memory_tier_bytes = kBudget;
    o.memory_tier_bytes_per_partition = 0;
    o.fsync = *FsyncPolicy::Parse("never");  // many small appends; durability is not the point
    return o;
  }

  static std::string Prefix(int partition, int batch) {
    return "p" + std::to_string(partition) + "b" + std::to_string(batch);
  }

  // Opens partitions 0 .. n-1 of `topic`.
  static std::vector<PartitionLog*> OpenAll(Store& store, const std::string& topic, int n) {
    std::vector<PartitionLog*> logs;
    for (int p = 0; p < n; ++p) logs.push_back(*store.OpenPartition({topic, uint32_t(p)}));
    return logs;
  }

  static uint64_t HeldByPartitions(const std::vector<PartitionLog*>& logs) {
    uint64_t held = 0;
    for (const PartitionLog* log : logs) held += log->Stats().memory_bytes;
    return held;
  }

  static constexpr uint64_t kBudget = 1 << 20;  // the smallest allowed
  // Batches of an older and a newer partition: the newer alone fits the
  // budget (about 700 KB), both do not (about 1.2 MB).
  static constexpr int kOld = 600, kNew = 800;
  static constexpr int kRecords = 60;  // per batch: about 900 bytes

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

TEST_F(TieringTest, ManyPartitionsWrittenBeyondTheBudgetKeepTheNodeTotalWithinIt) {
  auto store = *Store::Open(BudgetOptions(StorageMode::kDisk), registry_);
  // 40 partitions x 80 batches of about 900 bytes: more than twice the
  // budget, while each partition alone stays far below it.
  constexpr int kPartitions = 40, kBatches = 80;
  const auto logs = OpenAll(*store, "many", kPartitions);
  for (int b = 0; b < kBatches; ++b) {
    for (int p = 0; p < kPartitions; ++p) {
      ASSERT_TRUE(logs[p]->Append(MakeBatch(kRecords, Prefix(p, b)), 1).ok());
      ASSERT_LE(store->memory_tier_bytes(), kBudget) << "after batch " << b << " of " << p;
    }
  }
  ASSERT_GT(testing::MetricValue(registry_, "sprawl_storage_appended_bytes_total"), 2 * kBudget);
  // The node total is what the partitions hold, and /metrics shows it.
  EXPECT_EQ(HeldByPartitions(logs), store->memory_tier_bytes());
  EXPECT_EQ(testing::MetricValue(registry_, "sprawl_storage_memory_tier_bytes"),
            store->memory_tier_bytes());
  EXPECT_EQ(testing::MetricValue(registry_, "sprawl_storage_memory_tier_budget_bytes"), kBudget);
  EXPECT_GT(testing::MetricValue(registry_, "sprawl_storage_memory_evicted_bytes_total"), kBudget);
  EXPECT_EQ(testing::MetricValue(registry_, "sprawl_storage_memory_dropped_records_total"), 0u);

  // Evicted batches are read from RocksDB, and every record is still there.
  EXPECT_EQ(logs[0]->Read(0, {})->tier, Tier::kDisk);
  EXPECT_EQ(logs.back()->Read(logs.back()->NextOffset() - 1, {})->tier, Tier::kMemory);
  for (int p = 0; p < kPartitions; ++p) {
    const auto values = ReadValues(*logs[p], 0);
    ASSERT_EQ(values.size(), size_t(kBatches) * kRecords) << "partition " << p;
    for (int b = 0; b < kBatches; ++b) {
      ASSERT_EQ(values[size_t(b) * kRecords], Prefix(p, b) + "-0");
    }
    EXPECT_EQ(values.back(), Prefix(p, kBatches - 1) + "-" + std::to_string(kRecords - 1));
  }
}

TEST_F(TieringTest, TheNodesOldestBatchesAreEvictedFirstWhicheverPartitionHoldsThem) {
  auto store = *Store::Open(BudgetOptions(StorageMode::kDisk), registry_);
  auto* old_log = *store->OpenPartition({"old", 0});
  auto* new_log = *store->OpenPartition({"new", 0});
  for (int b = 0; b < kOld; ++b) {
    ASSERT_TRUE(old_log->Append(MakeBatch(kRecords, Prefix(0, b)), 1).ok());
  }
  // The newer partition alone fits the budget; together they do not.
  for (int b = 0; b < kNew; ++b) {
    ASSERT_TRUE(new_log->Append(MakeBatch(kRecords, Prefix(1, b)), 1).ok());
  }
  ASSERT_LT(new_log->Stats().memory_bytes, kBudget - kBudget / 16);
  ASSERT_GT(testing::MetricValue(registry_, "sprawl_storage_appended_bytes_total"), kBudget);

  EXPECT_LE(store->memory_tier_bytes(), kBudget);
  // Not one batch of the newer partition went, although it is the one that
  // was appended to: the older partition paid.
  EXPECT_EQ(new_log->Stats().memory_batches, uint64_t(kNew));
  const PartitionStats old_stats = old_log->Stats();
  EXPECT_LT(old_stats.memory_batches, uint64_t(kOld));
  EXPECT_GT(old_stats.memory_batches, 0u);
  EXPECT_EQ(old_log->Read(old_log->NextOffset() - 1, {})->tier, Tier::kMemory);
  // (A disk read's read-ahead is charged to the same budget, so it comes last.)
  EXPECT_EQ(old_log->Read(0, {})->tier, Tier::kDisk);
  EXPECT_EQ(ReadValues(*old_log, 0).size(), size_t(kOld) * kRecords);
}

TEST_F(TieringTest, BatchesWaitingForTheDiskAreNeverEvicted) {
  auto fs = std::make_shared<sprawl::testing::FaultInjectionFs>();
  StoreOptions o = BudgetOptions(StorageMode::kDisk);
  o.fsync = *FsyncPolicy::Parse("always");  // an append is done only once synced
  o.writer_queue_bytes = 8 << 20;           // room for all of them while syncs wait
  o.file_system = fs;
  auto store = *Store::Open(o, registry_);
  constexpr int kPartitions = 8, kBatches = 200;  // about 1.6 MiB: over the budget
  const auto logs = OpenAll(*store, "waiting", kPartitions);

  fs->HoldSyncs();
  std::atomic<int> done{0};
  for (int b = 0; b < kBatches; ++b) {
    for (int p = 0; p < kPartitions; ++p) {
      logs[p]->AppendAsync(MakeBatch(kRecords, Prefix(p, b)), 1, [&](Result<AppendInfo> r) {
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        ++done;
      });
    }
  }
  store->ReclaimMemory();
  EXPECT_EQ(done.load(), 0) << "appends completed while their syncs were held";
  // Over the budget, and all of it kept: these batches are the only copy.
  const uint64_t appended = testing::MetricValue(registry_, "sprawl_storage_appended_bytes_total");
  EXPECT_GT(appended, kBudget);
  EXPECT_EQ(store->memory_tier_bytes(), appended);
  EXPECT_EQ(testing::MetricValue(registry_, "sprawl_storage_memory_evicted_bytes_total"), 0u);
  // EXPECT, not ASSERT, until the syncs are released: the store cannot close
  // while they are held.
  for (int p = 0; p < kPartitions; ++p) {
    const auto values = ReadValues(*logs[p], 0);
    EXPECT_EQ(values.size(), size_t(kBatches) * kRecords);
    if (!values.empty()) {
      EXPECT_EQ(values.back(), Prefix(p, kBatches - 1) + "-" + std::to_string(kRecords - 1));
    }
  }

  fs->ReleaseSyncs();
  ASSERT_TRUE(testing::WaitFor([&] { return done.load() == kPartitions * kBatches; }));
  // Written now: the next pass (an append's or the periodic one) evicts them.
  store->ReclaimMemory();
  EXPECT_LE(store->memory_tier_bytes(), kBudget);
  EXPECT_EQ(HeldByPartitions(logs), store->memory_tier_bytes());
  for (int p = 0; p < kPartitions; ++p) {
    const auto values = ReadValues(*logs[p], 0);
    ASSERT_EQ(values.size(), size_t(kBatches) * kRecords);
    EXPECT_EQ(values.front(), Prefix(p, 0) + "-0");
  }
}

TEST_F(TieringTest, ConcurrentAppendsReadsAndReclaimsKeepTheTotalsExact) {
  auto store = *Store::Open(BudgetOptions(StorageMode::kDisk), registry_);
  constexpr int kThreads = 4, kBatches = 150;
  const auto logs = OpenAll(*store, "busy", kThreads);
  std::atomic<bool> stop{false};
  std::thread reclaimer([&] {
    while (!stop) store->ReclaimMemory();
  });
  std::thread reader([&] {
    while (!stop) {
      for (const PartitionLog* log : logs) {
        if (log->NextOffset() > 0) {
          EXPECT_TRUE(log->Read(0, {}).ok());
        }
      }
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        EXPECT_TRUE(logs[t]->Append(MakeBatch(kRecords, Prefix(t, b)), 1).ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  reclaimer.join();
  reader.join();
  store->ReclaimMemory();
  EXPECT_LE(store->memory_tier_bytes(), kBudget);
  EXPECT_EQ(HeldByPartitions(logs), store->memory_tier_bytes());
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(ReadValues(*logs[t], 0).size(), size_t(kBatches) * kRecords);
  }
}

TEST_F(TieringTest, MemoryModeKeepsTheNodeWithinTheBudgetAndCountsWhatItDrops) {
  auto store = *Store::Open(BudgetOptions(StorageMode::kMemory), registry_);
  constexpr int kPartitions = 40, kBatches = 80;
  const auto logs = OpenAll(*store, "mem", kPartitions);
  for (int b = 0; b < kBatches; ++b) {
    for (int p = 0; p < kPartitions; ++p) {
      ASSERT_TRUE(logs[p]->Append(MakeBatch(kRecords, Prefix(p, b)), 1).ok());
      ASSERT_LE(store->memory_tier_bytes(), kBudget);
    }
  }
  uint64_t dropped = 0;
  uint64_t fewest = UINT64_MAX, most = 0;  // batches dropped per partition
  for (int p = 0; p < kPartitions; ++p) {
    const uint64_t first = logs[p]->FirstOffset();
    dropped += first;
    fewest = std::min(fewest, first / kRecords);
    most = std::max(most, first / kRecords);
    EXPECT_EQ(first % kRecords, 0u) << "whole batches go";
    // What is left is the newest, contiguous, and readable.
    const auto values = ReadValues(*logs[p], first);
    ASSERT_EQ(values.size(), logs[p]->NextOffset() - first);
    EXPECT_EQ(values.front(), Prefix(p, int(first / kRecords)) + "-0");
    EXPECT_EQ(values.back(), Prefix(p, kBatches - 1) + "-" + std::to_string(kRecords - 1));
    EXPECT_GE(logs[p]->CommitIndex(), first);
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(testing::MetricValue(registry_, "sprawl_storage_memory_dropped_records_total"),
            dropped);
  // Appended round robin, dropped oldest first: every partition lost the same
  // rounds, give or take the one in progress.
  EXPECT_LE(most - fewest, 1u);
  EXPECT_EQ(HeldByPartitions(logs), store->memory_tier_bytes());
  EXPECT_EQ(logs[0]->Read(0, {}).status().code(), ErrorCode::kOffsetOutOfRange);
}

TEST_F(TieringTest, MemoryModeDropsTheNodesOldestRecordsNotTheAppendingPartitions) {
  auto store = *Store::Open(BudgetOptions(StorageMode::kMemory), registry_);
  auto* old_log = *store->OpenPartition({"old", 0});
  auto* new_log = *store->OpenPartition({"new", 0});
  for (int b = 0; b < kOld; ++b) {
    ASSERT_TRUE(old_log->Append(MakeBatch(kRecords, Prefix(0, b)), 1).ok());
  }
  const uint64_t old_term_before = *old_log->TermAt(0);
  for (int b = 0; b < kNew; ++b) {
    ASSERT_TRUE(new_log->Append(MakeBatch(kRecords, Prefix(1, b)), 2).ok());
  }
  EXPECT_LE(store->memory_tier_bytes(), kBudget);
  EXPECT_EQ(new_log->FirstOffset(), 0u);
  EXPECT_EQ(new_log->Stats().memory_batches, uint64_t(kNew));
  const uint64_t first = old_log->FirstOffset();
  EXPECT_GT(first, 0u);
  EXPECT_LT(first, uint64_t(kOld) * kRecords);
  // The log start moved with the drop: the term before it is still known.
  EXPECT_EQ(*old_log->TermAt(first - 1), old_term_before);
  EXPECT_EQ(testing::MetricValue(registry_, "sprawl_storage_memory_dropped_records_total"), first);
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
