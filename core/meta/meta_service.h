#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/broker/broker.h"
#include "core/meta/meta_state.h"
#include "core/replication/host/raft_host.h"
#include "core/storage/store.h"
#include "core/util/clock.h"

namespace sprawl::meta {

namespace pb = protocol::pb;

struct MetaServiceOptions {
  std::string node_id;
  // How the metadata group is first formed (docs/replication.md): N >= 1
  // waits until gossip shows N live members, then every node derives the
  // same voters (the first min(N, 5) member ids in sorted order); 0 joins a
  // cluster whose group exists: the leader adds this node as a learner and
  // promotes it while the group has fewer than 5 voters.
  uint32_t bootstrap_expect = 1;
  // How long a proposed change may take to commit and apply here before the
  // request gets TIMEOUT (retriable; the change may still apply).
  std::chrono::milliseconds request_timeout{5000};
  // How long a member must have been dead (or gone) before the metadata
  // group's leader replaces its partition replicas on live members.
  std::chrono::milliseconds replace_after{300'000};
};

// The cluster's topic metadata as a Raft group (group kGroup, on up to five
// voters): topic create, alter and delete asked of any node are proposed to
// the group (forwarded to its leader over the peer port when this node does
// not lead), and every node applies the committed commands to its MetaState
// and then makes its own broker's topics match, so a topic exists on every
// node. The asking node answers its client once it applied the command
// itself. Loop thread only.
class MetaService {
 public:
  static constexpr replication::GroupId kGroup = 1;
  static constexpr size_t kMaxVoters = 5;
  using Post = std::function<void(std::function<void()>)>;
  // Member ids of the live cluster members, this node included.
  using LiveMembers = std::function<std::vector<std::string>()>;
  // Sends a META_FORWARD body to node `to` over the peer port; may be lost.
  using Forward = std::function<void(replication::NodeId to, std::string body)>;
  // The replica sets of partitions [from, to) of a topic over the live
  // members, placement order (Cluster::Assign).
  using Place = std::function<std::vector<std::vector<std::string>>(
      const std::string& topic, uint32_t from, uint32_t to, size_t replication)>;
  // Who follows where topics are placed (PartitionReplicas): `changed` when
  // a committed command changed a topic (null: deleted), `reconciled` once
  // this node's broker holds the topic as the metadata says.
  struct PlacementListener {
    std::function<void(const std::string& topic, const MetaTopic* now)> changed;
    std::function<void(const std::string& topic)> reconciled;
  };

  // Everything must outlive the service.
  MetaService(MetaServiceOptions options, replication::RaftHost& host,
              replication::RaftStorage& raft_storage, broker::Broker& broker, storage::Store& store,
              const Clock& clock, Post post, LiveMembers live, Forward forward);
  ~MetaService();

  // Member ids of the members dead or gone for at least the given time
  // (Cluster::GoneFor).
  using Gone = std::function<std::vector<std::string>(std::chrono::milliseconds)>;
  // Before Start: where the leader learns which members to replace.
  void SetGone(Gone gone) { gone_ = std::move(gone); }
  // Before Start: how new topics are placed, and who hears of placements.
  void SetPlacement(Place place, PlacementListener listener) {
    place_ = std::move(place);
    placement_listener_ = std::move(listener);
  }
  // Whether this node recorded a topic id for `topic` (its local topic was
  // made for the cluster's metadata).
  bool HasRecordedId(std::string_view topic) const { return local_ids_.count(topic) > 0; }

  // Before the loop runs: loads the topic ids of this node's topics and
  // opens the metadata group when it has stored state or this node joins
  // (bootstrap_expect 0); otherwise Tick opens it once the bootstrap
  // condition holds.
  Status Start();

  void Tick();
  int64_t NextDeadlineNanos() const { return next_tick_ns_; }

  // Topic administration, answered on the loop once this node applied the
  // change (or why it changed nothing). Bad input is refused at once and
  // changes nothing; RETRY_AFTER while the group has no leader or is not
  // formed; TIMEOUT when the change did not apply within request_timeout.
  void CreateTopic(const pb::CreateTopicRequest& request, broker::Broker::TopicDone done);
  void AlterTopic(const pb::AlterTopicRequest& request, broker::Broker::TopicDone done);
  void DeleteTopic(const pb::DeleteTopicRequest& request, std::function<void(Status)> done);

