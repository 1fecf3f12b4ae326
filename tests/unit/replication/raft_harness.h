#pragma once

// A synchronous group of Raft nodes for unit tests: every Ready is persisted
// at once, and messages are delivered by hand (Deliver) or until quiet
// (Settle), through a filter that can drop them.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "core/replication/raft.h"

namespace sprawl::replication::testing {

struct Stored {
  HardState hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  std::vector<Entry> applied;
};

inline RaftConfig TestConfig(NodeId id) {
  RaftConfig c;
  c.id = id;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.seed = 42;
  return c;
}

class Harness {
 public:
  explicit Harness(std::vector<NodeId> ids, std::function<void(RaftConfig&)> tweak = {})
      : ids_(ids), tweak_(std::move(tweak)) {
    for (NodeId id : ids) {
      stored_[id];
      Start(id);
    }
  }

  // (Re)starts a node from what it persisted.
  void Start(NodeId id) {
    RaftConfig c = TestConfig(id);
    if (tweak_) tweak_(c);
    PersistedState s;
    const Stored& st = stored_[id];
    s.hard_state = st.hard_state;
    s.snapshot = st.snapshot;
    s.entries = st.entries;
    s.initial_conf.voters = ids_;
    nodes_[id] = std::make_unique<Raft>(c, std::move(s));
  }

  Raft& node(NodeId id) { return *nodes_.at(id); }
  Stored& stored(NodeId id) { return stored_.at(id); }

  // Drains every node's Ready into storage and the outbox.
  void Flush() {
    for (auto& [id, raft] : nodes_) {
      while (raft->HasReady()) {
        Ready rd = raft->GetReady();
        Stored& st = stored_[id];
        if (rd.snapshot) {
          st.snapshot = rd.snapshot;
          st.entries.clear();
        }
        if (!rd.entries.empty()) {
          const uint64_t from = rd.entries.front().index;
          while (!st.entries.empty() && st.entries.back().index >= from) st.entries.pop_back();
          for (const Entry& e : rd.entries) st.entries.push_back(e);
        }
        if (rd.hard_state) st.hard_state = *rd.hard_state;
        for (Message& m : raft->Advance()) outbox.push_back(std::move(m));
        for (const Entry& e : rd.committed) st.applied.push_back(e);
      }
    }
  }

  // Delivers what is in the outbox now (not what that produces); returns how many.
  size_t DeliverOnce() {
    Flush();
    std::deque<Message> batch;
    batch.swap(outbox);
    size_t n = 0;
    for (const Message& m : batch) {
      if (drop && drop(m)) continue;
      auto it = nodes_.find(m.to);
      if (it == nodes_.end()) continue;
      it->second->Step(m);
      ++n;
    }
    Flush();
    return n;
  }

  // Delivers until no message is left.
  void Settle(int max_rounds = 200) {
    for (int i = 0; i < max_rounds; ++i) {
      Flush();
      if (outbox.empty()) return;
      DeliverOnce();
    }
  }

  void TickAll() {
    for (auto& [id, raft] : nodes_) raft->Tick();
  }

  // Ticks node `id` until it leads (others delivering), at most `max` ticks.
  bool ElectByTicks(NodeId id, int max = 100) {
    for (int i = 0; i < max && node(id).role() != Role::kLeader; ++i) {
      node(id).Tick();
      Settle();
    }
    return node(id).role() == Role::kLeader;
  }

  // Makes `id` campaign at once, past every lease (as a leadership transfer does).
  bool ForceElection(NodeId id) {
    Message m;
    m.type = MessageType::kTimeoutNow;
    m.from = node(id).leader() == kNoNode ? id : node(id).leader();
    m.to = id;
    m.term = node(id).term();
    node(id).Step(m);
    Settle();
    return node(id).role() == Role::kLeader;
  }

  int Leaders() {
    int n = 0;
    for (auto& [id, raft] : nodes_) n += raft->role() == Role::kLeader ? 1 : 0;
    return n;
  }

  std::deque<Message> outbox;
  std::function<bool(const Message&)> drop;

 private:
  std::vector<NodeId> ids_;
  std::function<void(RaftConfig&)> tweak_;
  std::map<NodeId, std::unique_ptr<Raft>> nodes_;
  std::map<NodeId, Stored> stored_;
};

}  // namespace sprawl::replication::testing
