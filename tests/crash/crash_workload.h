#pragma once

#include <string>

#include "core/storage/store.h"

// What the crash appender writes and the crash test checks.
namespace sprawl::crash {

inline const storage::PartitionKey kPartition{"crash", 0};

inline storage::StoreOptions Options(const std::string& dir) {
  storage::StoreOptions o;
  o.data_dir = dir;
  o.fsync = *storage::FsyncPolicy::Parse("always");
  o.segment_bytes = 8192;  // several segments, so recovery sees sealed and active ones
  return o;
}

// The value of the record at `offset`: the check that nothing moved.
inline std::string ValueFor(uint64_t offset) { return "value-" + std::to_string(offset); }

}  // namespace sprawl::crash
