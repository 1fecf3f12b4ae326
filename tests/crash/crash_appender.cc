// The process the crash test kills: appends to crash/0 with fsync=always
// until killed, writing each acknowledged last offset (u64, native order) to
// the file descriptor given on the command line.
//
// Usage: crash_appender <data-dir> <fd> <seed>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "core/storage/store.h"
#include "core/util/logging.h"
#include "crash_workload.h"

int main(int argc, char** argv) {
  using namespace sprawl;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <data-dir> <fd> <seed>\n", argv[0]);
    return 64;
  }
  const std::string dir = argv[1];
  const int fd = std::atoi(argv[2]);
  std::mt19937 rng(static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)));

  log::LogOptions quiet;
  quiet.level = log::Level::kError;
  log::Configure(quiet);
  metrics::Registry registry;
  auto store = storage::Store::Open(crash::Options(dir), registry);
  if (!store.ok()) {
    std::fprintf(stderr, "crash_appender: %s\n", store.status().ToString().c_str());
    return 2;
  }
  auto log = (*store)->OpenPartition(crash::kPartition);
  if (!log.ok()) return 3;
  while (true) {
    const uint64_t base = (*log)->NextOffset();
    const int count = 1 + static_cast<int>(rng() % 20);
    storage::RecordBatchBuilder builder;
    for (int i = 0; i < count; ++i) {
      const std::string value = crash::ValueFor(base + i);
      builder.Add(std::nullopt, value, 1000);
    }
    auto info = (*log)->Append(*builder.Build(), 1);
    if (!info.ok()) {
      std::fprintf(stderr, "crash_appender: %s\n", info.status().ToString().c_str());
      return 4;
    }
    const uint64_t acked = info->last_offset;
    if (write(fd, &acked, sizeof(acked)) != sizeof(acked)) return 5;
  }
}
