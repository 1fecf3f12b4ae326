#include "core/storage/store_options.h"

#include <charconv>

namespace sprawl::storage {

Result<FsyncPolicy> FsyncPolicy::Parse(std::string_view text) {
  FsyncPolicy p;
  if (text == "always") {
    p.kind = Kind::kAlways;
    return p;
  }
  if (text == "never") {
    p.kind = Kind::kNever;
    return p;
  }
  constexpr std::string_view kPrefix = "interval:";
  if (text.substr(0, kPrefix.size()) == kPrefix) {
    const std::string_view number = text.substr(kPrefix.size());
    int64_t ms = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), ms);
    if (ec == std::errc() && end == number.data() + number.size() && ms >= 1 && ms <= 60000) {
      p.kind = Kind::kInterval;
      p.interval = std::chrono::milliseconds(ms);
      return p;
    }
  }
  return InvalidArgument("invalid fsync policy '" + std::string(text) +
                         "': expected always, never or interval:<ms> with 1 <= ms <= 60000");
}

std::string FsyncPolicy::ToString() const {
  switch (kind) {
    case Kind::kAlways:
      return "always";
    case Kind::kNever:
      return "never";
    case Kind::kInterval:
      return "interval:" + std::to_string(interval.count());
  }
  return "unknown";
}

Result<StorageMode> ParseStorageMode(std::string_view text) {
  if (text == "memory") return StorageMode::kMemory;
  if (text == "disk") return StorageMode::kDisk;
  return InvalidArgument("invalid storage mode '" + std::string(text) +
                         "': expected memory or disk");
}

Status StoreOptions::Validate() const {
  if (mode == StorageMode::kDisk && data_dir.empty()) {
    return InvalidArgument("data_dir must be set for disk storage");
  }
  if (memory_tier_bytes < (1u << 20)) {
    return InvalidArgument("memory_tier_bytes must be at least 1 MiB");
  }
  if (memory_tier_bytes_per_partition != 0 && memory_tier_bytes_per_partition < (1u << 16)) {
    return InvalidArgument("memory_tier_bytes_per_partition must be 0 (no cap) or at least 64 KiB");
  }
  if (segment_bytes < (1u << 10)) {
    return InvalidArgument("segment_bytes must be at least 1 KiB");
  }
  if (writer_queue_bytes < (1u << 20)) {
    return InvalidArgument("writer_queue_bytes must be at least 1 MiB");
  }
  return Status::Ok();
}

}  // namespace sprawl::storage
