#include "core/storage/tiered_partition_log.h"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <future>

#include "core/storage/keys.h"
#include "core/storage/partition_state_codec.h"
#include "core/util/logging.h"

namespace sprawl::storage {

namespace {

uint64_t RecordsFrom(const StoredBatch& b, uint64_t offset) {
  return b.last_offset + 1 - std::max(offset, b.base_offset);
}

// How much a disk read fetches at least, for the reads after it.
constexpr uint64_t kDiskReadAheadBytes = 1u << 20;

}  // namespace

TieredPartitionLog::TieredPartitionLog(PartitionKey key, const StoreOptions& options,
                                       StorageMetrics& metrics,
                                       std::shared_ptr<MemoryBudget> budget)
    : TieredPartitionLog(std::move(key), options, metrics, std::move(budget), nullptr, 0) {}

TieredPartitionLog::TieredPartitionLog(PartitionKey key, const StoreOptions& options,
                                       StorageMetrics& metrics,
                                       std::shared_ptr<MemoryBudget> budget, RocksEngine* engine,
                                       uint32_t id)
    : key_(std::move(key)),
      options_(options),
      metrics_(metrics),
      engine_(engine),
      id_(id),
      budget_(std::move(budget)),
      memory_(*budget_),
      segments_(options.segment_bytes),
      read_cache_(*budget_, metrics.read_ahead_bytes) {
  budget_->Join(this);
}

TieredPartitionLog::~TieredPartitionLog() { budget_->Leave(this); }

Result<std::unique_ptr<TieredPartitionLog>> TieredPartitionLog::OpenOnDisk(
    PartitionKey key, uint32_t id, const StoreOptions& options, RocksEngine& engine,
    StorageMetrics& metrics, std::shared_ptr<MemoryBudget> budget) {
  std::unique_ptr<TieredPartitionLog> log(
      new TieredPartitionLog(std::move(key), options, metrics, std::move(budget), &engine, id));
  {
    MutexLock lock(log->mu_);  // uncontended: the log is not shared yet
    SPRAWL_RETURN_IF_ERROR(log->Recover());
  }
  return log;
}

WriteOp TieredPartitionLog::StartStateOp() const {
  return WriteOp::Put(engine_->state_cf(), keys::PartitionState(id_, "start"),
                      state_codec::EncodeLogStart({first_, prev_term_}));
}

WriteOp TieredPartitionLog::CommitStateOp() const {
  return WriteOp::Put(engine_->state_cf(), keys::PartitionState(id_, "commit"),
                      state_codec::EncodeOffset(commit_));
}

void TieredPartitionLog::AppendAsync(std::string batch, uint64_t term, AppendCallback done) {
  // Validation runs before the lock: it is the costly part and needs no state.
  auto view = RecordBatchView::Parse(batch);
  Status valid = view.ok() ? view->Validate() : view.status();
  if (!valid.ok()) {
    metrics_.rejected_batches.Increment();
    done(valid.WithContext("append to " + key_.ToString() + " rejected"));
    return;
  }
  const uint32_t count = view->record_count();
  const int64_t max_ts = view->max_timestamp_ms();
  if (on_disk()) {
    // A failed store takes no offsets: the log stays where the disk is.
    Status failed = engine_->writer().failure();
    if (failed.ok()) failed = engine_->disk_space().Admit(batch.size());
    if (!failed.ok()) {
      done(failed.WithContext("append to " + key_.ToString() + " refused"));
      return;
    }
  }

  UniqueLock lock(mu_);
  if (term < last_term_) {
    const uint64_t last_term = last_term_;  // read under the lock, not after it
    lock.unlock();
    metrics_.rejected_batches.Increment();
    done(InvalidArgument("append to " + key_.ToString() + " with term " + std::to_string(term) +
                         " after term " + std::to_string(last_term) +
                         ": terms never go backwards in a log"));
    return;
  }
  const AppendInfo info{next_, next_ + count - 1};
  StampBatch(&batch, info.base_offset, term);
  const auto bytes = std::make_shared<const std::string>(std::move(batch));
  const uint64_t stamp = memory_.Push({bytes, info.base_offset, info.last_offset, term, max_ts});
  next_ = info.last_offset + 1;
  last_term_ = term;
  metrics_.appended_records.Increment(count);
  metrics_.appended_bytes.Increment(bytes->size());

  if (!on_disk()) {
    EnforceMemoryCapLocked();
    lock.unlock();
    // Outside the lock: a pass tries the locks of other partitions. This
    // batch stays, so its records are readable when the append returns.
    budget_->MaybeReclaim(stamp);
    done(info);
    return;
  }
  const SegmentInfo* sealed =
      segments_.OnAppend(info.base_offset, info.last_offset, bytes->size(), max_ts, term);
  std::vector<WriteOp> ops;
  ops.reserve(2);
  ops.push_back(WriteOp::PutShared(engine_->log_cf(), keys::Offset(id_, info.base_offset), bytes));
  if (sealed != nullptr) {
    ops.push_back(WriteOp::Put(engine_->index_cf(), keys::Offset(id_, sealed->first_offset),
                               sealed->Encode()));
  }
  if (options_.memory_tier_bytes_per_partition != 0) {
    metrics_.memory_evicted_bytes.Increment(
        memory_.EvictOldest(options_.memory_tier_bytes_per_partition, written_next_.load()));
  }
  // Submitted under mu_ so that the writer's order is the offset order.
  engine_->writer().Submit(std::move(ops), [this, info, done = std::move(done)](const Status& s) {
    if (!s.ok()) {
      done(s.WithContext("append to " + key_.ToString() + " failed"));
      return;
    }
    written_next_.store(info.last_offset + 1);
    done(info);
  });
  lock.unlock();
  // Here rather than on the writer thread, which must never wait for a
  // partition's lock (TruncateSuffix holds it while it waits for the writer).
  budget_->MaybeReclaim(stamp);
}

void TieredPartitionLog::EnforceMemoryCapLocked() {
  const uint64_t cap = options_.memory_tier_bytes_per_partition;
  if (cap == 0) return;
  uint64_t dropped = 0;
  while (memory_.bytes() > cap && memory_.entries().size() > 1) dropped += DropOldestLocked();
  metrics_.memory_dropped_records.Increment(dropped);
}

uint64_t TieredPartitionLog::DropOldestLocked() {
  const MemoryEntry& oldest = memory_.entries().front();
  const uint64_t records = oldest.last_offset + 1 - oldest.base_offset;
  prev_term_ = oldest.term;
  first_ = oldest.last_offset + 1;
  commit_ = std::max(commit_, first_);
  memory_.PopOldest();
  return records;
}

std::optional<uint64_t> TieredPartitionLog::OldestReclaimableLocked() const {
  if (memory_.empty()) return std::nullopt;
  const MemoryEntry& oldest = memory_.entries().front();
  // Disk mode: a batch not yet written is the only copy of its records
  // (and every batch after it is unwritten too).
  if (on_disk() && oldest.last_offset >= written_next_.load()) return std::nullopt;
  return oldest.stamp;
}

std::optional<uint64_t> TieredPartitionLog::OldestReclaimable() {
  if (!mu_.try_lock()) return std::nullopt;
  const std::optional<uint64_t> stamp = OldestReclaimableLocked();
  mu_.unlock();
  return stamp;
}

std::optional<uint64_t> TieredPartitionLog::ReclaimOldest(uint64_t below, uint64_t target) {
  // Never waits: the pass may run on a thread whose caller holds other
  // locks, and a log busy now is one in use, not the oldest to reclaim.
  if (!mu_.try_lock()) return std::nullopt;
  if (on_disk()) {
    metrics_.memory_evicted_bytes.Increment(
        memory_.EvictForBudget(written_next_.load(), below, target));
  } else {
    uint64_t dropped = 0;
    while (budget_->bytes() > target && !memory_.empty() &&
           memory_.entries().front().stamp < below) {
      dropped += DropOldestLocked();
    }
    metrics_.memory_dropped_records.Increment(dropped);
  }
  const std::optional<uint64_t> next = OldestReclaimableLocked();
  mu_.unlock();
  return next;
}

Result<ReadResult> TieredPartitionLog::Read(uint64_t offset, const ReadLimits& limits) const {
  uint64_t end = 0;
  {
    MutexLock lock(mu_);
    if (offset < first_) {
      return OffsetOutOfRange("offset " + std::to_string(offset) + " of " + key_.ToString() +
                              " is below the first retained offset " + std::to_string(first_));
    }
    if (offset > next_) {
      return OffsetOutOfRange("offset " + std::to_string(offset) + " of " + key_.ToString() +
                              " is beyond the end of the log (next offset " +
                              std::to_string(next_) + ")");
    }
    end = std::min(next_, limits.end_offset);
    if (on_disk()) {
      // After a failed write, batches past what reached RocksDB may never
      // be stored: they are not served.
      Status failed = engine_->writer().failure();
      const uint64_t written = written_next_.load();
      if (!failed.ok() && end > written) {
        if (offset >= written && offset < end) {
          return failed.WithContext("offset " + std::to_string(offset) + " of " + key_.ToString() +
                                    " was not written to disk");
        }
        end = written;
      }
    }
    ReadResult result;
    result.next_offset = offset;
    if (offset >= end) return result;
    if (memory_.Covers(offset)) {
      memory_.Read(offset, end, limits, &result);
      uint64_t records = 0;
      for (const auto& b : result.batches) records += RecordsFrom(b, offset);
      metrics_.read_records_memory.Increment(records);
      return result;
    }
    if (!on_disk()) {
      return Internal("offset " + std::to_string(offset) + " of " + key_.ToString() +
                      " is in range but not in memory");
    }
    // Everything below the memory tier's oldest batch has been written.
    end = std::min(end, written_next_.load());
  }
  if (auto cached = read_cache_.Serve(offset, end, limits)) {
    uint64_t records = 0;
    for (const auto& b : cached->batches) records += RecordsFrom(b, offset);
    metrics_.read_records_disk.Increment(records);
    return std::move(*cached);
  }
  // Reads ahead: the reader (or the next slice of a group's push) comes back
  // for the batches after these at once, and one iterator serves them all.
  const uint64_t generation = read_cache_.generation();
  ReadLimits ahead;
  ahead.max_bytes = std::max(limits.max_bytes, kDiskReadAheadBytes);
  SPRAWL_ASSIGN_OR_RETURN(ReadResult read, ReadDisk(offset, end, ahead));
  if (read.batches.empty()) return read;
  read_cache_.Fill(read.batches, generation);
  // What the caller's limits allow of it, as ReadDisk would have cut it.
  ReadResult result;
  result.tier = Tier::kDisk;
  result.next_offset = offset;
  uint64_t bytes = 0;
  uint64_t records = 0;
  for (auto& b : read.batches) {
    if (!result.batches.empty() && (bytes >= limits.max_bytes || records >= limits.max_records)) {
      break;
    }
    bytes += b.bytes->size();
    records += RecordsFrom(b, offset);
    result.next_offset = b.last_offset + 1;
    result.batches.push_back(std::move(b));
  }
  metrics_.read_records_disk.Increment(records);
  return result;
}

Result<ReadResult> TieredPartitionLog::ReadDisk(uint64_t offset, uint64_t end_offset,
                                                const ReadLimits& limits) const {
  const std::string lower = keys::Offset(id_, 0);
  const std::string upper = keys::Offset(id_, end_offset);
  const rocksdb::Slice lower_slice(lower);
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions options;
  options.iterate_lower_bound = &lower_slice;
  options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(engine_->db()->NewIterator(options, engine_->log_cf()));
  it->SeekForPrev(keys::Offset(id_, offset));
  if (!it->Valid()) it->Seek(keys::Offset(id_, offset));

  ReadResult result;
  result.tier = Tier::kDisk;
  result.next_offset = offset;
  uint64_t bytes = 0;
  uint64_t records = 0;
  bool reached_end = false;  // stopped at a batch that crosses end_offset
  auto corrupt = [&](uint64_t at, const std::string& why) -> Result<ReadResult> {
    metrics_.corrupt_batches.Increment();
    log::Error(
        "corrupt batch not served",
        {{"topic", key_.topic}, {"partition", key_.partition}, {"offset", at}, {"error", why}});
    if (!result.batches.empty()) return result;  // the valid prefix
    return DataCorruption("batch at offset " + std::to_string(at) + " of " + key_.ToString() +
                          " is corrupt (" + why + ") and cannot be read");
  };
  for (; it->Valid(); it->Next()) {
    uint32_t pid = 0;
    uint64_t key_offset = 0;
    if (!keys::ParseOffset(it->key().ToStringView(), &pid, &key_offset) || pid != id_) {
      return corrupt(result.next_offset, "unexpected key in the log column family");
    }
    if (!result.batches.empty() && key_offset != result.next_offset) {
      return corrupt(result.next_offset,
                     "gap in the log before offset " + std::to_string(key_offset));
    }
    auto stored = std::make_shared<const std::string>(it->value().data(), it->value().size());
    auto view = RecordBatchView::Parse(*stored);
    if (!view.ok()) return corrupt(key_offset, view.status().message());
    if (view->base_offset() != key_offset) {
      return corrupt(key_offset, "batch header offset " + std::to_string(view->base_offset()) +
                                     " differs from its key");
    }
    if (view->last_offset() < offset) continue;
    if (view->last_offset() >= end_offset) {
      reached_end = true;
      break;
    }
    if (!result.batches.empty() && (bytes >= limits.max_bytes || records >= limits.max_records)) {
      break;
    }
    StoredBatch batch{std::move(stored), view->base_offset(), view->last_offset()};
    bytes += batch.bytes->size();
    records += RecordsFrom(batch, offset);
    result.next_offset = batch.last_offset + 1;
    result.batches.push_back(std::move(batch));
  }
  if (!it->status().ok()) {
    const rocksdb::Status s = it->status();
    if (s.IsCorruption()) return corrupt(result.next_offset, s.ToString());
    if (!result.batches.empty()) return result;
    return IoError("reading " + key_.ToString() + " from disk failed: " + s.ToString());
  }
  if (result.batches.empty() && offset < end_offset && !reached_end) {
    // Retention removed the range between our bounds check and the read.
    return OffsetOutOfRange("offset " + std::to_string(offset) + " of " + key_.ToString() +
                            " is no longer retained");
  }
  return result;
}

Status TieredPartitionLog::ScanLocked(uint64_t begin, uint64_t end,
                                      const BatchVisitor& visit) const {
  uint64_t offset = std::max(begin, first_);
  end = std::min(end, next_);
  ReadLimits limits;
  limits.max_bytes = 4u << 20;
  while (offset < end) {
    ReadResult chunk;
    if (memory_.Covers(offset)) {
      memory_.Read(offset, end, limits, &chunk);
    } else if (on_disk()) {
      SPRAWL_ASSIGN_OR_RETURN(chunk, ReadDisk(offset, std::min(end, written_next_.load()), limits));
    } else {
      return Internal("offset " + std::to_string(offset) + " is in range but not in memory");
    }
    if (chunk.batches.empty()) {
      // The only batch left straddles `end`; visit it so callers see every
      // batch overlapping the range.
      ReadLimits one;
      one.max_records = 1;
      if (memory_.Covers(offset)) {
        memory_.Read(offset, next_, one, &chunk);
      } else {
        SPRAWL_ASSIGN_OR_RETURN(chunk, ReadDisk(offset, written_next_.load(), one));
      }
      if (chunk.batches.empty()) return Status::Ok();
    }
    for (const auto& batch : chunk.batches) {
      auto view = RecordBatchView::Parse(*batch.bytes);
      if (!view.ok()) return view.status();
      if (!visit(batch, *view)) return Status::Ok();
    }
    offset = chunk.next_offset;
  }
  return Status::Ok();
}

Status TieredPartitionLog::TruncateSuffix(uint64_t from) {
  MutexLock lock(mu_);
  if (from == next_) return Status::Ok();
  if (from > next_ || from < first_) {
    return InvalidArgument("cannot truncate " + key_.ToString() + " at " + std::to_string(from) +
                           ": the log holds offsets " + std::to_string(first_) + " to " +
                           std::to_string(next_) + " (exclusive)");
  }
  if (from < commit_) {
    return InvalidArgument("cannot truncate " + key_.ToString() + " at " + std::to_string(from) +
                           ": offsets below the commit index " + std::to_string(commit_) +
                           " are committed");
  }
  // Find the batch holding `from` and the term of the batch before it.
  uint64_t holder_base = 0;
  SPRAWL_RETURN_IF_ERROR(
      ScanLocked(from, from + 1, [&](const StoredBatch& b, const RecordBatchView&) {
        holder_base = b.base_offset;
        return false;
      }));
  if (holder_base != from) {
    return InvalidArgument("cannot truncate " + key_.ToString() + " at " + std::to_string(from) +
                           ": it is inside the batch starting at " + std::to_string(holder_base) +
                           "; truncation works on batch boundaries");
  }
  uint64_t term_before = prev_term_;
  if (from > first_) {
    SPRAWL_ASSIGN_OR_RETURN(term_before, TermAtLocked(from - 1));
  }

  if (on_disk()) {
    std::vector<WriteOp> ops;
    ops.push_back(
        WriteOp::DeleteRange(engine_->log_cf(), keys::Offset(id_, from), keys::PartitionEnd(id_)));
    const SegmentInfo* straddling = segments_.Find(from);
    std::optional<SegmentInfo> rebuilt;
    if (straddling != nullptr && straddling->first_offset < from) {
      SegmentInfo s{straddling->first_offset, 0, 0, 0, INT64_MIN, 0};
      SPRAWL_RETURN_IF_ERROR(
          ScanLocked(s.first_offset, from, [&](const StoredBatch& b, const RecordBatchView& v) {
            s.last_offset = b.last_offset;
            s.bytes += b.bytes->size();
            s.batches += 1;
            s.max_timestamp_ms = std::max(s.max_timestamp_ms, v.max_timestamp_ms());
            s.last_term = v.term();
            return true;
          }));
      rebuilt = s;
    }
    for (uint64_t first : segments_.RemoveFrom(from)) {
      ops.push_back(WriteOp::Delete(engine_->index_cf(), keys::Offset(id_, first)));
    }
    if (rebuilt) {
      // The straddling segment is now the active one, which is never
      // persisted (recovery rebuilds it from the log).
      segments_.Replace(*rebuilt);
      ops.push_back(WriteOp::Delete(engine_->index_cf(), keys::Offset(id_, rebuilt->first_offset)));
    }
    const Status written = engine_->writer().SubmitAndWait(std::move(ops));
    // After the write, so that a disk read from before it cannot refill it.
    read_cache_.Invalidate();
    SPRAWL_RETURN_IF_ERROR(written);
    // Every append before the truncation has completed (the writer is FIFO).
    written_next_.store(from);
  }
  memory_.DropFrom(from);
  next_ = from;
  last_term_ = term_before;
  return Status::Ok();
}

uint64_t TieredPartitionLog::FirstOffset() const {
  MutexLock lock(mu_);
  return first_;
}

uint64_t TieredPartitionLog::NextOffset() const {
  MutexLock lock(mu_);
  return next_;
}

Result<uint64_t> TieredPartitionLog::TermAt(uint64_t offset) const {
  MutexLock lock(mu_);
  return TermAtLocked(offset);
}

Result<uint64_t> TieredPartitionLog::TermAtLocked(uint64_t offset) const {
  if (first_ > 0 && offset == first_ - 1) return prev_term_;
  if (offset < first_ || offset >= next_) {
    return OffsetOutOfRange("no term for offset " + std::to_string(offset) + " of " +
                            key_.ToString() + ": the log holds " + std::to_string(first_) + " to " +
                            std::to_string(next_) + " (exclusive)");
  }
  if (memory_.Covers(offset)) return memory_.Find(offset).term;
  uint64_t term = 0;
  SPRAWL_RETURN_IF_ERROR(
      ScanLocked(offset, offset + 1, [&](const StoredBatch&, const RecordBatchView& v) {
        term = v.term();
        return false;
      }));
  return term;
}

Status TieredPartitionLog::SetCommitIndex(uint64_t commit_index) {
  MutexLock lock(mu_);
  if (commit_index < commit_) {
    return InvalidArgument("commit index of " + key_.ToString() + " cannot move back from " +
                           std::to_string(commit_) + " to " + std::to_string(commit_index));
  }
  if (commit_index > next_) {
    return InvalidArgument("commit index " + std::to_string(commit_index) + " of " +
                           key_.ToString() + " is beyond the end of the log (" +
                           std::to_string(next_) + ")");
  }
  if (commit_index == commit_ || dropped_) return Status::Ok();
  commit_ = commit_index;
  if (on_disk()) {
    // Durable with the next sync; a lost update only makes recovery resume
    // from an older commit index, which Raft tolerates.
    engine_->writer().Submit({CommitStateOp()}, [this, commit_index](const Status& s) {
      // The caller has its answer already; a failed write also fails the
      // store's writer, so every later write reports it.
      if (!s.ok()) {
        log::Error("commit index write failed", {{"topic", key_.topic},
                                                 {"partition", key_.partition},
                                                 {"commit_index", commit_index},
                                                 {"error", s.ToString()}});
      }
    });
  }
  return Status::Ok();
}

uint64_t TieredPartitionLog::CommitIndex() const {
  MutexLock lock(mu_);
  return commit_;
}

Result<uint64_t> TieredPartitionLog::OffsetForTimestamp(int64_t timestamp_ms) const {
  MutexLock lock(mu_);
  std::optional<uint64_t> found;
  auto visit = [&](const StoredBatch&, const RecordBatchView& view) REQUIRES(mu_) {
    if (view.max_timestamp_ms() < timestamp_ms) return true;
    auto records = view.Records();
    if (!records.ok()) return true;
    RecordView r;
    while (records->Next(&r)) {
      if (r.offset >= first_ && r.timestamp_ms >= timestamp_ms) {
        found = r.offset;
        return false;
      }
    }
    return true;
  };
  if (on_disk()) {
    // The segment index skips every segment whose newest record is older.
    for (const auto& [first, segment] : segments_.segments()) {
      if (segment.max_timestamp_ms < timestamp_ms || segment.last_offset < first_) continue;
      SPRAWL_RETURN_IF_ERROR(ScanLocked(first, segment.last_offset + 1, visit));
      if (found) return *found;
    }
    return next_;
  }
  SPRAWL_RETURN_IF_ERROR(ScanLocked(first_, next_, visit));
  return found.value_or(next_);
}

Status TieredPartitionLog::SaveSnapshot(const PartitionSnapshot& snapshot) {
  MutexLock lock(mu_);
  if (snapshot.last_offset >= commit_) {
    return InvalidArgument("a snapshot of " + key_.ToString() +
                           " may cover committed offsets only"
                           " (last offset " +
                           std::to_string(snapshot.last_offset) + ", commit index " +
                           std::to_string(commit_) + ")");
  }
  if (!on_disk()) {
    memory_snapshot_ = snapshot;
    return Status::Ok();
  }
  return engine_->writer().SubmitAndWait(
      {WriteOp::Put(engine_->state_cf(), keys::PartitionState(id_, "snapshot"),
                    state_codec::EncodeSnapshot(snapshot))});
}

Result<std::optional<PartitionSnapshot>> TieredPartitionLog::LoadSnapshot() const {
  if (!on_disk()) {
    MutexLock lock(mu_);
    return memory_snapshot_;
  }
  SPRAWL_ASSIGN_OR_RETURN(auto stored, engine_->GetState(keys::PartitionState(id_, "snapshot")));
  if (!stored) return std::optional<PartitionSnapshot>();
  SPRAWL_ASSIGN_OR_RETURN(auto snapshot, state_codec::DecodeSnapshot(*stored));
  return std::optional<PartitionSnapshot>(std::move(snapshot));
}

Status TieredPartitionLog::InstallSnapshot(const PartitionSnapshot& snapshot) {
  if (snapshot.last_offset == UINT64_MAX) {
    return InvalidArgument("snapshot last offset is out of range");
  }
  MutexLock lock(mu_);
  const uint64_t start = snapshot.last_offset + 1;
  const uint64_t old_first = first_, old_next = next_, old_commit = commit_;
  const uint64_t old_prev = prev_term_, old_last = last_term_;
  first_ = next_ = commit_ = start;
  prev_term_ = last_term_ = snapshot.last_term;
  if (on_disk()) {
    std::vector<WriteOp> ops;
    ops.push_back(
        WriteOp::DeleteRange(engine_->log_cf(), keys::Offset(id_, 0), keys::PartitionEnd(id_)));
    ops.push_back(
        WriteOp::DeleteRange(engine_->index_cf(), keys::Offset(id_, 0), keys::PartitionEnd(id_)));
    ops.push_back(StartStateOp());
    ops.push_back(CommitStateOp());
    ops.push_back(WriteOp::Put(engine_->state_cf(), keys::PartitionState(id_, "snapshot"),
                               state_codec::EncodeSnapshot(snapshot)));
    const Status s = engine_->writer().SubmitAndWait(std::move(ops));
    read_cache_.Invalidate();  // after the write, as in TruncateSuffix
    if (!s.ok()) {
      first_ = old_first, next_ = old_next, commit_ = old_commit;
      prev_term_ = old_prev, last_term_ = old_last;
      return s;
    }
    written_next_.store(start);
    segments_.Clear();
  } else {
    memory_snapshot_ = snapshot;
  }
  memory_.Clear();
  return Status::Ok();
}

Status TieredPartitionLog::Reset() {
  MutexLock lock(mu_);
  if (dropped_) return Status::Ok();
  const uint64_t old_first = first_, old_next = next_, old_commit = commit_;
  const uint64_t old_prev = prev_term_, old_last = last_term_;
  first_ = next_ = commit_ = 0;
  prev_term_ = last_term_ = 0;
  if (on_disk()) {
    std::vector<WriteOp> ops;
    ops.push_back(
        WriteOp::DeleteRange(engine_->log_cf(), keys::Offset(id_, 0), keys::PartitionEnd(id_)));
    ops.push_back(
        WriteOp::DeleteRange(engine_->index_cf(), keys::Offset(id_, 0), keys::PartitionEnd(id_)));
    ops.push_back(StartStateOp());
    ops.push_back(CommitStateOp());
    ops.push_back(WriteOp::Delete(engine_->state_cf(), keys::PartitionState(id_, "snapshot")));
    const Status s = engine_->writer().SubmitAndWait(std::move(ops));
    read_cache_.Invalidate();  // after the write, as in TruncateSuffix
    if (!s.ok()) {
      first_ = old_first, next_ = old_next, commit_ = old_commit;
      prev_term_ = old_prev, last_term_ = old_last;
      return s;
    }
    written_next_.store(0);
    segments_.Clear();
  } else {
    memory_snapshot_.reset();
  }
  memory_.Clear();
  return Status::Ok();
}

Result<RetentionOutcome> TieredPartitionLog::ApplyRetention(const RetentionPolicy& policy,
                                                            int64_t now_ms) {
  RetentionOutcome outcome;
  auto expired = [&](int64_t max_ts) {
    return policy.max_age_ms && max_ts < now_ms - *policy.max_age_ms;
  };
  UniqueLock lock(mu_);
  if (dropped_) return outcome;
  const uint64_t old_first = first_;
  if (!on_disk()) {
    while (!memory_.empty()) {
      const MemoryEntry& oldest = memory_.entries().front();
      const uint64_t size = oldest.bytes->size();
      const bool over = policy.max_bytes && memory_.bytes() - size >= *policy.max_bytes;
      if (oldest.last_offset >= commit_ || !(expired(oldest.max_timestamp_ms) || over)) break;
      outcome.records_deleted += oldest.last_offset + 1 - oldest.base_offset;
      outcome.bytes_deleted += size;
      prev_term_ = oldest.term;
      first_ = oldest.last_offset + 1;
      memory_.DropBefore(first_);
    }
  } else {
    std::vector<WriteOp> ops;
    while (!segments_.segments().empty()) {
      const SegmentInfo oldest = segments_.segments().begin()->second;
      const bool over =
          policy.max_bytes && segments_.total_bytes() - oldest.bytes >= *policy.max_bytes;
      if (oldest.last_offset >= commit_ || !(expired(oldest.max_timestamp_ms) || over)) break;
      outcome.records_deleted += oldest.last_offset + 1 - std::max(oldest.first_offset, first_);
      outcome.bytes_deleted += oldest.bytes;
      prev_term_ = oldest.last_term;
      first_ = oldest.last_offset + 1;
      ops.push_back(WriteOp::Delete(engine_->index_cf(), keys::Offset(id_, oldest.first_offset)));
      segments_.PopOldest();
    }
    if (first_ == old_first) return outcome;
    ops.push_back(WriteOp::DeleteRange(engine_->log_cf(), keys::Offset(id_, old_first),
                                       keys::Offset(id_, first_)));
    ops.push_back(StartStateOp());
    memory_.DropBefore(first_);
    std::promise<Status> written;
    auto future = written.get_future();
    engine_->writer().Submit(std::move(ops), [&written](const Status& s) { written.set_value(s); });
    const uint64_t new_first = first_;
    lock.unlock();
    SPRAWL_RETURN_IF_ERROR(future.get());
    // Reclaim the space now rather than whenever compaction next reaches it.
    const std::string begin = keys::Offset(id_, old_first);
    const std::string end = keys::Offset(id_, new_first);
    rocksdb::Slice begin_slice(begin), end_slice(end);
    const rocksdb::Status compacted = engine_->db()->CompactRange(
        rocksdb::CompactRangeOptions(), engine_->log_cf(), &begin_slice, &end_slice);
    if (!compacted.ok()) {
      // The deletion is durable; only the reclaiming of its space waits for
      // RocksDB's own compactions.
      log::Warn(
          "compaction after retention failed",
          {{"topic", key_.topic}, {"partition", key_.partition}, {"error", compacted.ToString()}});
    }
  }
  metrics_.retention_deleted_records.Increment(outcome.records_deleted);
  metrics_.retention_deleted_bytes.Increment(outcome.bytes_deleted);
  if (outcome.records_deleted > 0) {
    log::Info("retention deleted records", {{"topic", key_.topic},
                                            {"partition", key_.partition},
                                            {"records", outcome.records_deleted},
                                            {"bytes", outcome.bytes_deleted}});
  }
  return outcome;
}

void TieredPartitionLog::MarkDropped() {
  MutexLock lock(mu_);
  dropped_ = true;
}

Status TieredPartitionLog::Flush() {
  if (!on_disk()) return Status::Ok();
  return engine_->writer().Flush();
}

PartitionStats TieredPartitionLog::Stats() const {
  MutexLock lock(mu_);
  PartitionStats s;
  s.first_offset = first_;
  s.next_offset = next_;
  s.commit_index = commit_;
  s.memory_bytes = memory_.bytes();
  s.memory_batches = memory_.entries().size();
  s.disk_bytes = segments_.total_bytes();
  s.disk_segments = segments_.segments().size();
  return s;
}

}  // namespace sprawl::storage
