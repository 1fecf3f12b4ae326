#include "core/storage/rocks_engine.h"

#include <fcntl.h>
#include <rocksdb/convenience.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/storage/keys.h"
#include "core/util/logging.h"

namespace sprawl::storage {
namespace fs = std::filesystem;

namespace {

// Reads the marker; returns its format version, or an error that explains
// why the directory is not usable.
Result<int> ReadMarker(const fs::path& marker) {
  std::ifstream in(marker);
  std::string magic;
  std::string format;
  if (!(in >> magic >> format) || magic != "sprawl-store" || format.rfind("format=", 0) != 0) {
    return NotAStore(marker.string() + " is not a valid Sprawl store marker");
  }
  const std::string_view number = std::string_view(format).substr(7);
  int version = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), version);
  if (ec != std::errc() || end != number.data() + number.size()) {
    return NotAStore(marker.string() + " has an unreadable format version");
  }
  return version;
}

Status WriteMarker(const fs::path& dir) {
  const fs::path tmp = dir / (std::string(kStoreMarkerFile) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "sprawl-store\nformat=" << kStoreFormatVersion << "\n";
    out.flush();
    if (!out) return IoError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, dir / kStoreMarkerFile, ec);
  if (ec) return IoError("cannot create the store marker in " + dir.string() + ": " + ec.message());
  // Make the marker's directory entry durable before any data depends on it.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    return IoError("cannot open " + dir.string() +
                   " to sync the store marker: " + std::strerror(errno));
  }
  const int synced = ::fsync(fd);
  const int sync_errno = errno;
  ::close(fd);
  if (synced != 0) {
    return IoError("cannot sync " + dir.string() +
                   " after creating the store marker: " + std::strerror(sync_errno));
  }
  return Status::Ok();
}

// Decides whether `dir` may be used, creating it if allowed. Sets `fresh`
// when a new store must be initialised.
Status CheckDataDir(const StoreOptions& options, bool* fresh) {
  const fs::path dir(options.data_dir);
  std::error_code ec;
  *fresh = false;
  if (!fs::exists(dir, ec)) {
    if (!options.create_if_missing) {
      return NotFound("data directory " + dir.string() + " does not exist");
    }
    fs::create_directories(dir, ec);
    if (ec) return IoError("cannot create data directory " + dir.string() + ": " + ec.message());
    *fresh = true;
    return Status::Ok();
  }
  if (!fs::is_directory(dir, ec)) {
    return NotAStore(dir.string() + " is not a directory");
  }
  const fs::path marker = dir / kStoreMarkerFile;
  if (!fs::exists(marker, ec)) {
    if (fs::is_empty(dir, ec) && !ec) {
      *fresh = true;
      return Status::Ok();
    }
    return NotAStore("data directory " + dir.string() +
                     " is not empty and holds no Sprawl store (no " +
                     std::string(kStoreMarkerFile) +
                     " file); refusing to touch it. Use an empty directory or an existing store.");
  }
  SPRAWL_ASSIGN_OR_RETURN(const int format, ReadMarker(marker));
  if (format > kStoreFormatVersion) {
    return UnsupportedVersion("store in " + dir.string() + " has format version " +
                              std::to_string(format) + "; this build reads up to version " +
                              std::to_string(kStoreFormatVersion) + ". Upgrade Sprawl to open it.");
  }
  if (format < 1) return NotAStore(marker.string() + " names an invalid format version");
  return Status::Ok();
}

// Bytes in the WAL files of the RocksDB under `dir` (0 for a new store).
uint64_t WalBytes(const fs::path& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (fs::directory_iterator it(dir / "rocksdb", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".log") total += it->file_size(ec);
  }
  return total;
}

// The directory itself, or its closest ancestor that exists yet: where its
// file system's free space can be read before anything is created.
std::string NearestExisting(fs::path dir) {
  std::error_code ec;
  dir = fs::absolute(dir, ec);
  while (!dir.empty() && !fs::exists(dir, ec) && dir.has_parent_path() &&
         dir.parent_path() != dir) {
    dir = dir.parent_path();
  }
  return dir.empty() ? "." : dir.string();
}

rocksdb::Options DbOptions() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  // A torn tail of the WAL (a crash mid-write) is cut at the last complete
  // record rather than failing the open: the log keeps its valid prefix.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1 << 20;
  o.max_total_wal_size = 512ull << 20;
  return o;
}