  // INIT_PRODUCER: a new epoch for the producers named `request.name()`,
  // once this node applied it; every older instance is fenced from then on
  // (docs/replication.md, "Fencing"). INVALID_ARGUMENT for a name of 0 or
  // over 255 bytes; RETRY_AFTER and TIMEOUT as for topics.
  void InitProducer(const pb::InitProducerRequest& request,
                    std::function<void(Result<pb::InitProducerResponse>)> done);
  // The latest epoch this node applied for a named producer family (0: none).
  uint16_t LatestProducerEpoch(uint64_t family) const { return state_.FamilyEpoch(family); }

  // A META_FORWARD body from the peer port: proposed when this node leads,
  // dropped otherwise (the asking node times out).
  void OnForward(std::string_view body);
  // Sets the description's topic id from this node's records, then lets the
  // decorator (the replicas: leaders, replica sets, terms) add its part.
  void Decorate(pb::TopicDescription* description) const;
  void SetDecorator(std::function<void(pb::TopicDescription*)> decorator) {
    decorator_ = std::move(decorator);
  }
  // The broker's description of `topic` once a change to it is applied here,
  // with its topic id (Decorate).
  Result<pb::TopicDescription> DescribeApplied(const std::string& topic) const;
  // A graceful stop: as the metadata group's leader, hands it to its most
  // caught-up voter, so topic administration finds a leader at once.
  // Whether it started a hand-over.
  bool HandOver() { return open_ && host_.HandOver(kGroup); }
  // Whether this node leads the metadata group now.
  bool Leads() const;
  // GET /v1/meta: this node's view of the metadata group.
  nlohmann::json StatusJson();

 private:
  struct Pending {
    std::function<void(Status)> finish;
    int64_t deadline_ns;
    std::string encoded;              // the command, to send again
    replication::NodeId sent_to = 0;  // the leader it went to; 0 = none yet
    int64_t sent_ns = 0;
  };
  // Sends (or proposes) every pending command whose leader changed since.
  void Resend();
  void SendTo(replication::NodeId leader, Pending& pending);
  void OpenGroup(const replication::ConfState& initial);
  void MaybeBootstrap();
  void ManageMembership();
  // As the group's leader: proposes a move for each topic with replicas on
  // members gone longer than replace_after (one move per topic in flight).
  void ReplaceGone();
  void Submit(MetaCommand command, std::function<void(Status)> finish);
  void Apply(replication::GroupId group, const replication::Entry& entry);
  // Works through the topics whose metadata changed, one at a time.
  void Pump();
  void Reconcile(const std::string& topic, std::function<void(Status)> then);
  void CreateLocal(const MetaTopic& desired, const std::string& topic,
                   std::function<void(Status)> then);
  void RecordId(const std::string& topic, const std::string& id, std::function<void(Status)> then);
  std::string NewRequestId();
  // Every partition's replica set resized to `factor`: the first replicas
  // kept, members added in placement order over the live members.
  // INVALID_ARGUMENT when too few members are live.
  Result<std::vector<std::vector<std::string>>> ResizeReplicaSets(const std::string& topic,
                                                                  const MetaTopic& current,
                                                                  uint32_t factor) const;
  std::string MemberName(replication::NodeId id) const;

  MetaServiceOptions options_;
  replication::RaftHost& host_;
  replication::RaftStorage& raft_storage_;
  broker::Broker& broker_;
  storage::Store& store_;
  const Clock& clock_;
  Post post_;
  LiveMembers live_;
  Forward forward_;
  Place place_;
  Gone gone_;
  std::set<std::string, std::less<>> moving_;  // topics whose move is in flight
  uint64_t ticks_ = 0;
  std::function<void(pb::TopicDescription*)> decorator_;
  PlacementListener placement_listener_;
  const replication::NodeId self_;

  MetaState state_;
  bool open_ = false;
  int64_t next_tick_ns_ = 0;
  uint64_t next_request_ = 0;
  std::string incarnation_;  // drawn once: request ids differ across restarts
  std::map<std::string, Pending> pending_;
  // Topics to bring in line with the metadata, with the request to answer.
  struct Work {
    std::string topic;
    std::string request_id;
    Status outcome;
  };
  std::deque<Work> work_;
  bool working_ = false;
  // The topic id each local topic was created for ("meta/topic-id/<name>").
  std::map<std::string, std::string, std::less<>> local_ids_;
  // Member ids by Raft id, for every member ever seen live.
  std::map<replication::NodeId, std::string> names_;
  std::mt19937_64 rng_{std::random_device{}()};  // topic ids
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sprawl::meta
