#pragma once

#include <zmq.hpp>

#include <memory>
#include <string>
#include <thread>

#include "core/admin/http_server.h"
#include "core/broker/broker.h"
#include "core/meta/meta_service.h"
#include "core/node/cluster.h"
#include "core/node/group_metrics.h"
#include "core/node/http_api.h"
#include "core/node/node_config.h"
#include "core/node/request_dispatcher.h"
#include "core/node/rest_members.h"
#include "core/replica/partition_replicas.h"
#include "core/replication/host/raft_host.h"
#include "core/replication/host/raft_storage.h"
#include "core/storage/retention_task.h"
#include "core/storage/store.h"
#include "core/transport/event_loop.h"
#include "core/transport/server_endpoint.h"
#include "core/util/metrics.h"

namespace sprawl::node {

// One running Sprawl node: the store, the broker on its event loop thread,
// the client port and the background tasks. What sprawl-server runs and
// what an application embeds.
class Node {
 public:
  // Opens the store, recovers every topic, binds the ports and starts
  // serving. Errors (bad config, a data dir that is not a store, a port in
  // use) leave nothing running.
  static Result<std::unique_ptr<Node>> Start(const NodeConfig& config);
  // Stop()s.
  ~Node();

  // Stops gracefully: new requests get CLOSED, publishes in progress finish
  // and are acknowledged, everything is flushed, and the store is closed.
  // Idempotent; thread-safe with respect to the node's own threads.
  void Stop();

  // The client endpoint with its real port, e.g. "tcp://127.0.0.1:7400".
  const std::string& client_endpoint() const { return endpoint_->endpoint(); }
  uint16_t client_port() const { return endpoint_->port(); }
  // The peer port other nodes join through, e.g. "tcp://127.0.0.1:7401".
  const std::string& peer_endpoint() const { return cluster_->peer_endpoint(); }
  uint16_t http_port() const { return http_->port(); }
  const NodeConfig& config() const { return config_; }
  metrics::Registry& registry() { return registry_; }

 private:
  explicit Node(const NodeConfig& config);
  void OnRequest(transport::Incoming request);

  NodeConfig config_;
  metrics::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<transport::EventLoop> loop_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<GroupMetrics> group_metrics_;
  std::unique_ptr<RequestDispatcher> dispatcher_;
  zmq::context_t context_{1};
  std::unique_ptr<transport::ServerEndpoint> endpoint_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<replication::RaftStorage> raft_storage_;
  std::unique_ptr<replication::RaftHost> raft_host_;
  std::unique_ptr<meta::MetaService> meta_;
  std::unique_ptr<replica::PartitionReplicas> replicas_;
  RestMembers rest_members_;
  std::unique_ptr<HttpApi> http_api_;
  std::unique_ptr<admin::HttpServer> http_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<storage::RetentionTask> retention_;
  std::thread loop_thread_;
  bool stopped_ = false;
};

}  // namespace sprawl::node
