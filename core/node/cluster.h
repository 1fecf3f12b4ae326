#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/broker/broker.h"
#include "core/node/node_config.h"
#include "core/overlay/membership.h"
#include "core/overlay/placement.h"
#include "core/transport/event_loop.h"
#include "core/transport/peer_transport.h"
#include "core/util/clock.h"
#include "core/util/metrics.h"
#include "core/util/result.h"

namespace sprawl::node {

// Replicas per partition that placement reports assume: the replication
// layer's default replication factor.
inline constexpr size_t kPlacementReplication = 3;

// (topic, partition count) of every topic this node holds.
using TopicList = std::vector<std::pair<std::string, uint32_t>>;
// The topics of `broker`, for placement. Loop thread.
TopicList ListTopicPartitions(const broker::Broker& broker);

// The node's place in the cluster: the peer port and the SWIM membership
// (core/overlay) driven on the node's event loop. A node started without
// seeds forms a one-node cluster that others can join. Loop thread only,
// except Start.
class Cluster {
 public:
  // Binds the peer port and joins through config.join (host:port seeds).
  static Result<std::unique_ptr<Cluster>> Start(zmq::context_t& context, transport::EventLoop& loop,
                                                const Clock& clock, const NodeConfig& config,
                                                const std::string& client_address,
                                                const std::string& http_address,
                                                metrics::Registry& registry);

  // Runs the membership's timers and sends what they produce.
  void Tick();
  // When Tick must next run, on the clock's monotonic nanoseconds.
  int64_t NextDeadlineNanos() const;
  // Announces a graceful leave to every live member.
  void Leave();
  // Where the periodic report (this node's load in its gossiped metadata,
  // the placement imbalance gauge) reads the topics from. Loop thread.
  void SetTopicSource(std::function<TopicList()> topics) { topics_ = std::move(topics); }

  // GET /v1/cluster: this node and every member with state and incarnation.
  nlohmann::json MembersJson() const;
  // GET /v1/placement: the replica set of each (topic, partition) over the
  // live members, per-node counts and the imbalance.
  nlohmann::json PlacementJson(const TopicList& topics, size_t replication) const;

  const std::string& peer_endpoint() const { return peers_->endpoint(); }

  // The injected network partition (tests only: sprawl-server
  // --fault-injection, POST /v1/faults/partition): every peer message in and
  // out dropped until healed. See transport::PeerTransport::SetCut.
  void SetCutOff(bool cut) { peers_->SetCut(cut); }
  bool cut_off() const { return peers_->cut(); }

  // Where messages of another peer-port kind (RAFT, META_FORWARD) go. Before
  // the loop runs.
  void SetPeerHandler(uint16_t type, std::function<void(std::string body)> handler) {
    handlers_[type] = std::move(handler);
  }
  // Called on the loop for every change of a member's state (alive, suspect,
  // dead, left). Before the loop runs.
  void SetMemberListener(std::function<void(const overlay::Member&)> listener) {
    member_listener_ = std::move(listener);
  }
  // Called on the loop with a member's id when this node's connection to
  // its peer port drops (its process died, most likely), well before the
  // membership can declare it dead. Before the loop runs.
  void SetConnectionLostListener(std::function<void(const std::string& member_id)> listener);
  // Sends to the member whose Raft node id (replication::RaftNodeId of its
  // member id) is `raft_id`, if it is alive or suspect; lost otherwise.
  void SendToMember(uint64_t raft_id, uint16_t type, std::string_view body);
  // The ids of the live members, this node included.
  std::vector<std::string> LiveMemberIds() const;
  // The ids of the members this node has seen dead or gone (left) without
  // coming back for at least `at_least`.
  std::vector<std::string> GoneFor(std::chrono::milliseconds at_least) const;
  // The replica sets of partitions [from, to) of `topic` over the live
  // members (placement order), for a new topic or new partitions.
  std::vector<std::vector<std::string>> Assign(const std::string& topic, uint32_t from, uint32_t to,
                                               size_t replication) const;
  // The client address of a live (alive or suspect) member; "" otherwise.
  std::string ClientAddressOf(std::string_view member_id) const;
  // The member id whose Raft node id is `raft_id`, among the known members;
  // "" when none.
  std::string MemberIdOf(uint64_t raft_id) const;

 private:
  Cluster(const Clock& clock, metrics::Registry& registry);
  void OnGossip(uint16_t type, std::string body);
  void Flush();
  int64_t NowMs() const { return clock_.MonotonicNanos() / 1'000'000; }
  void UpdateGauges();
  void Report(int64_t now_ms);
  overlay::Placement LivePlacement() const;

  const Clock& clock_;
  // Members dead or left, with when this node first saw them so (ms).
  std::map<std::string, int64_t> gone_since_ms_;
  std::unique_ptr<transport::PeerTransport> peers_;
  std::unique_ptr<overlay::Membership> membership_;
  metrics::Counter& rejected_;
  metrics::Counter& probes_;
  metrics::Counter& probes_failed_;
  metrics::Counter& suspicions_;
  metrics::Counter& refutations_;
  metrics::Gauge& alive_;
  metrics::Gauge& suspect_;
  metrics::Gauge& dead_;
  metrics::Gauge& left_;
  metrics::Gauge& queue_;
  metrics::Histogram& detection_;
  metrics::Gauge& imbalance_;  // permille: gauges hold integers
  metrics::Gauge& placed_;
  std::function<TopicList()> topics_;
  std::map<uint16_t, std::function<void(std::string)>> handlers_;
  std::function<void(const overlay::Member&)> member_listener_;
  int64_t next_report_ms_ = 0;
  overlay::MembershipMetrics reported_;  // what the counters already hold
};

}  // namespace sprawl::node
