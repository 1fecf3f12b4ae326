#include "core/broker/producer_table.h"

#include <algorithm>

#include "core/storage/producer_identity.h"

namespace sprawl::broker {

SequenceCheck ProducerTable::Check(uint64_t producer_id, uint32_t base_sequence, uint32_t count,
                                   uint16_t epoch) const {
  SequenceCheck check;
  if (storage::IsNamedProducer(producer_id)) {
    auto fence = fences_.find(storage::ProducerFamily(producer_id));
    if (fence != fences_.end() && epoch < fence->second) {
      check.verdict = SequenceVerdict::kFenced;
      check.latest_epoch = fence->second;
      return check;
    }
  }
  auto it = producers_.find(producer_id);
  if (it == producers_.end() || it->second.epoch < epoch) {
    // Unknown, or a new session of a named producer: any sequence starts it.
    check.expected_sequence = base_sequence;
    return check;
  }
  const Producer& p = it->second;
  check.expected_sequence =
      p.pending.empty() ? p.next_sequence : p.pending.back().base_sequence + p.pending.back().count;
  if (base_sequence == check.expected_sequence) return check;
  if (base_sequence > check.expected_sequence) {
    check.verdict = SequenceVerdict::kOutOfOrder;
    return check;
  }
  for (const Batch& b : p.pending) {
    if (b.base_sequence == base_sequence && b.count == count) {
      check.verdict = SequenceVerdict::kInFlight;
      check.base_offset = b.base_offset;
      check.last_offset = b.last_offset;
      return check;
    }
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

ProducerTable::Producer& ProducerTable::Touch(uint64_t producer_id) {
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) {
    if (producers_.size() >= max_producers_) EvictOldest();
    it = producers_.emplace(producer_id, Producer{}).first;
  }
  it->second.last_seen = ++tick_;
  return it->second;
}

void ProducerTable::Advance(uint64_t producer_id, Producer& p, uint16_t epoch) {
  if (!storage::IsNamedProducer(producer_id)) return;
  if (epoch > p.epoch) {
    // A new session: its sequence has nothing to do with the old one's. A
    // batch of the old one still pending commits later, in offset order,
    // and the new session's own commit sets the sequence after it.
    p.epoch = epoch;
    p.recent.clear();
  }
  const uint64_t family = storage::ProducerFamily(producer_id);
  auto fence = fences_.find(family);
  if (fence == fences_.end()) {
    if (fences_.size() >= max_producers_) fences_.erase(fences_.begin());
    fences_.emplace(family, epoch);
  } else if (fence->second < epoch) {
    fence->second = epoch;
  }
}

void ProducerTable::Propose(uint64_t producer_id, uint32_t base_sequence, uint32_t count,
                            uint64_t base_offset, uint64_t last_offset, uint16_t epoch) {
  Producer& p = Touch(producer_id);
  Advance(producer_id, p, epoch);
  p.pending.push_back({base_sequence, count, base_offset, last_offset});
  proposed_.push_back({producer_id, base_offset, last_offset});
}

void ProducerTable::Commit(uint64_t commit_index) {
  while (!proposed_.empty() && proposed_.front().last_offset < commit_index) {
    const Proposed done = proposed_.front();
    proposed_.pop_front();
    auto it = producers_.find(done.producer_id);
    if (it == producers_.end()) continue;
    Producer& p = it->second;
    auto batch = std::find_if(p.pending.begin(), p.pending.end(),
                              [&](const Batch& b) { return b.base_offset == done.base_offset; });
    if (batch == p.pending.end()) continue;
    p.next_sequence = batch->base_sequence + batch->count;
    p.recent.push_back(*batch);
    if (p.recent.size() > kRecentBatches) p.recent.pop_front();
    p.pending.erase(batch);
  }
}

void ProducerTable::Abort(uint64_t base_offset) {
  auto proposed = std::find_if(proposed_.begin(), proposed_.end(),
                               [&](const Proposed& x) { return x.base_offset == base_offset; });
  if (proposed == proposed_.end()) return;
  auto it = producers_.find(proposed->producer_id);
  proposed_.erase(proposed);
  if (it == producers_.end()) return;
  auto& pending = it->second.pending;
  pending.erase(std::remove_if(pending.begin(), pending.end(),
                               [&](const Batch& b) { return b.base_offset == base_offset; }),
                pending.end());
}

void ProducerTable::Record(uint64_t producer_id, uint32_t base_sequence, uint32_t count,
                           uint64_t base_offset, uint64_t last_offset, uint16_t epoch) {
  Producer& p = Touch(producer_id);
  Advance(producer_id, p, epoch);
  p.next_sequence = base_sequence + count;
  p.recent.push_back({base_sequence, count, base_offset, last_offset});
  if (p.recent.size() > kRecentBatches) p.recent.pop_front();
}

void ProducerTable::EvictOldest() {
  // Linear, but only when the table is full of distinct producers. A producer
  // with batches in flight stays: its retries must find them.
  auto oldest = producers_.end();
  for (auto it = producers_.begin(); it != producers_.end(); ++it) {
    if (!it->second.pending.empty()) continue;
    if (oldest == producers_.end() || it->second.last_seen < oldest->second.last_seen) oldest = it;
  }
  if (oldest != producers_.end()) producers_.erase(oldest);
}

}  // namespace sprawl::broker
