// Prints the load of idle Raft groups for docs/replication.md: three nodes
// sharing N groups (default 3,000), 10 ms ticks, measured over 10 s of
// virtual time after every group elected a leader, with quiescence off and
// on. Usage: raft_multi_load [groups]
#include <cstdio>
#include <cstdlib>

#include "tests/sim/raft_multi_cluster.h"

int main(int argc, char** argv) {
  using namespace sprawl;
  const size_t groups = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 3'000;
  for (bool quiesce : {false, true}) {
    sim::MultiRaftCluster c(groups, replication::MultiRaftOptions{quiesce});
    c.Run(3'000);
    const uint64_t batches = c.all_batches();
    const uint64_t heartbeats = c.heartbeats();
    const int64_t seconds = 10;
    c.Run(seconds * 1'000);
    const double per_pair = static_cast<double>(c.all_batches() - batches) / 6.0 / seconds;
    const double per_group =
        static_cast<double>(c.heartbeats() - heartbeats) / static_cast<double>(groups) / seconds;
    std::printf(
        "%zu idle groups on 3 nodes (10 ms ticks), quiescence %s: %.1f messages/s per ordered "
        "node pair, %.2f heartbeats/s per group\n",
        groups, quiesce ? "on" : "off", per_pair, per_group);
  }
  return 0;
}
