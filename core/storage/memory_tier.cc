#include "core/storage/memory_tier.h"

#include <algorithm>

namespace sprawl::storage {

void MemoryTier::Push(MemoryEntry entry) {
  bytes_ += entry.bytes->size();
  entries_.push_back(std::move(entry));
}

bool MemoryTier::Covers(uint64_t offset) const {
  return !entries_.empty() && offset >= entries_.front().base_offset &&
         offset <= entries_.back().last_offset;
}

const MemoryEntry& MemoryTier::Find(uint64_t offset) const {
  // Entries are contiguous and sorted, so the holder is the last one whose
  // base offset is <= offset.
  auto it = std::upper_bound(entries_.begin(), entries_.end(), offset,
                             [](uint64_t o, const MemoryEntry& e) { return o < e.base_offset; });
  return *std::prev(it);
}

void MemoryTier::Read(uint64_t offset, uint64_t end_offset, const ReadLimits& limits,
                      ReadResult* out) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), offset,
                             [](uint64_t o, const MemoryEntry& e) { return o < e.base_offset; });
  --it;
  uint64_t bytes = 0;
  uint64_t records = 0;
  for (; it != entries_.end() && it->last_offset < end_offset; ++it) {
    if (!out->batches.empty() && (bytes >= limits.max_bytes || records >= limits.max_records)) {
      break;
    }
    out->batches.push_back({it->bytes, it->base_offset, it->last_offset});
    bytes += it->bytes->size();
    records += it->last_offset + 1 - std::max(offset, it->base_offset);
    out->next_offset = it->last_offset + 1;
  }
}

uint64_t MemoryTier::EvictOldest(uint64_t max_bytes, uint64_t evictable_below) {
  uint64_t records = 0;
  while (bytes_ > max_bytes && !entries_.empty() &&
         entries_.front().last_offset < evictable_below) {
    records += entries_.front().last_offset + 1 - entries_.front().base_offset;
    bytes_ -= entries_.front().bytes->size();
    entries_.pop_front();
  }
  return records;
}

void MemoryTier::DropBefore(uint64_t offset) {
  while (!entries_.empty() && entries_.front().last_offset < offset) {
    bytes_ -= entries_.front().bytes->size();
    entries_.pop_front();
  }
}

void MemoryTier::DropFrom(uint64_t offset) {
  while (!entries_.empty() && entries_.back().base_offset >= offset) {
    bytes_ -= entries_.back().bytes->size();
    entries_.pop_back();
  }
}

void MemoryTier::Clear() {
  entries_.clear();
  bytes_ = 0;
}

}  // namespace sprawl::storage
