#include "core/broker/parked_fetches.h"

#include <limits>

namespace sprawl::broker {

void ParkedFetches::Park(ParkedFetch fetch) {
  const uint64_t id = next_id_++;
  PartitionId partition{fetch.request.topic(), fetch.request.partition()};
  deadlines_.emplace(fetch.deadline_nanos, id);
  where_.emplace(id, partition);
  by_partition_[partition].emplace(id, std::move(fetch));
}

ParkedFetch ParkedFetches::Remove(uint64_t id) {
  auto where = where_.find(id);
  auto list = by_partition_.find(where->second);
  auto it = list->second.find(id);
  ParkedFetch out = std::move(it->second);
  list->second.erase(it);
  if (list->second.empty()) by_partition_.erase(list);
  where_.erase(where);
  return out;
}

std::vector<ParkedFetch> ParkedFetches::TakePartition(const std::string& topic,
                                                      uint32_t partition) {
  std::vector<ParkedFetch> out;
  auto list = by_partition_.find({topic, partition});
  if (list == by_partition_.end()) return out;
  for (auto& [id, fetch] : list->second) {
    out.push_back(std::move(fetch));
    where_.erase(id);
  }
  by_partition_.erase(list);
  DropStaleDeadlines();
  return out;
}

std::vector<ParkedFetch> ParkedFetches::TakeTopic(const std::string& topic) {
  std::vector<ParkedFetch> out;
  auto it = by_partition_.lower_bound({topic, 0});
  while (it != by_partition_.end() && it->first.first == topic) {
    for (auto& [id, fetch] : it->second) {
      out.push_back(std::move(fetch));
      where_.erase(id);
    }
    it = by_partition_.erase(it);
  }
  DropStaleDeadlines();
  return out;
}

std::vector<ParkedFetch> ParkedFetches::TakeExpired(int64_t now_nanos) {
  std::vector<ParkedFetch> out;
  while (!deadlines_.empty() && deadlines_.top().first <= now_nanos) {
    const uint64_t id = deadlines_.top().second;
    deadlines_.pop();
    if (where_.count(id) > 0) out.push_back(Remove(id));
  }
  DropStaleDeadlines();
  return out;
}

void ParkedFetches::DropStaleDeadlines() {
  while (!deadlines_.empty() && where_.count(deadlines_.top().second) == 0) deadlines_.pop();
  // Entries of taken fetches below the top stay until they surface; bound
  // them so a stream of woken fetches cannot grow the heap without limit.
  if (deadlines_.size() > 2 * where_.size() + 64) {
    std::vector<Deadline> live;
    live.reserve(where_.size());
    while (!deadlines_.empty()) {
      if (where_.count(deadlines_.top().second) > 0) live.push_back(deadlines_.top());
      deadlines_.pop();
    }
    for (const Deadline& d : live) deadlines_.push(d);
  }
}

int64_t ParkedFetches::NextDeadlineNanos() const {
  return deadlines_.empty() ? std::numeric_limits<int64_t>::max() : deadlines_.top().first;
}

}  // namespace sprawl::broker
