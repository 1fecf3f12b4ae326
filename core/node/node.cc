#include "core/node/node.h"

#include <algorithm>
#include <future>

#include "core/protocol/message_type.h"
#include "core/replica/control_entry.h"
#include "core/util/logging.h"

namespace sprawl::node {
namespace {

// How long a graceful stop waits for the partitions it leads to move to
// their other replicas (about a round trip each; an election timeout bounds
// a transfer whose target does not take over).
constexpr std::chrono::seconds kLeadershipTransferWait{3};
// The hint of a request-wide RETRY_AFTER (per-batch hints come from the broker).
constexpr uint32_t kDefaultRetryAfterMs = 10;

}  // namespace

Node::Node(const NodeConfig& config) : config_(config) {}

Result<std::unique_ptr<Node>> Node::Start(const NodeConfig& config) {
  SPRAWL_RETURN_IF_ERROR(config.Validate());
  log::NodeScope log_scope(config.node_id);
  std::unique_ptr<Node> node(new Node(config));
  storage::StoreOptions store_options;
  store_options.mode = config.storage;
  store_options.data_dir = config.data_dir;
  store_options.fsync = config.fsync;
  store_options.memory_tier_bytes = config.memory_tier_bytes;
  store_options.memory_tier_bytes_per_partition = config.memory_bytes_per_partition;
  store_options.file_system = config.file_system;
  store_options.min_free_disk_bytes = config.min_free_disk_bytes;
  store_options.rocksdb_db_options = config.rocksdb_db_options;
  store_options.rocksdb_log_options = config.rocksdb_log_options;
  SPRAWL_ASSIGN_OR_RETURN(node->store_, storage::Store::Open(store_options, node->registry_));

  const Clock& clock = SystemClock::Instance();
  node->loop_ = std::make_unique<transport::EventLoop>(clock);
  transport::EventLoop* loop = node->loop_.get();
  broker::BrokerOptions broker_options;
  broker_options.max_pending_publish_bytes = config.max_pending_publish_bytes;
  node->broker_ = std::make_unique<broker::Broker>(
      *node->store_, clock, node->registry_,
      [loop](std::function<void()> fn) { loop->Post(std::move(fn)); }, broker_options);
  SPRAWL_RETURN_IF_ERROR(node->broker_->Open());
  node->dispatcher_ = std::make_unique<RequestDispatcher>(*node->broker_, config.node_id, clock);

  Node* raw = node.get();
  SPRAWL_ASSIGN_OR_RETURN(
      node->endpoint_,
      transport::ServerEndpoint::Bind(
          node->context_, *loop, "tcp://" + config.bind + ":" + std::to_string(config.client_port),
          transport::Limits{}, node->registry_,
          [raw](transport::Incoming request) { raw->OnRequest(std::move(request)); }));
  broker::Broker* broker = node->broker_.get();
  transport::ServerEndpoint* endpoint = node->endpoint_.get();
  RestMembers* rest = &node->rest_members_;
  broker->SetDeliverySink([endpoint, rest](const std::string& connection,
                                           broker::pb::DeliverPush push, broker::Batches batches) {
    if (connection.starts_with(RestMembers::kConnectionPrefix)) {
      return rest->OnDeliver(connection, push, batches);
    }
    transport::Outgoing out;
    out.header.type = static_cast<uint16_t>(protocol::MessageType::kDeliver);
    push.SerializeToString(&out.body);
    out.batches = std::move(batches);
    endpoint->Send(connection, out);
  });
  node->http_api_ =
      std::make_unique<HttpApi>(*broker, *loop, node->rest_members_, node->registry_, node->ready_);
  node->http_api_->SetConsole(config.console);
  node->http_api_->SetFaultInjection(config.fault_injection);
  admin::HttpServerOptions http_options;
  http_options.bind = config.bind;
  http_options.port = config.http_port;
  SPRAWL_ASSIGN_OR_RETURN(
      node->http_,
      admin::HttpServer::Start(http_options, node->http_api_->Routes(), node->registry_));
  SPRAWL_ASSIGN_OR_RETURN(
      node->cluster_,
      Cluster::Start(node->context_, *loop, clock, config, node->endpoint_->endpoint(),
                     "http://" + config.bind + ":" + std::to_string(node->http_->port()),
                     node->registry_));
  Cluster* cluster = node->cluster_.get();
  node->http_api_->SetCluster(cluster);  // before the loop runs what HTTP posts
  cluster->SetTopicSource([broker] { return ListTopicPartitions(*broker); });

  // The metadata group: Raft state in this node's store, Raft messages on
  // the peer port, topic administration proposed to the group.
  constexpr uint16_t kRaftType = static_cast<uint16_t>(protocol::MessageType::kRaft);
  constexpr uint16_t kForwardType = static_cast<uint16_t>(protocol::MessageType::kMetaForward);
  constexpr uint16_t kReplicaRemovedType =
      static_cast<uint16_t>(protocol::MessageType::kReplicaRemoved);
  auto post = [loop](std::function<void()> fn) { loop->Post(std::move(fn)); };
  node->raft_storage_ = std::make_unique<replication::RaftStorage>(*node->store_);
  node->raft_host_ = std::make_unique<replication::RaftHost>(
      replication::RaftNodeId(config.node_id), *node->raft_storage_, clock, post,
      [cluster](replication::NodeId to, std::string bytes) {
        cluster->SendToMember(to, kRaftType, bytes);
      },
      replication::RaftHostOptions{});
  replication::RaftHost* host = node->raft_host_.get();
  meta::MetaServiceOptions meta_options;
  meta_options.node_id = config.node_id;
  meta_options.bootstrap_expect = config.BootstrapExpect();
  meta_options.replace_after = config.replace_after;
  node->meta_ = std::make_unique<meta::MetaService>(
      meta_options, *host, *node->raft_storage_, *broker, *node->store_, clock, post,
      [cluster] { return cluster->LiveMemberIds(); },
      [cluster](replication::NodeId to, std::string body) {
        cluster->SendToMember(to, kForwardType, body);
      });
  meta::MetaService* meta = node->meta_.get();
  meta->SetGone(
      [cluster](std::chrono::milliseconds at_least) { return cluster->GoneFor(at_least); });
  // Partitions as Raft groups on the same host, placed by the metadata.
  node->replicas_ = std::make_unique<replica::PartitionReplicas>(
      config.node_id, *host, *broker, *node->store_, post,
      replica::ClusterView{[cluster](std::string_view id) { return cluster->ClientAddressOf(id); },
                           [cluster](replication::NodeId id) { return cluster->MemberIdOf(id); },
                           [cluster](replication::NodeId to, replication::GroupId group) {
                             cluster->SendToMember(to, kReplicaRemovedType,
                                                   replica::EncodeReplicaRemoved(group));
                           }},
      [meta](std::string_view topic) { return meta->HasRecordedId(topic); }, node->registry_);
  replica::PartitionReplicas* replicas = node->replicas_.get();
  {
    // In Raft ticks (RaftHostOptions::tick), at least one when enabled.
    const auto tick = replication::RaftHostOptions{}.tick;
    const auto after = config.leader_balance_after;
    replicas->SetLeaderBalanceAfter(
        after.count() == 0 ? 0 : std::max<uint64_t>(1, static_cast<uint64_t>(after / tick)));
  }
  broker->SetReplicationHook(replicas);
  broker->SetLatestProducerEpoch(
      [meta](uint64_t family) { return meta->LatestProducerEpoch(family); });
  meta->SetDecorator([replicas](broker::pb::TopicDescription* d) { replicas->Decorate(d); });
  meta->SetPlacement(
      [cluster](const std::string& topic, uint32_t from, uint32_t to, size_t replication) {
        return cluster->Assign(topic, from, to, replication);
      },
      meta::MetaService::PlacementListener{
          [replicas](const std::string& topic, const meta::MetaTopic* now) {
            if (now == nullptr) return replicas->OnPlacement(topic, nullptr);
            replica::Placement placement{now->topic_id, now->config.replication_factor,
                                         now->assignment, now->moves};
            replicas->OnPlacement(topic, &placement);
          },
          [replicas](const std::string& topic) {
            Status opened = replicas->Open(topic);
            if (!opened.ok()) {
              log::Error("partition replicas not opened",
                         {{"topic", topic}, {"error", opened.ToString()}});
            }
          }});
  node->dispatcher_->SetReplicas(replicas);
  cluster->SetPeerHandler(kRaftType, [host](std::string body) { host->Receive(body); });
  cluster->SetPeerHandler(kForwardType, [meta](std::string body) { meta->OnForward(body); });
  cluster->SetPeerHandler(kReplicaRemovedType, [replicas](std::string body) {
    auto group = replica::DecodeReplicaRemoved(body);
    if (group.ok()) replicas->OnRemoved(*group);
  });
  // A peer connection that drops (a killed process closes its sockets) lets
  // the groups that node led elect at once, not after an election timeout.
  cluster->SetConnectionLostListener([host](const std::string& member_id) {
    log::Info("peer connection lost", {{"member", member_id}});
    host->OnNodeDown(replication::RaftNodeId(member_id));
  });
  cluster->SetMemberListener([host](const overlay::Member& m) {
    if (m.state == overlay::MemberState::kDead || m.state == overlay::MemberState::kLeft) {
      host->OnNodeDown(replication::RaftNodeId(m.meta.id));
    }
  });
  SPRAWL_RETURN_IF_ERROR(meta->Start());
  node->dispatcher_->SetMeta(meta);
  node->http_api_->SetMeta(meta);

  node->group_metrics_ = std::make_unique<GroupMetrics>(*broker, node->registry_);
  GroupMetrics* group_metrics = node->group_metrics_.get();
  loop->SetTimer(
      [broker, rest, cluster, host, meta, group_metrics] {
        return std::min({broker->NextDeadlineNanos(), rest->NextDeadlineNanos(),
                         cluster->NextDeadlineNanos(), host->NextDeadlineNanos(),
                         meta->NextDeadlineNanos(), group_metrics->NextDeadlineNanos()});
      },
      [broker, rest, cluster, host, meta, replicas, group_metrics] {
        broker->Tick();
        const int64_t now = SystemClock::Instance().MonotonicNanos();
        rest->Tick(now);
        group_metrics->Tick(now);
        cluster->Tick();
        if (now >= host->NextDeadlineNanos()) {
          host->Tick();
          replicas->Tick();
        }
        if (now >= meta->NextDeadlineNanos()) meta->Tick();
      });
  node->retention_ =
      std::make_unique<storage::RetentionTask>(*node->store_, config.retention_interval);
  node->loop_thread_ = std::thread([loop, node_id = config.node_id] {
    log::NodeScope loop_scope(node_id);
    loop->Run();
  });
  node->ready_ = true;
  log::Info("node listening",
            {{"client", node->endpoint_->endpoint()},
             {"peer", node->cluster_->peer_endpoint()},
             {"http", "http://" + config.bind + ":" + std::to_string(node->http_->port())},
             {"storage", config.storage == storage::StorageMode::kDisk ? "disk:" + config.data_dir
                                                                       : std::string("memory")},
             {"fsync", config.fsync.ToString()}});
  return node;
}

Node::~Node() { Stop(); }

void Node::OnRequest(transport::Incoming request) {
  const transport::FrameHeader header = request.message.header;
  const bool no_reply = (header.flags & transport::kFlagNoReply) != 0;
  transport::ServerEndpoint* endpoint = endpoint_.get();
  const std::string routing_id = std::move(request.routing_id);
  ReplyFn reply = [endpoint, routing_id, header, no_reply](Result<EncodedReply> result) {
    if (no_reply) return;
    if (!result.ok()) {
      const Status& s = result.status();
      endpoint->SendError(routing_id, header, s,
                          s.code() == ErrorCode::kRetryAfter ? kDefaultRetryAfterMs : 0);
      return;
    }
    transport::Outgoing out;
    out.header.type = header.type;
    out.header.correlation_id = header.correlation_id;
    out.header.flags = transport::kFlagResponse;
    out.body = std::move(result->body);
    out.batches = std::move(result->batches);
    endpoint->Send(routing_id, out);
  };
  dispatcher_->Dispatch(header.type, request.message.body, std::move(request.message.batches),
                        routing_id, std::move(reply));
}

void Node::Stop() {
  if (stopped_) return;
  stopped_ = true;
  log::NodeScope log_scope(config_.node_id);
  ready_ = false;
  // A start that failed before the loop ran has nothing to drain.
  if (!loop_thread_.joinable()) return;
  // New requests get CLOSED from here on. The groups this node leads (its
  // partitions', the metadata group) go to their most caught-up replicas
  // first, while the peers still hear from it (a leave makes them elect on
  // their own, a little later).
  std::promise<size_t> stopped_receiving;
  loop_->Post([this, &stopped_receiving] {
    endpoint_->StopReceiving();
    stopped_receiving.set_value((replicas_ ? replicas_->TransferLeadership() : 0) +
                                (meta_ && meta_->HandOver() ? 1 : 0));
  });
  const size_t handed = stopped_receiving.get_future().get();
  const auto transfer_deadline = std::chrono::steady_clock::now() + kLeadershipTransferWait;
  size_t still_led = handed;
  while (still_led > 0 && std::chrono::steady_clock::now() < transfer_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::promise<size_t> led;
    loop_->Post([this, &led] {
      led.set_value((replicas_ ? replicas_->Led() : 0) + (meta_ && meta_->Leads() ? 1 : 0));
    });
    still_led = led.get_future().get();
  }
  if (handed > 0) {
    log::Info("leadership handed over before stopping",
              {{"groups", std::to_string(handed)}, {"still_led", std::to_string(still_led)}});
  }
  std::promise<void> left;
  loop_->Post([this, &left] {
    cluster_->Leave();  // a graceful stop is a leave, not a failure
    left.set_value();
  });
  left.get_future().wait();
  // Appends in progress complete and are acknowledged through the loop,
  // which still runs; then everything is synced.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up) {
    std::promise<bool> busy;
    loop_->Post([this, &busy] { busy.set_value(broker_->PublishesInProgress()); });
    if (!busy.get_future().get()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::promise<void> checkpointed;
  loop_->Post([this, &checkpointed] {
    broker_->CheckpointGroups();
    checkpointed.set_value();
  });
  checkpointed.get_future().wait();
  Status flushed = store_->Flush();
  if (!flushed.ok()) log::Error("flush on stop failed", {{"error", flushed.ToString()}});
  loop_->Stop();
  loop_thread_.join();
  // HTTP handlers post to the loop: stop them before the loop goes away.
  http_.reset();
  retention_.reset();
  if (broker_) {
    broker_->SetReplicationHook(nullptr);
    broker_->SetLatestProducerEpoch(nullptr);  // it reads the metadata reset below
  }
  replicas_.reset();
  meta_.reset();
  raft_host_.reset();
  raft_storage_.reset();
  cluster_.reset();
  endpoint_.reset();
  dispatcher_.reset();
  group_metrics_.reset();
  broker_.reset();
  store_.reset();
  log::Info("node stopped");
}

}  // namespace sprawl::node