rocksdb::ColumnFamilyOptions LogCfOptions() {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 64ull << 20;
  o.max_write_buffer_number = 4;
  o.target_file_size_base = 64ull << 20;
  // Batches carry their own (optional) compression; compressing them again
  // costs CPU on the hot path for little gain.
  o.compression = rocksdb::kNoCompression;
  // Batches of 4 KiB and more (nearly every batch of a busy producer) go to
  // blob files when the memtable is flushed, and are never rewritten: table
  // files keep only keys and blob references, so compaction rewrites tens of
  // bytes per batch instead of the batch. Every flush mixes the keys of all
  // partitions, which made leveled compaction rewrite most of the log again
  // and again (3.9 bytes written per payload byte at 1 KiB, 2 GB; 2.0 with
  // blob files; docs/storage.md section 14). No blob garbage collection: it
  // relocates live batches of old files (2.9), and retention deletes the
  // oldest batches anyway; a blob file goes once every batch in it is
  // deleted.
  o.enable_blob_files = true;
  o.min_blob_size = 4096;
  o.blob_file_size = 256ull << 20;
  o.blob_compression_type = rocksdb::kNoCompression;
  o.enable_blob_garbage_collection = false;
  // XXH3 block checksums: the distribution's RocksDB computes CRC32C without
  // SSE4.2, which costs more CPU than anything else in flushes and reads.
  rocksdb::BlockBasedTableOptions table;
  table.checksum = rocksdb::kXXH3;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

rocksdb::ConfigOptions StrictConfig() {
  rocksdb::ConfigOptions config;
  config.ignore_unknown_options = false;
  config.input_strings_escaped = false;
  return config;
}

// The defaults with the store options' RocksDB option strings applied.
Result<rocksdb::Options> TunedDbOptions(const StoreOptions& options) {
  rocksdb::Options o = DbOptions();
  if (options.rocksdb_db_options.empty()) return o;
  rocksdb::DBOptions tuned;
  const rocksdb::Status s =
      rocksdb::GetDBOptionsFromString(StrictConfig(), o, options.rocksdb_db_options, &tuned);
  if (!s.ok()) {
    return InvalidArgument("invalid RocksDB database options '" + options.rocksdb_db_options +
                           "': " + s.ToString());
  }
  return rocksdb::Options(tuned, o);
}

Result<rocksdb::ColumnFamilyOptions> TunedLogCfOptions(const StoreOptions& options) {
  rocksdb::ColumnFamilyOptions o = LogCfOptions();
  if (options.rocksdb_log_options.empty()) return o;
  rocksdb::ColumnFamilyOptions tuned;
  const rocksdb::Status s = rocksdb::GetColumnFamilyOptionsFromString(
      StrictConfig(), o, options.rocksdb_log_options, &tuned);
  if (!s.ok()) {
    return InvalidArgument("invalid RocksDB options for the log column family '" +
                           options.rocksdb_log_options + "': " + s.ToString());
  }
  return tuned;
}

}  // namespace

