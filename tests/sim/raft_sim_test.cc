// Raft safety across many seeded runs of the simulator (tests/sim/raft_sim.h):
// groups of 3 and 5 under drops, duplicates, delays, reordering, symmetric
// and one-way partitions, crashes that lose unpersisted state, clock-rate
// differences, leadership transfers, membership changes and snapshots.
// SPRAWL_RAFT_SIM_SEED=<n> reruns one seed; SPRAWL_RAFT_SIM_RUNS=<n> sets
// how many seeds each test runs (make sim-long: 50,000 each).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/sim/raft_sim.h"

// Seeds per group size: 2,000 in the plain build (4,000 runs), 250 under the
// sanitizers, which run it several times slower.
#ifndef SPRAWL_RAFT_SIM_DEFAULT_RUNS
#define SPRAWL_RAFT_SIM_DEFAULT_RUNS 250
#endif

namespace sprawl::sim {
namespace {

std::vector<uint64_t> Seeds(uint64_t salt) {
  if (const char* one = std::getenv("SPRAWL_RAFT_SIM_SEED")) {
    return {std::strtoull(one, nullptr, 10)};
  }
  long runs = SPRAWL_RAFT_SIM_DEFAULT_RUNS;
  if (const char* n = std::getenv("SPRAWL_RAFT_SIM_RUNS")) runs = std::atol(n);
  std::vector<uint64_t> seeds;
  for (long i = 0; i < runs; ++i) seeds.push_back(salt * 10'000'000 + static_cast<uint64_t>(i));
  return seeds;
}

int64_t Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void RunSeeds(const char* test, uint64_t salt, int voters) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<int64_t> elections;
  uint64_t acked = 0, crashes = 0, partitions = 0, transfers = 0, changes = 0, snapshots = 0;
  const std::vector<uint64_t> seeds = Seeds(salt);
  for (uint64_t seed : seeds) {
    RaftSimOptions opt;
    opt.voters = voters;
    RaftSim sim(seed, opt);
    const RaftSimReport r = sim.Run();
    ASSERT_TRUE(r.violation.empty())
        << "seed " << seed << ": " << r.violation << "\nreproduce: SPRAWL_RAFT_SIM_SEED=" << seed
        << " " << ::testing::internal::GetArgvs().front() << " --gtest_filter=RaftSimTest." << test;
    ASSERT_GE(r.leader_crashes, 1) << "seed " << seed << " crashed no leader";
    ASSERT_GE(r.partitions, 1) << "seed " << seed << " never partitioned the network";
    elections.insert(elections.end(), r.election_ms.begin(), r.election_ms.end());
    acked += r.acked;
    crashes += static_cast<uint64_t>(r.leader_crashes);
    partitions += static_cast<uint64_t>(r.partitions);
    transfers += static_cast<uint64_t>(r.transfers);
    changes += static_cast<uint64_t>(r.conf_changes);
    snapshots += static_cast<uint64_t>(r.snapshots_installed);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "%d voters, %zu seeds in %.1f s: %llu leader crashes, %llu partitions, %llu transfers, "
      "%llu membership changes, %llu snapshots installed, %llu proposals acknowledged; "
      "election after a leader crash (under faults): median %lld ms, p99 %lld ms\n",
      voters, seeds.size(), secs, static_cast<unsigned long long>(crashes),
      static_cast<unsigned long long>(partitions), static_cast<unsigned long long>(transfers),
      static_cast<unsigned long long>(changes), static_cast<unsigned long long>(snapshots),
      static_cast<unsigned long long>(acked), static_cast<long long>(Percentile(elections, 0.5)),
      static_cast<long long>(Percentile(elections, 0.99)));
}

TEST(RaftSimTest, ThreeVoterGroupsKeepEverySafetyProperty) {
  RunSeeds("ThreeVoterGroupsKeepEverySafetyProperty", 3, 3);
}

TEST(RaftSimTest, FiveVoterGroupsKeepEverySafetyProperty) {
  RunSeeds("FiveVoterGroupsKeepEverySafetyProperty", 5, 5);
}

// The failover figure: on a clean network with the default timings (10 ms
// ticks, election after 10-20 quiet ticks, pre-vote), how long from a leader
// crash until a new leader leads.
TEST(RaftSimTest, ALeaderCrashIsFollowedByANewLeaderWithinTwoElectionTimeouts) {
  std::vector<int64_t> elections;
  std::vector<uint64_t> seeds = Seeds(7);
  // 500 runs in the plain build (enough for a p99), 62 under the sanitizers.
  seeds.resize(std::min<size_t>(seeds.size(), SPRAWL_RAFT_SIM_DEFAULT_RUNS / 8));
  for (uint64_t seed : seeds) {
    for (int voters : {3, 5}) {
      RaftSimOptions opt;
      opt.voters = voters;
      opt.faults = false;
      opt.chaos_ms = 2'000;  // the crash comes within 1.5 s
      opt.calm_ms = 500;
      RaftSim sim(seed, opt);
      const RaftSimReport r = sim.Run();
      ASSERT_TRUE(r.violation.empty()) << "seed " << seed << ": " << r.violation;
      ASSERT_EQ(r.election_ms.size(), 1u) << "seed " << seed;
      elections.push_back(r.election_ms[0]);
    }
  }
  const int64_t p50 = Percentile(elections, 0.5);
  const int64_t p99 = Percentile(elections, 0.99);
  std::printf("leader crash to new leader, clean network, %zu runs: median %lld ms, p99 %lld ms\n",
              elections.size(), static_cast<long long>(p50), static_cast<long long>(p99));
  // Followers notice within one timeout (100-200 ms at the slowest clock
  // rate, 250 ms), then a pre-vote and a vote round trip.
  EXPECT_LE(p99, 400);
}

}  // namespace
}  // namespace sprawl::sim
