#include "server/sprawlctl/context.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace sprawl::ctl {

Result<client::Client*> Context::Connect() {
  if (!client_) {
    client::ClientConfig config;
    config.server = server;
    config.request_timeout = std::chrono::milliseconds(timeout_ms);
    SPRAWL_ASSIGN_OR_RETURN(client_, client::Client::Connect(config));
  }
  return client_.get();
}

void Print(const Context& ctx, const nlohmann::json& value, const std::function<void()>& human) {
  if (ctx.json) {
    std::cout << value.dump() << std::endl;
  } else {
    human();
  }
}

int Fail(const Status& status) {
  std::cerr << "sprawlctl: " << ErrorCodeName(status.code()) << ": " << status.message();
  if (status.retriable()) std::cerr << " (retriable)";
  std::cerr << std::endl;
  return 1;
}

nlohmann::json ToJson(const client::pb::TopicDescription& t) {
  const auto& c = t.config();
  nlohmann::json partitions = nlohmann::json::array();
  for (const auto& p : t.partitions()) {
    partitions.push_back({{"partition", p.partition()},
                          {"first_offset", p.first_offset()},
                          {"next_offset", p.next_offset()},
                          {"high_watermark", p.commit_index()},
                          {"memory_bytes", p.memory_bytes()},
                          {"disk_bytes", p.disk_bytes()}});
  }
  return {{"name", t.name()},
          {"config",
           {{"partitions", c.partitions()},
            {"retention_ms", c.retention_ms()},
            {"retention_bytes", c.retention_bytes()},
            {"max_message_bytes", c.max_message_bytes()},
            {"ack_timeout_ms", c.ack_timeout_ms()},
            {"max_deliveries", c.max_deliveries()},
            {"dead_letter_topic", c.dead_letter_topic()},
            {"message_ttl_ms", c.message_ttl_ms()}}},
          {"partitions", partitions}};
}

nlohmann::json ToJson(const client::pb::GroupDescription& g) {
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

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      std::printf("%-*s%s", static_cast<int>(widths[i]), row[i].c_str(),
                  i + 1 < row.size() ? "  " : "\n");
    }
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

}  // namespace sprawl::ctl
