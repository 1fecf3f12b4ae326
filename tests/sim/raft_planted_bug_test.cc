// The checker's own test. This binary links a build of the Raft core with
// SPRAWL_RAFT_PLANTED_BUG_COMMIT_EARLIER_TERM: a leader commits an entry of
// an earlier term as soon as it is on a majority (the mistake of figure 8 in
// the Raft paper). The simulator must catch it within the seeds the safety
// tests run (the same seeds, 3- and 5-voter groups), or their passing would
// prove little. The no-op every leader appends hides the bug in most runs: it
// shows only when the leader loses its majority between committing the old
// entry and replicating its no-op, after another leader appended a
// conflicting entry in between; churn runs aim at that window.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/sim/raft_sim.h"

#ifndef SPRAWL_RAFT_SIM_DEFAULT_RUNS
#define SPRAWL_RAFT_SIM_DEFAULT_RUNS 250
#endif

namespace sprawl::sim {
namespace {

TEST(RaftPlantedBugTest, CommittingAnEarlierTermEntryByCountingReplicasIsCaught) {
  int runs = 0;
  for (int i = 0; i < SPRAWL_RAFT_SIM_DEFAULT_RUNS; ++i) {
    for (int voters : {3, 5}) {
      // The seeds of RaftSimTest (raft_sim_test.cc), interleaved.
      const uint64_t seed = static_cast<uint64_t>(voters) * 10'000'000 + static_cast<uint64_t>(i);
      RaftSimOptions opt;
      opt.voters = voters;
      RaftSim sim(seed, opt);
      const RaftSimReport r = sim.Run();
      ++runs;
      if (!r.violation.empty()) {
        std::printf("planted bug caught after %d runs, at seed %llu (%d voters): %s\n", runs,
                    static_cast<unsigned long long>(seed), voters, r.violation.c_str());
        return;
      }
    }
  }
  FAIL() << "the planted bug survived " << runs << " runs";
}

}  // namespace
}  // namespace sprawl::sim