Result<std::unique_ptr<RocksEngine>> RocksEngine::Open(const StoreOptions& options,
                                                       StorageMetrics& metrics) {
  SPRAWL_RETURN_IF_ERROR(options.Validate());
  const fs::path dir(options.data_dir);
  const DiskSpaceGuard::Probe probe =
      options.disk_usage_probe ? options.disk_usage_probe : StatDisk;
  SPRAWL_ASSIGN_OR_RETURN(const DiskUsage usage, probe(NearestExisting(dir)));
  if (usage.available < kMinFreeBytesToOpen) {
    return IoError("the file system holding " + dir.string() + " has " +
                   std::to_string(usage.available) + " bytes free; the store needs at least " +
                   std::to_string(kMinFreeBytesToOpen) +
                   " to open safely. Free space on it (or move the data directory to a larger "
                   "volume) and start again; nothing was changed");
  }

  // Checked before anything is created, so a bad string changes nothing.
  SPRAWL_ASSIGN_OR_RETURN(rocksdb::Options db_options, TunedDbOptions(options));
  SPRAWL_ASSIGN_OR_RETURN(rocksdb::ColumnFamilyOptions log_options, TunedLogCfOptions(options));
  bool fresh = false;
  SPRAWL_RETURN_IF_ERROR(CheckDataDir(options, &fresh));
  if (fresh) SPRAWL_RETURN_IF_ERROR(WriteMarker(dir));

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"log", log_options},
      {"index", rocksdb::ColumnFamilyOptions()},
      {"state", rocksdb::ColumnFamilyOptions()},
  };
  std::unique_ptr<RocksEngine> engine(new RocksEngine());
  // Recovery flushes the replayed WAL into a table file, which needs about
  // as much free space as the WAL holds. On a disk that has not got it, the
  // replayed writes stay in memtables (flushed later, like any others), so a
  // node stopped on a nearly full disk can start again.
  const uint64_t reserve =
      options.min_free_disk_bytes.value_or(DiskSpaceGuard::DefaultReserve(usage.capacity));
  db_options.avoid_flush_during_recovery = usage.available < WalBytes(dir) + reserve;
  if (options.file_system) {
    engine->env_ = rocksdb::NewCompositeEnv(options.file_system);
    db_options.env = engine->env_.get();
  }
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s =
      rocksdb::DB::Open(db_options, (dir / "rocksdb").string(), families, &engine->handles_, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return IoError("data directory " + dir.string() +
                     " is in use by another process: " + s.ToString());
    }
    if (s.IsCorruption()) {
      return DataCorruption("cannot open the store in " + dir.string() + ": " + s.ToString());
    }
    return IoError("cannot open the store in " + dir.string() + ": " + s.ToString());
  }
  engine->db_.reset(raw);

  SPRAWL_ASSIGN_OR_RETURN(auto format, engine->GetState(std::string(keys::kFormat)));
  if (!format) {
    rocksdb::WriteOptions sync_write;
    sync_write.sync = true;
    const rocksdb::Status put = raw->Put(sync_write, engine->state_cf(), keys::kFormat,
                                         std::to_string(kStoreFormatVersion));
    if (!put.ok()) return IoError("cannot initialise the store: " + put.ToString());
  } else if (int stored = 0;
             std::from_chars(format->data(), format->data() + format->size(), stored).ec !=
                 std::errc() ||
             stored > kStoreFormatVersion) {
    return UnsupportedVersion("store holds format version " + *format +
                              "; this build reads up to " + std::to_string(kStoreFormatVersion));
  }
  engine->writer_ =
      std::make_unique<GroupCommitWriter>(raw, options.fsync, options.writer_queue_bytes, metrics);
  SPRAWL_ASSIGN_OR_RETURN(engine->disk_space_,
                          DiskSpaceGuard::Start(dir.string(), options.min_free_disk_bytes, metrics,
                                                probe, std::chrono::milliseconds(250)));
  return engine;
}

RocksEngine::~RocksEngine() {
  writer_.reset();
  if (db_) {
    // Nobody is left to tell: log, so a failed close is not silent. Every
    // write acknowledged before it is in the WAL already.
    for (auto* h : handles_) {
      const rocksdb::Status s = db_->DestroyColumnFamilyHandle(h);
      if (!s.ok()) log::Error("closing a column family failed", {{"error", s.ToString()}});
    }
    const rocksdb::Status closed = db_->Close();
    if (!closed.ok()) log::Error("closing the store failed", {{"error", closed.ToString()}});
  }
}

Status RocksEngine::Settle() const {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  const rocksdb::Status flushed = db_->Flush(flush, handles_);
  if (!flushed.ok()) return IoError("flushing the store's memtables failed: " + flushed.ToString());
  // RocksDB 7.8 has no public wait for compactions; its properties say when
  // nothing is pending or running.
  static constexpr const char* kBusy[] = {
      "rocksdb.mem-table-flush-pending", "rocksdb.compaction-pending",
      "rocksdb.num-running-flushes", "rocksdb.num-running-compactions"};
  for (;;) {
    bool busy = false;
    for (auto* handle : handles_) {
      // A family whose automatic compactions are off reports a compaction
      // pending for ever; only its flushes count.
      const bool compacts = !db_->GetOptions(handle).disable_auto_compactions;
      for (const char* property : kBusy) {
        if (!compacts && std::string_view(property) == "rocksdb.compaction-pending") continue;
        uint64_t value = 0;
        if (!db_->GetIntProperty(handle, property, &value)) {
          return Internal(std::string("RocksDB does not report ") + property);
        }
        busy = busy || value > 0;
      }
    }
    if (!busy) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::optional<std::string>> RocksEngine::GetState(const std::string& key) const {
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), state_cf(), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return IoError("reading store state '" + key + "' failed: " + s.ToString());
  return std::optional<std::string>(std::move(value));
}

}  // namespace sprawl::storage
