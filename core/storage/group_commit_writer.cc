#include "core/storage/group_commit_writer.h"

#include <rocksdb/write_batch.h>

#include <chrono>
#include <future>

#include "core/util/logging.h"

namespace sprawl::storage {

WriteOp WriteOp::Put(rocksdb::ColumnFamilyHandle* cf, std::string key, std::string value) {
  return WriteOp{Kind::kPut, cf, std::move(key), std::move(value), nullptr};
}
WriteOp WriteOp::PutShared(rocksdb::ColumnFamilyHandle* cf, std::string key, BatchBytes value) {
  return WriteOp{Kind::kPut, cf, std::move(key), {}, std::move(value)};
}
WriteOp WriteOp::Delete(rocksdb::ColumnFamilyHandle* cf, std::string key) {
  return WriteOp{Kind::kDelete, cf, std::move(key), {}, nullptr};
}
WriteOp WriteOp::DeleteRange(rocksdb::ColumnFamilyHandle* cf, std::string begin, std::string end) {
  return WriteOp{Kind::kDeleteRange, cf, std::move(begin), std::move(end), nullptr};
}

namespace {

uint64_t OpBytes(const WriteOp& op) {
  return op.key.size() + (op.shared_value ? op.shared_value->size() : op.value.size());
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

GroupCommitWriter::GroupCommitWriter(rocksdb::DB* db, FsyncPolicy fsync, uint64_t max_queue_bytes,
                                     StorageMetrics& metrics)
    : db_(db), fsync_(fsync), max_queue_bytes_(max_queue_bytes), metrics_(metrics) {
  thread_ = std::thread([this] { Run(); });
  if (fsync_.kind == FsyncPolicy::Kind::kInterval) {
    sync_thread_ = std::thread([this] { SyncPeriodically(); });
  }
}

GroupCommitWriter::~GroupCommitWriter() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  thread_.join();
}

void GroupCommitWriter::Submit(std::vector<WriteOp> ops, WriteDone done) {
  Submit(std::move(ops), std::move(done), /*sync=*/false);
}

void GroupCommitWriter::Submit(std::vector<WriteOp> ops, WriteDone done, bool sync) {
  Request request{std::move(ops), std::move(done), 0, sync};
  for (const auto& op : request.ops) request.bytes += OpBytes(op);
  UniqueLock lock(mu_);
  // A request larger than the whole bound still goes through once the queue
  // is empty, so no single batch can wedge the writer.
  space_cv_.wait(lock.native(), [&]() REQUIRES(mu_) {
    return stopping_ || !failed_.ok() || queued_bytes_ == 0 ||
           queued_bytes_ + request.bytes <= max_queue_bytes_;
  });
  if (!failed_.ok() || stopping_) {
    Status status = failed_.ok() ? Closed("the storage writer is stopping") : failed_;
    lock.unlock();
    request.done(status);
    return;
  }
  queued_bytes_ += request.bytes;
  metrics_.writer_queue_bytes.Set(static_cast<int64_t>(queued_bytes_));
  queue_.push_back(std::move(request));
  lock.unlock();
  work_cv_.notify_one();
}

Status GroupCommitWriter::SubmitAndWait(std::vector<WriteOp> ops) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  Submit(std::move(ops), [&promise](const Status& s) { promise.set_value(s); });
  return future.get();
}

Status GroupCommitWriter::Flush() {
  std::promise<Status> promise;
  auto future = promise.get_future();
  Request request{{}, [&promise](const Status& s) { promise.set_value(s); }, 0, true};
  {
    MutexLock lock(mu_);
    if (!failed_.ok()) return failed_;
    if (stopping_) return Closed("the storage writer is stopping");
    queue_.push_back(std::move(request));
  }
  work_cv_.notify_one();
  return future.get();
}

uint64_t GroupCommitWriter::queued_bytes() const {
  MutexLock lock(mu_);
  return queued_bytes_;
}

size_t GroupCommitWriter::queued_requests() const {
  MutexLock lock(mu_);
  return queue_.size();
}

Status GroupCommitWriter::failure() const {
  MutexLock lock(mu_);
  return failed_;
}

void GroupCommitWriter::Run() {
  const bool always = fsync_.kind == FsyncPolicy::Kind::kAlways;
  UniqueLock lock(mu_);
  while (true) {
    work_cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) break;
    std::deque<Request> group;
    group.swap(queue_);
    queued_bytes_ = 0;
    periodic_sync_queued_ = false;
    metrics_.writer_queue_bytes.Set(0);
    Status status = failed_;
    lock.unlock();

    bool force_sync = false;
    for (const auto& r : group) force_sync |= r.force_sync;
    if (status.ok()) {
      bool wrote = false;
      status = WriteGroup(group, /*sync=*/always, &wrote);
      if (wrote && !always) unsynced_writes_.fetch_add(1);
    }
    // A write is acknowledged once it is as durable as its policy asks: a
    // sync that a flush or the interval timer requested in the same group
    // must not hold its acknowledgement back.
    CompleteGroup(group, /*syncs=*/false, status);
    if (force_sync && status.ok()) status = SyncUpTo(unsynced_writes_.load());
    CompleteGroup(group, /*syncs=*/true, status);

    lock.lock();
    metrics_.writer_queue_bytes.Set(static_cast<int64_t>(queued_bytes_));
    space_cv_.notify_all();
  }
  const bool sync_on_exit = failed_.ok();
  lock.unlock();
  if (sync_on_exit) {
    // SyncUpTo logs and counts a failure; nobody is left to tell, and what it
    // could not sync was acknowledged under a policy that allows losing it.
    const Status synced = SyncUpTo(unsynced_writes_.load());
    if (!synced.ok()) log::Error("final WAL sync on close failed", {{"error", synced.ToString()}});
  }
}

