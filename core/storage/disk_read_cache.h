#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/storage/memory_budget.h"
#include "core/storage/partition_log.h"
#include "core/util/thread_annotations.h"

namespace sprawl::storage {

// The batches of a partition's most recent read from RocksDB, verified, kept
// for the reads that follow it. Readers of the disk tier come back for the
// same or the next batch at once: a consumer group is pushed a batch in
// slices of its credits (one read per slice), and a catch-up reader goes
// forward. Serving them from here saves a RocksDB iterator, a copy and a
// checksum pass per read. Holds one read's worth of batches (the disk read
// ahead, about 1 MiB) per partition, charged to the node's memory budget
// beside the memory tiers: a node whose readers touched thousands of
// partitions keeps only the most recent read-aheads that fit, and a reclaim
// pass drops the oldest fill (stamp order) like the oldest tail batch.
// Thread-safe.
class DiskReadCache final : public MemoryBudget::Holder {
 public:
  // Joins `budget`, which must outlive the cache; `bytes` (which must outlive
  // it too) shows what every partition's cache holds.
  DiskReadCache(MemoryBudget& budget, metrics::Gauge& bytes);
  // Leaves the budget (waiting for a reclaim pass that is running) and gives
  // back what it holds. Must not be called with a lock a holder takes.
  ~DiskReadCache();
  DiskReadCache(const DiskReadCache&) = delete;
  DiskReadCache& operator=(const DiskReadCache&) = delete;

  // Batches from the one holding `offset` on, whole, ending before
  // `end_offset`, within `limits` as PartitionLog::Read applies them; nullopt
  // when the cache does not hold `offset` or cannot give the whole answer (it
  // ends before the limits or `end_offset` are reached).
  std::optional<ReadResult> Serve(uint64_t offset, uint64_t end_offset,
                                  const ReadLimits& limits) const;

  // The current generation. Read it before reading RocksDB and pass it to
  // Fill, so that batches read before an Invalidate are not kept.
  uint64_t generation() const;
  // Replaces the cached batches with `batches` (contiguous, ascending) unless
  // Invalidate ran since `generation` was read, then lets the budget reclaim
  // older holdings if the node went over it. Call it holding no partition
  // lock (the reclaim pass tries them).
  void Fill(const std::vector<StoredBatch>& batches, uint64_t generation);
  // Drops everything: the log's content at some offsets changed (truncation,
  // snapshot install).
  void Invalidate();
  // Bytes it holds now.
  uint64_t bytes() const;

  // MemoryBudget::Holder, for the budget's reclaim passes: the whole fill is
  // one unit (a read-ahead is used from its start), and a busy cache answers
  // nullopt rather than wait.
  std::optional<uint64_t> OldestReclaimable() override;
  std::optional<uint64_t> ReclaimOldest(uint64_t below, uint64_t target) override;

 private:
  // Empties the cache and gives its bytes back.
  void ClearLocked() REQUIRES(mu_);

  MemoryBudget& budget_;
  metrics::Gauge& bytes_gauge_;
  mutable Mutex mu_;
  std::vector<StoredBatch> batches_ GUARDED_BY(mu_);
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
  uint64_t stamp_ GUARDED_BY(mu_) = 0;  // when the batches were filled (MemoryBudget::NextStamp)
  uint64_t generation_ GUARDED_BY(mu_) = 0;
};

}  // namespace sprawl::storage
