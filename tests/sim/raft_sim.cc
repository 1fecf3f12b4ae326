#include "tests/sim/raft_sim.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/replication/codec.h"

namespace sprawl::sim {

using replication::ConfChangeType;
using replication::Entry;
using replication::EntryType;
using replication::Message;
using replication::NodeId;
using replication::Raft;
using replication::Ready;
using replication::Role;
using replication::Snapshot;

struct RaftSim::Node {
  NodeId id = 0;
  int64_t tick_period = 10;
  std::unique_ptr<Raft> raft;  // null while crashed
  int64_t restart_at = -1;
  int64_t next_tick = 0;
  // What survives a crash: every Ready whose persist finished.
  replication::HardState hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> log;
  // The Ready being persisted; a crash loses it.
  std::optional<Ready> ready;
  int64_t persist_at = 0;
  // The application: each client's last applied sequence (duplicates dropped).
  uint64_t applied = 0;
  std::map<int, uint64_t> last_seq;
};

struct RaftSim::Client {
  int id = 0;
  uint64_t acked = 0;
  bool outstanding = false;
  NodeId at = 0;
  uint64_t index = 0;
  uint64_t term = 0;
  int64_t sent_at = 0;
  NodeId guess = 1;
  std::string Payload() const { return "c" + std::to_string(id) + ":" + std::to_string(acked + 1); }
};

namespace {

// The application's image: every client's last applied sequence.
std::string SerializeApp(const std::map<int, uint64_t>& last) {
  std::string out;
  for (const auto& [c, s] : last) out += std::to_string(c) + ":" + std::to_string(s) + ",";
  return out;
}

void RestoreApp(const std::string& data, std::map<int, uint64_t>* last) {
  last->clear();
  std::istringstream in(data);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t colon = item.find(':');
    (*last)[std::stoi(item.substr(0, colon))] = std::stoull(item.substr(colon + 1));
  }
}

}  // namespace

RaftSim::RaftSim(uint64_t seed, RaftSimOptions options)
    : opt_(options), rng_(seed * 0x9e3779b97f4a7c15ULL + 17) {}

RaftSim::~RaftSim() = default;

int64_t RaftSim::Rand(int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(rng_() % static_cast<uint64_t>(hi - lo + 1));
}

bool RaftSim::Chance(double p) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
}

bool RaftSim::Cut(NodeId from, NodeId to) const { return cut_[from][to]; }

RaftSim::Node* RaftSim::Leader() {
  Node* best = nullptr;
  for (auto& n : nodes_) {
    if (n->raft && n->raft->role() == Role::kLeader &&
        (!best || n->raft->term() > best->raft->term())) {
      best = n.get();
    }
  }
  return best;
}

void RaftSim::StartNode(Node& n) {
  replication::RaftConfig c;
  c.id = n.id;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.max_inflight = static_cast<size_t>(Rand(1, 8));
  c.max_entries_per_append = static_cast<size_t>(Rand(1, 4));
  c.seed = rng_();
  replication::PersistedState ps;
  ps.hard_state = n.hard_state;
  ps.snapshot = n.snapshot;
  ps.entries = n.log;
  for (int i = 1; i <= opt_.voters; ++i) ps.initial_conf.voters.push_back(static_cast<NodeId>(i));
  n.raft = std::make_unique<Raft>(c, std::move(ps));
  n.restart_at = -1;
  n.next_tick = now_ + n.tick_period;
  n.ready.reset();
  n.last_seq.clear();
  n.applied = 0;
  if (n.snapshot) {
    RestoreApp(n.snapshot->data, &n.last_seq);
    n.applied = n.snapshot->index;
  }
  checker_.OnRestart(n.id, n.snapshot ? n.snapshot->index : 0, n.snapshot ? n.snapshot->term : 0,
                     n.log);
  Check(n);
  Pump(n);
}

