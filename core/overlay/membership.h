#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/overlay/codec.h"
#include "core/overlay/member.h"
#include "core/util/result.h"

namespace sprawl::overlay {

// Timings and limits of the membership protocol. The defaults detect a
// crashed node of a small cluster in about 1-2 s (docs/overlay.md).
struct MembershipConfig {
  int64_t probe_interval_ms = 200;  // one probe per period
  int64_t probe_timeout_ms = 80;    // direct ack wait before indirect probes
  int indirect_probes = 3;          // k
  // Suspicion lasts between min and max = max_factor * min, where
  // min = suspicion_mult * log10(max(n, 10)) * probe_interval; independent
  // confirmations shorten it towards min (Lifeguard).
  double suspicion_mult = 2.0;
  double suspicion_max_factor = 6.0;
  int suspicion_confirmations = 3;  // K: confirmations that bring it to min
  int retransmit_mult = 4;          // λ: updates are sent λ·log10(n+1) times
  int max_local_health = 8;         // Lifeguard's local health multiplier cap
  int64_t push_pull_interval_ms = 3000;
  int64_t dead_retention_ms = 30'000;  // dead and left members are then forgotten
  size_t max_piggyback = 12;           // updates per probe message

  // INVALID_ARGUMENT naming the setting for timings the protocol cannot run
  // with (a probe timeout not shorter than the period, a zero period, ...).
  Status Validate() const;
};

// A message to send: to the node whose peer port is `to`.
struct Outgoing {
  std::string to;
  Message message;
};

struct Event {
  enum class Kind { kJoined, kAlive, kSuspect, kDead, kLeft, kUpdated };
  Kind kind;
  Member member;
};

struct MembershipMetrics {
  uint64_t probes_sent = 0;
  uint64_t probes_failed = 0;  // no ack, direct or indirect, within the period
  uint64_t indirect_probes_sent = 0;
  uint64_t suspicions_raised = 0;   // by this node's own probes
  uint64_t suspicions_refuted = 0;  // about this node, answered with a higher incarnation
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
};

// SWIM membership with the Lifeguard refinements, as a pure state machine:
// inputs are Join, Leave, Tick and Receive with the current time; outputs
// are drained with TakeOutgoing and TakeEvents. It never reads a clock or
// touches the network, so the simulator (tests/sim) runs it unchanged.
class Membership {
 public:
  Membership(NodeMeta self, MembershipConfig config, uint64_t seed);

  // Contacts the seeds (peer addresses) with a push-pull exchange. Joining
  // with no seeds forms a one-node cluster.
  void Join(const std::vector<std::string>& seeds, int64_t now_ms);
  // Announces a graceful leave (others mark this node left, not dead).
  void Leave(int64_t now_ms);
  // Runs the protocol's timers: probe rounds, timeouts, suspicion expiry,
  // push-pull and forgetting old dead members.
  void Tick(int64_t now_ms);
  void Receive(const Message& message, int64_t now_ms);

  // When Tick must next run.
  int64_t NextTickMs() const;

  std::vector<Outgoing> TakeOutgoing();
  std::vector<Event> TakeEvents();

  // Every member this node knows, itself included, by id.
  const std::map<std::string, Member>& members() const { return members_; }
  const Member& self() const { return members_.at(self_id_); }
  // Members in `state` (itself counted as alive).
  size_t count(MemberState state) const;
  const MembershipMetrics& metrics() const { return metrics_; }
  int local_health() const { return local_health_; }
  size_t pending_updates() const { return queue_.size(); }
  // Detection times since the last call: for each member this node declared
  // dead, the milliseconds from the last message it had from that member.
  std::vector<int64_t> TakeDetectionTimes() { return std::exchange(detections_, {}); }

  // Changes this node's metadata (load, addresses) and gossips it.
  void UpdateMeta(const NodeMeta& meta, int64_t now_ms);

 private:
  struct Probe {
    std::string target;
    uint64_t sequence = 0;
    int64_t sent_ms = 0;
    bool indirect_sent = false;
    bool acked = false;
  };
  struct Relay {  // a ping sent for someone else's ping-req
    std::string origin_address;
    uint64_t origin_sequence = 0;
    int64_t expires_ms = 0;
  };
  struct Suspicion {
    int64_t started_ms = 0;
    std::set<std::string> confirmations;
  };
  struct Queued {
    Update update;
    int transmits = 0;
  };

  void Send(const std::string& to, Message message);
  Message NewMessage(MessageKind kind);
  void Piggyback(Message& message);
  void Enqueue(Update update);
  std::vector<Update> FullState() const;
  void Apply(const Update& update, int64_t now_ms);
  void Refute(uint64_t incarnation, int64_t now_ms);
  void SetState(Member& member, MemberState state, uint64_t incarnation, int64_t now_ms);
  void StartProbe(int64_t now_ms);
  void FinishProbe(int64_t now_ms);
  std::string NextProbeTarget();
  std::vector<std::string> RandomAlive(size_t k, const std::string& exclude);
  std::string RandomDead();
  void PushPull(const std::string& address);
  int64_t SuspicionTimeout(const Suspicion& s) const;
  size_t RetransmitLimit() const;
  size_t ClusterSize() const;
  int64_t Scaled(int64_t ms) const { return ms * (local_health_ + 1); }

  const std::string self_id_;
  MembershipConfig config_;
  std::mt19937_64 rng_;
  std::map<std::string, Member> members_;
  std::array<size_t, 4> counts_{};  // members_ by state, kept with every change
  int64_t next_forget_ms_ = 0;
  std::map<std::string, Suspicion> suspicions_;
  std::vector<Queued> queue_;
  std::vector<std::string> probe_order_;
  size_t probe_index_ = 0;
  std::optional<Probe> probe_;
  std::map<uint64_t, Relay> relays_;
  uint64_t next_sequence_ = 1;
  int64_t next_probe_ms_ = 0;
  int64_t next_push_pull_ms_ = 0;
  std::vector<std::string> seeds_;  // retried while no other member is known
  int64_t next_join_retry_ms_ = 0;
  int local_health_ = 0;
  bool left_ = false;
  std::vector<Outgoing> outgoing_;
  std::vector<Event> events_;
  MembershipMetrics metrics_;
  std::map<std::string, int64_t> last_heard_ms_;  // by member id
  std::vector<int64_t> detections_;
};

}  // namespace sprawl::overlay
