#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/storage/partition_log.h"
#include "core/util/thread_annotations.h"

namespace sprawl::storage {

// The batches of a partition's most recent read from RocksDB, verified, kept
// for the reads that follow it. Readers of the disk tier come back for the
// same or the next batch at once: a consumer group is pushed a batch in
// slices of its credits (one read per slice), and a catch-up reader goes
// forward. Serving them from here saves a RocksDB iterator, a copy and a
// checksum pass per read. Holds one read's worth of batches (the disk read
// ahead, about 1 MiB) per partition. Thread-safe.
class DiskReadCache {
 public:
  // Batches from the one holding `offset` on, whole, ending before
  // `end_offset`, within `limits` as PartitionLog::Read applies them; nullopt
  // when the cache does not hold `offset` or cannot give the whole answer (it
  // ends before the limits or `end_offset` are reached).
  std::optional<ReadResult> Serve(uint64_t offset, uint64_t end_offset,
                                  const ReadLimits& limits) const;

  // The current generation. Read it before reading RocksDB and pass it to
  // Fill, so that batches read before an Invalidate are not kept.
  uint64_t generation() const;
  // Replaces the cached batches with `batches` (contiguous, ascending) unless
  // Invalidate ran since `generation` was read.
  void Fill(const std::vector<StoredBatch>& batches, uint64_t generation);
  // Drops everything: the log's content at some offsets changed (truncation,
  // snapshot install).
  void Invalidate();

 private:
  mutable Mutex mu_;
  std::vector<StoredBatch> batches_ GUARDED_BY(mu_);
  uint64_t generation_ GUARDED_BY(mu_) = 0;
};

}  // namespace sprawl::storage
