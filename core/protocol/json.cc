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
          {"message_ttl_ms", c.message_ttl_ms()},
          {"replication_factor", c.replication_factor()}};
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
    // Where the partition is served, once a cluster places it.
    nlohmann::json& out = partitions.back();
    if (!p.leader().empty()) out["leader"] = p.leader();
    if (p.replicas_size() > 0) {
      out["replicas"] = std::vector<std::string>(p.replicas().begin(), p.replicas().end());
    }
    if (p.term() > 0) out["term"] = p.term();
    if (p.raft_log_end() > 0) {
      out["raft"] = {{"commit", p.raft_commit()},
                     {"log_start", p.raft_log_start()},
                     {"log_end", p.raft_log_end()}};
      nlohmann::json followers = nlohmann::json::array();
      for (const auto& f : p.followers()) {
        followers.push_back({{"member_id", f.member_id()},
                             {"match_index", f.match_index()},
                             {"lag", f.lag()},
                             {"learner", f.learner()}});
      }
      if (!followers.empty()) out["raft"]["followers"] = followers;
    }
  }
  nlohmann::json out = {
      {"name", t.name()}, {"config", ToJson(t.config())}, {"partitions", partitions}};
  if (!t.topic_id().empty()) out["topic_id"] = t.topic_id();
  return out;
}

nlohmann::json ToJson(const pb::GroupDescription& g) {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : g.members()) {
    members.push_back(
        {{"member_id", m.member_id()},
         {"client_name", m.client_name()},
         {"partitions", std::vector<uint32_t>(m.partitions().begin(), m.partitions().end())},
         {"in_flight", m.in_flight()},
         {"max_in_flight", m.max_in_flight()},
         {"in_flight_bytes", m.in_flight_bytes()},
         {"max_in_flight_bytes", m.max_in_flight_bytes()}});
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
  // Each integer field with the largest value its protobuf type holds: a
  // larger one is refused rather than truncated (2^32 + 1 partitions is not 1).
  auto whole = [](const std::string& key, const nlohmann::json& value,
                  uint64_t max) -> Result<uint64_t> {
    if (!value.is_number_integer()) {
      return InvalidArgument("config field '" + key + "' must be an integer");
    }
    if (!value.is_number_unsigned() && value.get<int64_t>() < 0) {
      return InvalidArgument("config field '" + key + "' must not be negative");
    }
    const uint64_t v = value.get<uint64_t>();
    if (v > max) {
      return InvalidArgument("config field '" + key + "' must be at most " + std::to_string(max) +
                             ", got " + std::to_string(v));
    }
    return v;
  };
  constexpr uint64_t kU32 = UINT32_MAX;
  constexpr uint64_t kI64 = INT64_MAX;
  for (const auto& [key, value] : json.items()) {
    if (key == "dead_letter_topic") {
      if (!value.is_string()) return InvalidArgument("config field '" + key + "' must be a string");
      c.set_dead_letter_topic(value.get<std::string>());
    } else if (key == "partitions") {
      SPRAWL_ASSIGN_OR_RETURN(uint64_t v, whole(key, value, kU32));
      c.set_partitions(static_cast<uint32_t>(v));
    } else if (key == "retention_ms") {
      SPRAWL_ASSIGN_OR_RETURN(uint64_t v, whole(key, value, kI64));
      c.set_retention_ms(static_cast<int64_t>(v));
    } else if (key == "retention_bytes") {
      SPRAWL_ASSIGN_OR_RETURN(uint64_t v, whole(key, value, UINT64_MAX));
      c.set_retention_bytes(v);
    } else if (key == "max_message_bytes") {
      SPRAWL_ASSIGN_OR_RETURN(uint64_t v, whole(key, value, kU32));
      c.set_max_message_bytes(static_cast<uint32_t>(v));
    } else if (key == "ack_timeout_ms") {
      SPRAWL_ASSIGN_OR_RETURN(uint64_t v, whole(key, value, kU32));
      c.set_ack_timeout_ms(static_cast<uint32_t>(v));
    } else if (key == "max_deliveries") {
      SPRAWL_ASSIGN_OR_RETURN(uint64_t v, whole(key, value, kU32));
      c.set_max_deliveries(static_cast<uint32_t>(v));
    } else if (key == "message_ttl_ms") {
      SPRAWL_ASSIGN_OR_RETURN(uint64_t v, whole(key, value, kI64));
      c.set_message_ttl_ms(static_cast<int64_t>(v));
    } else if (key == "replication_factor") {
      SPRAWL_ASSIGN_OR_RETURN(uint64_t v, whole(key, value, kU32));
      c.set_replication_factor(static_cast<uint32_t>(v));
    } else {
      return InvalidArgument("unknown config field '" + key + "'");
    }
  }
  return c;
}

}  // namespace sprawl::protocol
