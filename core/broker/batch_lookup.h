#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "core/storage/partition_log.h"
#include "core/util/result.h"

namespace sprawl::broker {

// The stored batches one round of group deliveries reads. Each batch is read
// from its log once, whether to learn what a message counts against a byte
// budget (while deliveries are planned) or to push it (right after). Lives
// for one round; holds the batches it read. Not thread-safe.
class BatchLookup {
 public:
  // `logs[p]` is partition p's log; `end_offsets[p]` bounds what is read from
  // it (the commit index). The logs must outlive the lookup.
  BatchLookup(std::vector<storage::PartitionLog*> logs, std::vector<uint64_t> end_offsets);

  // The stored batch holding `offset` of `partition`. The log's error, or
  // NOT_FOUND when no batch holds it (removed by retention, or past the end).
  Result<const storage::StoredBatch*> Find(uint32_t partition, uint64_t offset);

  // What the message at `offset` counts against a byte budget: its share of
  // its stored batch (the batch's bytes over its records, at least 1), which
  // is what a push of the whole batch sends. 0 when no batch holds it.
  uint32_t MessageBytes(uint32_t partition, uint64_t offset);

 private:
  std::vector<storage::PartitionLog*> logs_;
  std::vector<uint64_t> end_offsets_;
  // By (partition, last offset), so that lower_bound finds the batch that may hold an offset.
  std::map<std::pair<uint32_t, uint64_t>, storage::StoredBatch> batches_;
  // The batch found last: consecutive offsets mostly share it.
  const storage::StoredBatch* last_ = nullptr;
  uint32_t last_partition_ = 0;
};

}  // namespace sprawl::broker
