#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/storage/disk_space_guard.h"
#include "core/storage/group_commit_writer.h"
#include "core/storage/storage_metrics.h"
#include "core/storage/store_options.h"
#include "core/util/result.h"

namespace sprawl::storage {

// The on-disk store format this build writes and the newest it can read.
inline constexpr int kStoreFormatVersion = 1;
// File in the data directory that marks it as a Sprawl store.
inline constexpr std::string_view kStoreMarkerFile = "SPRAWL_STORE";
// Free space below which the store is not opened: RocksDB writes a new WAL
// and MANIFEST on open, and aborts the process if the disk fills under it.
inline constexpr uint64_t kMinFreeBytesToOpen = 16ull << 20;

// One RocksDB per node with the column families of the disk tier: `log`
// (batches), `index` (segment index) and `state` (registry, commit indexes,
// snapshots). Owns the group-commit writer, the only path for writes.
class RocksEngine {
 public:
  // Opens or creates the store in options.data_dir. NOT_A_STORE for a
  // non-empty directory without the marker, UNSUPPORTED_VERSION for a store of
  // a newer format, IO_ERROR when another process holds it. A failed open
  // leaves an existing store as it was (a new, empty directory may keep its
  // marker file). IO_ERROR, before RocksDB is touched, when the file system
  // has less than kMinFreeBytesToOpen free.
  static Result<std::unique_ptr<RocksEngine>> Open(const StoreOptions& options,
                                                   StorageMetrics& metrics);
  // Stops the writer (after writing what is queued) and closes RocksDB.
  ~RocksEngine();

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* log_cf() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* index_cf() const { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* state_cf() const { return handles_[3]; }
  GroupCommitWriter& writer() { return *writer_; }
  // Refuses appends that would use the free space kept in reserve.
  DiskSpaceGuard& disk_space() { return *disk_space_; }

  // Flushes every memtable to table (and blob) files and blocks until RocksDB
  // has no flush or compaction pending or running, so that what the disk
  // tier wrote for the data so far can be measured. Writes may go on
  // meanwhile and make it wait longer.
  Status Settle() const;

  // Reads a key of the state column family; nullopt when absent.
  Result<std::optional<std::string>> GetState(const std::string& key) const;

 private:
  RocksEngine() = default;

  // The Env over options.file_system, when one is injected; outlives db_.
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, log, index, state
  std::unique_ptr<GroupCommitWriter> writer_;
  std::unique_ptr<DiskSpaceGuard> disk_space_;
};

}  // namespace sprawl::storage
