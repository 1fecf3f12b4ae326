#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/storage/partition_log.h"
#include "core/storage/record_batch.h"
#include "core/util/result.h"

namespace sprawl::broker {

// What part of a stored batch to push for a set of deliveries.
struct Slice {
  // Batches to send: the stored batch itself when every one of its records
  // is delivered, otherwise one new batch (storage format, offsets kept)
  // per run of consecutive delivered offsets, so a member never receives a
  // large batch again and again for a few records of it.
  std::vector<storage::BatchBytes> batches;
  // Delivered offsets whose record is older than the TTL: not sent.
  std::vector<uint64_t> expired;
};

// Iterators left where the last slices of recent batches ended. When credits
// are fewer than a batch's records, one batch is sliced many times in a row;
// each slice then resumes where the previous one stopped instead of walking
// the batch from its head (and decompressing it) again. Holds the batches
// its iterators point into. Not thread-safe: one per event loop.
class SliceResumeCache {
 public:
  // The iterator left on `batch` at or before `offset`, if any (removed
  // from the cache: the caller puts it back when done).
  std::optional<storage::RecordIterator> Take(const storage::BatchBytes& batch, uint64_t offset);
  // Keeps `iterator` (positioned inside `batch`) for the next slice,
  // evicting the oldest entries beyond a few or beyond a byte budget.
  void Put(storage::BatchBytes batch, storage::RecordIterator iterator);

  size_t size() const { return entries_.size(); }

 private:
  static constexpr size_t kEntries = 16;
  static constexpr size_t kMaxBytes = 32u << 20;  // batches kept alive by the cache
  size_t bytes_ = 0;
  struct Entry {
    storage::BatchBytes batch;
    storage::RecordIterator iterator;
  };
  std::deque<Entry> entries_;
};

// Slices `stored` (covering [base_offset, last_offset]) for the ascending
// `offsets` inside it. `ttl_ms` 0 disables expiry. DATA_CORRUPTION when
// the stored batch does not decode. `resume`, when given, carries iterator
// positions from one call to the next.
Result<Slice> SliceBatch(const storage::StoredBatch& stored, const std::vector<uint64_t>& offsets,
                         int64_t ttl_ms, int64_t now_wall_ms, SliceResumeCache* resume = nullptr);

}  // namespace sprawl::broker
