#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/util/result.h"

namespace rocksdb {
class FileSystem;
}  // namespace rocksdb

namespace sprawl::storage {

// Size and free space of a file system, in bytes.
struct DiskUsage {
  uint64_t capacity = 0;
  uint64_t available = 0;  // what an unprivileged writer may still use
};

// When the disk tier forces its write-ahead log to stable storage.
struct FsyncPolicy {
  enum class Kind { kAlways, kInterval, kNever };
  Kind kind = Kind::kInterval;
  std::chrono::milliseconds interval{10};  // used by kInterval only

  // Parses "always", "never" or "interval:<ms>" (1 <= ms <= 60000).
  static Result<FsyncPolicy> Parse(std::string_view text);
  std::string ToString() const;
};

enum class StorageMode {
  kMemory,  // the memory tier is the only tier: bounded, nothing survives a restart
  kDisk,    // memory tier in front of one RocksDB per node
};

// Parses "memory" or "disk".
Result<StorageMode> ParseStorageMode(std::string_view text);

struct StoreOptions {
  StorageMode mode = StorageMode::kDisk;
  std::string data_dir = "./data";  // disk mode only
  FsyncPolicy fsync;
  // The memory tiers of all partitions together (see memory_budget.h). Disk
  // mode: batches already written are evicted beyond it, the node's oldest
  // first (batches waiting for the writer never are). Memory mode: the hard
  // bound of the node; the node's oldest batches are dropped beyond it.
  uint64_t memory_tier_bytes = 1ull << 30;
  // An additional cap per partition within that budget, so that one busy
  // partition cannot take all of it; 0 = none (the default).
  uint64_t memory_tier_bytes_per_partition = 0;
  // Granularity of the disk tier's timestamp index and of retention.
  uint64_t segment_bytes = 16ull << 20;
  // Bound on bytes queued for the disk writer; appends wait beyond it.
  uint64_t writer_queue_bytes = 64ull << 20;
  bool create_if_missing = true;
  // Disk mode: bytes kept free on the data directory's file system; appends
  // are refused with RESOURCE_EXHAUSTED before they would use them (see
  // disk_space_guard.h). nullopt: 5% of the file system, at most 1 GiB; 0: off.
  std::optional<uint64_t> min_free_disk_bytes;
  // How free space is read; null means statvfs. Tests fake a small disk.
  std::function<Result<DiskUsage>(const std::string& dir)> disk_usage_probe;
  // RocksDB option strings ("name=value;name=value", RocksDB's own syntax)
  // applied over the disk tier's defaults: to the database, and to the `log`
  // column family. Empty keeps the defaults (docs/storage.md, section 14). A string
  // RocksDB does not accept is INVALID_ARGUMENT when the store opens.
  std::string rocksdb_db_options;
  std::string rocksdb_log_options;
  // The file system RocksDB works through; null means the operating system's.
  // Tests inject faults through it (tests/support/fault_injection_fs.h). The
  // store marker is always written through the operating system.
  std::shared_ptr<rocksdb::FileSystem> file_system;

  // INVALID_ARGUMENT naming the first field out of range.
  Status Validate() const;
};

// How much of a partition to keep. Applies to committed offsets only, so a
// replicated log never drops what a follower may still need to match.
struct RetentionPolicy {
  std::optional<int64_t> max_age_ms;  // drop data whose newest record is older
  std::optional<uint64_t> max_bytes;  // drop oldest data beyond this many stored bytes
};

}  // namespace sprawl::storage
