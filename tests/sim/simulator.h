#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/overlay/membership.h"

namespace sprawl::sim {

// What the simulated network does to messages.
struct Faults {
  double drop = 0.0;       // probability a message is lost
  double duplicate = 0.0;  // probability it arrives twice
  int64_t min_delay_ms = 1;
  int64_t max_delay_ms = 5;  // random delays in between also reorder
};

// Many nodes' Membership state machines in one process, on a virtual clock,
// over a network that drops, delays, duplicates, reorders and partitions
// messages; nodes crash and restart. Every message goes through the wire
// codec. Deterministic for a seed.
class Simulator {
 public:
  Simulator(uint64_t seed, overlay::MembershipConfig config, Faults faults);

  // Starts a node that joins through `seeds` (node ids).
  void Start(const std::string& id, const std::vector<std::string>& seeds,
             const std::string& rack = "");
  // The process dies: its messages are lost from now on.
  void Crash(const std::string& id);
  // A crashed node starts again with the same id (a fresh state machine).
  void Restart(const std::string& id, const std::vector<std::string>& seeds);
  void Leave(const std::string& id);
  // Messages from `from` to `to` are lost (and back too unless one_way).
  void Cut(const std::string& from, const std::string& to, bool one_way = false);
  void Heal();
  void SetFaults(Faults faults) { faults_ = faults; }

  void RunFor(int64_t ms);
  // Runs until `done` holds (checked every `check_every_ms` of virtual
  // time) or `max_ms` pass; returns whether it held.
  bool RunUntil(const std::function<bool()>& done, int64_t max_ms, int64_t check_every_ms = 1);

  int64_t now() const { return now_; }
  bool running(const std::string& id) const { return running_.count(id) > 0; }
  const overlay::Membership& node(const std::string& id) const { return *nodes_.at(id); }
  std::vector<std::string> running_ids() const;
  // The state `observer` holds for `subject` (kDead also when it forgot it).
  overlay::MemberState StateSeen(const std::string& observer, const std::string& subject) const;
  // Every running node sees every running node alive and every other as
  // dead or left (or has forgotten it).
  bool Converged() const;
  // Dead events about a node raised while it was running and reachable.
  const std::vector<std::string>& false_deaths() const { return false_deaths_; }
  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t messages_sent_by(const std::string& id) const;
  // Called for every membership event, for tracing a failing seed.
  std::function<void(const std::string& observer, const overlay::Event& event, int64_t now_ms)>
      on_event;

 private:
  struct InFlight {
    int64_t at;
    uint64_t order;
    std::string from;
    std::string to;
    std::string bytes;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  void Drain(const std::string& id);
  void Step(int64_t until);
  std::string Address(const std::string& id) const { return "sim://" + id; }

  std::mt19937_64 rng_;
  overlay::MembershipConfig config_;
  Faults faults_;
  int64_t now_ = 0;
  uint64_t order_ = 0;
  std::map<std::string, std::unique_ptr<overlay::Membership>> nodes_;
  std::map<std::string, std::string> racks_;
  std::set<std::string> running_;
  std::set<std::pair<std::string, std::string>> cuts_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> network_;
  std::vector<std::string> false_deaths_;
  uint64_t messages_sent_ = 0;
  std::map<std::string, uint64_t> sent_by_;
};

}  // namespace sprawl::sim
