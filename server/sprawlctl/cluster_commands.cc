// sprawlctl cluster status|placement: the membership and the placement as
// the node behind --http sees them.
#include <iostream>

#include "server/sprawlctl/commands.h"
#include "server/sprawlctl/http_get.h"

namespace sprawl::ctl {

void AddClusterCommands(CLI::App& app, Context& ctx, int& exit_code) {
  CLI::App* cluster = app.add_subcommand("cluster", "Cluster membership and placement");
  cluster->require_subcommand(1);
  CLI::App* status = cluster->add_subcommand("status", "Members with state and incarnation");
  status->callback([&ctx, &exit_code] {
    auto body = HttpGetJson(ctx.http, "/v1/cluster", ctx.timeout_ms);
    if (!body.ok()) return void(exit_code = Fail(body.status()));
    Print(ctx, *body, [&] {
      std::vector<std::vector<std::string>> rows;
      for (const auto& m : (*body)["members"]) {
        rows.push_back({m["id"].get<std::string>(), m["state"].get<std::string>(),
                        std::to_string(m["incarnation"].get<uint64_t>()),
                        m["peer_address"].get<std::string>(),
                        m["client_address"].get<std::string>(), m["rack"].get<std::string>()});
      }
      PrintTable({"ID", "STATE", "INCARNATION", "PEER", "CLIENT", "RACK"}, rows);
    });
    exit_code = 0;
  });
  CLI::App* placement =
      cluster->add_subcommand("placement", "Replica sets of every partition over the live members");
  placement->callback([&ctx, &exit_code] {
    auto body = HttpGetJson(ctx.http, "/v1/placement", ctx.timeout_ms);
    if (!body.ok()) return void(exit_code = Fail(body.status()));
    Print(ctx, *body, [&] {
      std::vector<std::vector<std::string>> rows;
      for (const auto& p : (*body)["partitions"]) {
        std::string replicas;
        for (const auto& r : p["replicas"])
          replicas += (replicas.empty() ? "" : ",") + r.get<std::string>();
        rows.push_back({p["topic"].get<std::string>(),
                        std::to_string(p["partition"].get<uint32_t>()), replicas});
      }
      PrintTable({"TOPIC", "PARTITION", "REPLICAS"}, rows);
      std::cout << (*body)["nodes"].get<size_t>() << " live nodes, imbalance "
                << (*body)["imbalance"].get<double>() << "\n";
    });
    exit_code = 0;
  });
}

}  // namespace sprawl::ctl
