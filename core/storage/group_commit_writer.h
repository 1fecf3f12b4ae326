#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/storage/partition_log.h"
#include "core/storage/storage_metrics.h"
#include "core/storage/store_options.h"
#include "core/util/clock.h"
#include "core/util/thread_annotations.h"

namespace sprawl::storage {

// One mutation of the disk tier.
struct WriteOp {
  enum class Kind : uint8_t { kPut, kDelete, kDeleteRange };
  Kind kind = Kind::kPut;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  std::string key;
  std::string value;        // kPut without shared_value; the end key of kDeleteRange
  BatchBytes shared_value;  // kPut of a batch shared with the memory tier

  static WriteOp Put(rocksdb::ColumnFamilyHandle* cf, std::string key, std::string value);
  static WriteOp PutShared(rocksdb::ColumnFamilyHandle* cf, std::string key, BatchBytes value);
  static WriteOp Delete(rocksdb::ColumnFamilyHandle* cf, std::string key);
  static WriteOp DeleteRange(rocksdb::ColumnFamilyHandle* cf, std::string begin, std::string end);
};

using WriteDone = std::function<void(const Status&)>;

// The single writer of a node's RocksDB. Callers submit groups of operations;
// one thread merges everything queued into one WriteBatch and one Write, and
// syncs the WAL by the fsync policy (group commit), so the cost of a write and
// of a sync is shared by all who waited for it. Under interval:<ms> a second
// thread syncs the WAL on its timer, so writing never waits for a sync (acks
// under that policy do not wait for one either).
class GroupCommitWriter {
 public:
  GroupCommitWriter(rocksdb::DB* db, FsyncPolicy fsync, uint64_t max_queue_bytes,
                    StorageMetrics& metrics);
  // Writes what is queued, then stops the thread.
  ~GroupCommitWriter();

  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Queues `ops`, applied atomically after every earlier submission. `done`
  // runs on the writer thread, in submission order, once the ops are written
  // (and synced under fsync=always). Waits while the queue holds more than its
  // byte bound. After a failed write or sync the writer is failed: that
  // submission and every later one fail with IO_ERROR, not retriable, naming
  // the cause, until the store is reopened (see failure()).
  void Submit(std::vector<WriteOp> ops, WriteDone done);
  // As Submit; with `sync`, `done` runs only once the ops are also synced to
  // stable storage, whatever the fsync policy (Raft's hard state and votes).
  void Submit(std::vector<WriteOp> ops, WriteDone done, bool sync);

  // Submit and wait for the outcome.
  Status SubmitAndWait(std::vector<WriteOp> ops);

  // Waits until everything submitted before the call is written and synced
  // to stable storage, whatever the policy.
  Status Flush();

  // Bytes queued and not yet written.
  uint64_t queued_bytes() const;
  // Requests (writes, flushes, the interval syncer's) queued and not yet
  // taken by the writer thread.
  size_t queued_requests() const;

  // OK, or the error that failed the writer. A failed sync is never retried:
  // the OS may have dropped the pages it could not write and report the next
  // sync as a success (the PostgreSQL fsync lesson), so only reopening the
  // store, which recovers from what is really on disk, clears it.
  Status failure() const;

 private:
  struct Request {
    std::vector<WriteOp> ops;
    WriteDone done;
    uint64_t bytes = 0;
    bool force_sync = false;
  };

  void Run();
  // The interval policy's timer: syncs the WAL when anything was written.
  void SyncPeriodically();
  // Records `status` (if an error) and runs the callbacks of the group's
  // sync requests (`syncs`) or of its writes.
  void CompleteGroup(std::deque<Request>& group, bool syncs, const Status& status) EXCLUDES(mu_);
  // Makes `status`, if an error, the sticky error of every later submission.
  void RecordFailureLocked(const Status& status) REQUIRES(mu_);
  // Writes every op of `group` in one RocksDB write; `wrote` says whether there was any.
  Status WriteGroup(std::deque<Request>& group, bool sync, bool* wrote);
  // Syncs the WAL unless every write up to `target` (a count of unsynced
  // writes) is synced already. Writer thread only (the interval syncer
  // queues a request), so no sync ever follows a failed write. A failure is
  // sticky.
  Status SyncUpTo(uint64_t target);

  rocksdb::DB* db_;
  const FsyncPolicy fsync_;
  const uint64_t max_queue_bytes_;
  StorageMetrics& metrics_;

  // Guards the queue and the sticky error; the one lock between callers and
  // the writer thread.
  mutable Mutex mu_;
  std::condition_variable work_cv_;   // writer waits for requests
  std::condition_variable space_cv_;  // submitters wait for queue space
  std::condition_variable sync_cv_;   // the interval syncer waits for its timer or stop
  std::deque<Request> queue_ GUARDED_BY(mu_);
  uint64_t queued_bytes_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool periodic_sync_queued_ GUARDED_BY(mu_) = false;  // the interval syncer's request is queued
  Status failed_ GUARDED_BY(mu_);
  // Writes issued without a sync (interval and never policies); raised by
  // the writer thread after each.
  std::atomic<uint64_t> unsynced_writes_{0};
  // Guards the two fields below.
  std::mutex sync_mu_;
  uint64_t synced_writes_ = 0;  // unsynced_writes_ covered by the last good sync
  Status sync_failed_;          // sticky
  std::thread thread_;
  std::thread sync_thread_;  // interval policy only
};

}  // namespace sprawl::storage
