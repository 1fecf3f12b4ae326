#include "core/node/cluster.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "core/overlay/placement.h"
#include "core/protocol/message_type.h"
#include "core/replication/host/raft_host.h"
#include "core/util/logging.h"

namespace sprawl::node {
namespace {

constexpr uint16_t kGossip = static_cast<uint16_t>(protocol::MessageType::kGossip);
// How often the node's load and the placement gauges are brought up to date.
constexpr int64_t kReportPeriodMs = 1000;

}  // namespace

TopicList ListTopicPartitions(const broker::Broker& broker) {
  TopicList topics;
  const broker::pb::ListTopicsResponse listed = broker.ListTopics();
  for (const auto& t : listed.topics()) {
    topics.emplace_back(t.name(), static_cast<uint32_t>(t.partitions_size()));
  }
  return topics;
}

Cluster::Cluster(const Clock& clock, metrics::Registry& registry)
    : clock_(clock),
      rejected_(registry.GetCounter("sprawl_membership_messages_rejected_total",
                                    "Gossip messages that did not decode.")),
      probes_(registry.GetCounter("sprawl_membership_probes_total", "Probes sent.")),
      probes_failed_(registry.GetCounter("sprawl_membership_probes_failed_total",
                                         "Probes answered neither directly nor indirectly.")),
      suspicions_(registry.GetCounter("sprawl_membership_suspicions_total",
                                      "Suspicions this node raised.")),
      refutations_(registry.GetCounter("sprawl_membership_refutations_total",
                                       "Suspicions about this node it refuted.")),
      alive_(registry.GetGauge("sprawl_membership_members", "Members by state.",
                               {{"state", "alive"}})),
      suspect_(registry.GetGauge("sprawl_membership_members", "Members by state.",
                                 {{"state", "suspect"}})),
      dead_(
          registry.GetGauge("sprawl_membership_members", "Members by state.", {{"state", "dead"}})),
      left_(
          registry.GetGauge("sprawl_membership_members", "Members by state.", {{"state", "left"}})),
      queue_(registry.GetGauge("sprawl_membership_dissemination_queue",
                               "Updates waiting to be gossiped.")),
      detection_(
          registry.GetHistogram("sprawl_membership_detection_seconds",
                                "From the last message of a member to this node declaring it dead.",
                                {}, {0.5, 1, 1.5, 2, 3, 5, 10, 30})),
      imbalance_(registry.GetGauge(
          "sprawl_placement_imbalance_permille",
          "Replicas on the busiest live node over the mean, in thousandths (1000 = even), for "
          "this node's topics at the default replication factor.")),
      placed_(registry.GetGauge("sprawl_placement_partitions",
                                "Partitions of this node's topics that placement covers.")) {}

Result<std::unique_ptr<Cluster>> Cluster::Start(zmq::context_t& context, transport::EventLoop& loop,
                                                const Clock& clock, const NodeConfig& config,
                                                const std::string& client_address,
                                                const std::string& http_address,
                                                metrics::Registry& registry) {
  std::unique_ptr<Cluster> cluster(new Cluster(clock, registry));
  Cluster* raw = cluster.get();
  SPRAWL_ASSIGN_OR_RETURN(
      cluster->peers_,
      transport::PeerTransport::Bind(
          context, loop, "tcp://" + config.bind + ":" + std::to_string(config.peer_port),
          transport::Limits{}, registry, transport::PeerTransport::Options{},
          [raw](uint16_t type, std::string body) { raw->OnGossip(type, std::move(body)); }));
  overlay::NodeMeta self;
  self.id = config.node_id;
  self.peer_address = cluster->peers_->endpoint();
  self.client_address = client_address;
  self.http_address = http_address;
  self.rack = config.rack;
  self.start_time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  cluster->membership_ =
      std::make_unique<overlay::Membership>(self, config.membership, std::random_device{}());
  std::vector<std::string> seeds;
  for (const std::string& s : config.join) seeds.push_back("tcp://" + SeedHostPort(s));
  cluster->membership_->Join(seeds, cluster->NowMs());
  cluster->Flush();
  return cluster;
}

void Cluster::OnGossip(uint16_t type, std::string body) {
  if (type != kGossip) {
    auto handler = handlers_.find(type);
    if (handler != handlers_.end()) handler->second(std::move(body));
    return;
  }
  auto message = overlay::Decode(body);
  if (!message.ok()) {
    rejected_.Increment();
    log::Debug("gossip message rejected", {{"error", message.status().ToString()}});
    return;
  }
  membership_->Receive(*message, NowMs());
  Flush();
}

void Cluster::Tick() {
  const int64_t now = NowMs();
  membership_->Tick(now);
  if (now >= next_report_ms_) Report(now);
  Flush();
}

int64_t Cluster::NextDeadlineNanos() const {
  return std::min(membership_->NextTickMs(), next_report_ms_) * 1'000'000;
}

void Cluster::Report(int64_t now_ms) {
  next_report_ms_ = now_ms + kReportPeriodMs;
  if (!topics_) return;
  const TopicList topics = topics_();
  uint64_t partitions = 0;
  for (const auto& [name, count] : topics) partitions += count;
  // Every partition is served here until replication places them elsewhere.
  const uint32_t load = static_cast<uint32_t>(std::min<uint64_t>(partitions, UINT32_MAX));
  if (load != membership_->self().meta.load) {
    overlay::NodeMeta meta = membership_->self().meta;
    meta.load = load;
    membership_->UpdateMeta(meta, now_ms);
  }
  overlay::Placement placement = LivePlacement();
  const overlay::Balance balance =
      overlay::MeasureBalance(placement, topics, kPlacementReplication);
  imbalance_.Set(static_cast<int64_t>(balance.imbalance * 1000.0 + 0.5));
  placed_.Set(static_cast<int64_t>(partitions));
}

overlay::Placement Cluster::LivePlacement() const {
  std::vector<overlay::PlacementNode> nodes;
  for (const auto& [id, m] : membership_->members()) {
    if (m.state == overlay::MemberState::kAlive) nodes.push_back({id, m.meta.rack});
  }
  return overlay::Placement(std::move(nodes));
}

void Cluster::Leave() {
  membership_->Leave(NowMs());
  Flush();
}

void Cluster::Flush() {
  for (const overlay::Outgoing& out : membership_->TakeOutgoing()) {
    peers_->Send(out.to, kGossip, overlay::Encode(out.message));
  }
  for (const overlay::Event& e : membership_->TakeEvents()) {
    const overlay::Member& m = e.member;
    log::Info("cluster member " + std::string(overlay::MemberStateName(m.state)),
              {{"member", m.meta.id},
               {"incarnation", std::to_string(m.incarnation)},
               {"peer", m.meta.peer_address}});
    if (m.state == overlay::MemberState::kDead || m.state == overlay::MemberState::kLeft) {
      peers_->Disconnect(m.meta.peer_address);
      gone_since_ms_.emplace(m.meta.id, NowMs());
    } else {
      gone_since_ms_.erase(m.meta.id);
    }
    if (member_listener_) member_listener_(m);
  }
  UpdateGauges();
}

void Cluster::UpdateGauges() {
  const overlay::MembershipMetrics& now = membership_->metrics();
  probes_.Increment(now.probes_sent - reported_.probes_sent);
  probes_failed_.Increment(now.probes_failed - reported_.probes_failed);
  suspicions_.Increment(now.suspicions_raised - reported_.suspicions_raised);
  refutations_.Increment(now.suspicions_refuted - reported_.suspicions_refuted);
  reported_ = now;
  for (int64_t ms : membership_->TakeDetectionTimes()) {
    detection_.Observe(static_cast<double>(ms) / 1000.0);
  }
  alive_.Set(static_cast<int64_t>(membership_->count(overlay::MemberState::kAlive)));
  suspect_.Set(static_cast<int64_t>(membership_->count(overlay::MemberState::kSuspect)));
  dead_.Set(static_cast<int64_t>(membership_->count(overlay::MemberState::kDead)));
  left_.Set(static_cast<int64_t>(membership_->count(overlay::MemberState::kLeft)));
  queue_.Set(static_cast<int64_t>(membership_->pending_updates()));
}

void Cluster::SendToMember(uint64_t raft_id, uint16_t type, std::string_view body) {
  for (const auto& [id, m] : membership_->members()) {
    if (m.state != overlay::MemberState::kAlive && m.state != overlay::MemberState::kSuspect) {
      continue;
    }
    if (replication::RaftNodeId(id) != raft_id) continue;
    if (id != membership_->self().meta.id) peers_->Send(m.meta.peer_address, type, body);
    return;
  }
}

void Cluster::SetConnectionLostListener(
    std::function<void(const std::string& member_id)> listener) {
  peers_->SetConnectionLost([this, listener = std::move(listener)](const std::string& address) {
    for (const auto& [id, m] : membership_->members()) {
      if (m.meta.peer_address == address && id != membership_->self().meta.id) {
        listener(id);
        return;
      }
    }
  });
}

std::vector<std::string> Cluster::LiveMemberIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, m] : membership_->members()) {
    if (m.state == overlay::MemberState::kAlive || id == membership_->self().meta.id) {
      ids.push_back(id);
    }
  }
  return ids;
}

