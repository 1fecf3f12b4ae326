#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.h"

namespace sprawl::storage {

// A contiguous run of batches of one partition on disk. Segments are the unit
// of retention and of the timestamp index: a lookup skips every segment whose
// newest record is older than the timestamp sought.
struct SegmentInfo {
  uint64_t first_offset = 0;
  uint64_t last_offset = 0;
  uint64_t bytes = 0;
  uint64_t batches = 0;
  int64_t max_timestamp_ms = 0;
  uint64_t last_term = 0;

  // Fixed little-endian encoding with a version byte (docs/storage.md).
  std::string Encode() const;
  static Result<SegmentInfo> Decode(uint64_t first_offset, std::string_view bytes);
};

// The in-memory copy of a partition's segment index. Not thread-safe; the
// partition log guards it.
class SegmentIndex {
 public:
  explicit SegmentIndex(uint64_t segment_bytes) : segment_bytes_(segment_bytes) {}

  // Adds a recovered segment.
  void Load(const SegmentInfo& segment);

  // Accounts a batch appended after every other; opens a new segment when the
  // active one is full. Returns the segment this sealed (the previous active
  // one), or nullptr. Only sealed segments are persisted: recovery rebuilds
  // the active one from the log, so appends write no index entry.
  const SegmentInfo* OnAppend(uint64_t base_offset, uint64_t last_offset, uint64_t bytes,
                              int64_t max_timestamp_ms, uint64_t term);

  // Removes every segment starting at or after `offset` and returns their
  // first offsets. A segment straddling `offset` is left for the caller to
  // Replace() with its recomputed stats.
  std::vector<uint64_t> RemoveFrom(uint64_t offset);

  // Replaces the segment that starts at segment.first_offset.
  void Replace(const SegmentInfo& segment);

  // Removes the oldest segment.
  void PopOldest();

  void Clear() {
    segments_.clear();
    total_bytes_ = 0;
  }

  const std::map<uint64_t, SegmentInfo>& segments() const { return segments_; }
  // The segment holding `offset`, if any.
  const SegmentInfo* Find(uint64_t offset) const;
  uint64_t total_bytes() const { return total_bytes_; }

 private:
  uint64_t segment_bytes_;
  std::map<uint64_t, SegmentInfo> segments_;  // by first offset
  uint64_t total_bytes_ = 0;
};

}  // namespace sprawl::storage
