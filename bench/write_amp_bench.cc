// The write-amplification benchmark: how many bytes the disk tier writes to
// disk for each payload byte it stores. For every RocksDB option profile x
// message size it appends random (incompressible) payloads to several
// partitions of a fresh disk store, as a broker does, and reads `write_bytes`
// from /proc/self/io (every byte this process sent to the block layer: WAL,
// memtable flushes, compactions, blob files) when the appends are written and
// again once RocksDB has finished the flushes and compactions they caused.
// bench/README.md explains the profiles and the columns.

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "core/storage/partition_log.h"
#include "core/storage/record_batch.h"
#include "core/storage/store.h"
#include "core/storage/store_options.h"
#include "core/util/logging.h"
#include "core/util/metrics.h"
#include "core/util/result.h"
#include "core/util/status.h"

namespace sprawl::bench {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr double kMb = 1e6;
constexpr uint64_t kTerm = 1;

// A named set of RocksDB options over the store's defaults. Each profile names
// every option it depends on, so its figures do not move when the defaults do.
struct Profile {
  std::string name;
  std::string db_options;   // StoreOptions::rocksdb_db_options
  std::string log_options;  // StoreOptions::rocksdb_log_options
  std::string note;
};

const std::vector<Profile>& Profiles() {
  static const std::vector<Profile> profiles = {
      {"default", "", "", "the store's defaults as built"},
      {"leveled", "", "enable_blob_files=false;compaction_style=kCompactionStyleLevel",
       "values in SST files, leveled compaction (the defaults before blob files)"},
      {"leveled-big-memtable", "max_total_wal_size=4294967296",
       "enable_blob_files=false;compaction_style=kCompactionStyleLevel;"
       "write_buffer_size=268435456;max_write_buffer_number=4",
       "leveled, 256 MiB memtables, 4 GiB of WAL before a forced flush"},
      {"universal", "", "enable_blob_files=false;compaction_style=kCompactionStyleUniversal",
       "values in SST files, universal compaction"},
      {"no-compaction", "",
       "enable_blob_files=false;disable_auto_compactions=true;"
       "level0_slowdown_writes_trigger=100000;level0_stop_writes_trigger=100000",
       "lower bound for SST files: never compacts (unbounded L0, not usable)"},
      {"blob", "",
       "enable_blob_files=true;min_blob_size=4096;blob_file_size=268435456;"
       "enable_blob_garbage_collection=false;compaction_style=kCompactionStyleLevel",
       "values of 4 KiB and more in blob files, no blob GC"},
      {"blob-gc", "",
       "enable_blob_files=true;min_blob_size=4096;blob_file_size=268435456;"
       "enable_blob_garbage_collection=true;blob_garbage_collection_age_cutoff=0.25;"
       "blob_garbage_collection_force_threshold=0.5;compaction_style=kCompactionStyleLevel",
       "blob files, GC of the oldest quarter during compactions"},
  };
  return profiles;
}

struct Config {
  std::vector<std::string> profiles{"leveled", "blob"};
  std::vector<size_t> sizes{100, 1024, 65536};
  uint64_t payload_mb = 1024;
  uint32_t partitions = 4;
  std::string fsync = "interval:10";
  uint64_t batch_bytes = 256 << 10;
  int window = 64;
  std::string parent_dir;
  bool read = true;
};

struct Figures {
  std::string profile;
  size_t size = 0;
  uint64_t records = 0;
  uint64_t payload_bytes = 0;  // records x size: what the users stored
  uint64_t encoded_bytes = 0;  // the batches, headers and record framing included
  double append_seconds = 0;
  uint64_t written_at_end = 0;   // write_bytes when the appends were written and synced
  uint64_t written_settled = 0;  // and once RocksDB's flushes and compactions were done
  uint64_t disk_bytes = 0;       // files in the data directory then
  double read_seconds = 0;       // everything read back from RocksDB after a reopen
};

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// Bytes this process caused to be written to storage (/proc/self/io).
Result<uint64_t> WriteBytes() {
  std::ifstream in("/proc/self/io");
  std::string name;
  uint64_t value = 0;
  while (in >> name >> value) {
    if (name == "write_bytes:") return value;
  }
  return Internal("/proc/self/io has no write_bytes (is task I/O accounting off?)");
}

uint64_t DirectoryBytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

class TempDir {
 public:
  static Result<std::unique_ptr<TempDir>> Create(const fs::path& parent) {
    std::string pattern = (parent / "sprawl-wamp-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return IoError("cannot create a directory like " + pattern + ": " + std::strerror(errno));
    }
    return std::unique_ptr<TempDir>(new TempDir(pattern));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

// Appends `batches` batches of `per_batch` values of `size` bytes, round-robin
// over the partitions, with at most `window` appends in flight. Each batch is
// built just before it is appended, from shifting positions of the random pool.
Status Append(const Config& config, const std::vector<storage::PartitionLog*>& logs,
              const std::string& pool, size_t size, uint32_t per_batch, uint64_t batches,
              Figures* out) {
  std::counting_semaphore<> slots(config.window);
  std::mutex error_mu;
  Status first_error;
  storage::RecordBatchBuilder builder;
  const size_t span = pool.size() - size;
  uint64_t record = 0;
  for (uint64_t b = 0; b < batches; ++b) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    for (uint32_t r = 0; r < per_batch; ++r, ++record) {
      builder.Add(std::nullopt, std::string_view(pool).substr((record * 7919) % span, size),
                  now_ms);
    }
    SPRAWL_ASSIGN_OR_RETURN(std::string batch, builder.Build());
    out->encoded_bytes += batch.size();
    slots.acquire();
    logs[b % logs.size()]->AppendAsync(std::move(batch), kTerm, [&](Result<storage::AppendInfo> r) {
      if (!r.ok()) {
        std::lock_guard lock(error_mu);
        if (first_error.ok()) first_error = r.status();
      }
      slots.release();
    });
  }
  for (int i = 0; i < config.window; ++i) slots.acquire();
  std::lock_guard lock(error_mu);
  return first_error;
}

// Reads every partition from offset 0 with fetches of 1 MiB.
Result<uint64_t> ReadAll(const std::vector<storage::PartitionLog*>& logs) {
  storage::ReadLimits limits;
  limits.max_bytes = 1u << 20;
  uint64_t records = 0;
  for (auto* log : logs) {
    uint64_t offset = log->FirstOffset();
    const uint64_t end = log->NextOffset();
    while (offset < end) {
      SPRAWL_ASSIGN_OR_RETURN(storage::ReadResult r, log->Read(offset, limits));
      if (r.batches.empty()) return Internal("a read returned nothing");
      for (const auto& b : r.batches) records += b.last_offset + 1 - b.base_offset;
      offset = r.next_offset;
    }
  }
  return records;
}

Result<Figures> RunCase(const Config& config, const Profile& profile, size_t size,
                        const std::string& pool) {
  Figures f;
  f.profile = profile.name;
  f.size = size;
  const uint32_t per_batch =
      static_cast<uint32_t>(std::max<uint64_t>(1, config.batch_bytes / size));
  const uint64_t batches =
      std::max<uint64_t>(1, config.payload_mb * 1'000'000 / (uint64_t{per_batch} * size));
  f.records = batches * per_batch;
  f.payload_bytes = f.records * size;

  SPRAWL_ASSIGN_OR_RETURN(auto dir, TempDir::Create(config.parent_dir));
  storage::StoreOptions options;
  options.data_dir = (dir->path() / "data").string();
  SPRAWL_ASSIGN_OR_RETURN(options.fsync, storage::FsyncPolicy::Parse(config.fsync));
  options.rocksdb_db_options = profile.db_options;
  options.rocksdb_log_options = profile.log_options;
  ::sync();  // earlier cases' write-back is not this case's business
  {
    metrics::Registry registry;
    SPRAWL_ASSIGN_OR_RETURN(const uint64_t before, WriteBytes());
    SPRAWL_ASSIGN_OR_RETURN(auto store, storage::Store::Open(options, registry));
    std::vector<storage::PartitionLog*> logs;
    for (uint32_t p = 0; p < config.partitions; ++p) {
      SPRAWL_ASSIGN_OR_RETURN(auto* log, store->OpenPartition({"wamp", p}));
      logs.push_back(log);
    }
    const auto start = SteadyClock::now();
    SPRAWL_RETURN_IF_ERROR(Append(config, logs, pool, size, per_batch, batches, &f));
    SPRAWL_RETURN_IF_ERROR(store->Flush());
    f.append_seconds = Seconds(SteadyClock::now() - start);
    SPRAWL_ASSIGN_OR_RETURN(const uint64_t at_end, WriteBytes());
    SPRAWL_RETURN_IF_ERROR(store->SettleDisk());
    SPRAWL_ASSIGN_OR_RETURN(const uint64_t settled, WriteBytes());
    f.written_at_end = at_end - before;
    f.written_settled = settled - before;
    f.disk_bytes = DirectoryBytes(options.data_dir);
  }
  if (config.read) {
    // A reopened store has an empty memory tier: every batch comes from RocksDB.
    metrics::Registry registry;
    SPRAWL_ASSIGN_OR_RETURN(auto store, storage::Store::Open(options, registry));
    std::vector<storage::PartitionLog*> logs;
    for (uint32_t p = 0; p < config.partitions; ++p) {
      SPRAWL_ASSIGN_OR_RETURN(auto* log, store->GetPartition({"wamp", p}));
      logs.push_back(log);
    }
    const auto start = SteadyClock::now();
    SPRAWL_ASSIGN_OR_RETURN(const uint64_t read, ReadAll(logs));
    f.read_seconds = Seconds(SteadyClock::now() - start);
    if (read != f.records) {
      return Internal("read back " + std::to_string(read) + " records of " +
                      std::to_string(f.records));
    }
  }
  return f;
}

std::string SizeName(size_t bytes) {
  return bytes % 1024 == 0 ? fmt::format("{} KiB", bytes / 1024) : fmt::format("{} B", bytes);
}

double Ratio(uint64_t a, uint64_t b) { return b > 0 ? static_cast<double>(a) / b : 0; }

int Run(int argc, char** argv) {
  Config config;
  CLI::App app{
      "Sprawl write-amplification benchmark: bytes written to disk per payload byte stored, "
      "per RocksDB option profile and message size."};
  app.add_option("--profiles", config.profiles, "Option profiles (--list shows them)")
      ->delimiter(',');
  app.add_option("--sizes", config.sizes, "Message sizes in bytes")
      ->delimiter(',')
      ->check(CLI::Range(1, 16 << 20));
  app.add_option("--payload-mb", config.payload_mb, "Payload per case, in MB (10^6 bytes)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--partitions", config.partitions, "Partitions appended to round-robin")
      ->check(CLI::Range(1, 1024));
  app.add_option("--fsync", config.fsync, "Fsync policy: never, interval:<ms>, always");
  app.add_option("--batch-bytes", config.batch_bytes,
                 "Payload bytes per batch (a producer's batch size); at least one message")
      ->check(CLI::Range(1, 32 << 20));
  app.add_option("--window", config.window, "Appends in flight")->check(CLI::Range(1, 100000));
  app.add_option("--dir", config.parent_dir,
                 "Parent of the temporary data directories (default: the system temp dir)");
  bool no_read = false;
  bool list = false;
  app.add_flag("--no-read", no_read, "Skip reading everything back after a reopen");
  app.add_flag("--list", list, "List the profiles and exit");
  CLI11_PARSE(app, argc, argv);
  config.read = !no_read;
  if (list) {
    for (const auto& p : Profiles()) {
      fmt::print("{:<22} {}\n{:<22} db:  {}\n{:<22} log: {}\n", p.name, p.note, "",
                 p.db_options.empty() ? "-" : p.db_options, "",
                 p.log_options.empty() ? "-" : p.log_options);
    }
    return 0;
  }
  log::LogOptions log_options;
  log_options.level = log::Level::kWarn;
  log::Configure(log_options);
  if (config.parent_dir.empty()) config.parent_dir = fs::temp_directory_path().string();

  std::vector<const Profile*> chosen;
  for (const auto& name : config.profiles) {
    auto it = std::find_if(Profiles().begin(), Profiles().end(),
                           [&](const Profile& p) { return p.name == name; });
    if (it == Profiles().end()) {
      fmt::print(stderr, "unknown profile '{}' (--list shows them)\n", name);
      return 2;
    }
    chosen.push_back(&*it);
  }
  const size_t largest = *std::max_element(config.sizes.begin(), config.sizes.end());
  std::string pool(std::max<size_t>(8u << 20, 4 * largest), '\0');
  std::mt19937_64 random(42);
  for (auto& ch : pool) ch = static_cast<char>(random());

  double load = -1;
  std::ifstream("/proc/loadavg") >> load;
  fmt::print(
      "Sprawl write amplification: {} partitions, fsync {}, batches of {} KiB of random "
      "payload, {} appends in flight, {} MB of payload per case, data under {}; 1-min load "
      "average {:.2f} before the run\n"
      "amplification = write_bytes of this process (/proc/self/io) / payload bytes; 'end' when "
      "the appends are written and synced, 'settled' once RocksDB flushed its memtables and "
      "finished the compactions that caused\n\n",
      config.partitions, config.fsync, config.batch_bytes >> 10, config.window, config.payload_mb,
      config.parent_dir, load);
  fmt::print("{:<22} {:>7} {:>9} {:>10} {:>8} {:>10} {:>8} {:>8} {:>12}\n", "profile", "size", "MB",
             "append MB/s", "framing", "amp end", "settled", "space", "read rec/s");
  for (const Profile* profile : chosen) {
    for (size_t size : config.sizes) {
      auto f = RunCase(config, *profile, size, pool);
      if (!f.ok()) {
        fmt::print(stderr, "{} at {}: {}\n", profile->name, SizeName(size), f.status().ToString());
        return 1;
      }
      fmt::print(
          "{:<22} {:>7} {:>9.0f} {:>10.1f} {:>8.3f} {:>10.3f} {:>8.3f} {:>8.3f} {:>12.0f}\n",
          profile->name, SizeName(size), f->payload_bytes / kMb,
          f->payload_bytes / kMb / f->append_seconds, Ratio(f->encoded_bytes, f->payload_bytes),
          Ratio(f->written_at_end, f->payload_bytes), Ratio(f->written_settled, f->payload_bytes),
          Ratio(f->disk_bytes, f->payload_bytes),
          f->read_seconds > 0 ? f->records / f->read_seconds : 0.0);
      std::fflush(stdout);
    }
  }
  std::ifstream("/proc/loadavg") >> load;
  fmt::print(
      "\ncolumns: framing = batch bytes / payload bytes; space = files in the data "
      "directory / payload bytes once settled; read = every record read back from "
      "RocksDB after a reopen (mostly from the page cache); 1-min load average {:.2f} at "
      "the end\n",
      load);
  return 0;
}

}  // namespace
}  // namespace sprawl::bench

int main(int argc, char** argv) { return sprawl::bench::Run(argc, argv); }
