// sprawlctl subscribe TOPIC: print messages, by offset or as a group member.
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>

#include "core/client/group_consumer.h"
#include "server/sprawlctl/commands.h"

namespace sprawl::ctl {
namespace {

struct SubscribeFlags {
  std::string topic;
  std::optional<std::string> group;
  std::vector<uint32_t> partitions;
  std::string from = "earliest";
  uint64_t count = 0;       // 0 = no limit
  double idle_timeout = 0;  // seconds; 0 = wait forever
  bool no_ack = false;
  std::optional<uint32_t> nack_delay_ms;
  uint64_t max_in_flight_bytes = 0;  // 0 = the default
};

void PrintMessage(const Context& ctx, const client::Message& m) {
  if (ctx.json) {
    std::cout << client::MessageToJson(m).dump() << std::endl;
    return;
  }
  std::cout << m.partition << "@" << m.offset;
  if (m.delivery_count > 1) std::cout << " (delivery " << m.delivery_count << ")";
  std::cout << " " << (m.key ? *m.key : "-") << " " << m.value;
  for (const auto& [k, v] : m.headers) std::cout << " " << k << "=" << v;
  std::cout << std::endl;
}

// Parses --from: earliest, latest, an offset, or @<timestamp ms>.
Status StartOffset(client::Client& client, const std::string& topic, uint32_t partition,
                   const std::string& from, uint64_t* out) {
  Result<uint64_t> offset = InvalidArgument("");
  if (from == "earliest") {
    offset = client.ListOffset(topic, partition, client::pb::OFFSET_EARLIEST);
  } else if (from == "latest") {
    offset = client.ListOffset(topic, partition, client::pb::OFFSET_LATEST);
  } else if (!from.empty() && from[0] == '@') {
    offset = client.ListOffset(topic, partition, client::pb::OFFSET_TIMESTAMP,
                               std::stoll(from.substr(1)));
  } else if (!from.empty() && from.find_first_not_of("0123456789") == std::string::npos) {
    offset = client.ListOffset(topic, partition, client::pb::OFFSET_EXACT, 0, std::stoull(from));
  } else {
    return InvalidArgument("--from must be earliest, latest, an offset or @<timestamp ms>, got '" +
                           from + "'");
  }
  if (!offset.ok()) return offset.status();
  *out = *offset;
  return Status::Ok();
}

int SubscribeByOffset(Context& ctx, client::Client& client, const SubscribeFlags& f) {
  auto topic = client.DescribeTopic(f.topic);
  if (!topic.ok()) return Fail(topic.status());
  std::vector<uint32_t> partitions = f.partitions;
  if (partitions.empty()) {
    for (const auto& p : topic->partitions()) partitions.push_back(p.partition());
  }
  std::vector<uint64_t> next(partitions.size());
  for (size_t i = 0; i < partitions.size(); ++i) {
    Status s = StartOffset(client, f.topic, partitions[i], f.from, &next[i]);
    if (!s.ok()) return Fail(s);
  }
  uint64_t printed = 0;
  auto last_message = std::chrono::steady_clock::now();
  // One partition alone long-polls; several take turns with short polls.
  const auto wait = std::chrono::milliseconds(partitions.size() == 1 ? 500 : 50);
  while (true) {
    bool got_any = false;
    for (size_t i = 0; i < partitions.size(); ++i) {
      auto fetched = client.Fetch(f.topic, partitions[i], next[i], wait,
                                  f.max_in_flight_bytes == 0
                                      ? static_cast<uint32_t>(protocol::kDefaultMaxInFlightBytes)
                                      : static_cast<uint32_t>(f.max_in_flight_bytes));
      if (!fetched.ok()) return Fail(fetched.status());
      for (const client::Message& m : fetched->messages) {
        PrintMessage(ctx, m);
        if (f.count > 0 && ++printed >= f.count) return 0;
      }
      got_any = got_any || !fetched->messages.empty();
      next[i] = fetched->next_offset;
    }
    const auto now = std::chrono::steady_clock::now();
    if (got_any) last_message = now;
    if (f.idle_timeout > 0 && now - last_message > std::chrono::duration<double>(f.idle_timeout)) {
      return f.count > 0 ? Fail(Status(ErrorCode::kTimeout, "received " + std::to_string(printed) +
                                                                " of " + std::to_string(f.count) +
                                                                " messages before the timeout"))
                         : 0;
    }
  }
}

int SubscribeAsMember(Context& ctx, client::Client& client, const SubscribeFlags& f) {
  client::GroupConsumerConfig options;
  options.topic = f.topic;
  options.group = *f.group;
  options.client_name = "sprawlctl";
  options.start_latest = f.from == "latest";
  options.max_in_flight_bytes = f.max_in_flight_bytes;
  auto subscription = client::GroupConsumer::Join(client, options);
  if (!subscription.ok()) return Fail(subscription.status());
  uint64_t printed = 0;
  auto last_message = std::chrono::steady_clock::now();
  while (true) {
    auto message = (*subscription)->Receive(std::chrono::milliseconds(200));
    if (!message.ok()) return Fail(message.status());
    const auto now = std::chrono::steady_clock::now();
    if (message->has_value()) {
      last_message = now;
      PrintMessage(ctx, **message);
      if (f.nack_delay_ms) {
        (*subscription)->Nack(**message, std::chrono::milliseconds(*f.nack_delay_ms));
      } else if (!f.no_ack) {
        (*subscription)->Ack(**message);
      }
      if (f.count > 0 && ++printed >= f.count) break;
    } else if (f.idle_timeout > 0 &&
               now - last_message > std::chrono::duration<double>(f.idle_timeout)) {
      if (f.count > 0) {
        (void)(*subscription)->Close();
        return Fail(Status(ErrorCode::kTimeout, "received " + std::to_string(printed) + " of " +
                                                    std::to_string(f.count) +
                                                    " messages before the timeout"));
      }
      break;
    }
  }
  Status closed = (*subscription)->Close();
  return closed.ok() ? 0 : Fail(closed);
}

}  // namespace

void AddSubscribeCommand(CLI::App& app, Context& ctx, int& exit_code) {
  auto f = std::make_shared<SubscribeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "subscribe", "Print a topic's messages: by offset, or as a member of a consumer group");
  cmd->add_option("topic", f->topic, "Topic")->required();
  cmd->add_option("-g,--group", f->group, "Consume as a member of this group (acks each message)");
  cmd->add_option("-p,--partition", f->partitions, "Partitions to read (offset mode; default all)");
  cmd->add_option("--from", f->from,
                  "Offset mode: earliest | latest | <offset> | @<timestamp ms>; group: where a "
                  "new group starts (earliest | latest)")
      ->capture_default_str();
  cmd->add_option("-n,--count", f->count, "Exit after this many messages");
  cmd->add_option("--timeout", f->idle_timeout,
                  "Exit after this many seconds without a message (with --count: an error)");
  cmd->add_flag("--no-ack", f->no_ack, "Group mode: do not ack (messages are redelivered)");
  cmd->add_option("--nack-delay-ms", f->nack_delay_ms,
                  "Group mode: nack every message with this redelivery delay");
  cmd->add_option("--max-in-flight-bytes", f->max_in_flight_bytes,
                  "Group mode: unacked bytes the node sends ahead (a larger message comes alone); "
                  "offset mode: bytes per fetch. 0 = 8 MiB")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30));
  cmd->callback([&ctx, &exit_code, f] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    exit_code =
        f->group ? SubscribeAsMember(ctx, **client, *f) : SubscribeByOffset(ctx, **client, *f);
  });
}

}  // namespace sprawl::ctl
