// Placement lookup cost: ReplicaSet for (topic, partition) on clusters of
// 5, 100 and 1,000 nodes, computed (first lookup in a view) and cached
// (every later one). Prints ns per lookup. Usage: placement_bench
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/overlay/placement.h"

int main() {
  using Clock = std::chrono::steady_clock;
  for (int n : {5, 100, 1000}) {
    std::vector<sprawl::overlay::PlacementNode> nodes;
    for (int i = 0; i < n; ++i)
      nodes.push_back({"node-" + std::to_string(i), "rack-" + std::to_string(i % 3)});
    sprawl::overlay::Placement placement(nodes);
    const uint32_t partitions = n >= 1000 ? 2'000 : 10'000;
    size_t sink = 0;
    auto start = Clock::now();
    for (uint32_t p = 0; p < partitions; ++p) sink += placement.ReplicaSet("orders", p, 3).size();
    const double computed =
        std::chrono::duration<double, std::nano>(Clock::now() - start).count() / partitions;
    start = Clock::now();
    const int rounds = 20;
    for (int r = 0; r < rounds; ++r) {
      for (uint32_t p = 0; p < partitions; ++p) sink += placement.ReplicaSet("orders", p, 3).size();
    }
    const double cached = std::chrono::duration<double, std::nano>(Clock::now() - start).count() /
                          (rounds * partitions);
    std::printf(
        "%5d nodes, rf 3, 3 racks: computed %9.0f ns/lookup, cached %6.0f ns/lookup (%zu)\n", n,
        computed, cached, sink);
  }
  return 0;
}
