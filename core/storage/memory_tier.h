#pragma once

#include <cstdint>
#include <deque>

#include "core/storage/partition_log.h"

namespace sprawl::storage {

// One batch held in memory, with what the log needs without decoding it.
struct MemoryEntry {
  BatchBytes bytes;
  uint64_t base_offset = 0;
  uint64_t last_offset = 0;
  uint64_t term = 0;
  int64_t max_timestamp_ms = 0;
};

// The hot tier of one partition: the most recent batches, contiguous and in
// offset order, so tailing readers never touch disk. Not thread-safe; the
// partition log guards it.
class MemoryTier {
 public:
  // Adds the batch that follows the newest one.
  void Push(MemoryEntry entry);

  // Whether the batch holding `offset` is here.
  bool Covers(uint64_t offset) const;
  // The entry holding `offset`; precondition: Covers(offset).
  const MemoryEntry& Find(uint64_t offset) const;

  // Appends batches from the one holding `offset` (precondition: Covers) to
  // `out`, stopping before `end_offset` or at the limits.
  void Read(uint64_t offset, uint64_t end_offset, const ReadLimits& limits, ReadResult* out) const;

  // Drops the oldest entries while more than `max_bytes` are held, but only
  // entries wholly below `evictable_below`. Returns the records dropped.
  uint64_t EvictOldest(uint64_t max_bytes, uint64_t evictable_below);
  // Drops every entry ending before `offset`.
  void DropBefore(uint64_t offset);
  // Drops every entry starting at or after `offset`.
  void DropFrom(uint64_t offset);
  void Clear();

  const std::deque<MemoryEntry>& entries() const { return entries_; }
  uint64_t bytes() const { return bytes_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::deque<MemoryEntry> entries_;
  uint64_t bytes_ = 0;
};

}  // namespace sprawl::storage
