#include "core/storage/store.h"

#include <rocksdb/iterator.h>

#include "core/storage/keys.h"
#include "core/storage/partition_state_codec.h"
#include "core/util/logging.h"

namespace sprawl::storage {

Store::Store(const StoreOptions& options, metrics::Registry& registry, const Clock& clock)
    : options_(options),
      clock_(clock),
      metrics_(registry),
      budget_(std::make_shared<MemoryBudget>(options.memory_tier_bytes, metrics_.memory_tier_bytes,
                                             metrics_.memory_tier_budget_bytes)) {}

Store::~Store() {
  // The engine drains its writer; only then may the logs go.
  engine_.reset();
  partitions_.clear();
}

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options, metrics::Registry& registry,
                                           const Clock& clock) {
  SPRAWL_RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<Store> store(new Store(options, registry, clock));
  if (options.mode == StorageMode::kDisk) {
    SPRAWL_ASSIGN_OR_RETURN(store->engine_, RocksEngine::Open(options, store->metrics_));
    SPRAWL_RETURN_IF_ERROR(store->LoadPartitions());
  }
  log::Info("store opened",
            {{"mode", options.mode == StorageMode::kDisk ? "disk" : "memory"},
             {"data_dir", options.mode == StorageMode::kDisk ? options.data_dir : ""},
             {"fsync", options.fsync.ToString()},
             {"partitions", store->Partitions().size()}});
  return store;
}

Status Store::LoadPartitions() {
  MutexLock lock(mu_);  // uncontended (Open runs it before the store is shared)
  SPRAWL_ASSIGN_OR_RETURN(auto next_id, engine_->GetState(std::string(keys::kNextPartitionId)));
  if (next_id) {
    SPRAWL_ASSIGN_OR_RETURN(next_id_, state_codec::DecodePartitionId(*next_id));
  }
  std::unique_ptr<rocksdb::Iterator> it(
      engine_->db()->NewIterator(rocksdb::ReadOptions(), engine_->state_cf()));
  for (it->Seek(keys::kRegistryPrefix); it->Valid(); it->Next()) {
    const std::string_view k = it->key().ToStringView();
    if (k.substr(0, keys::kRegistryPrefix.size()) != keys::kRegistryPrefix) break;
    PartitionKey key;
    if (!keys::ParseRegistry(k, &key)) {
      return DataCorruption("malformed partition registry key '" + std::string(k) + "'");
    }
    SPRAWL_ASSIGN_OR_RETURN(const uint32_t id,
                            state_codec::DecodePartitionId(it->value().ToStringView()));
    SPRAWL_ASSIGN_OR_RETURN(
        auto log, TieredPartitionLog::OpenOnDisk(key, id, options_, *engine_, metrics_, budget_));
    partitions_[key].log = std::move(log);
  }
  if (!it->status().ok()) {
    return IoError("reading the partition registry failed: " + it->status().ToString());
  }
  metrics_.partitions.Set(static_cast<int64_t>(partitions_.size()));
  return Status::Ok();
}

Status Store::SettleDisk() const { return engine_ ? engine_->Settle() : Status::Ok(); }