void RaftSim::Crash(Node& n) {
  if (!n.raft) return;
  if (n.raft->role() == Role::kLeader) {
    ++report_.leader_crashes;
    if (!crashed_leader_at_) {
      crashed_leader_at_ = now_;
      crashed_leader_term_ = n.raft->term();
    }
  }
  n.raft.reset();
  n.ready.reset();  // the persist under way never finished
  n.restart_at = now_ + (churn_ ? Rand(20, 200) : Rand(20, 800));
}

void RaftSim::Check(Node& n) {
  if (n.raft) checker_.AfterStep(*n.raft);
}

void RaftSim::Pump(Node& n) {
  if (!n.raft || n.ready || !n.raft->HasReady()) return;
  n.ready = n.raft->GetReady();
  checker_.OnReady(n.id, *n.ready);
  n.persist_at = now_ + Rand(0, 2);
  if (n.persist_at == now_) FinishPersist(n);
}

void RaftSim::FinishPersist(Node& n) {
  Ready rd = std::move(*n.ready);
  n.ready.reset();
  if (rd.snapshot) {
    n.snapshot = rd.snapshot;
    n.log.clear();
  }
  if (!rd.entries.empty()) {
    const uint64_t from = rd.entries.front().index;
    while (!n.log.empty() && n.log.back().index >= from) n.log.pop_back();
    for (Entry& e : rd.entries) n.log.push_back(std::move(e));
  }
  if (rd.hard_state) n.hard_state = *rd.hard_state;
  for (const Message& m : n.raft->Advance()) Send(m);
  if (rd.snapshot) {
    RestoreApp(rd.snapshot->data, &n.last_seq);
    n.applied = rd.snapshot->index;
    ++report_.snapshots_installed;
  }
  for (const Entry& e : rd.committed) Apply(n, e);
  // The application takes an image now and then, so that the log stays
  // short and a follower that fell behind needs a snapshot.
  if (opt_.snapshots && n.applied >= n.raft->log().first_index() + 30 && Chance(0.5)) {
    n.raft->Compact(n.applied, SerializeApp(n.last_seq));
    n.snapshot = n.raft->snapshot();
    n.log.erase(std::remove_if(n.log.begin(), n.log.end(),
                               [&](const Entry& e) { return e.index <= n.applied; }),
                n.log.end());
  }
  Check(n);
  Pump(n);
}

void RaftSim::Apply(Node& n, const Entry& e) {
  checker_.OnApply(n.id, e);
  n.applied = e.index;
  if (e.type != EntryType::kNormal) return;
  const size_t colon = e.data.find(':');
  const int c = std::stoi(e.data.substr(1, colon - 1));
  const uint64_t s = std::stoull(e.data.substr(colon + 1));
  uint64_t& last = n.last_seq[c];
  // Exactly once, in order: a duplicate (a client's retry) is skipped, and a
  // gap means an acknowledged proposal went missing.
  if (s == last + 1) {
    last = s;
  } else if (s > last + 1 && report_.violation.empty()) {
    report_.violation = "client history: node " + std::to_string(n.id) + " applies " + e.data +
                        " after sequence " + std::to_string(last);
  }
  for (auto& cl : clients_) {
    if (cl->outstanding && cl->at == n.id && cl->index == e.index) {
      if (cl->term == e.term && e.data == cl->Payload()) {
        ++cl->acked;
        ++report_.acked;
        cl->outstanding = false;
      } else {
        cl->sent_at = -1'000'000;  // lost to another leader's entry: retry now
      }
    }
  }
}

void RaftSim::Send(const Message& m) {
  ++report_.messages;
  std::string bytes = replication::EncodeMessage(m);
  if (Cut(m.from, m.to) || Chance(drop_)) return;
  int64_t delay = Rand(1, max_delay_);
  if (Chance(long_delay_)) delay += Rand(50, 400);
  if (Chance(duplicate_)) {
    network_.push({now_ + Rand(1, 2 * max_delay_), order_++, m.from, m.to, bytes});
  }
  network_.push({now_ + delay, order_++, m.from, m.to, std::move(bytes)});
}