void GroupCommitWriter::SyncPeriodically() {
  UniqueLock lock(mu_);
  while (!sync_cv_.wait_for(lock.native(), fsync_.interval,
                            [&]() REQUIRES(mu_) { return stopping_; })) {
    if (!failed_.ok() || periodic_sync_queued_) continue;
    // The sync itself runs on the writer thread, between write groups: only
    // that thread knows, without a race, whether its last write failed, and
    // RocksDB must never be asked to sync a WAL after a failed write (its
    // WritableFileWriter asserts on it). A failure is recorded by the writer.
    periodic_sync_queued_ = true;
    queue_.push_back(Request{{}, [](const Status&) {}, 0, true});
    work_cv_.notify_one();
  }
}

void GroupCommitWriter::CompleteGroup(std::deque<Request>& group, bool syncs,
                                      const Status& status) {
  {
    // Recorded before any callback runs, so a caller that learns of the
    // failure and submits again is refused rather than queued behind it.
    MutexLock lock(mu_);
    RecordFailureLocked(status);
  }
  for (auto& r : group) {
    if (r.force_sync == syncs) r.done(status);
  }
}

void GroupCommitWriter::RecordFailureLocked(const Status& status) {
  if (status.ok() || !failed_.ok()) return;
  // Later writes fail with this error until the store is reopened, so
  // retrying them unchanged cannot succeed: not retriable.
  failed_ = Status(status.code(), status.message(), false);
  metrics_.failed.Set(1);
}

Status GroupCommitWriter::WriteGroup(std::deque<Request>& group, bool sync, bool* wrote) {
  *wrote = false;
  rocksdb::WriteBatch batch;
  uint64_t bytes = 0;
  uint64_t requests = 0;
  for (const auto& r : group) {
    if (r.ops.empty()) continue;
    ++requests;
    bytes += r.bytes;
    for (const auto& op : r.ops) {
      rocksdb::Status s;
      switch (op.kind) {
        case WriteOp::Kind::kPut:
          s = op.shared_value ? batch.Put(op.cf, op.key, *op.shared_value)
                              : batch.Put(op.cf, op.key, op.value);
          break;
        case WriteOp::Kind::kDelete:
          s = batch.Delete(op.cf, op.key);
          break;
        case WriteOp::Kind::kDeleteRange:
          s = batch.DeleteRange(op.cf, op.key, op.value);
          break;
      }
      if (!s.ok()) return Internal("building a RocksDB write batch failed: " + s.ToString());
    }
  }
  if (requests == 0) return Status::Ok();
  rocksdb::WriteOptions options;
  options.sync = sync;
  const auto start = std::chrono::steady_clock::now();
  const rocksdb::Status s = db_->Write(options, &batch);
  metrics_.disk_write_seconds.Observe(SecondsSince(start));
  if (!s.ok()) {
    metrics_.disk_write_errors.Increment();
    log::Error("storage write failed", {{"error", s.ToString()}, {"synced", sync}});
    // RocksDB stops accepting writes after a failed WAL write, and the write
    // may be partly in the WAL: only a reopen knows what is on disk.
    return Status(ErrorCode::kIoError,
                  std::string(sync ? "writing and syncing" : "writing") +
                      " the store's write-ahead log failed (" + s.ToString() +
                      "); the write may or may not be on disk. The store refuses writes until it "
                      "is reopened (restart the node once the disk is healthy); reopening "
                      "recovers what is on disk",
                  false);
  }
  if (sync) metrics_.fsyncs.Increment();
  *wrote = true;
  metrics_.disk_writes.Increment();
  metrics_.disk_write_requests.Increment(requests);
  metrics_.disk_write_bytes.Increment(bytes);
  return Status::Ok();
}

Status GroupCommitWriter::SyncUpTo(uint64_t target) {
  std::lock_guard lock(sync_mu_);
  if (!sync_failed_.ok()) return sync_failed_;
  if (synced_writes_ >= target) return Status::Ok();
  // Everything written before this point is covered by the sync below.
  const uint64_t covered = unsynced_writes_.load();
  const auto start = std::chrono::steady_clock::now();
  const rocksdb::Status s = db_->SyncWAL();
  metrics_.fsync_seconds.Observe(SecondsSince(start));
  if (!s.ok()) {
    metrics_.disk_write_errors.Increment();
    log::Error("storage WAL sync failed", {{"error", s.ToString()}});
    sync_failed_ = Status(
        ErrorCode::kIoError,
        "syncing the store's write-ahead log to disk failed (" + s.ToString() +
            "); writes since the last successful sync may not be on disk, and a second sync "
            "cannot tell (the OS may have dropped what it could not write). The store refuses "
            "writes until it is reopened (restart the node once the disk is healthy); reopening "
            "recovers what is on disk",
        false);
    return sync_failed_;
  }
  synced_writes_ = covered;
  metrics_.fsyncs.Increment();
  return Status::Ok();
}

}  // namespace sprawl::storage
