#include "core/protocol/json.h"

namespace sprawl::protocol {

nlohmann::json ToJson(const pb::TopicConfig& c) {
  return {{"partitions", c.partitions()},
          {"retention_ms", c.retention_ms()},
          {"retention_bytes", c.retention_bytes()},
          {"max_message_bytes", c.max_message_bytes()},
          {"ack_timeout_ms", c.ack_timeout_ms()},
          {"max_deliveries", c.max_deliveries()},
          {"dead_letter_topic", c.dead_letter_topic()},
          {"message_ttl_ms", c.message_ttl_ms()}};
}

nlohmann::json ToJson(const pb::TopicDescription& t) {
  nlohmann::json partitions = nlohmann::json::array();
  for (const auto& p : t.partitions()) {
    partitions.push_back({{"partition", p.partition()},
                          {"first_offset", p.first_offset()},
                          {"next_offset", p.next_offset()},
                          {"high_watermark", p.commit_index()},
                          {"memory_bytes", p.memory_bytes()},
                          {"disk_bytes", p.disk_bytes()}});
  }
  return {{"name", t.name()}, {"config", ToJson(t.config())}, {"partitions", partitions}};
}

nlohmann::json ToJson(const pb::GroupDescription& g) {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : g.members()) {
    members.push_back(
        {{"member_id", m.member_id()},
         {"client_name", m.client_name()},
         {"partitions", std::vector<uint32_t>(m.partitions().begin(), m.partitions().end())},
         {"in_flight", m.in_flight()},
         {"max_in_flight", m.max_in_flight()}});
  }
  nlohmann::json partitions = nlohmann::json::array();
  for (const auto& p : g.partitions()) {
    partitions.push_back({{"partition", p.partition()},
                          {"ack_floor", p.ack_floor()},
                          {"next_offset", p.next_offset()},
                          {"lag", p.lag()},
                          {"in_flight", p.in_flight()},
                          {"dead_lettered", p.dead_lettered()},
                          {"expired", p.expired()}});
  }
  return {{"topic", g.topic()},
          {"group", g.group()},
          {"generation", g.generation()},
          {"members", members},
          {"partitions", partitions}};
}

Result<pb::TopicConfig> TopicConfigFromJson(const nlohmann::json& json) {
  pb::TopicConfig c;
  if (json.is_null()) return c;
  if (!json.is_object()) return InvalidArgument("config must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    const bool is_string = key == "dead_letter_topic";
    if (is_string ? !value.is_string() : !value.is_number_integer()) {
      return InvalidArgument("config field '" + key + "' must be " +
                             (is_string ? "a string" : "an integer"));
    }
    if (!is_string && value.get<int64_t>() < 0) {
      return InvalidArgument("config field '" + key + "' must not be negative");
    }
    if (key == "partitions") {
      c.set_partitions(value.get<uint32_t>());
    } else if (key == "retention_ms") {
      c.set_retention_ms(value.get<int64_t>());
    } else if (key == "retention_bytes") {
      c.set_retention_bytes(value.get<uint64_t>());
    } else if (key == "max_message_bytes") {
      c.set_max_message_bytes(value.get<uint32_t>());
    } else if (key == "ack_timeout_ms") {
      c.set_ack_timeout_ms(value.get<uint32_t>());
    } else if (key == "max_deliveries") {
      c.set_max_deliveries(value.get<uint32_t>());
    } else if (key == "dead_letter_topic") {
      c.set_dead_letter_topic(value.get<std::string>());
    } else if (key == "message_ttl_ms") {
      c.set_message_ttl_ms(value.get<int64_t>());
    } else {
      return InvalidArgument("unknown config field '" + key + "'");
    }
  }
  return c;
}

}  // namespace sprawl::protocol
