#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>

namespace sprawl::broker {

// What to do with a batch of an idempotent producer.
enum class SequenceVerdict {
  kAppend,      // the next batch of this producer (or its first one seen here)
  kDuplicate,   // a retry of a committed batch
  kInFlight,    // a retry of a batch appended and not yet committed: wait for its outcome
  kOutOfOrder,  // the sequence skips ahead: batches were lost in between
  kFenced,      // a named producer's epoch older than the latest seen: a zombie
};

struct SequenceCheck {
  SequenceVerdict verdict = SequenceVerdict::kAppend;
  uint32_t expected_sequence = 0;  // the sequence this producer's next batch must carry
  uint16_t latest_epoch = 0;       // kFenced: the epoch that fenced it
  // For a duplicate of one of the producer's recent batches, or a batch in
  // flight: where it was (or is being) stored.
  std::optional<uint64_t> base_offset;
  std::optional<uint64_t> last_offset;
};

// The idempotence state of one partition: per producer id, the sequence its
// next batch must carry, where its last few committed batches were stored (so
// a retry gets the original offsets back) and its batches appended but not yet
// committed. A sequence counts once its batch is committed (Commit); a batch
// whose append failed is forgotten (Abort), so its retry is appended again.
// Sequences count records: a batch of n records starting at sequence s is
// followed by one starting at s + n. The table is rebuilt from the log's
// committed tail when a node starts; a producer unknown to it may start at any
// sequence. A named producer (storage/producer_identity.h) also carries an
// epoch: a batch of its family under an older epoch than the latest seen
// is fenced, and a newer epoch starts the id's sequence afresh. Not
// thread-safe.
class ProducerTable {
 public:
  // How many recent batches per producer are remembered for duplicates.
  static constexpr size_t kRecentBatches = 5;

  // `max_producers`: producers tracked; the least recently seen one without
  // batches in flight is forgotten beyond it, so memory stays bounded.
  explicit ProducerTable(size_t max_producers = 10'000) : max_producers_(max_producers) {}

  // Classifies a batch (producer_id != 0) of `count` records at `base_sequence`.
  SequenceCheck Check(uint64_t producer_id, uint32_t base_sequence, uint32_t count,
                      uint16_t epoch = 0) const;

  // A batch was appended at [base_offset, last_offset] and awaits its commit.
  // Proposals come in offset order.
  void Propose(uint64_t producer_id, uint32_t base_sequence, uint32_t count, uint64_t base_offset,
               uint64_t last_offset, uint16_t epoch = 0);
  // Every proposed batch that ends below `commit_index` is committed.
  void Commit(uint64_t commit_index);
  // The proposed batch at `base_offset` failed: it leaves no trace.
  void Abort(uint64_t base_offset);

  // Records a committed batch at [base_offset, last_offset] (the rebuild).
  void Record(uint64_t producer_id, uint32_t base_sequence, uint32_t count, uint64_t base_offset,
              uint64_t last_offset, uint16_t epoch = 0);

  size_t size() const { return producers_.size(); }
  size_t in_flight() const { return proposed_.size(); }

 private:
  struct Batch {
    uint32_t base_sequence;
    uint32_t count;
    uint64_t base_offset;
    uint64_t last_offset;
  };
  struct Producer {
    uint32_t next_sequence = 0;  // after the last committed batch
    uint16_t epoch = 0;          // a named producer's session
    uint64_t last_seen = 0;
    std::deque<Batch> recent;   // committed, oldest first
    std::deque<Batch> pending;  // proposed, in offset order
  };
  struct Proposed {
    uint64_t producer_id;
    uint64_t base_offset;
    uint64_t last_offset;
  };

  Producer& Touch(uint64_t producer_id);
  // A batch of `epoch` is stored: a newer epoch starts the id afresh and
  // raises its family's fence.
  void Advance(uint64_t producer_id, Producer& p, uint16_t epoch);
  void EvictOldest();

  size_t max_producers_;
  uint64_t tick_ = 0;
  std::unordered_map<uint64_t, Producer> producers_;
  // Named producers: family -> the latest epoch stored (bounded like producers_).
  std::unordered_map<uint64_t, uint16_t> fences_;
  std::deque<Proposed> proposed_;  // every producer's pending batches, in offset order
};

}  // namespace sprawl::broker
