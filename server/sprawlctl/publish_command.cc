// sprawlctl publish TOPIC [MESSAGE...]: from arguments, or one per stdin line.
#include <atomic>
#include <iostream>
#include <memory>

#include "core/client/producer.h"
#include "server/sprawlctl/commands.h"

namespace sprawl::ctl {
namespace {

struct PublishFlags {
  std::string topic;
  std::vector<std::string> messages;
  std::optional<std::string> key;
  std::vector<std::string> headers;
  std::optional<uint32_t> partition;
  std::string acks = "all";  // the product's default (docs/configuration.md)
};

Result<client::pb::AckLevel> ParseAcks(const std::string& text) {
  if (text == "none") return client::pb::ACK_NONE;
  if (text == "leader") return client::pb::ACK_LEADER;
  if (text == "all") return client::pb::ACK_ALL;
  return InvalidArgument("--acks must be none, leader or all, got '" + text + "'");
}

}  // namespace

void AddPublishCommand(CLI::App& app, Context& ctx, int& exit_code) {
  auto f = std::make_shared<PublishFlags>();
  CLI::App* cmd = app.add_subcommand(
      "publish", "Publish messages given as arguments, or one per line read from stdin");
  cmd->add_option("topic", f->topic, "Topic")->required();
  cmd->add_option("messages", f->messages, "Message values (default: lines of stdin)");
  cmd->add_option("-k,--key", f->key, "Key of every message (picks the partition)");
  cmd->add_option("-H,--header", f->headers, "Header name=value (repeatable)");
  cmd->add_option("-p,--partition", f->partition, "Explicit partition");
  cmd->add_option("--acks", f->acks, "none | leader | all")->capture_default_str();
  cmd->callback([&ctx, &exit_code, f] {
    auto acks = ParseAcks(f->acks);
    if (!acks.ok()) return void(exit_code = Fail(acks.status()));
    client::Headers headers;
    for (const std::string& h : f->headers) {
      const size_t eq = h.find('=');
      if (eq == std::string::npos || eq == 0) {
        return void(exit_code =
                        Fail(InvalidArgument("--header must be name=value, got '" + h + "'")));
      }
      headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
    }
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    client::ProducerConfig config;
    config.acks = *acks;
    config.delivery_timeout = std::chrono::milliseconds(ctx.timeout_ms);
    client::Producer producer(**client, config);
    std::atomic<uint64_t> failed{0};
    std::mutex out_mu;
    Status first_error;
    nlohmann::json acked = nlohmann::json::array();
    auto send = [&](const std::string& value) {
      producer.Send(
          f->topic, f->key, value, headers,
          [&](Result<client::PublishAck> ack) {
            std::lock_guard lock(out_mu);
            if (!ack.ok()) {
              if (failed++ == 0) first_error = ack.status();
              return;
            }
            // With acks none the node sends no offset: print none (JSON null).
            const bool known = f->acks != "none";
            if (ctx.json) {
              acked.push_back({{"partition", ack->partition},
                               {"offset", known ? nlohmann::json(ack->offset) : nullptr}});
            } else if (!known) {
              std::cout << "sent to " << f->topic << "/" << ack->partition
                        << " (acks none: no offset reported)\n";
            } else {
              std::cout << "published to " << f->topic << "/" << ack->partition << " at offset "
                        << ack->offset << "\n";
            }
          },
          f->partition);
    };
    if (!f->messages.empty()) {
      for (const std::string& m : f->messages) send(m);
    } else {
      std::string line;
      while (std::getline(std::cin, line)) send(line);
    }
    Status flushed = producer.Flush(std::chrono::milliseconds(ctx.timeout_ms));
    producer.Close();
    if (ctx.json) std::cout << acked.dump() << std::endl;
    if (failed > 0) {
      std::cerr << "sprawlctl: " << failed << " message(s) failed\n";
      return void(exit_code = Fail(first_error));
    }
    if (!flushed.ok()) return void(exit_code = Fail(flushed));
    exit_code = 0;
  });
}

}  // namespace sprawl::ctl
