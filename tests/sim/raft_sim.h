#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "core/replication/raft.h"
#include "tests/sim/raft_checker.h"

namespace sprawl::sim {

// What one seeded run of a Raft group does.
struct RaftSimOptions {
  int voters = 3;            // the group starts with these; one spare node waits outside
  int64_t chaos_ms = 3'000;  // faults, crashes, partitions, transfers, membership changes
  int64_t calm_ms = 1'500;   // then a healed network, every node up
  int64_t tick_ms = 10;      // one Raft tick at clock rate 1.0
  bool membership_changes = true;
  bool transfers = true;
  bool snapshots = true;
  // false: a quiet run on a clean network whose one fault is a leader crash
  // (for the failover figure with the default timings).
  bool faults = true;
};

// What a run saw, for the liveness figures and the "every seed crashes a
// leader and partitions" guarantee.
struct RaftSimReport {
  std::string violation;  // empty when every property held
  int leader_crashes = 0;
  int partitions = 0;
  int transfers = 0;
  int conf_changes = 0;
  int snapshots_installed = 0;
  uint64_t acked = 0;                // client proposals acknowledged
  uint64_t messages = 0;             // sent on the simulated network
  std::vector<int64_t> election_ms;  // from each leader crash to the next leader
};

// A Raft group on a virtual clock: each node runs the real state machine
// (core/replication) with its own clock rate, persists each Ready after a
// random delay (a crash before that loses it), and talks over a network
// that drops, duplicates, delays, reorders and partitions (symmetric and
// one-way) the encoded messages. Clients propose with retries; the
// application deduplicates by (client, sequence) and takes snapshots.
// RaftChecker checks the safety properties after every step; the end checks
// the client history and that committed entries are on a majority.
// Deterministic for a seed.
class RaftSim {
 public:
  RaftSim(uint64_t seed, RaftSimOptions options);
  ~RaftSim();
  RaftSimReport Run();

 private:
  struct Node;
  struct Client;
  struct InFlight {
    int64_t at;
    uint64_t order;
    replication::NodeId from;
    replication::NodeId to;
    std::string bytes;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : order > o.order; }
  };

  void StartNode(Node& n);
  void Crash(Node& n);
  void Pump(Node& n);
  void FinishPersist(Node& n);
  void Apply(Node& n, const replication::Entry& e);
  void Send(const replication::Message& m);
  void Deliver(const InFlight& f);
  void StepClients();
  void Chaos();
  void Check(Node& n);
  Node* Leader();
  bool Cut(replication::NodeId from, replication::NodeId to) const;
  std::string FinalChecks();
  int64_t Rand(int64_t lo, int64_t hi);  // [lo, hi]
  bool Chance(double p);

  RaftSimOptions opt_;
  std::mt19937_64 rng_;
  int64_t now_ = 0;
  uint64_t order_ = 0;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> network_;
  std::vector<std::vector<bool>> cut_;  // cut_[from][to]
  double drop_ = 0, duplicate_ = 0, long_delay_ = 0;
  int64_t max_delay_ = 5;
  bool calm_ = false;
  int64_t next_chaos_ = 0;
  int64_t leader_crash_at_ = 0;  // when the guaranteed leader crash happens
  int64_t partition_at_ = 0;     // when the guaranteed partition happens
  int64_t heal_at_ = -1;
  bool churn_ = false;  // this run crashes or isolates most new leaders at once
  int64_t isolate_leader_at_ = -1;
  uint64_t last_leader_commit_ = 0;
  replication::NodeId isolated_ = 0;
  bool crash_next_leader_ = false;
  int64_t crash_leader_at_ = -1;
  uint64_t last_leader_term_ = 0;
  std::optional<int64_t> crashed_leader_at_;
  uint64_t crashed_leader_term_ = 0;
  RaftChecker checker_;
  RaftSimReport report_;
};

}  // namespace sprawl::sim