void RaftSim::Deliver(const InFlight& f) {
  Node& n = *nodes_[f.to - 1];
  // A partition also loses what was on the wire when it began.
  if (!n.raft || Cut(f.from, f.to)) return;
  auto m = replication::DecodeMessage(f.bytes);
  if (!m.ok()) {
    report_.violation = "codec: a message did not decode: " + m.status().ToString();
    return;
  }
  n.raft->Step(*m);
  Check(n);
  Pump(n);
}

void RaftSim::StepClients() {
  for (auto& cl : clients_) {
    if (cl->outstanding && now_ - cl->sent_at < 150) continue;
    for (int attempt = 0; attempt < 2; ++attempt) {
      Node& n = *nodes_[cl->guess - 1];
      if (!n.raft) {
        cl->guess = static_cast<NodeId>(Rand(1, static_cast<int64_t>(nodes_.size())));
        continue;
      }
      auto r = n.raft->Propose(cl->Payload());
      if (!r.ok()) {
        const NodeId hint = n.raft->leader();
        cl->guess = hint != replication::kNoNode
                        ? hint
                        : static_cast<NodeId>(Rand(1, static_cast<int64_t>(nodes_.size())));
        continue;
      }
      cl->outstanding = true;
      cl->at = n.id;
      cl->index = *r;
      cl->term = n.raft->term();
      cl->sent_at = now_;
      Check(n);
      Pump(n);
      break;
    }
  }
}

