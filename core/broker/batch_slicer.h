#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/storage/partition_log.h"
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

// Slices `stored` (covering [base_offset, last_offset]) for the ascending
// `offsets` inside it. `ttl_ms` 0 disables expiry. DATA_CORRUPTION when
// the stored batch does not decode.
Result<Slice> SliceBatch(const storage::StoredBatch& stored, const std::vector<uint64_t>& offsets,
                         int64_t ttl_ms, int64_t now_wall_ms);

}  // namespace sprawl::broker
