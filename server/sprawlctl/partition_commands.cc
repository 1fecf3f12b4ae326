// sprawlctl partition transfer-leader: hands a replicated partition's
// leadership to another of its replicas and waits until it leads.
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "server/sprawlctl/commands.h"

namespace sprawl::ctl {
namespace {

using Clock = std::chrono::steady_clock;

// The partition's leader and term as METADATA from the connected node says.
Result<std::pair<std::string, uint64_t>> LeaderOf(client::Client& client, const std::string& topic,
                                                  uint32_t partition) {
  SPRAWL_ASSIGN_OR_RETURN(auto metadata, client.Metadata({topic}));
  for (const auto& t : metadata.topics()) {
    if (t.name() != topic) continue;
    for (const auto& p : t.partitions()) {
      if (p.partition() == partition) return std::make_pair(p.leader_id(), p.term());
    }
  }
  return NotFound("partition " + std::to_string(partition) + " of topic '" + topic +
                  "' is not in the cluster's metadata");
}

// Sends TRANSFER_LEADER, retrying while no leader is known (an election),
// then waits until METADATA names `node` in a later term.
Status TransferAndWait(client::Client& client, const std::string& topic, uint32_t partition,
                       const std::string& node, bool wait, Clock::time_point deadline,
                       client::pb::TransferLeaderResponse* started) {
  for (;;) {
    auto r = client.TransferLeader(topic, partition, node);
    if (r.ok()) {
      *started = *r;
      break;
    }
    if (!r.status().retriable() || Clock::now() >= deadline) return r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!wait || started->already()) return Status::Ok();
  std::string leader;
  for (;;) {
    auto now = LeaderOf(client, topic, partition);
    if (now.ok()) {
      leader = now->first;
      if (leader == node && now->second > started->term()) return Status::Ok();
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status(ErrorCode::kTimeout, "the transfer to '" + node + "' started in term " +
                                         std::to_string(started->term()) +
                                         " but did not finish in time; the leader is now " +
                                         (leader.empty() ? "unknown" : "'" + leader + "'"));
}

}  // namespace

void AddPartitionCommands(CLI::App& app, Context& ctx, int& exit_code) {
  CLI::App* partition = app.add_subcommand("partition", "Act on one partition of a topic");
  partition->require_subcommand(1);
  CLI::App* transfer = partition->add_subcommand(
      "transfer-leader", "Hand a partition's leadership to another of its replicas");
  struct Args {
    std::string topic;
    uint32_t partition = 0;
    std::string node;
    bool no_wait = false;
  };
  auto args = std::make_shared<Args>();
  transfer->add_option("topic", args->topic, "Topic")->required();
  transfer->add_option("partition", args->partition, "Partition number")->required();
  transfer->add_option("node", args->node, "Member id of the replica that is to lead")->required();
  transfer->add_flag("--no-wait", args->no_wait,
                     "Return once the transfer starts instead of when the node leads");
  transfer->callback([&ctx, &exit_code, args] {
    auto client = ctx.Connect();
    if (!client.ok()) return void(exit_code = Fail(client.status()));
    const auto deadline = Clock::now() + std::chrono::milliseconds(ctx.timeout_ms);
    client::pb::TransferLeaderResponse started;
    Status s = TransferAndWait(**client, args->topic, args->partition, args->node, !args->no_wait,
                               deadline, &started);
    if (!s.ok()) return void(exit_code = Fail(s));
    const bool done = !args->no_wait || started.already();
    nlohmann::json out = {{"topic", args->topic},         {"partition", args->partition},
                          {"node", args->node},           {"term", started.term()},
                          {"already", started.already()}, {"done", done}};
    Print(ctx, out, [&] {
      const std::string what =
          "partition " + std::to_string(args->partition) + " of " + args->topic;
      if (started.already()) {
        std::cout << args->node << " already leads " << what << "\n";
      } else if (!done) {
        std::cout << "transfer of " << what << " to " << args->node << " started (term "
                  << started.term() << ")\n";
      } else {
        std::cout << args->node << " now leads " << what << "\n";
      }
    });
    exit_code = 0;
  });
}

}  // namespace sprawl::ctl
