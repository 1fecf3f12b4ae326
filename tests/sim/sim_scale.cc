// The scale run: N simulated nodes (default 1000), one crash, and how long
// and how many protocol periods it takes until every live node knows, with
// the per-node message load. Usage: sim_scale [nodes] [seed]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/sim/simulator.h"

int main(int argc, char** argv) {
  using namespace sprawl;
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  overlay::MembershipConfig config;
  sim::Simulator s(seed, config, sim::Faults{});
  // Join in waves through a few seeds, as a rolling start would.
  for (int i = 0; i < n; ++i) {
    s.Start("n" + std::to_string(i),
            i == 0 ? std::vector<std::string>{}
                   : std::vector<std::string>{"n" + std::to_string(i < 3 ? 0 : i % 3)});
    if (i % 50 == 49) s.RunFor(200);
  }
  if (!s.RunUntil([&] { return s.Converged(); }, 300'000, 500)) {
    std::printf("the %d-node cluster did not converge (seed %llu)\n", n, (unsigned long long)seed);
    return 1;
  }
  const uint64_t sent_before = s.messages_sent();
  s.RunFor(10'000);
  const double per_node_per_s = static_cast<double>(s.messages_sent() - sent_before) / n / 10.0;
  const int64_t crashed_at = s.now();
  const std::string victim = "n" + std::to_string(n / 2);
  s.Crash(victim);
  int64_t first_declared = -1;  // when the first node declared the victim dead
  auto everyone_knows = [&] {
    size_t knowing = 0;
    const std::vector<std::string> ids = s.running_ids();
    for (const std::string& id : ids) {
      const overlay::MemberState seen = s.StateSeen(id, victim);
      knowing += seen == overlay::MemberState::kDead || seen == overlay::MemberState::kLeft;
    }
    if (knowing > 0 && first_declared < 0) first_declared = s.now();
    return knowing == ids.size();
  };
  if (!s.RunUntil(everyone_knows, 120'000)) {
    std::printf("the crash was not known everywhere in 120 s (seed %llu)\n",
                (unsigned long long)seed);
    return 1;
  }
  const int64_t took = s.now() - crashed_at;
  const int64_t detected = first_declared - crashed_at;
  std::printf(
      "nodes %d (seed %llu): first declared dead after %lld ms; every live node knew after %lld "
      "ms = %.1f probe periods of %lld ms (dissemination %lld ms = %.1f periods; log2(n) = "
      "%.1f)\n",
      n, (unsigned long long)seed, (long long)detected, (long long)took,
      static_cast<double>(took) / config.probe_interval_ms, (long long)config.probe_interval_ms,
      (long long)(took - detected), static_cast<double>(took - detected) / config.probe_interval_ms,
      std::log2(n));
  std::printf(
      "steady-state load: %.1f messages sent per node per second (O(1) in n: one probe "
      "round per period plus acks and push-pull)\n",
      per_node_per_s);
  std::printf("false deaths: %zu\n", s.false_deaths().size());
  return s.false_deaths().empty() ? 0 : 1;
}
