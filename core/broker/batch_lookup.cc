#include "core/broker/batch_lookup.h"

#include <algorithm>
#include <limits>
#include <string>

namespace sprawl::broker {

BatchLookup::BatchLookup(std::vector<storage::PartitionLog*> logs,
                         std::vector<uint64_t> end_offsets)
    : logs_(std::move(logs)), end_offsets_(std::move(end_offsets)) {}

Result<const storage::StoredBatch*> BatchLookup::Find(uint32_t partition, uint64_t offset) {
  if (last_ != nullptr && last_partition_ == partition && last_->base_offset <= offset &&
      offset <= last_->last_offset) {
    return last_;
  }
  auto it = batches_.lower_bound({partition, offset});
  if (it != batches_.end() && it->first.first == partition && it->second.base_offset <= offset) {
    last_ = &it->second;
    last_partition_ = partition;
    return last_;
  }
  if (partition >= logs_.size() || partition >= end_offsets_.size()) {
    return NotFound("partition " + std::to_string(partition) + " does not exist");
  }
  storage::ReadLimits limits;
  limits.max_records = 1;
  limits.end_offset = end_offsets_[partition];
  SPRAWL_ASSIGN_OR_RETURN(storage::ReadResult read, logs_[partition]->Read(offset, limits));
  if (read.batches.empty() || read.batches.front().base_offset > offset ||
      read.batches.front().last_offset < offset) {
    return NotFound("no stored batch holds offset " + std::to_string(offset));
  }
  storage::StoredBatch& stored = read.batches.front();
  auto placed = batches_.insert_or_assign({partition, stored.last_offset}, std::move(stored));
  last_ = &placed.first->second;
  last_partition_ = partition;
  return last_;
}

uint32_t BatchLookup::MessageBytes(uint32_t partition, uint64_t offset) {
  auto found = Find(partition, offset);
  if (!found.ok()) return 0;
  const storage::StoredBatch& batch = **found;
  const uint64_t records = batch.last_offset - batch.base_offset + 1;
  const uint64_t share = std::max<uint64_t>(1, batch.bytes->size() / records);
  return static_cast<uint32_t>(std::min<uint64_t>(share, std::numeric_limits<uint32_t>::max()));
}

}  // namespace sprawl::broker