void RaftSim::Chaos() {
  const int64_t n = static_cast<int64_t>(nodes_.size());
  auto partition = [&] {
    ++report_.partitions;
    if (Chance(0.3)) {
      // One-way: a node's messages to some others are lost, not theirs to it.
      const NodeId a = static_cast<NodeId>(Rand(1, n));
      for (NodeId b = 1; b <= static_cast<NodeId>(n); ++b) {
        if (b != a && Chance(0.6)) cut_[a][b] = true;
      }
    } else {
      std::vector<NodeId> ids;
      for (NodeId i = 1; i <= static_cast<NodeId>(n); ++i) ids.push_back(i);
      std::shuffle(ids.begin(), ids.end(), rng_);
      const size_t k = static_cast<size_t>(Rand(1, n - 1));
      for (size_t i = 0; i < k; ++i) {
        for (size_t j = k; j < ids.size(); ++j) cut_[ids[i]][ids[j]] = cut_[ids[j]][ids[i]] = true;
      }
    }
    heal_at_ = now_ + Rand(200, 1'000);
  };
  if (report_.leader_crashes == 0 && now_ >= leader_crash_at_) {
    if (Node* l = Leader()) Crash(*l);
  }
  if (now_ == partition_at_) partition();
  if (Node* l = Leader(); l && l->raft->term() > last_leader_term_) {
    // A new leader. In a churn run (and after a "crash the next leader"
    // action) it may die within milliseconds, its first appends and its
    // no-op still in flight: the interleavings of the Raft paper's figure 8.
    if (crash_next_leader_ || (churn_ && Chance(0.2))) {
      crash_leader_at_ = now_ + Rand(0, 20);
    } else if (churn_ && Chance(0.8) && heal_at_ < 0) {
      isolate_leader_at_ = now_ + Rand(0, 10);
      isolated_ = l->id;
    }
    crash_next_leader_ = false;
  }
  if (Node* l = Leader(); churn_ && l && heal_at_ < 0 && isolate_leader_at_ < 0) {
    // Or right after it commits something, its next appends still on the wire.
    if (l->raft->commit() > last_leader_commit_ && Chance(0.4)) {
      isolate_leader_at_ = now_;
      isolated_ = l->id;
    }
    last_leader_commit_ = l->raft->commit();
  }
  if (isolate_leader_at_ >= 0 && now_ >= isolate_leader_at_) {
    // Cut off from everyone: it keeps taking proposals it cannot replicate
    // until check quorum makes it step down.
    ++report_.partitions;
    for (NodeId other = 1; other <= static_cast<NodeId>(n); ++other) {
      if (other != isolated_) cut_[isolated_][other] = cut_[other][isolated_] = true;
    }
    heal_at_ = now_ + Rand(50, 400);
    isolate_leader_at_ = -1;
  }
  if (crash_leader_at_ >= 0 && now_ >= crash_leader_at_) {
    if (Node* l = Leader()) Crash(*l);
    crash_leader_at_ = -1;
  }
  if (Node* l = Leader()) last_leader_term_ = std::max(last_leader_term_, l->raft->term());
  if (heal_at_ >= 0 && now_ >= heal_at_) {
    for (auto& row : cut_) std::fill(row.begin(), row.end(), false);
    heal_at_ = -1;
  }
  if (now_ < next_chaos_) return;
  next_chaos_ = now_ + Rand(100, 500);
  Node* leader = Leader();
  switch (Rand(0, 11)) {
    case 0:
    case 1: {
      Node& victim = *nodes_[static_cast<size_t>(Rand(0, n - 1))];
      Crash(victim);
      break;
    }
    case 2:
      if (leader) Crash(*leader);
      break;
    case 3:
      if (heal_at_ < 0) partition();
      break;
    case 4:
      drop_ = Chance(0.5) ? 0.0 : 0.2 * Chance(0.5) + 0.05;
      duplicate_ = Chance(0.5) ? 0.0 : 0.05;
      long_delay_ = Chance(0.5) ? 0.0 : 0.02;
      max_delay_ = Chance(0.5) ? 5 : 40;
      break;
    case 5:
      if (opt_.transfers && leader) {
        const auto& voters = leader->raft->conf().voters;
        const NodeId target =
            voters[static_cast<size_t>(Rand(0, static_cast<int64_t>(voters.size()) - 1))];
        if (leader->raft->TransferLeadership(target).ok()) ++report_.transfers;
        Check(*leader);
        Pump(*leader);
      }
      break;
    case 6:
    case 7:
      if (opt_.membership_changes && leader) {
        Raft& r = *leader->raft;
        const auto conf = r.conf();
        Status s = Status::Ok();
        if (!conf.learners.empty()) {
          const NodeId l = conf.learners.front();
          if (r.progress().at(l).match() >= r.commit()) {
            s = r.ProposeConfChange(ConfChangeType::kPromote, l);
          } else {
            s = InvalidArgument("learner not caught up");
          }
        } else if (conf.voters.size() > static_cast<size_t>(opt_.voters)) {
          NodeId victim = conf.voters[static_cast<size_t>(
              Rand(0, static_cast<int64_t>(conf.voters.size()) - 1))];
          if (victim == leader->id)
            victim = conf.voters.front() == leader->id ? conf.voters.back() : conf.voters.front();
          s = r.ProposeConfChange(ConfChangeType::kRemove, victim);
        } else {
          for (NodeId id = 1; id <= static_cast<NodeId>(n); ++id) {
            if (!r.IsVoter(id)) {
              s = r.ProposeConfChange(ConfChangeType::kAddLearner, id);
              break;
            }
          }
        }
        if (s.ok()) ++report_.conf_changes;
        Check(*leader);
        Pump(*leader);
      }
      break;
    case 8:
    case 9:
      // The next leader dies within a few milliseconds of winning, with its
      // first appends (and its no-op) still in flight.
      crash_next_leader_ = true;
      break;
    default:
      break;
  }
}

std::string RaftSim::FinalChecks() {
  Node* leader = Leader();
  if (!leader) return "liveness: no leader after the calm period";
  // Client history: Apply saw every node apply 1..k of each client once and
  // in order; the leader holds every acknowledged proposal.
  for (auto& cl : clients_) {
    if (leader->last_seq[cl->id] < cl->acked) {
      return "client history: c" + std::to_string(cl->id) + " had " + std::to_string(cl->acked) +
             " proposals acknowledged but the leader applied " +
             std::to_string(leader->last_seq[cl->id]);
    }
  }
  // Every committed entry is durable on a majority of the final voters.
  const auto& voters = leader->raft->conf().voters;
  for (uint64_t i = 1; i <= checker_.max_commit(); ++i) {
    const auto committed = checker_.Committed(i);
    if (!committed) continue;
    size_t holders = 0;
    for (NodeId v : voters) {
      const Node& n = *nodes_[v - 1];
      if (n.snapshot && n.snapshot->index >= i) {
        ++holders;
        continue;
      }
      for (const Entry& e : n.log) {
        if (e.index == i && e.term == committed->first && EntryHash(e) == committed->second) {
          ++holders;
          break;
        }
      }
    }
    if (holders < voters.size() / 2 + 1) {
      return "durability: committed index " + std::to_string(i) + " is on " +
             std::to_string(holders) + " of " + std::to_string(voters.size()) + " voters";
    }
  }
  if (report_.acked == 0) return "liveness: no client proposal was ever acknowledged";
  return "";
}

RaftSimReport RaftSim::Run() {
  const size_t count = static_cast<size_t>(opt_.voters) + 1;  // one spare for membership changes
  cut_.assign(count + 1, std::vector<bool>(count + 1, false));
  for (size_t i = 0; i < count; ++i) {
    auto n = std::make_unique<Node>();
    n->id = i + 1;
    // Clock rates differ by up to 25% either way.
    const double rate = 0.75 + 0.5 * std::uniform_real_distribution<double>(0, 1)(rng_);
    n->tick_period = std::max<int64_t>(1, std::llround(static_cast<double>(opt_.tick_ms) / rate));
    nodes_.push_back(std::move(n));
  }
  for (int c = 1; c <= 3; ++c) {
    auto cl = std::make_unique<Client>();
    cl->id = c;
    clients_.push_back(std::move(cl));
  }
  churn_ = Chance(0.5);
  leader_crash_at_ = Rand(500, 1'500);
  partition_at_ = Rand(300, std::max<int64_t>(400, opt_.chaos_ms - 1'000));
  next_chaos_ = Rand(200, 600);
  for (auto& n : nodes_) StartNode(*n);

  int64_t calm_at = opt_.chaos_ms;
  int64_t end = -1;
  for (now_ = 0; end < 0 || now_ < end; ++now_) {
    if (!calm_ && now_ >= calm_at) {
      if (report_.leader_crashes == 0) {
        calm_at = now_ + 1;  // the guaranteed leader crash has not happened yet: keep going
      } else {
        calm_ = true;
        end = now_ + opt_.calm_ms;
        for (auto& row : cut_) std::fill(row.begin(), row.end(), false);
        heal_at_ = -1;
        drop_ = duplicate_ = long_delay_ = 0;
        max_delay_ = 5;
        for (auto& n : nodes_) {
          if (!n->raft) StartNode(*n);
        }
      }
    }
    while (!network_.empty() && network_.top().at <= now_) {
      // The heap's top is const only to keep the heap ordered; it is popped next.
      InFlight f = std::move(const_cast<InFlight&>(network_.top()));
      network_.pop();
      Deliver(f);
    }
    for (auto& n : nodes_) {
      if (n->raft && n->ready && n->persist_at <= now_) FinishPersist(*n);
    }
    for (auto& n : nodes_) {
      if (n->raft && now_ >= n->next_tick) {
        n->next_tick += n->tick_period;
        n->raft->Tick();
        Check(*n);
        Pump(*n);
      } else if (!n->raft && n->restart_at >= 0 && now_ >= n->restart_at) {
        StartNode(*n);
      }
    }
    if (now_ % 25 == 0) StepClients();
    if (!calm_ && opt_.faults) {
      Chaos();
    } else if (!calm_ && report_.leader_crashes == 0 && now_ >= leader_crash_at_) {
      if (Node* l = Leader()) Crash(*l);  // the one fault of a quiet run
    }
    if (crashed_leader_at_) {
      Node* l = Leader();
      if (l && l->raft->term() > crashed_leader_term_) {
        report_.election_ms.push_back(now_ - *crashed_leader_at_);
        crashed_leader_at_.reset();
      }
    }
    if (!checker_.ok() || !report_.violation.empty()) break;
  }
  if (report_.violation.empty()) report_.violation = checker_.violation();
  if (report_.violation.empty()) report_.violation = FinalChecks();
  return report_;
}

}  // namespace sprawl::sim
