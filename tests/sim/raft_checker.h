#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/replication/raft.h"

namespace sprawl::sim {

// Checks the Raft safety properties as a simulation runs. Every check
// records the first violation it finds (violation()); the simulator stops
// there. The properties (Raft paper, figure 3):
//  election safety     at most one leader per term;
//  leader append-only  a leader never overwrites or deletes its entries;
//  log matching        two logs with an entry of the same index and term
//                      hold the same entries up to it (checked through a
//                      hash chained over each written log);
//  leader completeness a new leader's log holds every committed entry;
//  state machine safety no two nodes commit or apply different entries at
//                      one index.
class RaftChecker {
 public:
  using NodeId = replication::NodeId;

  // After any input to `raft` (message, tick, proposal, Ready).
  void AfterStep(const replication::Raft& raft);
  // A Ready was taken from `node`: its entries and snapshot are what the
  // node writes to its log.
  void OnReady(NodeId node, const replication::Ready& rd);
  // `node` applies `e` (from Ready::committed).
  void OnApply(NodeId node, const replication::Entry& e);
  // The node crashed: its in-memory state is gone (the next AfterStep sees
  // a restarted one). `written_*` is what its log holds durably.
  void OnRestart(NodeId node, uint64_t snapshot_index, uint64_t snapshot_term,
                 const std::vector<replication::Entry>& entries);

  const std::string& violation() const { return violation_; }
  bool ok() const { return violation_.empty(); }
  uint64_t max_commit() const { return committed_.empty() ? 0 : committed_.size() - 1; }
  // The committed entry at `index` as (term, content hash), if known.
  std::optional<std::pair<uint64_t, uint64_t>> Committed(uint64_t index) const;
  uint64_t leaders_elected() const { return leaders_.size(); }

 private:
  struct Mirror {
    uint64_t base = 0;            // chain_[0] is the hash at index `base`
    std::vector<uint64_t> chain;  // chained hash at base, base+1, ...
    std::vector<uint64_t> terms;  // term at base, base+1, ...
  };
  // A leader's last entry as last seen. Logs change only by truncating a
  // suffix or compacting a prefix, so an overwrite or deletion anywhere
  // removes or replaces this entry too.
  struct LeaderView {
    uint64_t term = 0;
    uint64_t last_index = 0;
    uint64_t last_term = 0;
    uint64_t last_hash = 0;
  };
  void Fail(std::string what);
  void Commit(NodeId node, uint64_t index, uint64_t term, uint64_t hash);
  void CheckLeaderCompleteness(const replication::Raft& raft);
  void CheckAppendOnly(const replication::Raft& raft);
  void WriteEntries(NodeId node, Mirror& m, const std::vector<replication::Entry>& entries);

  std::map<uint64_t, NodeId> leaders_;  // term -> leader
  std::map<NodeId, LeaderView> leader_views_;
  std::map<NodeId, uint64_t> seen_commit_;
  std::map<NodeId, bool> was_leader_;
  std::vector<std::pair<uint64_t, uint64_t>> committed_{{0, 0}};  // index -> (term, hash)
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> chains_;      // (index, term) -> chain
  std::map<NodeId, Mirror> mirrors_;
  std::string violation_;
};

// A stable hash of an entry's content (type and data).
uint64_t EntryHash(const replication::Entry& e);

}  // namespace sprawl::sim
