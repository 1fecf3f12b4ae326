// The storage benchmark: for every record size x batch size x fsync policy it
// appends to one partition of a disk store, reads the tail back from the
// memory tier and everything back from RocksDB, and writes the same encoded
// batches through a plain RocksDB as the baseline. Every figure it prints is
// measured in this run. bench/README.md explains the columns and conditions.

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <semaphore>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/storage/keys.h"
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
using storage::FsyncPolicy;
using storage::PartitionLog;
using storage::Tier;
using SteadyClock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

constexpr uint64_t kTerm = 1;
// The store gives its first partition id 1; the baseline uses the same key prefix.
constexpr uint32_t kRawPartitionId = 1;
constexpr double kBytesPerMb = 1e6;

// The headline case of the issue and its targets.
constexpr size_t kTargetRecordBytes = 100;
constexpr uint32_t kTargetBatchRecords = 100;
constexpr std::string_view kTargetFsync = "interval:10";
constexpr double kTargetAppendPerSecond = 1'000'000;
constexpr double kTargetRawRatio = 0.8;
constexpr double kTargetMemoryReadPerSecond = 5'000'000;
constexpr double kTargetDiskReadPerSecond = 2'000'000;

// How much each case writes. Counts are fixed per case (not time-boxed) so
// that the Sprawl run and the baseline write the same batches; the caps keep
// each timed phase around 1-3 s on a 2-core VM, and the default run of all 18
// cases within a few minutes.
struct Budget {
  uint64_t max_records = 0;         // per case
  uint64_t max_value_bytes = 0;     // record count x value size, per case
  uint64_t max_batches = 0;         // bounds cases where per-append overhead dominates
  uint64_t max_batches_always = 0;  // fsync=always: one sync per group commit
  uint64_t max_value_bytes_always = 0;
  // fsync=always baseline: one sync per write, one writer, so it runs on a
  // prefix of the case's batches or it would take minutes.
  uint64_t max_raw_batches_always = 0;
  double min_read_seconds = 0;  // reads repeat whole passes until this much time passed
};

