#pragma once

#include <cstdint>
#include <deque>

#include "core/storage/memory_budget.h"
#include "core/storage/partition_log.h"

namespace sprawl::storage {

// One batch held in memory, with what the log needs without decoding it.
struct MemoryEntry {
  BatchBytes bytes;
  uint64_t base_offset = 0;
  uint64_t last_offset = 0;
  uint64_t term = 0;
  int64_t max_timestamp_ms = 0;
  uint64_t stamp = 0;  // when it arrived, node-wide (MemoryBudget::NextStamp)
};

// The hot tier of one partition: the most recent batches, contiguous and in
// offset order, so tailing readers never touch disk. Every byte it holds is
// charged to the node's budget, here and nowhere else, so the node total
// cannot drift from what the tiers hold. Not thread-safe; the partition log
// guards it.
class MemoryTier {
 public:
  // `budget` is charged with what the tier holds and must outlive it.
  explicit MemoryTier(MemoryBudget& budget) : budget_(budget) {}
  // Gives back to the budget what it still holds.
  ~MemoryTier();
  MemoryTier(const MemoryTier&) = delete;
  MemoryTier& operator=(const MemoryTier&) = delete;

  // Adds the batch that follows the newest one, stamped with the budget's
  // next stamp (which it returns).
  uint64_t Push(MemoryEntry entry);

  // Whether the batch holding `offset` is here.
  bool Covers(uint64_t offset) const;
  // The entry holding `offset`; precondition: Covers(offset).
  const MemoryEntry& Find(uint64_t offset) const;

  // Appends batches from the one holding `offset` (precondition: Covers) to
  // `out`, stopping before `end_offset` or at the limits.
  void Read(uint64_t offset, uint64_t end_offset, const ReadLimits& limits, ReadResult* out) const;

  // Drops the oldest entries while more than `max_bytes` are held, but only
  // entries wholly below `evictable_below`. Returns the bytes dropped.
  uint64_t EvictOldest(uint64_t max_bytes, uint64_t evictable_below);
  // Drops the oldest entries stamped below `stamp_below` and wholly below
  // `evictable_below` while the budget holds more than `target` bytes.
  // Returns the bytes dropped.
  uint64_t EvictForBudget(uint64_t evictable_below, uint64_t stamp_below, uint64_t target);
  // Drops the oldest entry; precondition: !empty().
  void PopOldest();
  // Drops every entry ending before `offset`.
  void DropBefore(uint64_t offset);
  // Drops every entry starting at or after `offset`.
  void DropFrom(uint64_t offset);
  void Clear();

  const std::deque<MemoryEntry>& entries() const { return entries_; }
  uint64_t bytes() const { return bytes_; }
  bool empty() const { return entries_.empty(); }

 private:
  MemoryBudget& budget_;
  std::deque<MemoryEntry> entries_;
  uint64_t bytes_ = 0;
};

}  // namespace sprawl::storage
