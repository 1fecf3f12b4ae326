#include "core/storage/memory_budget.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <utility>

namespace sprawl::storage {

MemoryBudget::MemoryBudget(uint64_t limit, metrics::Gauge& bytes, metrics::Gauge& limit_gauge)
    : limit_(limit), bytes_gauge_(bytes) {
  limit_gauge.Set(static_cast<int64_t>(limit));
}

void MemoryBudget::Join(Holder* holder) {
  MutexLock lock(mu_);
  holders_.push_back(holder);
}

void MemoryBudget::Leave(Holder* holder) {
  MutexLock lock(mu_);
  auto it = std::find(holders_.begin(), holders_.end(), holder);
  if (it == holders_.end()) return;
  *it = holders_.back();
  holders_.pop_back();
}

void MemoryBudget::Charge(uint64_t n) {
  bytes_.fetch_add(n, std::memory_order_relaxed);
  bytes_gauge_.Add(static_cast<int64_t>(n));
}

void MemoryBudget::Release(uint64_t n) {
  bytes_.fetch_sub(n, std::memory_order_relaxed);
  bytes_gauge_.Add(-static_cast<int64_t>(n));
}

void MemoryBudget::MaybeReclaim(uint64_t keep_from) {
  const uint64_t held = bytes();
  if (held <= limit_ || held <= retry_above_.load(std::memory_order_relaxed)) return;
  Reclaim(keep_from);
}

void MemoryBudget::Reclaim(uint64_t keep_from) {
  if (bytes() <= limit_) return;
  // One pass at a time; an append that finds one running goes on (the pass
  // is reclaiming for it too).
  if (!mu_.try_lock()) return;
  const uint64_t goal = target();
  // The holders by the stamp of their oldest reclaimable batch: the front of
  // this queue is the oldest batch of the node that can go.
  using Oldest = std::pair<uint64_t, Holder*>;
  std::priority_queue<Oldest, std::vector<Oldest>, std::greater<>> queue;
  for (Holder* holder : holders_) {
    const std::optional<uint64_t> stamp = holder->OldestReclaimable();
    if (stamp && *stamp < keep_from) queue.emplace(*stamp, holder);
  }
  while (bytes() > goal && !queue.empty()) {
    const auto [stamp, holder] = queue.top();
    queue.pop();
    // Everything it holds that is older than the next holder's oldest.
    const uint64_t below = queue.empty() ? keep_from : std::min(keep_from, queue.top().first);
    const std::optional<uint64_t> next = holder->ReclaimOldest(below, goal);
    // A holder that gave nothing back (it became busy) leaves the pass.
    if (next && *next > stamp && *next < keep_from) queue.emplace(*next, holder);
  }
  const uint64_t held = bytes();
  // Not under the limit: the rest is not reclaimable yet (disk mode: still
  // waiting for the writer). Appends retry once another slack is charged.
  retry_above_.store(held > limit_ ? held + (limit_ - goal) : 0, std::memory_order_relaxed);
  mu_.unlock();
}

}  // namespace sprawl::storage
