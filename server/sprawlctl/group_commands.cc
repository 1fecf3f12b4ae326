// sprawlctl group list|describe|reset-offsets
#include <iostream>
#include <memory>

#include "server/sprawlctl/commands.h"

namespace sprawl::ctl {
namespace {

void PrintGroup(const client::pb::GroupDescription& g) {
  std::cout << "group " << g.group() << " of topic " << g.topic() << ": generation "
            << g.generation() << ", " << g.members_size() << " member(s)\n";
  std::vector<std::vector<std::string>> members;
  for (const auto& m : g.members()) {
    std::string parts;
    for (uint32_t p : m.partitions()) parts += (parts.empty() ? "" : ",") + std::to_string(p);
    members.push_back(
        {m.member_id(), m.client_name().empty() ? "-" : m.client_name(),
         parts.empty() ? "-" : parts,
         std::to_string(m.in_flight()) + "/" + std::to_string(m.max_in_flight()),
         std::to_string(m.in_flight_bytes()) + "/" + std::to_string(m.max_in_flight_bytes())});
  }
  if (!members.empty()) {
    PrintTable({"MEMBER", "CLIENT", "PARTITIONS", "IN_FLIGHT", "IN_FLIGHT_BYTES"}, members);
  }
  std::vector<std::vector<std::string>> partitions;
  for (const auto& p : g.partitions()) {
    partitions.push_back({std::to_string(p.partition()), std::to_string(p.ack_floor()),
                          std::to_string(p.next_offset()), std::to_string(p.lag()),
                          std::to_string(p.in_flight()), std::to_string(p.dead_lettered()),
                          std::to_string(p.expired())});
  }
  PrintTable({"PARTITION", "ACK_FLOOR", "NEXT", "LAG", "IN_FLIGHT", "DEAD_LETTERED", "EXPIRED"},
             partitions);
}

}  // namespace

void AddGroupCommands(CLI::App& app, Context& ctx, int& exit_code) {
  CLI::App* group = app.add_subcommand("group", "Inspect consumer groups and move their cursors");
  group->require_subcommand(1);
  auto topic = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();

  CLI::App* list = group->add_subcommand("list", "List groups (of one topic with --topic)");
  list->add_option("-t,--topic", *topic, "Only this topic's groups");
  list->callback([&ctx, &exit_code, topic] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    auto groups = (*client)->ListGroups(*topic);
    if (!groups.ok()) return void(exit_code = Fail(groups.status()));
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : *groups) {
      out.push_back(ToJson(g));
      uint64_t lag = 0;
      for (const auto& p : g.partitions()) lag += p.lag();
      rows.push_back({g.topic(), g.group(), std::to_string(g.members_size()), std::to_string(lag)});
    }
    Print(ctx, out, [&] { PrintTable({"TOPIC", "GROUP", "MEMBERS", "LAG"}, rows); });
    exit_code = 0;
  });

  CLI::App* describe = group->add_subcommand("describe", "Members, cursors and lag of a group");
  describe->add_option("topic", *topic, "Topic")->required();
  describe->add_option("group", *name, "Group")->required();
  describe->callback([&ctx, &exit_code, topic, name] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    auto described = (*client)->DescribeGroup(*topic, *name);
    if (!described.ok()) return void(exit_code = Fail(described.status()));
    Print(ctx, ToJson(*described), [&] { PrintGroup(*described); });
    exit_code = 0;
  });

  auto to = std::make_shared<std::string>();
  CLI::App* reset = group->add_subcommand(
      "reset-offsets", "Move a group's cursors: unacked deliveries are forgotten");
  reset->add_option("topic", *topic, "Topic")->required();
  reset->add_option("group", *name, "Group")->required();
  reset->add_option("--to", *to, "earliest | latest | <offset> | @<timestamp ms>")->required();
  reset->callback([&ctx, &exit_code, topic, name, to] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    client::pb::OffsetSpec spec = client::pb::OFFSET_EXACT;
    int64_t timestamp = 0;
    uint64_t offset = 0;
    if (*to == "earliest") {
      spec = client::pb::OFFSET_EARLIEST;
    } else if (*to == "latest") {
      spec = client::pb::OFFSET_LATEST;
    } else if (!to->empty() && (*to)[0] == '@' &&
               to->find_first_not_of("0123456789", 1) == std::string::npos && to->size() > 1) {
      spec = client::pb::OFFSET_TIMESTAMP;
      timestamp = std::stoll(to->substr(1));
    } else if (!to->empty() && to->find_first_not_of("0123456789") == std::string::npos) {
      offset = std::stoull(*to);
    } else {
      return void(
          exit_code = Fail(InvalidArgument(
              "--to must be earliest, latest, an offset or @<timestamp ms>, got '" + *to + "'")));
    }
    auto reset_group = (*client)->ResetGroupOffsets(*topic, *name, spec, timestamp, offset);
    if (!reset_group.ok()) return void(exit_code = Fail(reset_group.status()));
    Print(ctx, ToJson(*reset_group), [&] { PrintGroup(*reset_group); });
    exit_code = 0;
  });
}

}  // namespace sprawl::ctl
