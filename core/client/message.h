#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/storage/partition_log.h"

namespace sprawl::client {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A record as a consumer receives it.
struct Message {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  std::string value;
  Headers headers;
  uint32_t delivery_count = 0;  // group deliveries: 1 on the first; 0 for offset reads
};

// The JSON form of a message (HTTP consume, sprawlctl --json): topic,
// partition, offset, timestamp_ms, key (null when absent), value, headers,
// delivery_count.
nlohmann::json MessageToJson(const Message& message);

// The records of `batch` at offsets in [from, until), in order. DATA_CORRUPTION
// when the batch fails its checks.
Result<std::vector<Message>> DecodeBatch(const std::string& topic, uint32_t partition,
                                         std::string_view batch, uint64_t from = 0,
                                         uint64_t until = UINT64_MAX);

}  // namespace sprawl::client
