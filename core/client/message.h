#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/storage/partition_log.h"
#include "core/storage/record_batch.h"

namespace sprawl::client {

// Headers as a producer sends them.
using Headers = std::vector<std::pair<std::string, std::string>>;
// Headers as a consumer receives them: views, like the rest of a Message.
using HeaderViews = std::vector<std::pair<std::string_view, std::string_view>>;

// A record as a consumer receives it. Topic, key, value and headers are views
// into bytes the message shares with the other records that arrived with it
// (the batch bytes are kept once, not copied per message), so receiving costs
// no allocation per message. The views stay valid while this message or a
// copy of it lives: copying is a reference count, not a copy of the bytes.
// To keep a field longer, copy it out (std::string(m.value)). A message
// keeps all the bytes of the batches it came with in memory.
struct Message {
  // Its data() is NUL-terminated.
  std::string_view topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string_view> key;
  std::string_view value;
  HeaderViews headers;          // empty (no allocation) for records without headers
  uint32_t delivery_count = 0;  // group deliveries: 1 on the first; 0 for offset reads
  // Keeps the bytes the views point into alive; null when they point into
  // storage the creator keeps alive itself (e.g. string literals).
  std::shared_ptr<const void> bytes;
};

// The JSON form of a message (HTTP consume, sprawlctl --json): topic,
// partition, offset, timestamp_ms, key (null when absent), value, headers,
// delivery_count.
nlohmann::json MessageToJson(const Message& message);

// A message viewing `record`, whose bytes `owner` keeps alive, of `topic`
// (NUL-terminated, kept alive by `owner` too). delivery_count is 0.
Message MessageFromRecord(const std::shared_ptr<const void>& owner, std::string_view topic,
                          uint32_t partition, const storage::RecordView& record);

// The records of `batch` at offsets in [from, until), in order. The bytes of
// `topic` and `batch` are copied once and shared by the messages.
// DATA_CORRUPTION when the batch fails its checks.
Result<std::vector<Message>> DecodeBatch(const std::string& topic, uint32_t partition,
                                         std::string_view batch, uint64_t from = 0,
                                         uint64_t until = UINT64_MAX);

}  // namespace sprawl::client
