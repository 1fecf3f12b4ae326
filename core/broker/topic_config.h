#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/protocol/messages.h"
#include "core/util/result.h"

namespace sprawl::broker {

// Limits of a topic's configuration (docs/protocol.md, "Topics").
inline constexpr uint32_t kMaxPartitions = 1024;
inline constexpr uint32_t kMaxMessageBytesLimit = 16u << 20;
inline constexpr uint32_t kMinAckTimeoutMs = 100;
inline constexpr uint32_t kMaxAckTimeoutMs = 12 * 3600 * 1000;
inline constexpr uint32_t kMaxDeliveriesLimit = 10000;
inline constexpr uint32_t kMaxReplicationFactor = 7;

// A topic's configuration with every field set.
struct TopicConfig {
  uint32_t partitions = 1;
  int64_t retention_ms = 0;      // 0 = keep forever
  uint64_t retention_bytes = 0;  // per partition; 0 = unbounded
  uint32_t max_message_bytes = 1u << 20;
  uint32_t ack_timeout_ms = 30'000;
  uint32_t max_deliveries = 0;  // 0 = redeliver forever
  std::string dead_letter_topic;
  int64_t message_ttl_ms = 0;  // 0 = never expires
  // Replicas per partition. Recorded and validated; partitions are not yet
  // replicated, so every node serves its own copy.
  uint32_t replication_factor = 1;

  friend bool operator==(const TopicConfig&, const TopicConfig&) = default;
};

// The configuration a create request asks for: absent fields take their
// defaults. INVALID_ARGUMENT, naming the field, for any value out of range
// or a field this build does not know (by its field number).
Result<TopicConfig> ConfigForCreate(std::string_view topic, const protocol::pb::TopicConfig& asked);

// `current` with the fields present in `patch` changed. Partitions may only
// grow. INVALID_ARGUMENT for a value out of range or an unknown field;
// nothing changes then.
Result<TopicConfig> ConfigForAlter(std::string_view topic, const TopicConfig& current,
                                   const protocol::pb::TopicConfig& patch);

// Every field present.
protocol::pb::TopicConfig ToProto(const TopicConfig& config);

// The stored form of a configuration: u8 version 1, then the protobuf
// encoding of ToProto(config). DATA_CORRUPTION when it does not decode or
// fails validation, UNSUPPORTED_VERSION for a newer version.
std::string EncodeTopicConfig(const TopicConfig& config);
Result<TopicConfig> DecodeTopicConfig(std::string_view topic, std::string_view bytes);

}  // namespace sprawl::broker
