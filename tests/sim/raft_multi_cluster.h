#pragma once

// Three nodes, each a MultiRaft host of the same groups (every group has
// the three nodes as voters), on a lossless in-process network with 1 ms of
// latency. One turn per millisecond: deliver, tick every `tick_ms`, then one
// Ready cycle per host whose batches leave for the next turn. Counts the
// batches each ordered node pair carries.
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "core/replication/codec.h"
#include "core/replication/multi_raft.h"

namespace sprawl::sim {

class MultiRaftCluster {
 public:
  MultiRaftCluster(size_t groups, replication::MultiRaftOptions options, int64_t tick_ms = 10)
      : tick_ms_(tick_ms) {
    for (replication::NodeId n = 1; n <= 3; ++n) {
      hosts_[n] = std::make_unique<replication::MultiRaft>(n, options);
      for (replication::GroupId g = 1; g <= groups; ++g) {
        replication::RaftConfig c;
        c.id = n;
        c.seed = g * 7919 + n;
        replication::PersistedState s;
        s.initial_conf.voters = {1, 2, 3};
        (void)hosts_[n]->AddGroup(g, c, s);
      }
    }
  }

  replication::MultiRaft& host(replication::NodeId n) { return *hosts_.at(n); }
  void Crash(replication::NodeId n) { down_.insert(n); }
  // Back with its state intact (a paused process, or a cut that healed).
  void Recover(replication::NodeId n) { down_.erase(n); }

  void Run(int64_t ms) {
    for (int64_t end = now_ + ms; now_ < end; ++now_) {
      std::vector<replication::PeerBatch> arriving;
      arriving.swap(wire_);
      for (const replication::PeerBatch& b : arriving) {
        if (down_.count(b.to)) continue;
        // Through the codec, as on the wire.
        auto decoded = replication::DecodeBatch(replication::EncodeBatch(b));
        if (decoded.ok()) hosts_.at(b.to)->Receive(*decoded);
      }
      for (auto& [n, h] : hosts_) {
        if (down_.count(n)) continue;
        if (now_ % tick_ms_ == 0) h->Tick();
        (void)h->GetReadies();  // a lossless, crash-free disk: nothing to keep
        for (replication::PeerBatch& b : h->Advance()) {
          ++pair_batches_[{b.from, b.to}];
          wire_.push_back(std::move(b));
        }
      }
    }
  }

  // Batches carried on the ordered pair (from, to) so far.
  uint64_t batches(replication::NodeId from, replication::NodeId to) const {
    auto it = pair_batches_.find({from, to});
    return it == pair_batches_.end() ? 0 : it->second;
  }
  uint64_t all_batches() const {
    uint64_t n = 0;
    for (const auto& [pair, count] : pair_batches_) n += count;
    return n;
  }
  uint64_t heartbeats() const {
    uint64_t n = 0;
    for (const auto& [id, h] : hosts_) n += h->heartbeats_sent();
    return n;
  }
  // The leader of group `g` that a majority follows, or 0.
  replication::NodeId Leader(replication::GroupId g) {
    for (auto& [n, h] : hosts_) {
      if (!down_.count(n) && h->group(g)->role() == replication::Role::kLeader) return n;
    }
    return replication::kNoNode;
  }
  int64_t now() const { return now_; }

 private:
  int64_t tick_ms_;
  int64_t now_ = 0;
  std::map<replication::NodeId, std::unique_ptr<replication::MultiRaft>> hosts_;
  std::set<replication::NodeId> down_;
  std::vector<replication::PeerBatch> wire_;
  std::map<std::pair<replication::NodeId, replication::NodeId>, uint64_t> pair_batches_;
};

}  // namespace sprawl::sim
