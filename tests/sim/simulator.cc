#include "tests/sim/simulator.h"

#include <stdexcept>

namespace sprawl::sim {

using overlay::MemberState;

Simulator::Simulator(uint64_t seed, overlay::MembershipConfig config, Faults faults)
    : rng_(seed), config_(config), faults_(faults) {}

void Simulator::Start(const std::string& id, const std::vector<std::string>& seeds,
                      const std::string& rack) {
  racks_[id] = rack;
  overlay::NodeMeta meta;
  meta.id = id;
  meta.peer_address = Address(id);
  meta.rack = rack;
  meta.start_time_ms = now_;
  nodes_[id] = std::make_unique<overlay::Membership>(meta, config_, rng_());
  running_.insert(id);
  std::vector<std::string> addresses;
  for (const std::string& s : seeds) addresses.push_back(Address(s));
  nodes_[id]->Join(addresses, now_);
  Drain(id);
}

void Simulator::Crash(const std::string& id) { running_.erase(id); }

void Simulator::Restart(const std::string& id, const std::vector<std::string>& seeds) {
  Start(id, seeds, racks_[id]);
}

void Simulator::Leave(const std::string& id) {
  nodes_.at(id)->Leave(now_);
  Drain(id);
  running_.erase(id);
}

void Simulator::Cut(const std::string& from, const std::string& to, bool one_way) {
  cuts_.insert({from, to});
  if (!one_way) cuts_.insert({to, from});
}

void Simulator::Heal() { cuts_.clear(); }

std::vector<std::string> Simulator::running_ids() const {
  return std::vector<std::string>(running_.begin(), running_.end());
}

uint64_t Simulator::messages_sent_by(const std::string& id) const {
  auto it = sent_by_.find(id);
  return it == sent_by_.end() ? 0 : it->second;
}

void Simulator::Drain(const std::string& id) {
  overlay::Membership& node = *nodes_.at(id);
  for (overlay::Outgoing& out : node.TakeOutgoing()) {
    ++messages_sent_;
    ++sent_by_[id];
    const std::string to = out.to.substr(6);  // "sim://"
    std::uniform_real_distribution<double> coin(0, 1);
    if (coin(rng_) < faults_.drop || cuts_.count({id, to})) continue;
    const int copies = coin(rng_) < faults_.duplicate ? 2 : 1;
    const std::string bytes = overlay::Encode(out.message);
    for (int c = 0; c < copies; ++c) {
      std::uniform_int_distribution<int64_t> delay(faults_.min_delay_ms, faults_.max_delay_ms);
      network_.push({now_ + delay(rng_), order_++, id, to, bytes});
    }
  }
  for (const overlay::Event& e : node.TakeEvents()) {
    if (on_event) on_event(id, e, now_);
    if (e.kind == overlay::Event::Kind::kDead && running_.count(e.member.meta.id) &&
        !cuts_.count({id, e.member.meta.id})) {
      false_deaths_.push_back(id + " declared " + e.member.meta.id + " dead at " +
                              std::to_string(now_) + " ms");
    }
  }
}

void Simulator::Step(int64_t until) {
  int64_t next = until;
  if (!network_.empty()) next = std::min(next, network_.top().at);
  for (const std::string& id : running_) next = std::min(next, nodes_[id]->NextTickMs());
  now_ = std::max(now_, next);
  while (!network_.empty() && network_.top().at <= now_) {
    InFlight m = network_.top();
    network_.pop();
    if (!running_.count(m.to)) continue;  // a crashed node receives nothing
    auto decoded = overlay::Decode(m.bytes);
    if (!decoded.ok()) throw std::runtime_error("codec: " + decoded.status().ToString());
    nodes_[m.to]->Receive(*decoded, now_);
    Drain(m.to);
  }
  for (const std::string& id : running_) {  // ticks never start or stop nodes
    if (nodes_[id]->NextTickMs() <= now_) {
      nodes_[id]->Tick(now_);
      Drain(id);
    }
  }
}

void Simulator::RunFor(int64_t ms) {
  const int64_t until = now_ + ms;
  while (now_ < until) Step(until);
}

bool Simulator::RunUntil(const std::function<bool()>& done, int64_t max_ms,
                         int64_t check_every_ms) {
  const int64_t until = now_ + max_ms;
  int64_t next_check = now_;
  while (now_ < until) {
    // A check over every pair of nodes costs more than a step in large
    // clusters: checked at most once per check_every_ms of virtual time.
    if (now_ >= next_check) {
      next_check = now_ + check_every_ms;
      if (done()) return true;
    }
    Step(std::min(until, next_check));
  }
  return done();
}

MemberState Simulator::StateSeen(const std::string& observer, const std::string& subject) const {
  const auto& members = nodes_.at(observer)->members();
  auto it = members.find(subject);
  return it == members.end() ? MemberState::kDead : it->second.state;
}

bool Simulator::Converged() const {
  for (const std::string& observer : running_) {
    for (const auto& [id, node] : nodes_) {
      const MemberState seen = StateSeen(observer, id);
      const bool up = running_.count(id) > 0;
      if (up && seen != MemberState::kAlive) return false;
      if (!up && (seen == MemberState::kAlive || seen == MemberState::kSuspect)) return false;
    }
  }
  return true;
}

}  // namespace sprawl::sim
