// sprawlctl status: is the node up, and what does it hold.
#include <iostream>

#include "server/sprawlctl/commands.h"

namespace sprawl::ctl {

void AddStatusCommand(CLI::App& app, Context& ctx, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("status", "Show the node's identity, uptime and topics");
  cmd->callback([&ctx, &exit_code] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    auto pong = (*client)->Ping();
    if (!pong.ok()) return void(exit_code = Fail(pong.status()));
    auto topics = (*client)->ListTopics();
    if (!topics.ok()) return void(exit_code = Fail(topics.status()));
    uint64_t partitions = 0;
    for (const auto& t : *topics) partitions += t.partitions_size();
    nlohmann::json out = {{"node_id", pong->node_id()},
                          {"version", pong->version()},
                          {"protocol_version", pong->protocol_version()},
                          {"uptime_ms", pong->uptime_ms()},
                          {"server", ctx.server},
                          {"topics", topics->size()},
                          {"partitions", partitions}};
    Print(ctx, out, [&] {
      std::cout << "node " << pong->node_id() << " at " << ctx.server << ": version "
                << pong->version() << ", up " << pong->uptime_ms() / 1000 << " s, "
                << topics->size() << " topics, " << partitions << " partitions\n";
    });
    exit_code = 0;
  });
}

}  // namespace sprawl::ctl
