#include "tests/sim/raft_checker.h"

#include <string_view>

namespace sprawl::sim {

using replication::Entry;
using replication::Raft;
using replication::Role;

namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

std::string Describe(uint64_t index, uint64_t term) {
  return "index " + std::to_string(index) + " term " + std::to_string(term);
}

}  // namespace

uint64_t EntryHash(const Entry& e) {
  uint64_t h = Mix(0x12345, static_cast<uint64_t>(e.type));
  for (char c : e.data) h = Mix(h, static_cast<unsigned char>(c));
  return h;
}

void RaftChecker::Fail(std::string what) {
  if (violation_.empty()) violation_ = std::move(what);
}

std::optional<std::pair<uint64_t, uint64_t>> RaftChecker::Committed(uint64_t index) const {
  if (index == 0 || index >= committed_.size() || committed_[index].first == 0) return std::nullopt;
  return committed_[index];
}

void RaftChecker::Commit(NodeId node, uint64_t index, uint64_t term, uint64_t hash) {
  if (committed_.size() <= index) committed_.resize(index + 1, {0, 0});
  auto& slot = committed_[index];
  if (slot.first == 0) {
    slot = {term, hash};
  } else if (slot.first != term || slot.second != hash) {
    Fail("state machine safety: node " + std::to_string(node) + " commits " +
         Describe(index, term) + " where " + Describe(index, slot.first) + " was committed before");
  }
}

void RaftChecker::AfterStep(const Raft& raft) {
  const NodeId id = raft.id();
  const bool leader = raft.role() == Role::kLeader;
  if (leader) {
    auto [it, inserted] = leaders_.try_emplace(raft.term(), id);
    if (!inserted && it->second != id) {
      Fail("election safety: nodes " + std::to_string(it->second) + " and " + std::to_string(id) +
           " both lead term " + std::to_string(raft.term()));
    }
    if (!was_leader_[id] || leader_views_[id].term != raft.term()) {
      CheckLeaderCompleteness(raft);
      leader_views_[id] = LeaderView{raft.term(), 0, 0, 0};
    }
    CheckAppendOnly(raft);
  }
  was_leader_[id] = leader;
  // Newly committed entries, as this node's log holds them.
  uint64_t& seen = seen_commit_[id];
  const auto& log = raft.log();
  for (uint64_t i = std::max(seen, log.snapshot_index()) + 1; i <= raft.commit(); ++i) {
    if (i > log.last_index()) {
      Fail("node " + std::to_string(id) + " commits index " + std::to_string(i) +
           " beyond its log");
      break;
    }
    Commit(id, i, log.At(i).term, EntryHash(log.At(i)));
  }
  seen = std::max(seen, raft.commit());
}

void RaftChecker::CheckLeaderCompleteness(const Raft& raft) {
  const auto& log = raft.log();
  for (uint64_t i = log.first_index(); i < committed_.size(); ++i) {
    if (committed_[i].first == 0) continue;
    const auto term = log.Term(i);
    if (!term || *term != committed_[i].first || EntryHash(log.At(i)) != committed_[i].second) {
      Fail("leader completeness: node " + std::to_string(raft.id()) + " leads term " +
           std::to_string(raft.term()) + " without committed " + Describe(i, committed_[i].first));
      return;
    }
  }
}

void RaftChecker::CheckAppendOnly(const Raft& raft) {
  LeaderView& v = leader_views_[raft.id()];
  const auto& log = raft.log();
  if (v.last_index >= log.first_index()) {
    if (v.last_index > log.last_index() || log.At(v.last_index).term != v.last_term ||
        EntryHash(log.At(v.last_index)) != v.last_hash) {
      Fail("leader append-only: node " + std::to_string(raft.id()) + " (term " +
           std::to_string(raft.term()) + ") changed or dropped its index " +
           std::to_string(v.last_index));
      return;
    }
  }
  if (log.last_index() >= log.first_index()) {
    v.last_index = log.last_index();
    v.last_term = log.At(v.last_index).term;
    v.last_hash = EntryHash(log.At(v.last_index));
  }
}

void RaftChecker::WriteEntries(NodeId node, Mirror& m, const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  const uint64_t from = entries.front().index;
  if (from <= m.base || from > m.base + m.chain.size()) {
    Fail("node " + std::to_string(node) + " writes index " + std::to_string(from) +
         " not adjacent to its log");
    return;
  }
  m.chain.resize(from - m.base);
  m.terms.resize(from - m.base);
  for (const Entry& e : entries) {
    const uint64_t chain = Mix(Mix(m.chain.back(), e.term), EntryHash(e));
    m.chain.push_back(chain);
    m.terms.push_back(e.term);
    auto [it, inserted] = chains_.try_emplace({e.index, e.term}, chain);
    if (!inserted && it->second != chain) {
      Fail("log matching: node " + std::to_string(node) + " holds " + Describe(e.index, e.term) +
           " with a history that differs from another node's");
      return;
    }
  }
}

void RaftChecker::OnReady(NodeId node, const replication::Ready& rd) {
  Mirror& m = mirrors_[node];
  if (m.chain.empty()) m.chain.push_back(0), m.terms.push_back(0);
  if (rd.snapshot) {
    auto it = chains_.find({rd.snapshot->index, rd.snapshot->term});
    m.base = rd.snapshot->index;
    m.chain.assign(1, it == chains_.end() ? 0 : it->second);
    m.terms.assign(1, rd.snapshot->term);
    if (it == chains_.end()) {
      Fail("node " + std::to_string(node) + " installs a snapshot at " +
           Describe(rd.snapshot->index, rd.snapshot->term) + " that no log ever held");
    }
  }
  WriteEntries(node, m, rd.entries);
}

void RaftChecker::OnApply(NodeId node, const Entry& e) {
  Commit(node, e.index, e.term, EntryHash(e));
}

void RaftChecker::OnRestart(NodeId node, uint64_t snapshot_index, uint64_t snapshot_term,
                            const std::vector<Entry>& entries) {
  Mirror& m = mirrors_[node];
  auto it = chains_.find({snapshot_index, snapshot_term});
  m.base = snapshot_index;
  m.chain.assign(1, snapshot_index == 0 ? 0 : (it == chains_.end() ? 0 : it->second));
  m.terms.assign(1, snapshot_term);
  WriteEntries(node, m, entries);
  was_leader_[node] = false;
  seen_commit_[node] = 0;
}

}  // namespace sprawl::sim
