// sprawlctl topic create|list|describe|delete|alter
#include <iostream>
#include <memory>

#include "server/sprawlctl/commands.h"

namespace sprawl::ctl {
namespace {

// The config flags of create and alter; only flags given are sent.
struct ConfigFlags {
  std::optional<uint32_t> partitions;
  std::optional<int64_t> retention_ms;
  std::optional<uint64_t> retention_bytes;
  std::optional<uint32_t> max_message_bytes;
  std::optional<uint32_t> ack_timeout_ms;
  std::optional<uint32_t> max_deliveries;
  std::optional<std::string> dead_letter_topic;
  std::optional<int64_t> message_ttl_ms;
  std::optional<uint32_t> replication_factor;

  void Add(CLI::App* cmd) {
    cmd->add_option("--partitions", partitions, "Number of partitions (alter: may only grow)");
    cmd->add_option("--retention-ms", retention_ms, "Keep records this long (0 = forever)");
    cmd->add_option("--retention-bytes", retention_bytes,
                    "Keep at most this many bytes per partition (0 = unbounded)");
    cmd->add_option("--max-message-bytes", max_message_bytes, "Largest record");
    cmd->add_option("--ack-timeout-ms", ack_timeout_ms, "Group delivery ack deadline");
    cmd->add_option("--max-deliveries", max_deliveries,
                    "Deliveries before dead-lettering (0 = unlimited)");
    cmd->add_option("--dead-letter-topic", dead_letter_topic, "Where undeliverable records go");
    cmd->add_option("--message-ttl-ms", message_ttl_ms,
                    "Records older than this are not delivered");
    cmd->add_option("--replication-factor", replication_factor,
                    "Replicas per partition (default: min(3, live nodes))");
  }

  client::pb::TopicConfig ToProto() const {
    client::pb::TopicConfig c;
    if (partitions) c.set_partitions(*partitions);
    if (retention_ms) c.set_retention_ms(*retention_ms);
    if (retention_bytes) c.set_retention_bytes(*retention_bytes);
    if (max_message_bytes) c.set_max_message_bytes(*max_message_bytes);
    if (ack_timeout_ms) c.set_ack_timeout_ms(*ack_timeout_ms);
    if (max_deliveries) c.set_max_deliveries(*max_deliveries);
    if (dead_letter_topic) c.set_dead_letter_topic(*dead_letter_topic);
    if (message_ttl_ms) c.set_message_ttl_ms(*message_ttl_ms);
    if (replication_factor) c.set_replication_factor(*replication_factor);
    return c;
  }
};

void PrintTopic(const client::pb::TopicDescription& t) {
  const auto& c = t.config();
  std::cout << "topic " << t.name() << ": partitions=" << c.partitions()
            << " retention_ms=" << c.retention_ms() << " retention_bytes=" << c.retention_bytes()
            << " max_message_bytes=" << c.max_message_bytes()
            << " ack_timeout_ms=" << c.ack_timeout_ms() << " max_deliveries=" << c.max_deliveries()
            << " dead_letter_topic="
            << (c.dead_letter_topic().empty() ? "-" : c.dead_letter_topic())
            << " message_ttl_ms=" << c.message_ttl_ms()
            << " replication_factor=" << c.replication_factor()
            << (t.topic_id().empty() ? "" : " topic_id=" + t.topic_id()) << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : t.partitions()) {
    std::string replicas;
    for (const std::string& id : p.replicas()) replicas += (replicas.empty() ? "" : ",") + id;
    rows.push_back({std::to_string(p.partition()), std::to_string(p.first_offset()),
                    std::to_string(p.commit_index()), std::to_string(p.memory_bytes()),
                    std::to_string(p.disk_bytes()), p.leader().empty() ? "-" : p.leader(),
                    replicas.empty() ? "-" : replicas,
                    p.term() == 0 ? "-" : std::to_string(p.term())});
  }
  PrintTable({"PARTITION", "FIRST", "HIGH_WATERMARK", "MEMORY_BYTES", "DISK_BYTES", "LEADER",
              "REPLICAS", "TERM"},
             rows);
}

}  // namespace

void AddTopicCommands(CLI::App& app, Context& ctx, int& exit_code) {
  CLI::App* topic = app.add_subcommand("topic", "Create, list, describe, alter and delete topics");
  topic->require_subcommand(1);

  auto name = std::make_shared<std::string>();
  auto flags = std::make_shared<ConfigFlags>();

  CLI::App* create = topic->add_subcommand("create", "Create a topic");
  create->add_option("name", *name, "Topic name")->required();
  flags->Add(create);
  create->callback([&ctx, &exit_code, name, flags] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    auto created = (*client)->CreateTopic(*name, flags->ToProto());
    if (!created.ok()) return void(exit_code = Fail(created.status()));
    Print(ctx, ToJson(*created), [&] { PrintTopic(*created); });
    exit_code = 0;
  });

  CLI::App* alter = topic->add_subcommand("alter", "Change a topic's configuration");
  alter->add_option("name", *name, "Topic name")->required();
  flags->Add(alter);
  alter->callback([&ctx, &exit_code, name, flags] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    auto altered = (*client)->AlterTopic(*name, flags->ToProto());
    if (!altered.ok()) return void(exit_code = Fail(altered.status()));
    Print(ctx, ToJson(*altered), [&] { PrintTopic(*altered); });
    exit_code = 0;
  });

  CLI::App* describe = topic->add_subcommand("describe", "Show a topic's config and partitions");
  describe->add_option("name", *name, "Topic name")->required();
  describe->callback([&ctx, &exit_code, name] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    auto described = (*client)->DescribeTopic(*name);
    if (!described.ok()) return void(exit_code = Fail(described.status()));
    Print(ctx, ToJson(*described), [&] { PrintTopic(*described); });
    exit_code = 0;
  });

  CLI::App* del = topic->add_subcommand("delete", "Delete a topic and all its records");
  del->add_option("name", *name, "Topic name")->required();
  del->callback([&ctx, &exit_code, name] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    Status deleted = (*client)->DeleteTopic(*name);
    if (!deleted.ok()) return void(exit_code = Fail(deleted));
    Print(ctx, {{"deleted", *name}}, [&] { std::cout << "deleted topic " << *name << "\n"; });
    exit_code = 0;
  });

  CLI::App* list = topic->add_subcommand("list", "List topics");
  list->callback([&ctx, &exit_code] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    auto topics = (*client)->ListTopics();
    if (!topics.ok()) return void(exit_code = Fail(topics.status()));
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : *topics) {
      out.push_back(ToJson(t));
      uint64_t records = 0;
      for (const auto& p : t.partitions()) records += p.commit_index() - p.first_offset();
      rows.push_back(
          {t.name(), std::to_string(t.config().partitions()), std::to_string(records),
           t.config().dead_letter_topic().empty() ? "-" : t.config().dead_letter_topic()});
    }
    Print(ctx, out, [&] { PrintTable({"TOPIC", "PARTITIONS", "RECORDS", "DEAD_LETTER"}, rows); });
    exit_code = 0;
  });
}

}  // namespace sprawl::ctl
