#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/storage/store_options.h"
#include "core/util/result.h"

namespace sprawl::storage {

// Names a partition: a topic and its partition number.
struct PartitionKey {
  std::string topic;
  uint32_t partition = 0;

  std::string ToString() const { return topic + "/" + std::to_string(partition); }
  friend auto operator<=>(const PartitionKey&, const PartitionKey&) = default;
};

// An encoded batch shared between tiers and readers without copying.
using BatchBytes = std::shared_ptr<const std::string>;

struct StoredBatch {
  BatchBytes bytes;
  uint64_t base_offset = 0;
  uint64_t last_offset = 0;
};

struct AppendInfo {
  uint64_t base_offset = 0;
  uint64_t last_offset = 0;
};

struct ReadLimits {
  uint64_t max_bytes = 1u << 20;  // at least one batch is returned even if larger
  uint64_t max_records = std::numeric_limits<uint64_t>::max();
  // Offsets at or beyond this are not returned (e.g. the commit index).
  uint64_t end_offset = std::numeric_limits<uint64_t>::max();
};

enum class Tier { kMemory, kDisk };

struct ReadResult {
  // Whole batches in offset order; the first may begin before the offset
  // asked for (readers skip records below it).
  std::vector<StoredBatch> batches;
  // Where the next read should start.
  uint64_t next_offset = 0;
  Tier tier = Tier::kMemory;
};

// Raft-style snapshot metadata plus opaque state-machine data.
struct PartitionSnapshot {
  uint64_t last_offset = 0;  // the last offset the snapshot covers
  uint64_t last_term = 0;    // the term of that offset
  std::string data;
};

struct PartitionStats {
  uint64_t first_offset = 0;
  uint64_t next_offset = 0;
  uint64_t commit_index = 0;
  uint64_t memory_bytes = 0;
  uint64_t memory_batches = 0;
  uint64_t disk_bytes = 0;
  uint64_t disk_segments = 0;
};

struct RetentionOutcome {
  uint64_t records_deleted = 0;
  uint64_t bytes_deleted = 0;
};

using AppendCallback = std::function<void(Result<AppendInfo>)>;

// The log of one partition, shaped for Raft: append with a term, read ranges,
// truncate a suffix, a persisted commit index and snapshots. Offsets are
// record offsets; every batch covers [base_offset, last_offset]. All methods
// are thread-safe; the hot path takes one short per-partition lock.
class PartitionLog {
 public:
  virtual ~PartitionLog() = default;

  virtual const PartitionKey& key() const = 0;

  // Validates an encoded batch (RecordBatchBuilder output), assigns it the
  // next offsets and stamps `term`. The records are readable as soon as this
  // returns. `done` runs once the batch is durable under the fsync policy, on
  // the storage writer thread (disk) or before this returns (memory, or when
  // the batch is rejected: INVALID_ARGUMENT / DATA_CORRUPTION, nothing stored).
  // May wait while the disk writer's queue is full.
  virtual void AppendAsync(std::string batch, uint64_t term, AppendCallback done) = 0;

  // AppendAsync and wait for `done`.
  Result<AppendInfo> Append(std::string batch, uint64_t term);

  // Whole batches from the one containing `offset`, up to the limits.
  // OFFSET_OUT_OF_RANGE below FirstOffset() or above NextOffset(); an empty
  // result at NextOffset(). A batch failing its checksum is never returned:
  // the batches before it are, and a read starting at it is DATA_CORRUPTION.
  virtual Result<ReadResult> Read(uint64_t offset, const ReadLimits& limits) const = 0;

  // Removes the batches at and after `from_offset`, which must be a batch
  // boundary at or above the commit index. Ordered after earlier appends.
  virtual Status TruncateSuffix(uint64_t from_offset) = 0;

  // The first retained offset and the offset the next append will receive.
  virtual uint64_t FirstOffset() const = 0;
  virtual uint64_t NextOffset() const = 0;

  // The term of the batch holding `offset`; for FirstOffset() - 1, the term
  // of the last removed batch (what Raft's consistency check needs).
  virtual Result<uint64_t> TermAt(uint64_t offset) const = 0;

  // Offsets below the commit index are committed. It only moves forward and
  // never past NextOffset(); persisted with the next write.
  virtual Status SetCommitIndex(uint64_t commit_index) = 0;
  virtual uint64_t CommitIndex() const = 0;

  // The first offset whose record timestamp is >= `timestamp_ms`, or
  // NextOffset() when there is none.
  virtual Result<uint64_t> OffsetForTimestamp(int64_t timestamp_ms) const = 0;

  // Persists a snapshot; it does not change the log.
  virtual Status SaveSnapshot(const PartitionSnapshot& snapshot) = 0;
  // The last saved or installed snapshot, if any.
  virtual Result<std::optional<PartitionSnapshot>> LoadSnapshot() const = 0;
  // Replaces the whole log by `snapshot`: every batch is removed and the log
  // continues at snapshot.last_offset + 1 (a follower that fell behind).
  virtual Status InstallSnapshot(const PartitionSnapshot& snapshot) = 0;
  // Removes every batch and the snapshot: the log is empty and starts again
  // at offset 0, as a new one would (a replica removed from its partition's
  // group drops what it held). Does nothing to a dropped log.
  virtual Status Reset() = 0;

  // Drops committed data that `policy` no longer keeps, as of `now_ms`.
  virtual Result<RetentionOutcome> ApplyRetention(const RetentionPolicy& policy,
                                                  int64_t now_ms) = 0;

  // Waits until everything appended so far is durable under the fsync policy.
  virtual Status Flush() = 0;

  virtual PartitionStats Stats() const = 0;
};

}  // namespace sprawl::storage
