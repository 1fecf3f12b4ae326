#include "core/storage/memory_tier.h"

#include <algorithm>

namespace sprawl::storage {

MemoryTier::~MemoryTier() { budget_.Release(bytes_); }

uint64_t MemoryTier::Push(MemoryEntry entry) {
  const uint64_t size = entry.bytes->size();
  entry.stamp = budget_.NextStamp();
  const uint64_t stamp = entry.stamp;
  bytes_ += size;
  budget_.Charge(size);
  entries_.push_back(std::move(entry));
  return stamp;
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
  uint64_t dropped = 0;
  while (bytes_ > max_bytes && !entries_.empty() &&
         entries_.front().last_offset < evictable_below) {
    dropped += entries_.front().bytes->size();
    PopOldest();
  }
  return dropped;
}

uint64_t MemoryTier::EvictForBudget(uint64_t evictable_below, uint64_t stamp_below,
                                    uint64_t target) {
  uint64_t dropped = 0;
  while (budget_.bytes() > target && !entries_.empty() && entries_.front().stamp < stamp_below &&
         entries_.front().last_offset < evictable_below) {
    dropped += entries_.front().bytes->size();
    PopOldest();
  }
  return dropped;
}

void MemoryTier::PopOldest() {
  const uint64_t size = entries_.front().bytes->size();
  bytes_ -= size;
  budget_.Release(size);
  entries_.pop_front();
}

void MemoryTier::DropBefore(uint64_t offset) {
  while (!entries_.empty() && entries_.front().last_offset < offset) PopOldest();
}

void MemoryTier::DropFrom(uint64_t offset) {
  while (!entries_.empty() && entries_.back().base_offset >= offset) {
    const uint64_t size = entries_.back().bytes->size();
    bytes_ -= size;
    budget_.Release(size);
    entries_.pop_back();
  }
}

void MemoryTier::Clear() {
  budget_.Release(bytes_);
  entries_.clear();
  bytes_ = 0;
}

}  // namespace sprawl::storage