Status Store::ValidateTopicName(std::string_view topic) {
  if (topic.empty() || topic.size() > 249) {
    return InvalidArgument("topic name must be 1 to 249 characters long");
  }
  if (topic == "." || topic == "..") {
    return InvalidArgument("topic name may not be '.' or '..'");
  }
  for (const char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return InvalidArgument("topic name '" + std::string(topic) +
                             "' may contain only letters, digits, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

Result<PartitionLog*> Store::OpenPartition(const PartitionKey& key) {
  SPRAWL_RETURN_IF_ERROR(ValidateTopicName(key.topic));
  MutexLock lock(mu_);
  auto it = partitions_.find(key);
  if (it != partitions_.end()) return it->second.log.get();
  if (!engine_) {
    auto log = std::make_unique<TieredPartitionLog>(key, options_, metrics_, budget_);
    PartitionLog* raw = log.get();
    partitions_[key].log = std::move(log);
    metrics_.partitions.Set(static_cast<int64_t>(partitions_.size()));
    return raw;
  }
  const uint32_t id = next_id_;
  SPRAWL_RETURN_IF_ERROR(engine_->writer().SubmitAndWait(
      {WriteOp::Put(engine_->state_cf(), keys::Registry(key), state_codec::EncodePartitionId(id)),
       WriteOp::Put(engine_->state_cf(), std::string(keys::kNextPartitionId),
                    state_codec::EncodePartitionId(id + 1))}));
  SPRAWL_RETURN_IF_ERROR(engine_->writer().Flush());
  next_id_ = id + 1;
  SPRAWL_ASSIGN_OR_RETURN(
      auto log, TieredPartitionLog::OpenOnDisk(key, id, options_, *engine_, metrics_, budget_));
  PartitionLog* raw = log.get();
  partitions_[key].log = std::move(log);
  metrics_.partitions.Set(static_cast<int64_t>(partitions_.size()));
  return raw;
}

Result<PartitionLog*> Store::GetPartition(const PartitionKey& key) const {
  MutexLock lock(mu_);
  auto it = partitions_.find(key);
  if (it == partitions_.end()) return NotFound("partition " + key.ToString() + " does not exist");
  return it->second.log.get();
}

Result<std::shared_ptr<PartitionLog>> Store::SharePartition(const PartitionKey& key) const {
  MutexLock lock(mu_);
  auto it = partitions_.find(key);
  if (it == partitions_.end()) return NotFound("partition " + key.ToString() + " does not exist");
  return std::shared_ptr<PartitionLog>(it->second.log);
}

std::vector<PartitionKey> Store::Partitions() const {
  MutexLock lock(mu_);
  std::vector<PartitionKey> out;
  out.reserve(partitions_.size());
  for (const auto& [key, entry] : partitions_) out.push_back(key);
  return out;
}

Status Store::DropPartition(const PartitionKey& key) {
  MutexLock lock(mu_);
  auto it = partitions_.find(key);
  if (it == partitions_.end()) return NotFound("partition " + key.ToString() + " does not exist");
  // A retention pass holding a share of the log writes nothing after this.
  it->second.log->MarkDropped();
  if (engine_) {
    const uint32_t id = it->second.log->disk_id();
    // Written in one batch after every earlier append of this partition.
    SPRAWL_RETURN_IF_ERROR(engine_->writer().SubmitAndWait(
        {WriteOp::Delete(engine_->state_cf(), keys::Registry(key)),
         WriteOp::DeleteRange(engine_->log_cf(), keys::Offset(id, 0), keys::PartitionEnd(id)),
         WriteOp::DeleteRange(engine_->index_cf(), keys::Offset(id, 0), keys::PartitionEnd(id)),
         WriteOp::DeleteRange(engine_->state_cf(), keys::PartitionState(id, ""),
                              keys::PartitionStateEnd(id))}));
  }
  partitions_.erase(it);
  metrics_.partitions.Set(static_cast<int64_t>(partitions_.size()));
  return Status::Ok();
}

Status Store::SetRetention(const PartitionKey& key, const RetentionPolicy& policy) {
  if (policy.max_age_ms && *policy.max_age_ms <= 0) {
    return InvalidArgument("retention age must be positive");
  }
  MutexLock lock(mu_);
  auto it = partitions_.find(key);
  if (it == partitions_.end()) return NotFound("partition " + key.ToString() + " does not exist");
  it->second.retention = policy;
  return Status::Ok();
}

Result<RetentionOutcome> Store::ApplyRetention() {
  // Shares: a partition dropped meanwhile stays alive until its pass is over.
  std::vector<std::pair<std::shared_ptr<PartitionLog>, RetentionPolicy>> work;
  {
    MutexLock lock(mu_);
    for (auto& [key, entry] : partitions_) work.emplace_back(entry.log, entry.retention);
  }
  RetentionOutcome total;
  const int64_t now = clock_.WallMillis();
  for (auto& [log, policy] : work) {
    if (!policy.max_age_ms && !policy.max_bytes) continue;
    SPRAWL_ASSIGN_OR_RETURN(auto outcome, log->ApplyRetention(policy, now));
    total.records_deleted += outcome.records_deleted;
    total.bytes_deleted += outcome.bytes_deleted;
  }
  return total;
}

Status Store::failure() const {
  if (!engine_) return Status::Ok();
  return engine_->writer().failure();
}

void Store::RefreshDiskSpace() {
  if (engine_) engine_->disk_space().Refresh();
}

void Store::ReclaimMemory() { budget_->Reclaim(); }

Status Store::Flush() {
  if (!engine_) return Status::Ok();
  return engine_->writer().Flush();
}

namespace {

std::string RecordKey(std::string_view key) {
  std::string out(keys::kRecordPrefix);
  out.append(key);
  return out;
}

// The first key after every key that starts with `prefix` ("" when none).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

}  // namespace

Status Store::PutRecord(std::string_view key, std::string value) {
  if (!engine_) {
    MutexLock lock(mu_);
    memory_records_[std::string(key)] = std::move(value);
    return Status::Ok();
  }
  return engine_->writer().SubmitAndWait(
      {WriteOp::Put(engine_->state_cf(), RecordKey(key), std::move(value))});
}

void Store::PutRecordAsync(std::string_view key, std::string value,
                           std::function<void(Status)> done) {
  if (!engine_) {
    {
      MutexLock lock(mu_);
      memory_records_[std::string(key)] = std::move(value);
    }
    done(Status::Ok());
    return;
  }
  engine_->writer().Submit({WriteOp::Put(engine_->state_cf(), RecordKey(key), std::move(value))},
                           [done = std::move(done)](const Status& s) { done(s); });
}

void Store::WriteRecordsAsync(std::vector<RecordWrite> writes, bool sync,
                              std::function<void(Status)> done) {
  using Kind = RecordWrite::Kind;
  if (!engine_) {
    {
      MutexLock lock(mu_);
      for (RecordWrite& w : writes) {
        if (w.kind == Kind::kPut) {
          memory_records_[w.key] = std::move(w.value);
        } else if (w.kind == Kind::kDelete) {
          auto it = memory_records_.find(w.key);
          if (it != memory_records_.end()) memory_records_.erase(it);
        } else if (w.key < w.value) {
          memory_records_.erase(memory_records_.lower_bound(w.key),
                                memory_records_.lower_bound(w.value));
        }
      }
    }
    done(Status::Ok());
    return;
  }
  std::vector<WriteOp> ops;
  ops.reserve(writes.size());
  for (RecordWrite& w : writes) {
    if (w.kind == Kind::kPut) {
      ops.push_back(WriteOp::Put(engine_->state_cf(), RecordKey(w.key), std::move(w.value)));
    } else if (w.kind == Kind::kDelete) {
      ops.push_back(WriteOp::Delete(engine_->state_cf(), RecordKey(w.key)));
    } else {
      ops.push_back(
          WriteOp::DeleteRange(engine_->state_cf(), RecordKey(w.key), RecordKey(w.value)));
    }
  }
  engine_->writer().Submit(
      std::move(ops), [done = std::move(done)](const Status& s) { done(s); }, sync);
}

Status Store::DeleteRecord(std::string_view key) {
  if (!engine_) {
    MutexLock lock(mu_);
    auto it = memory_records_.find(key);
    if (it != memory_records_.end()) memory_records_.erase(it);
    return Status::Ok();
  }
  return engine_->writer().SubmitAndWait({WriteOp::Delete(engine_->state_cf(), RecordKey(key))});
}

Status Store::DeleteRecords(std::string_view prefix) {
  if (!engine_) {
    MutexLock lock(mu_);
    auto it = memory_records_.lower_bound(prefix);
    while (it != memory_records_.end() && it->first.starts_with(prefix)) {
      it = memory_records_.erase(it);
    }
    return Status::Ok();
  }
  const std::string begin = RecordKey(prefix);
  return engine_->writer().SubmitAndWait(
      {WriteOp::DeleteRange(engine_->state_cf(), begin, PrefixEnd(begin))});
}

Result<std::vector<std::pair<std::string, std::string>>> Store::ScanRecords(
    std::string_view prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!engine_) {
    MutexLock lock(mu_);
    for (auto it = memory_records_.lower_bound(prefix);
         it != memory_records_.end() && it->first.starts_with(prefix); ++it) {
      out.emplace_back(it->first, it->second);
    }
    return out;
  }
  const std::string begin = RecordKey(prefix);
  std::unique_ptr<rocksdb::Iterator> it(
      engine_->db()->NewIterator(rocksdb::ReadOptions(), engine_->state_cf()));
  for (it->Seek(begin); it->Valid(); it->Next()) {
    const std::string_view k = it->key().ToStringView();
    if (!k.starts_with(begin)) break;
    out.emplace_back(std::string(k.substr(keys::kRecordPrefix.size())), it->value().ToString());
  }
  if (!it->status().ok()) {
    return IoError("reading records under '" + std::string(prefix) +
                   "' failed: " + it->status().ToString());
  }
  return out;
}

}  // namespace sprawl::storage