std::vector<std::vector<std::string>> Cluster::Assign(const std::string& topic, uint32_t from,
                                                      uint32_t to, size_t replication) const {
  overlay::Placement placement = LivePlacement();
  std::vector<std::vector<std::string>> out;
  for (uint32_t p = from; p < to; ++p) out.push_back(placement.ReplicaSet(topic, p, replication));
  return out;
}

std::vector<std::string> Cluster::GoneFor(std::chrono::milliseconds at_least) const {
  std::vector<std::string> out;
  const int64_t now = NowMs();
  for (const auto& [id, since] : gone_since_ms_) {
    if (now - since >= at_least.count()) out.push_back(id);
  }
  return out;
}

std::string Cluster::ClientAddressOf(std::string_view member_id) const {
  for (const auto& [id, m] : membership_->members()) {
    if (id != member_id) continue;
    const bool live = m.state == overlay::MemberState::kAlive ||
                      m.state == overlay::MemberState::kSuspect ||
                      id == membership_->self().meta.id;
    return live ? m.meta.client_address : std::string();
  }
  return "";
}

std::string Cluster::MemberIdOf(uint64_t raft_id) const {
  for (const auto& [id, m] : membership_->members()) {
    if (replication::RaftNodeId(id) == raft_id) return id;
  }
  return "";
}

