// sprawl-log: works on a node's data directory directly — append lines to a
// partition, read records back, inspect what the store holds. For operators
// and for trying the storage engine before a server runs on it.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "core/storage/store.h"
#include "core/util/logging.h"

namespace sprawl {
namespace {

using storage::PartitionKey;
using storage::RecordBatchBuilder;
using storage::RecordBatchView;
using storage::Store;
using storage::StoreOptions;

int Fail(const Status& status) {
  std::fprintf(stderr, "sprawl-log: %s\n", status.ToString().c_str());
  return 1;
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& dir, const std::string& fsync,
                                         metrics::Registry& registry) {
  StoreOptions options;
  options.data_dir = dir;
  SPRAWL_ASSIGN_OR_RETURN(options.fsync, storage::FsyncPolicy::Parse(fsync));
  return Store::Open(options, registry);
}

// Appends stdin lines (or `lines`) as records, 100 to a batch; prints offsets.
Status Append(Store& store, const PartitionKey& key, std::istream& in) {
  SPRAWL_ASSIGN_OR_RETURN(auto* log, store.OpenPartition(key));
  RecordBatchBuilder builder;
  std::string line;
  auto flush = [&]() -> Status {
    if (builder.record_count() == 0) return Status::Ok();
    SPRAWL_ASSIGN_OR_RETURN(auto batch, builder.Build());
    SPRAWL_ASSIGN_OR_RETURN(auto info, log->Append(std::move(batch), 1));
    std::printf("appended offsets %llu-%llu to %s\n",
                static_cast<unsigned long long>(info.base_offset),
                static_cast<unsigned long long>(info.last_offset), key.ToString().c_str());
    // One node, no replicas: a durable record is a committed one.
    return log->SetCommitIndex(info.last_offset + 1);
  };
  while (std::getline(in, line)) {
    builder.Add(std::nullopt, line, SystemClock::Instance().WallMillis());
    if (builder.record_count() == 100) SPRAWL_RETURN_IF_ERROR(flush());
  }
  SPRAWL_RETURN_IF_ERROR(flush());
  return log->Flush();
}

Status Read(const Store& store, const PartitionKey& key, std::optional<uint64_t> from,
            std::optional<int64_t> from_time, uint64_t max) {
  SPRAWL_ASSIGN_OR_RETURN(auto* log, store.GetPartition(key));
  uint64_t offset = from.value_or(log->FirstOffset());
  if (from_time) {
    SPRAWL_ASSIGN_OR_RETURN(offset, log->OffsetForTimestamp(*from_time));
  }
  uint64_t printed = 0;
  while (printed < max && offset < log->NextOffset()) {
    SPRAWL_ASSIGN_OR_RETURN(auto result, log->Read(offset, {}));
    for (const auto& batch : result.batches) {
      SPRAWL_ASSIGN_OR_RETURN(auto view, RecordBatchView::Parse(*batch.bytes));
      SPRAWL_ASSIGN_OR_RETURN(auto records, view.Records());
      storage::RecordView r;
      while (printed < max && records.Next(&r)) {
        if (r.offset < offset) continue;
        std::printf("%llu\t%lld\t%.*s\n", static_cast<unsigned long long>(r.offset),
                    static_cast<long long>(r.timestamp_ms), static_cast<int>(r.value.size()),
                    r.value.data());
        ++printed;
      }
      SPRAWL_RETURN_IF_ERROR(records.status());
    }
    offset = result.next_offset;
  }
  return Status::Ok();
}

void Inspect(const Store& store) {
  const auto partitions = store.Partitions();
  std::printf("%-32s %12s %12s %12s %10s %12s %12s\n", "partition", "first", "next", "commit",
              "segments", "disk_bytes", "mem_bytes");
  for (const auto& key : partitions) {
    const auto stats = (*store.GetPartition(key))->Stats();
    std::printf("%-32s %12llu %12llu %12llu %10llu %12llu %12llu\n", key.ToString().c_str(),
                static_cast<unsigned long long>(stats.first_offset),
                static_cast<unsigned long long>(stats.next_offset),
                static_cast<unsigned long long>(stats.commit_index),
                static_cast<unsigned long long>(stats.disk_segments),
                static_cast<unsigned long long>(stats.disk_bytes),
                static_cast<unsigned long long>(stats.memory_bytes));
  }
  if (partitions.empty()) std::printf("(no partitions)\n");
}

}  // namespace
}  // namespace sprawl

int main(int argc, char** argv) {
  using namespace sprawl;
  CLI::App app{"sprawl-log: append to, read and inspect a Sprawl data directory"};
  app.require_subcommand(1);
  std::string data_dir = "./data";
  std::string fsync = "interval:10";
  std::string topic = "demo";
  uint32_t partition = 0;
  app.add_option("--data-dir", data_dir, "data directory of the node")->capture_default_str();
  app.add_option("--fsync", fsync, "always | interval:<ms> | never")->capture_default_str();

  auto* append = app.add_subcommand("append", "append stdin lines as records");
  auto* read = app.add_subcommand("read", "print records: offset, timestamp, value");
  auto* inspect = app.add_subcommand("inspect", "list partitions with offsets and sizes");
  auto* demo = app.add_subcommand("demo", "append sample records to demo/0, read and inspect");
  for (auto* cmd : {append, read}) {
    cmd->add_option("--topic", topic, "topic")->capture_default_str();
    cmd->add_option("--partition", partition, "partition number")->capture_default_str();
  }
  std::optional<uint64_t> from;
  std::optional<int64_t> from_time;
  uint64_t max = 100;
  read->add_option("--from", from, "first offset (default: the first retained)");
  read->add_option("--from-time", from_time, "first record at or after this Unix time in ms");
  read->add_option("--max", max, "records to print")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  log::LogOptions log_options;
  log_options.level = log::Level::kWarn;
  log::Configure(log_options);
  metrics::Registry registry;
  auto store = OpenStore(data_dir, fsync, registry);
  if (!store.ok()) return Fail(store.status());
  const storage::PartitionKey key{topic, partition};

  Status status;
  if (*append) {
    status = Append(**store, key, std::cin);
  } else if (*read) {
    status = Read(**store, key, from, from_time, max);
  } else if (*inspect) {
    Inspect(**store);
  } else if (*demo) {
    std::istringstream lines("order 1 placed\norder 2 placed\norder 1 paid\norder 3 placed\n");
    status = Append(**store, {"demo", 0}, lines);
    if (status.ok()) status = Read(**store, {"demo", 0}, std::nullopt, std::nullopt, 10);
    if (status.ok()) Inspect(**store);
  }
  return status.ok() ? 0 : Fail(status);
}
