#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>

namespace sprawl::broker {

// What to do with a batch of an idempotent producer.
enum class SequenceVerdict {
  kAppend,      // the next batch of this producer (or its first one seen here)
  kDuplicate,   // a retry of a batch already stored
  kOutOfOrder,  // the sequence skips ahead: batches were lost in between
};

struct SequenceCheck {
  SequenceVerdict verdict = SequenceVerdict::kAppend;
  uint32_t expected_sequence = 0;  // the sequence this producer's next batch must carry
  // For a duplicate of one of the producer's recent batches: where it was stored.
  std::optional<uint64_t> base_offset;
  std::optional<uint64_t> last_offset;
};

// The idempotence state of one partition: per producer id, the sequence its
// next batch must carry and where its last few batches were stored, so a
// retry gets the original offsets back. Sequences count records: a batch of
// n records starting at sequence s is followed by one starting at s + n.
// The table is rebuilt from the log's tail when a node starts; a producer
// unknown to it may start at any sequence. Not thread-safe.
class ProducerTable {
 public:
  // How many recent batches per producer are remembered for duplicates.
  static constexpr size_t kRecentBatches = 5;

  // `max_producers`: producers tracked; the least recently seen is forgotten
  // beyond it, so memory stays bounded whatever clients do.
  explicit ProducerTable(size_t max_producers = 10'000) : max_producers_(max_producers) {}

  // Classifies a batch (producer_id != 0) of `count` records at `base_sequence`.
  SequenceCheck Check(uint64_t producer_id, uint32_t base_sequence, uint32_t count) const;

  // Records a batch accepted for the log at [base_offset, last_offset].
  void Record(uint64_t producer_id, uint32_t base_sequence, uint32_t count, uint64_t base_offset,
              uint64_t last_offset);

  size_t size() const { return producers_.size(); }

 private:
  struct Batch {
    uint32_t base_sequence;
    uint32_t count;
    uint64_t base_offset;
    uint64_t last_offset;
  };
  struct Producer {
    uint32_t next_sequence = 0;
    uint64_t last_seen = 0;
    std::deque<Batch> recent;
  };

  void EvictOldest();

  size_t max_producers_;
  uint64_t tick_ = 0;
  std::unordered_map<uint64_t, Producer> producers_;
};

}  // namespace sprawl::broker