nlohmann::json Cluster::MembersJson() const {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& [id, m] : membership_->members()) {
    members.push_back({{"id", id},
                       {"state", overlay::MemberStateName(m.state)},
                       {"incarnation", m.incarnation},
                       {"peer_address", m.meta.peer_address},
                       {"client_address", m.meta.client_address},
                       {"http_address", m.meta.http_address},
                       {"rack", m.meta.rack},
                       {"start_time_ms", m.meta.start_time_ms},
                       {"load", m.meta.load}});
  }
  return {{"node_id", membership_->self().meta.id},
          {"local_health", membership_->local_health()},
          {"members", members}};
}

nlohmann::json Cluster::PlacementJson(const TopicList& topics, size_t replication) const {
  overlay::Placement placement = LivePlacement();
  nlohmann::json partitions = nlohmann::json::array();
  for (const auto& [topic, count] : topics) {
    for (uint32_t p = 0; p < count; ++p) {
      partitions.push_back({{"topic", topic},
                            {"partition", p},
                            {"replicas", placement.ReplicaSet(topic, p, replication)}});
    }
  }
  const overlay::Balance balance = overlay::MeasureBalance(placement, topics, replication);
  return {{"replication", replication},
          {"nodes", placement.nodes().size()},
          {"partitions", partitions},
          {"replicas_per_node", balance.replicas},
          {"imbalance", balance.imbalance}};
}

}  // namespace sprawl::node