constexpr Budget kFullBudget{4'000'000, 400'000'000, 400'000, 20'000, 100'000'000, 500, 0.5};
constexpr Budget kQuickBudget{400'000, 40'000'000, 40'000, 2'000, 10'000'000, 50, 0.1};

struct Config {
  std::vector<size_t> record_sizes{100, 1024};
  std::vector<uint32_t> batch_sizes{1, 100, 1000};
  std::vector<std::string> fsync_policies{"never", "interval:10", "always"};
  int window = 64;
  uint64_t fetch_bytes = 1u << 20;
  std::string parent_dir;
  uint64_t records = 0;  // records per case; 0 = from the budget
  bool quick = false;
  bool json = false;
};

struct CaseSpec {
  size_t record_bytes = 0;
  uint32_t batch_records = 0;
  FsyncPolicy fsync;
  uint64_t batches = 0;
  uint64_t raw_batches = 0;
};

struct AppendFigures {
  uint64_t records = 0;
  uint64_t bytes = 0;  // encoded batch bytes
  double seconds = 0;
  double p50_seconds = 0;
  double p99_seconds = 0;
  uint64_t rocksdb_writes = 0;  // group commits issued by the store's writer
  uint64_t write_requests = 0;  // submissions merged into them
  uint64_t fsyncs = 0;
  // Time the writer thread spent inside RocksDB Write and inside SyncWAL: how
  // much of the append wall time the single writer was busy, and with what.
  double writer_write_seconds = 0;
  double writer_sync_seconds = 0;
  double cpu_seconds = 0;  // user + system CPU of the whole process
};

struct ReadFigures {
  uint64_t records_per_pass = 0;
  uint64_t passes = 0;
  double seconds = 0;
};

struct RawFigures {
  uint64_t records = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  uint64_t wal_syncs = 0;  // SyncWAL calls of the interval thread
  double cpu_seconds = 0;  // user + system CPU of the whole process
};

struct CaseFigures {
  CaseSpec spec;
  AppendFigures append;
  ReadFigures memory_read;
  ReadFigures disk_read;
  RawFigures raw;
};

double PerSecond(double amount, double seconds) { return seconds > 0 ? amount / seconds : 0; }
double ReadRate(const ReadFigures& r) {
  return PerSecond(static_cast<double>(r.records_per_pass * r.passes), r.seconds);
}
double AppendRate(const CaseFigures& c) {
  return PerSecond(static_cast<double>(c.append.records), c.append.seconds);
}
double RawRate(const CaseFigures& c) {
  return PerSecond(static_cast<double>(c.raw.records), c.raw.seconds);
}
double RawRatio(const CaseFigures& c) {
  const double raw = RawRate(c);
  return raw > 0 ? AppendRate(c) / raw : 0;
}
double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// User plus system CPU time of this process so far, every thread included
// (RocksDB's flush threads too), to tell CPU cost from waiting.
double ProcessCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// The 1-minute load average: other work on a shared machine shows up here.
double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

// 1234567 -> "1,234,567"; the figures span six orders of magnitude.
std::string Grouped(double value) {
  std::string digits = fmt::format("{:.0f}", value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string SizeName(size_t bytes) {
  return bytes % 1024 == 0 ? fmt::format("{} KiB", bytes / 1024) : fmt::format("{} B", bytes);
}

// A new empty directory under `parent`, removed with its contents when this
// goes away, so every case starts from nothing and leaves nothing behind.
class TempDir {
 public:
  // Creates "<parent>/<prefix>XXXXXX". IO_ERROR when that is not possible.
  static Result<std::unique_ptr<TempDir>> Create(const fs::path& parent, std::string_view prefix) {
    std::string pattern = (parent / (std::string(prefix) + "XXXXXX")).string();
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

// The filesystem type of the mount holding `dir` (longest matching mount
// point), so a run on tmpfs, where fsync costs nothing, is visible as such.
std::string FilesystemOf(const fs::path& dir) {
  std::error_code ec;
  const std::string path = fs::canonical(dir, ec).string();
  std::ifstream mounts("/proc/self/mounts");
  std::string device, mount_point, type, rest;
  std::string best_type = "unknown";
  size_t best_length = 0;
  while (mounts >> device >> mount_point >> type && std::getline(mounts, rest)) {
    const bool covers = path.rfind(mount_point, 0) == 0 &&
                        (mount_point == "/" || path.size() == mount_point.size() ||
                         path[mount_point.size()] == '/');
    if (covers && mount_point.size() >= best_length) {
      best_length = mount_point.size();
      best_type = type;
    }
  }
  return best_type;
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

// Copies of DbOptions() and LogCfOptions() in core/storage/rocks_engine.cc,
// which are file-local there. The baseline must run RocksDB exactly as the
// store does, so change these whenever those change.
rocksdb::Options RawDbOptions() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1 << 20;
  o.max_total_wal_size = 512ull << 20;
  return o;
}

rocksdb::ColumnFamilyOptions RawLogCfOptions() {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 64ull << 20;
  o.max_write_buffer_number = 4;
  o.target_file_size_base = 64ull << 20;
  o.compression = rocksdb::kNoCompression;
  return o;
}

// Encodes `count` batches of `batch_records` records with values of
// `value_bytes` taken from `pool` at shifting positions (so batches differ),
// without key or headers.
Result<std::vector<std::string>> BuildBatches(const std::string& pool, size_t value_bytes,
                                              uint32_t batch_records, uint64_t count) {
  std::vector<std::string> batches;
  batches.reserve(count);
  storage::RecordBatchBuilder builder;
  const size_t span = pool.size() - value_bytes;
  uint64_t record = 0;
  for (uint64_t b = 0; b < count; ++b) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    for (uint32_t r = 0; r < batch_records; ++r, ++record) {
      // A prime stride walks the pool without repeating for a long time.
      const size_t at = (record * 7919) % span;
      builder.Add(std::nullopt, std::string_view(pool).substr(at, value_bytes), now_ms);
    }
    SPRAWL_ASSIGN_OR_RETURN(std::string batch, builder.Build());
    batches.push_back(std::move(batch));
  }
  return batches;
}

uint64_t TotalBytes(const std::vector<std::string>& batches, uint64_t count) {
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < count; ++i) bytes += batches[i].size();
  return bytes;
}

// Appends every batch (consuming them) with at most `window` appends in
// flight, timing each from the AppendAsync call to its `done` callback.
Result<AppendFigures> TimeAppends(PartitionLog& log, std::vector<std::string> batches,
                                  uint32_t batch_records, int window, metrics::Registry& registry) {
  AppendFigures out;
  out.records = batches.size() * batch_records;
  out.bytes = TotalBytes(batches, batches.size());
  metrics::Histogram latency;
  std::counting_semaphore<> slots(window);
  std::mutex error_mu;
  Status first_error;  // guarded by error_mu

  const double cpu_start = ProcessCpuSeconds();
  const auto start = SteadyClock::now();
  for (auto& batch : batches) {
    slots.acquire();
    const auto sent = SteadyClock::now();
    log.AppendAsync(
        std::move(batch), kTerm,
        [&latency, &slots, &error_mu, &first_error, sent](Result<storage::AppendInfo> r) {
          latency.Observe(Seconds(SteadyClock::now() - sent));
          if (!r.ok()) {
            std::lock_guard lock(error_mu);
            if (first_error.ok()) first_error = r.status();
          }
          slots.release();
        });
  }
  // Every slot back means every callback has run.
  for (int i = 0; i < window; ++i) slots.acquire();
  out.seconds = Seconds(SteadyClock::now() - start);
  out.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  {
    std::lock_guard lock(error_mu);
    if (!first_error.ok()) return first_error;
  }
  out.p50_seconds = latency.Quantile(0.50);
  out.p99_seconds = latency.Quantile(0.99);
  // The store registered these in `registry`; GetCounter returns the same series.
  out.rocksdb_writes = registry.GetCounter("sprawl_storage_disk_writes_total", "").Value();
  out.write_requests = registry.GetCounter("sprawl_storage_disk_write_requests_total", "").Value();
  out.fsyncs = registry.GetCounter("sprawl_storage_fsyncs_total", "").Value();
  out.writer_write_seconds = registry.GetHistogram("sprawl_storage_disk_write_seconds", "").Sum();
  out.writer_sync_seconds = registry.GetHistogram("sprawl_storage_fsync_seconds", "").Sum();
  return out;
}

// Reads [from, to) with fetches of `fetch_bytes` and decodes every record, as
// a consumer would. Fails if any fetch is served by a tier other than `tier`.
// Returns the records decoded; `sink` keeps the decoding from being optimised out.
Result<uint64_t> ReadPass(const PartitionLog& log, uint64_t from, uint64_t to, Tier tier,
                          uint64_t fetch_bytes, uint64_t* sink) {
  storage::ReadLimits limits;
  limits.max_bytes = fetch_bytes;
  limits.end_offset = to;
  uint64_t records = 0;
  uint64_t offset = from;
  while (offset < to) {
    SPRAWL_ASSIGN_OR_RETURN(storage::ReadResult fetched, log.Read(offset, limits));
    if (fetched.tier != tier) {
      return Internal("offset " + std::to_string(offset) + " was served by the " +
                      (fetched.tier == Tier::kMemory ? "memory tier" : "disk tier") +
                      ", not the tier this pass measures");
    }
    if (fetched.batches.empty()) {
      return Internal("read at offset " + std::to_string(offset) + " returned nothing");
    }
    for (const auto& batch : fetched.batches) {
      SPRAWL_ASSIGN_OR_RETURN(auto view, storage::RecordBatchView::Parse(*batch.bytes));
      SPRAWL_ASSIGN_OR_RETURN(auto it, view.Records());
      storage::RecordView record;
      while (it.Next(&record)) {
        if (record.offset < offset) continue;
        ++records;
        *sink += record.value.size() + static_cast<unsigned char>(record.value.front());
      }
      if (!it.status().ok()) return it.status();
    }
    offset = fetched.next_offset;
  }
  if (records != to - from) {
    return Internal("decoded " + std::to_string(records) + " records, expected " +
                    std::to_string(to - from));
  }
  return records;
}

// Repeats whole read passes over [from, to) until `min_seconds` have passed.
Result<ReadFigures> TimeReads(const PartitionLog& log, uint64_t from, uint64_t to, Tier tier,
                              uint64_t fetch_bytes, double min_seconds) {
  ReadFigures out;
  uint64_t sink = 0;
  const auto start = SteadyClock::now();
  do {
    SPRAWL_ASSIGN_OR_RETURN(out.records_per_pass,
                            ReadPass(log, from, to, tier, fetch_bytes, &sink));
    ++out.passes;
    out.seconds = Seconds(SteadyClock::now() - start);
  } while (out.seconds < min_seconds);
  // Reading the sink makes the decoded values observable.
  if (sink == 0) return Internal("decoded records carried no value bytes");
  return out;
}

// Flushes dirty pages of earlier phases so they do not slow the next timed one.
void SettleDisk() { ::sync(); }

// The Sprawl part of a case: append, read the memory tail, reopen, read all
// from RocksDB. The store lives in its own temporary directory.
Status RunStore(const Config& config, const Budget& budget, const CaseSpec& spec,
                const std::vector<std::string>& batches, CaseFigures* out) {
  SPRAWL_ASSIGN_OR_RETURN(auto dir, TempDir::Create(config.parent_dir, "sprawl-bench-store-"));
  storage::StoreOptions options;
  options.mode = storage::StorageMode::kDisk;
  options.data_dir = dir->path().string();
  options.fsync = spec.fsync;
  const storage::PartitionKey key{"bench", 0};
  uint64_t next_offset = 0;
  {
    metrics::Registry registry;
    SPRAWL_ASSIGN_OR_RETURN(auto store, storage::Store::Open(options, registry));
    SPRAWL_ASSIGN_OR_RETURN(auto log, store->OpenPartition(key));
    // Copied before timing: the log takes ownership of each batch it appends.
    std::vector<std::string> owned = batches;
    SettleDisk();
    SPRAWL_ASSIGN_OR_RETURN(out->append, TimeAppends(*log, std::move(owned), spec.batch_records,
                                                     config.window, registry));

    const storage::PartitionStats stats = log->Stats();
    next_offset = stats.next_offset;
    // Batches are uniform, so the memory tier (the newest batches) starts here.
    const uint64_t tail_from = next_offset - stats.memory_batches * spec.batch_records;
    SPRAWL_ASSIGN_OR_RETURN(
        out->memory_read, TimeReads(*log, tail_from, next_offset, Tier::kMemory, config.fetch_bytes,
                                    budget.min_read_seconds));
    SPRAWL_RETURN_IF_ERROR(store->Flush());
  }
  {
    // A reopened store starts with an empty memory tier: every read goes to RocksDB.
    metrics::Registry registry;
    SPRAWL_ASSIGN_OR_RETURN(auto store, storage::Store::Open(options, registry));
    SPRAWL_ASSIGN_OR_RETURN(auto log, store->GetPartition(key));
    if (log->NextOffset() != next_offset || log->Stats().memory_batches != 0) {
      return Internal("the reopened store does not hold the appended log on disk only");
    }
    SPRAWL_ASSIGN_OR_RETURN(out->disk_read, TimeReads(*log, 0, next_offset, Tier::kDisk,
                                                      config.fetch_bytes, budget.min_read_seconds));
  }
  return Status::Ok();
}

Status RocksError(std::string_view what, const rocksdb::Status& s) {
  return IoError(std::string(what) + ": " + s.ToString());
}

// The baseline: a plain RocksDB with the store's options, one WriteBatch and
// one Write per batch from this thread, synced by the policy.
Status RunRaw(const Config& config, const CaseSpec& spec, const std::vector<std::string>& batches,
              RawFigures* out) {
  SPRAWL_ASSIGN_OR_RETURN(auto dir, TempDir::Create(config.parent_dir, "sprawl-bench-raw-"));
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"log", RawLogCfOptions()},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(RawDbOptions(), (dir->path() / "rocksdb").string(),
                                        families, &handles, &raw_db);
  if (!s.ok()) return RocksError("opening the baseline RocksDB failed", s);
  std::unique_ptr<rocksdb::DB> db(raw_db);
  rocksdb::ColumnFamilyHandle* log_cf = handles[1];

  rocksdb::WriteOptions write_options;
  write_options.sync = spec.fsync.kind == FsyncPolicy::Kind::kAlways;
  const bool interval = spec.fsync.kind == FsyncPolicy::Kind::kInterval;

  out->records = spec.raw_batches * spec.batch_records;
  out->bytes = TotalBytes(batches, spec.raw_batches);
  SettleDisk();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> syncs{0};
  std::mutex sync_mu;
  rocksdb::Status sync_error;  // guarded by sync_mu
  std::thread syncer;
  const double cpu_start = ProcessCpuSeconds();
  const auto start = SteadyClock::now();
  if (interval) {
    // Sleeps the interval after each sync ends, as the store's writer does.
    syncer = std::thread([&] {
      while (!stop.load()) {
        std::this_thread::sleep_for(spec.fsync.interval);
        const rocksdb::Status synced = db->SyncWAL();
        syncs.fetch_add(1);
        if (!synced.ok()) {
          std::lock_guard lock(sync_mu);
          sync_error = synced;
        }
      }
    });
  }
  uint64_t offset = 0;
  for (uint64_t i = 0; i < spec.raw_batches && s.ok(); ++i) {
    rocksdb::WriteBatch write;
    s = write.Put(log_cf, storage::keys::Offset(kRawPartitionId, offset), batches[i]);
    if (s.ok()) s = db->Write(write_options, &write);
    offset += spec.batch_records;
  }
  out->seconds = Seconds(SteadyClock::now() - start);
  out->cpu_seconds = ProcessCpuSeconds() - cpu_start;
  if (syncer.joinable()) {
    stop.store(true);
    syncer.join();
  }
  out->wal_syncs = syncs.load();
  for (auto* handle : handles) (void)db->DestroyColumnFamilyHandle(handle);
  (void)db->Close();
  if (!s.ok()) return RocksError("baseline write failed", s);
  std::lock_guard lock(sync_mu);
  if (!sync_error.ok()) return RocksError("baseline WAL sync failed", sync_error);
  return Status::Ok();
}

CaseSpec PlanCase(const Config& config, const Budget& budget, size_t record_bytes,
                  uint32_t batch_records, const FsyncPolicy& fsync) {
  CaseSpec spec{record_bytes, batch_records, fsync, 0, 0};
  const bool always = fsync.kind == FsyncPolicy::Kind::kAlways;
  uint64_t records = 0;
  if (config.records > 0) {
    records = config.records;
  } else {
    const uint64_t max_batches = always ? budget.max_batches_always : budget.max_batches;
    const uint64_t max_bytes = always ? budget.max_value_bytes_always : budget.max_value_bytes;
    records = std::min({budget.max_records, max_bytes / record_bytes, max_batches * batch_records});
  }
  spec.batches = std::max<uint64_t>(1, records / batch_records);
  spec.raw_batches = spec.batches;
  if (always && config.records == 0) {
    spec.raw_batches = std::min(spec.batches, budget.max_raw_batches_always);
  }
  return spec;
}

Result<CaseFigures> RunCase(const Config& config, const Budget& budget, const CaseSpec& spec,
                            const std::string& pool) {
  CaseFigures figures;
  figures.spec = spec;
  SPRAWL_ASSIGN_OR_RETURN(auto batches,
                          BuildBatches(pool, spec.record_bytes, spec.batch_records, spec.batches));
  SPRAWL_RETURN_IF_ERROR(RunStore(config, budget, spec, batches, &figures));
  SPRAWL_RETURN_IF_ERROR(RunRaw(config, spec, batches, &figures.raw));
  return figures;
}

struct Conditions {
  unsigned cores = 0;
  std::string cpu;
  std::string dir;
  std::string filesystem;
  double load_before = 0;  // 1-minute load average before the first case
  double load_after = 0;   // and after the last
};

std::string WindowText(const Config& config) {
  return fmt::format("{} batches in flight", config.window);
}

void PrintConditions(const Config& config, const Conditions& c) {
  fmt::print("Sprawl storage benchmark{}\n", config.quick ? " (--quick: smaller counts)" : "");
  fmt::print("machine:      {} cores ({}), 1-min load average {:.2f} before the run\n", c.cores,
             c.cpu, c.load_before);
  fmt::print(
      "storage:      disk: memory tier ({} MiB for the node) + RocksDB {}.{}.{}, data in {} "
      "({})\n",
      storage::StoreOptions().memory_tier_bytes >> 20, ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH,
      c.dir, c.filesystem);
  fmt::print("partitions:   1; fresh data directory per case, removed after it\n");
  fmt::print(
      "records:      value only (no key, no headers); size = value size; compression none\n");
  fmt::print("append:       window of {}; latency = AppendAsync call to its done callback\n",
             WindowText(config));
  fmt::print(
      "reads:        fetches of {} KiB, every record decoded; memory = the tail still in the\n"
      "              memory tier; rocksdb = everything from offset 0 after reopening the store\n",
      config.fetch_bytes >> 10);
  fmt::print(
      "baseline:     plain RocksDB, same DB and log column family options, one WriteBatch\n"
      "              per batch from one thread; fsync always: sync=true per write,\n"
      "              interval:N: SyncWAL every N ms from a second thread, never: no sync\n\n");
}

double Merge(const AppendFigures& a) {
  return a.rocksdb_writes > 0
             ? static_cast<double>(a.write_requests) / static_cast<double>(a.rocksdb_writes)
             : 0;
}

double PercentOf(double part, double whole) { return whole > 0 ? 100 * part / whole : 0; }

void PrintTable(const std::vector<CaseFigures>& cases) {
  fmt::print(
      "{:>6} {:>5} {:>11} {:>9} {:>12} {:>6} {:>7} {:>7} {:>5} {:>6} {:>5} {:>9} {:>11} "
      "{:>6} {:>11} {:>11}\n",
      "size", "batch", "fsync", "records", "append rec/s", "MB/s", "p50 ms", "p99 ms", "merge",
      "write%", "sync%", "raw recs", "raw rec/s", "vs raw", "mem rec/s", "rocks rec/s");
  for (const auto& c : cases) {
    const AppendFigures& a = c.append;
    fmt::print(
        "{:>6} {:>5} {:>11} {:>9} {:>12} {:>6.0f} {:>7.3f} {:>7.3f} {:>5.1f} {:>6.0f} "
        "{:>5.0f} {:>9} {:>11} {:>6.2f} {:>11} {:>11}\n",
        SizeName(c.spec.record_bytes), c.spec.batch_records, c.spec.fsync.ToString(),
        Grouped(static_cast<double>(a.records)), Grouped(AppendRate(c)),
        PerSecond(static_cast<double>(a.bytes), a.seconds) / kBytesPerMb, a.p50_seconds * 1e3,
        a.p99_seconds * 1e3, Merge(a), PercentOf(a.writer_write_seconds, a.seconds),
        PercentOf(a.writer_sync_seconds, a.seconds), Grouped(static_cast<double>(c.raw.records)),
        Grouped(RawRate(c)), RawRatio(c), Grouped(ReadRate(c.memory_read)),
        Grouped(ReadRate(c.disk_read)));
  }
}

struct TargetCheck {
  std::string name;
  std::string unit;
  double target = 0;
  double measured = 0;
  bool met() const { return measured >= target; }
};

const CaseFigures* HeadlineCase(const std::vector<CaseFigures>& cases) {
  for (const auto& c : cases) {
    if (c.spec.record_bytes == kTargetRecordBytes && c.spec.batch_records == kTargetBatchRecords &&
        c.spec.fsync.ToString() == kTargetFsync) {
      return &c;
    }
  }
  return nullptr;
}

std::vector<TargetCheck> CheckTargets(const CaseFigures& c) {
  return {
      {"append", "rec/s", kTargetAppendPerSecond, AppendRate(c)},
      {"append, Sprawl/raw RocksDB", "x", kTargetRawRatio, RawRatio(c)},
      {"read, memory tier", "rec/s", kTargetMemoryReadPerSecond, ReadRate(c.memory_read)},
      {"read, RocksDB", "rec/s", kTargetDiskReadPerSecond, ReadRate(c.disk_read)},
  };
}

std::string TargetValue(double value, const std::string& unit) {
  return unit == "x" ? fmt::format("{:.2f}", value) : Grouped(value) + " " + unit;
}

void PrintTargets(const std::vector<CaseFigures>& cases) {
  const CaseFigures* headline = HeadlineCase(cases);
  fmt::print("\ntargets (issue): {} records, batches of {}, fsync {}\n",
             SizeName(kTargetRecordBytes), kTargetBatchRecords, kTargetFsync);
  if (headline == nullptr) {
    fmt::print("  not measured: this run did not include that case\n");
    return;
  }
  for (const auto& t : CheckTargets(*headline)) {
    fmt::print("  {:<28} target >= {:<18} measured {:<18} {}\n", t.name,
               TargetValue(t.target, t.unit), TargetValue(t.measured, t.unit),
               t.met() ? "met" : "NOT MET");
  }
}

Json ToJson(const Config& config, const Conditions& conditions,
            const std::vector<CaseFigures>& cases) {
  Json out;
  out["conditions"] = {
      {"cores", conditions.cores},
      {"cpu", conditions.cpu},
      {"partitions", 1},
      {"storage", "disk"},
      {"data_dir", conditions.dir},
      {"filesystem", conditions.filesystem},
      {"compression", "none"},
      {"window_batches", config.window},
      {"fetch_bytes", config.fetch_bytes},
      {"memory_tier_bytes", storage::StoreOptions().memory_tier_bytes},
      {"quick", config.quick},
      {"load_average_before", conditions.load_before},
      {"load_average_after", conditions.load_after},
  };
  Json rows = Json::array();
  for (const auto& c : cases) {
    rows.push_back({
        {"record_bytes", c.spec.record_bytes},
        {"batch_records", c.spec.batch_records},
        {"fsync", c.spec.fsync.ToString()},
        {"append",
         {{"records", c.append.records},
          {"encoded_bytes", c.append.bytes},
          {"seconds", c.append.seconds},
          {"records_per_second", AppendRate(c)},
          {"mb_per_second",
           PerSecond(static_cast<double>(c.append.bytes), c.append.seconds) / kBytesPerMb},
          {"latency_p50_ms", c.append.p50_seconds * 1e3},
          {"latency_p99_ms", c.append.p99_seconds * 1e3},
          {"rocksdb_writes", c.append.rocksdb_writes},
          {"write_requests", c.append.write_requests},
          {"fsyncs", c.append.fsyncs},
          {"writer_write_seconds", c.append.writer_write_seconds},
          {"writer_sync_seconds", c.append.writer_sync_seconds},
          {"cpu_seconds", c.append.cpu_seconds}}},
        {"read_memory",
         {{"records_per_pass", c.memory_read.records_per_pass},
          {"passes", c.memory_read.passes},
          {"seconds", c.memory_read.seconds},
          {"records_per_second", ReadRate(c.memory_read)}}},
        {"read_rocksdb",
         {{"records_per_pass", c.disk_read.records_per_pass},
          {"passes", c.disk_read.passes},
          {"seconds", c.disk_read.seconds},
          {"records_per_second", ReadRate(c.disk_read)}}},
        {"raw_rocksdb",
         {{"records", c.raw.records},
          {"encoded_bytes", c.raw.bytes},
          {"seconds", c.raw.seconds},
          {"records_per_second", RawRate(c)},
          {"mb_per_second",
           PerSecond(static_cast<double>(c.raw.bytes), c.raw.seconds) / kBytesPerMb},
          {"wal_syncs", c.raw.wal_syncs},
          {"cpu_seconds", c.raw.cpu_seconds}}},
        {"sprawl_vs_raw", RawRatio(c)},
    });
  }
  out["cases"] = std::move(rows);
  Json targets = Json::array();
  if (const CaseFigures* headline = HeadlineCase(cases)) {
    for (const auto& t : CheckTargets(*headline)) {
      targets.push_back({{"name", t.name},
                         {"unit", t.unit},
                         {"target", t.target},
                         {"measured", t.measured},
                         {"met", t.met()}});
    }
  }
  out["targets"] = std::move(targets);
  return out;
}

int Run(int argc, char** argv) {
  Config config;
  std::vector<std::string> sizes_text;
  CLI::App app{
      "Sprawl storage benchmark: append and read throughput of one partition on disk, "
      "against plain RocksDB writing the same bytes."};
  app.add_option("--sizes", config.record_sizes, "Record value sizes in bytes")
      ->delimiter(',')
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--batches", config.batch_sizes, "Records per batch")
      ->delimiter(',')
      ->check(CLI::Range(1, 100000));
  app.add_option("--fsync", config.fsync_policies, "Fsync policies: never, interval:<ms>, always")
      ->delimiter(',');
  app.add_option("--window", config.window, "Appends in flight (batches)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--fetch-bytes", config.fetch_bytes, "Bytes per read fetch")
      ->check(CLI::Range(1, 64 << 20));
  app.add_option("--records", config.records,
                 "Records per case (default: by budget; see README). Also used by the baseline.")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  app.add_option("--dir", config.parent_dir,
                 "Parent of the temporary data directories (default: the system temp dir)");
  app.add_flag("--quick", config.quick, "About ten times fewer records: a smoke run");
  app.add_flag("--json", config.json, "Print JSON instead of the table");
  CLI11_PARSE(app, argc, argv);

  // The store logs every partition it opens at info level; the report is the output here.
  log::LogOptions log_options;
  log_options.level = log::Level::kWarn;
  log::Configure(log_options);
  const Budget& budget = config.quick ? kQuickBudget : kFullBudget;
  std::vector<FsyncPolicy> policies;
  for (const auto& text : config.fsync_policies) {
    auto policy = FsyncPolicy::Parse(text);
    if (!policy.ok()) {
      fmt::print(stderr, "--fsync {}: {}\n", text, policy.status().ToString());
      return 2;
    }
    policies.push_back(*policy);
  }
  if (config.parent_dir.empty()) config.parent_dir = fs::temp_directory_path().string();

  Conditions conditions{std::thread::hardware_concurrency(), CpuModel(),    config.parent_dir,
                        FilesystemOf(config.parent_dir),     LoadAverage(), 0};
  if (!config.json) PrintConditions(config, conditions);

  // Random value bytes, so the data is no easier for the disk than real payloads.
  const size_t largest = *std::max_element(config.record_sizes.begin(), config.record_sizes.end());
  std::string pool(std::max<size_t>(4u << 20, 2 * largest), '\0');
  std::mt19937_64 random(42);
  for (auto& ch : pool) ch = static_cast<char>(random());

  std::vector<CaseSpec> specs;
  for (size_t size : config.record_sizes) {
    for (uint32_t batch : config.batch_sizes) {
      for (const auto& policy : policies)
        specs.push_back(PlanCase(config, budget, size, batch, policy));
    }
  }
  std::vector<CaseFigures> cases;
  const auto run_start = SteadyClock::now();
  for (size_t i = 0; i < specs.size(); ++i) {
    const CaseSpec& spec = specs[i];
    fmt::print(stderr, "[{}/{}] {} x {}, fsync {}: {} records ({} raw)...\n", i + 1, specs.size(),
               SizeName(spec.record_bytes), spec.batch_records, spec.fsync.ToString(),
               spec.batches * spec.batch_records, spec.raw_batches * spec.batch_records);
    auto figures = RunCase(config, budget, spec, pool);
    if (!figures.ok()) {
      fmt::print(stderr, "case failed: {}\n", figures.status().ToString());
      return 1;
    }
    cases.push_back(std::move(*figures));
  }
  const double total_seconds = Seconds(SteadyClock::now() - run_start);
  conditions.load_after = LoadAverage();

  if (config.json) {
    Json out = ToJson(config, conditions, cases);
    out["run_seconds"] = total_seconds;
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  PrintTable(cases);
  PrintTargets(cases);
  fmt::print("\nrun took {:.0f} s; 1-min load average {:.2f} at the end\n", total_seconds,
             conditions.load_after);
  return 0;
}

}  // namespace
}  // namespace sprawl::bench

int main(int argc, char** argv) { return sprawl::bench::Run(argc, argv); }
