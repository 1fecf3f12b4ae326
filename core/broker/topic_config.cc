#include "core/broker/topic_config.h"

#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include "core/storage/store.h"

namespace sprawl::broker {
namespace {

constexpr uint8_t kConfigVersion = 1;

Status Validate(std::string_view topic, const TopicConfig& c) {
  auto bad = [&](std::string_view field, const std::string& why) {
    return InvalidArgument("topic '" + std::string(topic) + "': " + std::string(field) + " " + why);
  };
  if (c.partitions < 1 || c.partitions > kMaxPartitions) {
    return bad("partitions", "must be between 1 and " + std::to_string(kMaxPartitions) + ", got " +
                                 std::to_string(c.partitions));
  }
  if (c.retention_ms < 0) return bad("retention_ms", "must not be negative");
  if (c.max_message_bytes < 1 || c.max_message_bytes > kMaxMessageBytesLimit) {
    return bad("max_message_bytes", "must be between 1 and " +
                                        std::to_string(kMaxMessageBytesLimit) + ", got " +
                                        std::to_string(c.max_message_bytes));
  }
  if (c.ack_timeout_ms < kMinAckTimeoutMs || c.ack_timeout_ms > kMaxAckTimeoutMs) {
    return bad("ack_timeout_ms", "must be between " + std::to_string(kMinAckTimeoutMs) + " and " +
                                     std::to_string(kMaxAckTimeoutMs) + ", got " +
                                     std::to_string(c.ack_timeout_ms));
  }
  if (c.max_deliveries > kMaxDeliveriesLimit) {
    return bad("max_deliveries", "must be at most " + std::to_string(kMaxDeliveriesLimit) +
                                     " (0 = unlimited), got " + std::to_string(c.max_deliveries));
  }
  if (!c.dead_letter_topic.empty()) {
    Status name = storage::Store::ValidateTopicName(c.dead_letter_topic);
    if (!name.ok()) return bad("dead_letter_topic", "is not a valid name: " + name.message());
    if (c.dead_letter_topic == topic)
      return bad("dead_letter_topic", "may not be the topic itself");
  }
  if (c.message_ttl_ms < 0) return bad("message_ttl_ms", "must not be negative");
  if (c.replication_factor < 1 || c.replication_factor > kMaxReplicationFactor) {
    return bad("replication_factor", "must be between 1 and " +
                                         std::to_string(kMaxReplicationFactor) + ", got " +
                                         std::to_string(c.replication_factor));
  }
  return Status::Ok();
}

// A field this build does not know (sent by a newer client, or a mistyped
// field number) would otherwise be dropped without a word: refuse it.
Status CheckKnownFields(std::string_view topic, const protocol::pb::TopicConfig& p) {
  const google::protobuf::UnknownFieldSet& unknown = p.GetReflection()->GetUnknownFields(p);
  if (unknown.empty()) return Status::Ok();
  return InvalidArgument(
      "topic '" + std::string(topic) + "': unknown config field number " +
      std::to_string(unknown.field(0).number()) + " (this broker knows fields 1 to " +
      std::to_string(protocol::pb::TopicConfig::descriptor()->field_count()) + ")");
}

void ApplyPresent(const protocol::pb::TopicConfig& p, TopicConfig* c) {
  if (p.has_partitions()) c->partitions = p.partitions();
  if (p.has_retention_ms()) c->retention_ms = p.retention_ms();
  if (p.has_retention_bytes()) c->retention_bytes = p.retention_bytes();
  if (p.has_max_message_bytes()) c->max_message_bytes = p.max_message_bytes();
  if (p.has_ack_timeout_ms()) c->ack_timeout_ms = p.ack_timeout_ms();
  if (p.has_max_deliveries()) c->max_deliveries = p.max_deliveries();
  if (p.has_dead_letter_topic()) c->dead_letter_topic = p.dead_letter_topic();
  if (p.has_message_ttl_ms()) c->message_ttl_ms = p.message_ttl_ms();
  if (p.has_replication_factor()) c->replication_factor = p.replication_factor();
}

}  // namespace

Result<TopicConfig> ConfigForCreate(std::string_view topic,
                                    const protocol::pb::TopicConfig& asked) {
  SPRAWL_RETURN_IF_ERROR(storage::Store::ValidateTopicName(topic));
  SPRAWL_RETURN_IF_ERROR(CheckKnownFields(topic, asked));
  TopicConfig config;
  ApplyPresent(asked, &config);
  SPRAWL_RETURN_IF_ERROR(Validate(topic, config));
  return config;
}

Result<TopicConfig> ConfigForAlter(std::string_view topic, const TopicConfig& current,
                                   const protocol::pb::TopicConfig& patch) {
  SPRAWL_RETURN_IF_ERROR(CheckKnownFields(topic, patch));
  TopicConfig config = current;
  ApplyPresent(patch, &config);
  if (config.partitions < current.partitions) {
    return InvalidArgument("topic '" + std::string(topic) + "': partitions may only grow (from " +
                           std::to_string(current.partitions) + "), got " +
                           std::to_string(config.partitions));
  }
  SPRAWL_RETURN_IF_ERROR(Validate(topic, config));
  return config;
}

protocol::pb::TopicConfig ToProto(const TopicConfig& c) {
  protocol::pb::TopicConfig p;
  p.set_partitions(c.partitions);
  p.set_retention_ms(c.retention_ms);
  p.set_retention_bytes(c.retention_bytes);
  p.set_max_message_bytes(c.max_message_bytes);
  p.set_ack_timeout_ms(c.ack_timeout_ms);
  p.set_max_deliveries(c.max_deliveries);
  p.set_dead_letter_topic(c.dead_letter_topic);
  p.set_message_ttl_ms(c.message_ttl_ms);
  p.set_replication_factor(c.replication_factor);
  return p;
}

std::string EncodeTopicConfig(const TopicConfig& config) {
  std::string out(1, static_cast<char>(kConfigVersion));
  ToProto(config).AppendToString(&out);
  return out;
}

Result<TopicConfig> DecodeTopicConfig(std::string_view topic, std::string_view bytes) {
  if (bytes.empty())
    return DataCorruption("stored config of topic '" + std::string(topic) + "' is empty");
  const auto version = static_cast<uint8_t>(bytes[0]);
  if (version > kConfigVersion) {
    return UnsupportedVersion("stored config of topic '" + std::string(topic) + "' has version " +
                              std::to_string(version) + "; this build reads up to " +
                              std::to_string(kConfigVersion));
  }
  protocol::pb::TopicConfig p;
  if (version == 0 || !p.ParseFromArray(bytes.data() + 1, static_cast<int>(bytes.size() - 1))) {
    return DataCorruption("stored config of topic '" + std::string(topic) + "' does not decode");
  }
  TopicConfig config;
  ApplyPresent(p, &config);
  Status valid = Validate(topic, config);
  if (!valid.ok()) return DataCorruption("stored config is invalid: " + valid.message());
  return config;
}

}  // namespace sprawl::broker
