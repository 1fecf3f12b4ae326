#include "core/storage/disk_read_cache.h"

#include <algorithm>

namespace sprawl::storage {

DiskReadCache::DiskReadCache(MemoryBudget& budget, metrics::Gauge& bytes)
    : budget_(budget), bytes_gauge_(bytes) {
  budget_.Join(this);
}

DiskReadCache::~DiskReadCache() {
  budget_.Leave(this);
  MutexLock lock(mu_);
  ClearLocked();
}

std::optional<ReadResult> DiskReadCache::Serve(uint64_t offset, uint64_t end_offset,
                                               const ReadLimits& limits) const {
  MutexLock lock(mu_);
  if (batches_.empty() || offset < batches_.front().base_offset ||
      offset > batches_.back().last_offset) {
    return std::nullopt;
  }
  // Batches are contiguous: find the one holding `offset` by its base.
  auto it = std::upper_bound(batches_.begin(), batches_.end(), offset,
                             [](uint64_t o, const StoredBatch& b) { return o < b.base_offset; });
  --it;
  ReadResult result;
  result.tier = Tier::kDisk;
  result.next_offset = offset;
  uint64_t bytes = 0;
  uint64_t records = 0;
  bool complete = false;  // stopped by the limits or end_offset, not by the cache's end
  for (; it != batches_.end(); ++it) {
    if (it->last_offset >= end_offset) {
      complete = true;
      break;
    }
    if (!result.batches.empty() && (bytes >= limits.max_bytes || records >= limits.max_records)) {
      complete = true;
      break;
    }
    bytes += it->bytes->size();
    records += it->last_offset + 1 - std::max(offset, it->base_offset);
    result.next_offset = it->last_offset + 1;
    result.batches.push_back(*it);
    if (bytes >= limits.max_bytes || records >= limits.max_records ||
        it->last_offset + 1 >= end_offset) {
      complete = true;
      break;
    }
  }
  // A read the cache can only answer in part goes to RocksDB, which may hold
  // batches written after the cache was filled.
  if (result.batches.empty() || !complete) return std::nullopt;
  return result;
}

uint64_t DiskReadCache::generation() const {
  MutexLock lock(mu_);
  return generation_;
}

void DiskReadCache::Fill(const std::vector<StoredBatch>& batches, uint64_t generation) {
  uint64_t stamp = 0;
  {
    MutexLock lock(mu_);
    if (generation != generation_) return;
    ClearLocked();
    batches_ = batches;
    for (const auto& batch : batches_) bytes_ += batch.bytes->size();
    stamp_ = stamp = budget_.NextStamp();
    budget_.Charge(bytes_);
    bytes_gauge_.Add(static_cast<int64_t>(bytes_));
  }
  // Outside mu_: a pass tries this cache's lock too. Keeps this fill, which
  // the reader is about to use.
  budget_.MaybeReclaim(stamp);
}

void DiskReadCache::Invalidate() {
  MutexLock lock(mu_);
  ++generation_;
  ClearLocked();
}

uint64_t DiskReadCache::bytes() const {
  MutexLock lock(mu_);
  return bytes_;
}

std::optional<uint64_t> DiskReadCache::OldestReclaimable() {
  if (!mu_.try_lock()) return std::nullopt;
  const std::optional<uint64_t> stamp =
      batches_.empty() ? std::nullopt : std::optional<uint64_t>(stamp_);
  mu_.unlock();
  return stamp;
}

std::optional<uint64_t> DiskReadCache::ReclaimOldest(uint64_t below, uint64_t target) {
  if (!mu_.try_lock()) return std::nullopt;
  if (!batches_.empty() && stamp_ < below && budget_.bytes() > target) ClearLocked();
  const std::optional<uint64_t> stamp =
      batches_.empty() ? std::nullopt : std::optional<uint64_t>(stamp_);
  mu_.unlock();
  return stamp;
}

void DiskReadCache::ClearLocked() {
  budget_.Release(bytes_);
  bytes_gauge_.Add(-static_cast<int64_t>(bytes_));
  bytes_ = 0;
  batches_.clear();
}

}  // namespace sprawl::storage
