#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/util/metrics.h"
#include "core/util/thread_annotations.h"

namespace sprawl::storage {

// One byte budget shared by the memory tiers of every partition of a store,
// so that a node's memory does not grow with its number of partitions.
//
// Every batch a memory tier holds is charged to the budget and stamped with
// a node-wide sequence number when it arrives. When the node total goes over
// the budget, a reclaim pass gives back batches in stamp order across the
// whole node (oldest first), down to the budget minus a slack of 1/16 of it,
// so that passes are rare: one per slack's worth of appended bytes. What a
// holder may give back is its own business (disk mode: batches already in
// RocksDB; memory mode: any batch, its records are then gone).
//
// The accounting is two relaxed atomics per batch (no lock on the append
// path); a pass takes the budget's mutex, and only tries the holders' locks:
// it never blocks on a partition, so it may run on any thread that holds no
// partition lock. Thread-safe.
class MemoryBudget {
 public:
  // Something whose batches the budget may reclaim: one partition's memory
  // tier. Both methods run on a reclaiming thread, under the budget's mutex,
  // and must never block (a holder that is busy answers nullopt).
  class Holder {
   public:
    // The stamp of the oldest batch it could give back now; nullopt when it
    // has none or is busy.
    virtual std::optional<uint64_t> OldestReclaimable() = 0;
    // Gives back its oldest batches stamped below `below`, one at a time, while
    // the budget holds more than `target` bytes. Returns OldestReclaimable()
    // as it is afterwards.
    virtual std::optional<uint64_t> ReclaimOldest(uint64_t below, uint64_t target) = 0;

   protected:
    ~Holder() = default;
  };

  // `limit` bytes for the whole node; `bytes` and `limit_gauge` (which must
  // outlive the budget) show the total held and the limit.
  MemoryBudget(uint64_t limit, metrics::Gauge& bytes, metrics::Gauge& limit_gauge);
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Registers a holder for reclaim passes, until Leave. Blocks while a pass
  // runs; must not be called with a lock a holder takes.
  void Join(Holder* holder) EXCLUDES(mu_);
  // Unregisters it: once this returns, no pass reaches it. Same rules as Join.
  void Leave(Holder* holder) EXCLUDES(mu_);

  // The stamp of the next batch: node-wide, increasing.
  uint64_t NextStamp() { return next_stamp_.fetch_add(1, std::memory_order_relaxed); }
  // A holder took or gave back `n` bytes.
  void Charge(uint64_t n);
  void Release(uint64_t n);

  // After an append, outside every partition lock: runs a reclaim pass when
  // the node is over the budget, unless another thread is running one or the
  // last pass could not get under it and less than the slack was charged
  // since (so an append finds nothing to do in one atomic load). Batches
  // stamped at or after `keep_from` stay (the caller's own, just appended).
  void MaybeReclaim(uint64_t keep_from);
  // A reclaim pass now if the node is over the budget (periodically, so that
  // batches that became reclaimable after the last append are given back).
  // Returns at once if another thread is running one.
  void Reclaim(uint64_t keep_from = UINT64_MAX) EXCLUDES(mu_);

  // Bytes held by every memory tier of the store.
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }
  // What a pass reclaims down to: the limit less the slack.
  uint64_t target() const { return limit_ - limit_ / 16; }

 private:
  const uint64_t limit_;
  metrics::Gauge& bytes_gauge_;
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> next_stamp_{1};
  // After a pass that ended over the limit (what was left was not
  // reclaimable yet), the total from which appends try again.
  std::atomic<uint64_t> retry_above_{0};

  // Held for a whole pass; lock order: mu_, then a holder's lock (tried only).
  Mutex mu_;
  std::vector<Holder*> holders_ GUARDED_BY(mu_);
};

}  // namespace sprawl::storage
