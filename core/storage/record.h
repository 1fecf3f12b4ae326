#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sprawl::storage {

// One header of a record: a name and opaque bytes.
struct HeaderView {
  std::string_view name;
  std::string_view value;
};

// A record decoded from a batch. Every view points into the batch's bytes (or
// its decompressed payload) and is valid only as long as the iterator that
// produced it.
struct RecordView {
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string_view> key;  // absent when the producer gave none
  std::string_view value;
  uint64_t header_count = 0;
  std::string_view headers_encoded;  // `header_count` (name, value) pairs, see docs/storage.md

  // The headers as views, decoded from headers_encoded (allocates a vector).
  std::vector<HeaderView> Headers() const;
};

// A record to be added to a batch; owns nothing.
struct RecordInput {
  std::optional<std::string_view> key;
  std::string_view value;
  std::vector<HeaderView> headers;
  int64_t timestamp_ms = 0;
};

}  // namespace sprawl::storage
