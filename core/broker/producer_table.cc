#include "core/broker/producer_table.h"

namespace sprawl::broker {

SequenceCheck ProducerTable::Check(uint64_t producer_id, uint32_t base_sequence,
                                   uint32_t count) const {
  SequenceCheck check;
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) {
    check.expected_sequence = base_sequence;
    return check;
  }
  const Producer& p = it->second;
  check.expected_sequence = p.next_sequence;
  if (base_sequence == p.next_sequence) return check;
  if (base_sequence > p.next_sequence) {
    check.verdict = SequenceVerdict::kOutOfOrder;
    return check;
  }
  check.verdict = SequenceVerdict::kDuplicate;
  for (const Batch& b : p.recent) {
    if (b.base_sequence == base_sequence && b.count == count) {
      check.base_offset = b.base_offset;
      check.last_offset = b.last_offset;
    }
  }
  return check;
}

void ProducerTable::Record(uint64_t producer_id, uint32_t base_sequence, uint32_t count,
                           uint64_t base_offset, uint64_t last_offset) {
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) {
    if (producers_.size() >= max_producers_) EvictOldest();
    it = producers_.emplace(producer_id, Producer{}).first;
  }
  Producer& p = it->second;
  p.next_sequence = base_sequence + count;
  p.last_seen = ++tick_;
  p.recent.push_back({base_sequence, count, base_offset, last_offset});
  if (p.recent.size() > kRecentBatches) p.recent.pop_front();
}

void ProducerTable::EvictOldest() {
  // Linear, but only when the table is full of distinct producers.
  auto oldest = producers_.begin();
  for (auto it = producers_.begin(); it != producers_.end(); ++it) {
    if (it->second.last_seen < oldest->second.last_seen) oldest = it;
  }
  if (oldest != producers_.end()) producers_.erase(oldest);
}

}  // namespace sprawl::broker
