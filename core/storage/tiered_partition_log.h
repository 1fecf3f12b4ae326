#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "core/storage/disk_read_cache.h"
#include "core/storage/memory_budget.h"
#include "core/storage/memory_tier.h"
#include "core/storage/partition_log.h"
#include "core/storage/record_batch.h"
#include "core/storage/rocks_engine.h"
#include "core/storage/segment_index.h"
#include "core/storage/storage_metrics.h"
#include "core/storage/store_options.h"
#include "core/util/thread_annotations.h"

namespace sprawl::storage {

// A partition log made of tiers: the memory tier always holds the newest
// batches (all of them in memory mode, within the node's budget); in disk
// mode every batch also goes through the group-commit writer into RocksDB,
// and the memory tier keeps only batches not yet written plus a tail cache
// that shares the node's budget with every other partition.
class TieredPartitionLog final : public PartitionLog, public MemoryBudget::Holder {
 public:
  // A memory-only partition log whose memory tier is charged to `budget`.
  TieredPartitionLog(PartitionKey key, const StoreOptions& options, StorageMetrics& metrics,
                     std::shared_ptr<MemoryBudget> budget);
  // Leaves the budget (waiting for a reclaim pass that is running).
  ~TieredPartitionLog() override;

  // Opens partition `id` stored in `engine`, recovering its state and cutting
  // a corrupt tail (reported in the log and in metrics). `engine` outlives it.
  static Result<std::unique_ptr<TieredPartitionLog>> OpenOnDisk(
      PartitionKey key, uint32_t id, const StoreOptions& options, RocksEngine& engine,
      StorageMetrics& metrics, std::shared_ptr<MemoryBudget> budget);

  const PartitionKey& key() const override { return key_; }
  void AppendAsync(std::string batch, uint64_t term, AppendCallback done) override;
  Result<ReadResult> Read(uint64_t offset, const ReadLimits& limits) const override;
  Status TruncateSuffix(uint64_t from_offset) override;
  uint64_t FirstOffset() const override;
  uint64_t NextOffset() const override;
  Result<uint64_t> TermAt(uint64_t offset) const override;
  Status SetCommitIndex(uint64_t commit_index) override;
  uint64_t CommitIndex() const override;
  Result<uint64_t> OffsetForTimestamp(int64_t timestamp_ms) const override;
  Status SaveSnapshot(const PartitionSnapshot& snapshot) override;
  Result<std::optional<PartitionSnapshot>> LoadSnapshot() const override;
  Status InstallSnapshot(const PartitionSnapshot& snapshot) override;
  Status Reset() override;
  Result<RetentionOutcome> ApplyRetention(const RetentionPolicy& policy, int64_t now_ms) override;
  Status Flush() override;
  PartitionStats Stats() const override;

  // The store dropped this partition: later retention passes and commit index
  // updates change nothing (a share of the log may outlive the drop).
  void MarkDropped();

  // The partition's numeric id in the disk tier (0 in memory mode).
  uint32_t disk_id() const { return id_; }

  // MemoryBudget::Holder, for the budget's reclaim passes: never block (a
  // log whose lock is taken answers nullopt). Disk mode gives back batches
  // already in RocksDB; memory mode drops batches, and their records.
  std::optional<uint64_t> OldestReclaimable() override;
  std::optional<uint64_t> ReclaimOldest(uint64_t below, uint64_t target) override;

 private:
  using BatchVisitor = std::function<bool(const StoredBatch&, const RecordBatchView&)>;

  bool on_disk() const { return engine_ != nullptr; }

  // Reads batches from RocksDB; needs no lock (RocksDB iterators see a
  // consistent snapshot). Verifies every batch and never returns a bad one.
  Result<ReadResult> ReadDisk(uint64_t offset, uint64_t end_offset, const ReadLimits& limits) const;
  // Calls `visit` for each batch overlapping [begin, end) in order, from
  // whichever tier holds it, until it returns false. mu_ held.
  Status ScanLocked(uint64_t begin, uint64_t end, const BatchVisitor& visit) const REQUIRES(mu_);
  Result<uint64_t> TermAtLocked(uint64_t offset) const REQUIRES(mu_);
  // Memory mode: drops the oldest batches beyond the per-partition cap, if
  // any, keeping the newest. mu_ held.
  void EnforceMemoryCapLocked() REQUIRES(mu_);
  // Memory mode: drops the oldest batch (precondition: one is held) and
  // moves the log start past it. Returns its records.
  uint64_t DropOldestLocked() REQUIRES(mu_);
  std::optional<uint64_t> OldestReclaimableLocked() const REQUIRES(mu_);
  Status Recover() REQUIRES(mu_);

  WriteOp StartStateOp() const REQUIRES(mu_);
  WriteOp CommitStateOp() const REQUIRES(mu_);

  const PartitionKey key_;
  const StoreOptions options_;
  StorageMetrics& metrics_;
  RocksEngine* const engine_ = nullptr;
  const uint32_t id_ = 0;
  // Shared so that it outlives every memory tier, even a log shared past
  // the store.
  const std::shared_ptr<MemoryBudget> budget_;

  // Guards every field below. Lock order: mu_, then the writer's queue lock;
  // the writer thread never takes mu_, so waiting on it while holding mu_ is
  // safe.
  mutable Mutex mu_;
  uint64_t first_ GUARDED_BY(mu_) = 0;
  uint64_t next_ GUARDED_BY(mu_) = 0;
  uint64_t commit_ GUARDED_BY(mu_) = 0;
  uint64_t last_term_ GUARDED_BY(mu_) = 0;
  uint64_t prev_term_ GUARDED_BY(mu_) = 0;  // term of offset first_ - 1
  bool dropped_ GUARDED_BY(mu_) = false;
  MemoryTier memory_ GUARDED_BY(mu_);
  SegmentIndex segments_ GUARDED_BY(mu_);
  std::optional<PartitionSnapshot> memory_snapshot_ GUARDED_BY(mu_);  // memory mode only

  // What the last disk read returned and read ahead, for the reads after it.
  mutable DiskReadCache read_cache_;

  // Offsets below this are in RocksDB. Raised by the writer thread as writes
  // complete (in order); lowered only under mu_ once the writer is drained.
  std::atomic<uint64_t> written_next_{0};

  TieredPartitionLog(PartitionKey key, const StoreOptions& options, StorageMetrics& metrics,
                     std::shared_ptr<MemoryBudget> budget, RocksEngine* engine, uint32_t id);
};

}  // namespace sprawl::storage
