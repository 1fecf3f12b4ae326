#include "core/storage/segment_index.h"

#include <algorithm>

#include "core/util/byte_io.h"

namespace sprawl::storage {

namespace {
constexpr uint8_t kSegmentInfoVersion = 1;
}

std::string SegmentInfo::Encode() const {
  std::string out;
  ByteWriter w(&out);
  w.U8(kSegmentInfoVersion);
  w.U64(last_offset);
  w.U64(bytes);
  w.U64(batches);
  w.I64(max_timestamp_ms);
  w.U64(last_term);
  return out;
}

Result<SegmentInfo> SegmentInfo::Decode(uint64_t first_offset, std::string_view bytes) {
  ByteReader r(bytes);
  SegmentInfo s;
  s.first_offset = first_offset;
  uint8_t version = 0;
  if (!r.U8(&version)) return DataCorruption("empty segment index entry");
  if (version == 0) return DataCorruption("segment index entry has version 0");
  if (version > kSegmentInfoVersion) {
    return UnsupportedVersion("segment index entry version " + std::to_string(version) +
                              " is newer than this build supports");
  }
  if (!r.U64(&s.last_offset) || !r.U64(&s.bytes) || !r.U64(&s.batches) ||
      !r.I64(&s.max_timestamp_ms) || !r.U64(&s.last_term) || r.remaining() != 0 ||
      s.last_offset < first_offset) {
    return DataCorruption("malformed segment index entry at offset " +
                          std::to_string(first_offset));
  }
  return s;
}

void SegmentIndex::Load(const SegmentInfo& segment) {
  total_bytes_ += segment.bytes;
  segments_[segment.first_offset] = segment;
}

const SegmentInfo* SegmentIndex::OnAppend(uint64_t base_offset, uint64_t last_offset,
                                          uint64_t bytes, int64_t max_timestamp_ms, uint64_t term) {
  total_bytes_ += bytes;
  if (segments_.empty() || segments_.rbegin()->second.bytes >= segment_bytes_) {
    const SegmentInfo* sealed = segments_.empty() ? nullptr : &segments_.rbegin()->second;
    SegmentInfo s{base_offset, last_offset, bytes, 1, max_timestamp_ms, term};
    segments_.emplace(base_offset, s);
    return sealed;
  }
  SegmentInfo& active = segments_.rbegin()->second;
  active.last_offset = last_offset;
  active.bytes += bytes;
  active.batches += 1;
  active.max_timestamp_ms = std::max(active.max_timestamp_ms, max_timestamp_ms);
  active.last_term = term;
  return nullptr;
}

std::vector<uint64_t> SegmentIndex::RemoveFrom(uint64_t offset) {
  std::vector<uint64_t> removed;
  for (auto it = segments_.lower_bound(offset); it != segments_.end();) {
    removed.push_back(it->first);
    total_bytes_ -= it->second.bytes;
    it = segments_.erase(it);
  }
  return removed;
}

void SegmentIndex::Replace(const SegmentInfo& segment) {
  auto it = segments_.find(segment.first_offset);
  if (it != segments_.end()) {
    total_bytes_ -= it->second.bytes;
  }
  total_bytes_ += segment.bytes;
  segments_[segment.first_offset] = segment;
}

void SegmentIndex::PopOldest() {
  if (segments_.empty()) return;
  total_bytes_ -= segments_.begin()->second.bytes;
  segments_.erase(segments_.begin());
}

const SegmentInfo* SegmentIndex::Find(uint64_t offset) const {
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return nullptr;
  --it;
  return offset <= it->second.last_offset ? &it->second : nullptr;
}

}  // namespace sprawl::storage
