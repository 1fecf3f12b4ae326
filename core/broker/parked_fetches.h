#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/protocol/messages.h"
#include "core/storage/partition_log.h"
#include "core/util/result.h"

namespace sprawl::broker {

// Record batches shared with the storage tiers, sent without copying.
using Batches = std::vector<storage::BatchBytes>;

struct FetchReply {
  protocol::pb::FetchResponse response;
  Batches batches;
};

// A long poll waiting for records of its partition or for its deadline.
struct ParkedFetch {
  protocol::pb::FetchRequest request;
  int64_t deadline_nanos = 0;
  std::function<void(Result<FetchReply>)> done;
};

// The long polls parked on a node, by partition and in a deadline heap, so
// neither a commit nor a tick scans the others. Not thread-safe.
class ParkedFetches {
 public:
  void Park(ParkedFetch fetch);
  // Removes and returns the fetches waiting on (topic, partition), oldest first.
  std::vector<ParkedFetch> TakePartition(const std::string& topic, uint32_t partition);
  // Removes and returns the fetches waiting on any partition of `topic`.
  std::vector<ParkedFetch> TakeTopic(const std::string& topic);
  // Removes and returns the fetches whose deadline is at or before `now_nanos`.
  std::vector<ParkedFetch> TakeExpired(int64_t now_nanos);
  // The earliest deadline; INT64_MAX when none is parked.
  int64_t NextDeadlineNanos() const;
  size_t size() const { return where_.size(); }

 private:
  using PartitionId = std::pair<std::string, uint32_t>;
  using Deadline = std::pair<int64_t, uint64_t>;  // (deadline, id)

  ParkedFetch Remove(uint64_t id);
  // Pops heap entries of fetches already taken (lazy deletion).
  void DropStaleDeadlines();

  uint64_t next_id_ = 0;
  std::map<PartitionId, std::map<uint64_t, ParkedFetch>> by_partition_;  // ids ascend with age
  std::unordered_map<uint64_t, PartitionId> where_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
};

}  // namespace sprawl::broker
