#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/storage/memory_budget.h"
#include "core/storage/partition_log.h"
#include "core/storage/rocks_engine.h"
#include "core/storage/storage_metrics.h"
#include "core/storage/store_options.h"
#include "core/storage/tiered_partition_log.h"
#include "core/util/clock.h"
#include "core/util/metrics.h"
#include "core/util/thread_annotations.h"

namespace sprawl::storage {

// A node's storage: every partition log, in memory or on one RocksDB. All
// methods are thread-safe.
class Store {
 public:
  // Opens (or creates) the store and recovers every partition in it. Errors
  // (NOT_A_STORE, UNSUPPORTED_VERSION, IO_ERROR, INVALID_ARGUMENT) change
  // nothing. `registry` and `clock` must outlive the store.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options,
                                             metrics::Registry& registry,
                                             const Clock& clock = SystemClock::Instance());
  // Writes what is queued and closes. Partition pointers become invalid.
  ~Store();

  // The log of `key`, created empty on first use. INVALID_ARGUMENT for a bad
  // topic name. The pointer stays valid until DropPartition or the store
  // closes.
  Result<PartitionLog*> OpenPartition(const PartitionKey& key);
  // The log of an existing partition; NOT_FOUND otherwise.
  Result<PartitionLog*> GetPartition(const PartitionKey& key) const;
  // A share of an existing partition's log (NOT_FOUND otherwise). It keeps the
  // object alive past DropPartition, for work that completes later (an append
  // in flight, a retention pass); a dropped log changes nothing on disk.
  Result<std::shared_ptr<PartitionLog>> SharePartition(const PartitionKey& key) const;
  std::vector<PartitionKey> Partitions() const;
  // Deletes the partition and all its data. Raw pointers to its log become
  // invalid; shares keep a log that no longer writes. NOT_FOUND when absent.
  Status DropPartition(const PartitionKey& key);

  // Sets the retention policy of a partition (none by default).
  Status SetRetention(const PartitionKey& key, const RetentionPolicy& policy);
  // One retention pass over every partition, as of the clock's time.
  Result<RetentionOutcome> ApplyRetention();

  // Waits until everything appended so far is on stable storage.
  Status Flush();

  // Re-reads the data directory's free space now rather than at the next
  // period (disk mode; nothing in memory mode).
  void RefreshDiskSpace();

  // Brings the memory tiers back within the node's budget if they went over
  // it (MemoryBudget::Reclaim). Appends do this as they go; this catches
  // batches that became evictable after the last append (written since).
  // Call it with no partition lock held, e.g. from a periodic task.
  void ReclaimMemory();
  // Bytes held by the memory tiers of all partitions.
  uint64_t memory_tier_bytes() const { return budget_->bytes(); }

  // Disk mode: flushes RocksDB's memtables and blocks until it has finished
  // every flush and compaction pending, for benchmarks and tests that measure
  // what the disk tier wrote. Memory mode: returns at once.
  Status SettleDisk() const;

  // OK, or why the store refuses writes: a disk write or WAL sync failed
  // (IO_ERROR, not retriable). Only reopening the store clears it.
  Status failure() const;

  // Small durable records of the layers above (topic configs, group
  // cursors), under caller-chosen keys kept apart from the partitions' own
  // state ("x/" + key in the state family). In memory mode they live only as
  // long as the store. Writes are ordered with appends and are durable under
  // the fsync policy when they return (PutRecord, DeleteRecords) or when
  // `done` runs (PutRecordAsync, on the storage writer thread).
  Status PutRecord(std::string_view key, std::string value);
  void PutRecordAsync(std::string_view key, std::string value, std::function<void(Status)> done);
  // Deletes the record `key`, if present.
  Status DeleteRecord(std::string_view key);
  // Deletes every record whose key starts with `prefix`.
  Status DeleteRecords(std::string_view prefix);
  // One change of a record for WriteRecordsAsync.
  struct RecordWrite {
    enum class Kind : uint8_t { kPut, kDelete, kDeleteRange };
    Kind kind = Kind::kPut;
    std::string key;    // kDeleteRange: the first key deleted
    std::string value;  // kPut: the value; kDeleteRange: the first key kept
  };
  // Applies `writes` atomically, in order, after every earlier write; `done`
  // runs (on the storage writer thread, or at once in memory mode) once they
  // are written and, with `sync`, synced whatever the fsync policy.
  void WriteRecordsAsync(std::vector<RecordWrite> writes, bool sync,
                         std::function<void(Status)> done);
  // Every record whose key starts with `prefix`, in key order.
  Result<std::vector<std::pair<std::string, std::string>>> ScanRecords(
      std::string_view prefix) const;

  const StoreOptions& options() const { return options_; }

  // Checks a topic name: 1 to 249 characters of [A-Za-z0-9._-], not "." or "..".
  static Status ValidateTopicName(std::string_view topic);

 private:
  Store(const StoreOptions& options, metrics::Registry& registry, const Clock& clock);
  Status LoadPartitions();

  struct Entry {
    std::shared_ptr<TieredPartitionLog> log;
    RetentionPolicy retention;
  };

  const StoreOptions options_;
  const Clock& clock_;
  StorageMetrics metrics_;
  // Shared with every log, which may outlive the store (SharePartition).
  std::shared_ptr<MemoryBudget> budget_;
  mutable Mutex mu_;
  // Declared before engine_ so that the engine (and its writer thread, whose
  // callbacks reach into the logs) is destroyed first.
  std::map<PartitionKey, Entry> partitions_ GUARDED_BY(mu_);
  uint32_t next_id_ GUARDED_BY(mu_) = 1;
  std::map<std::string, std::string, std::less<>> memory_records_ GUARDED_BY(mu_);  // memory mode
  std::unique_ptr<RocksEngine> engine_;
};

}  // namespace sprawl::storage
