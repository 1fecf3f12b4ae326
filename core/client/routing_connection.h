#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/client/connection_pool.h"
#include "core/client/route_table.h"
#include "core/transport/client_connection.h"
#include "core/util/thread_annotations.h"

namespace sprawl::client {

class PublishFanout;

// What producers and consumers send through, in a cluster where each
// partition has a leader (docs/protocol.md section 4, "Routing"). It offers
// the calls of transport::ClientConnection and sends each request to the
// node that serves it:
// - PUBLISH is split by the leader of each batch's partition and the
//   sub-replies merged back into one reply in the request's order; a batch
//   answered NOT_LEADER with a hint is re-sent at once to the hinted node
//   (up to kMaxHops times), one with an empty hint is returned as is (the
//   producer retries it) while the routes are refreshed with METADATA;
// - FETCH and LIST_OFFSETS go to the partition's route, group calls to the
//   node the group was joined on; a NOT_LEADER reply with a hint is
//   followed;
// - everything else goes to the bootstrap node.
// Unknown routes mean the bootstrap node, so against a single node this is
// one connection doing what it always did. A node that times out loses its
// routes. Thread-safe; callbacks run on a connection's I/O thread and must
// not block.
class RoutingConnection {
 public:
  using Callback = transport::ClientConnection::Callback;

  // How many times one batch or request follows NOT_LEADER hints.
  static constexpr int kMaxHops = 3;
  // METADATA refreshes start at most this often.
  static constexpr std::chrono::milliseconds kMinRefreshInterval{100};
  // Node addresses remembered from METADATA answers, at most.
  static constexpr size_t kMaxKnownNodes = 1024;

  // Opens the bootstrap connection. INVALID_ARGUMENT for a malformed address.
  static Result<std::unique_ptr<RoutingConnection>> Connect(const std::string& bootstrap,
                                                            transport::ClientOptions options);
  // Close()s.
  ~RoutingConnection();

  // As transport::ClientConnection: sends a request to the node that serves
  // it; `done` gets one reply (TIMEOUT, CLOSED... as there). Thread-safe.
  void CallAsync(uint16_t type, std::string body, std::vector<std::string> batches, Callback done,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // CallAsync and wait. Must not be called from a callback (an I/O thread).
  Result<transport::Reply> Call(uint16_t type, std::string body,
                                std::vector<std::string> batches = {},
                                std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // A NO_REPLY message; a publish is split by route like CallAsync's.
  void Send(uint16_t type, std::string body, std::vector<std::string> batches = {});

  // Handles server pushes (DELIVER) from every node connection, on its I/O
  // thread. Set before the pushes can come.
  void SetPushHandler(std::function<void(transport::Reply)> handler);

  // Closes every connection: outstanding calls fail with CLOSED, later ones
  // too. Idempotent; not from a callback.
  void Close();

  // The bootstrap node's address.
  const std::string& endpoint() const { return pool_->bootstrap_address(); }

  // Where requests for (topic, partition) go now ("" = the bootstrap node),
  // and how many METADATA refreshes were answered: for tests and diagnostics.
  std::string RouteOf(const std::string& topic, uint32_t partition) const;
  uint64_t refreshes() const;
  // The node addresses learned from METADATA answers that refreshes may ask
  // besides the connections already open.
  std::vector<std::string> KnownNodes() const;

 private:
  struct PublishCall;
  struct RoutedCall;

  RoutingConnection(transport::ClientOptions options) : options_(options) {}

  void OnPush(transport::Reply push);
  int64_t DeadlineFor(std::chrono::milliseconds timeout) const;

  void StartPublish(std::string body, std::vector<std::string> batches, Callback done,
                    int64_t deadline);
  void DispatchPublish(const std::shared_ptr<PublishCall>& call, std::vector<size_t> indexes,
                       const std::string& address, int hops);
  void OnPublishReply(const std::shared_ptr<PublishCall>& call, const std::vector<size_t>& indexes,
                      const std::string& address, int hops, Result<transport::Reply> reply);
  void SendPublish(std::string body, std::vector<std::string> batches);

  void DispatchRouted(const std::shared_ptr<RoutedCall>& call, const std::string& address);
  void OnRoutedReply(const std::shared_ptr<RoutedCall>& call, const std::string& address,
                     Result<transport::Reply> reply);

  // A reply about `topic` that did not come (TIMEOUT, IO_ERROR): forget the
  // routes through `address` and ask for fresh ones, for `topic` too.
  void OnConnectionFailure(const std::string& address, const std::string& topic);
  // Starts a METADATA request for `topic` and the topics already wanted
  // (those that met NOT_LEADER or lost a route) unless one is in flight or
  // started less than kMinRefreshInterval ago: the producer's retries and
  // every hint call it, so it must stay cheap.
  void RequestRefresh(const std::string& topic);
  // Where a request without a route goes: the bootstrap node, or, while it
  // has just left a request unanswered, another node this client knows of
  // (waiting on a dead node lasts until its connection's next reconnect
  // attempt, up to 2 s apart).
  std::string Unrouted();
  void OnRefreshReply(const std::string& target, Result<transport::Reply> reply);
  // Whether some partition of `metadata` has no leader named.
  static bool NamesNoLeader(const protocol::pb::MetadataResponse& metadata);
  // The first request for `topic` asks the bootstrap node, in the
  // background, which nodes hold its replicas, so that the routes can be
  // refreshed from them if the bootstrap node dies.
  void Discover(const std::string& topic);
  // Adds the replicas' addresses of replicated partitions to known_nodes_.
  void RememberNodes(const protocol::pb::MetadataResponse& metadata) REQUIRES(mu_);

  const transport::ClientOptions options_;
  std::unique_ptr<ConnectionPool> pool_;

  Mutex push_mu_;
  std::function<void(transport::Reply)> push_handler_ GUARDED_BY(push_mu_);

  mutable Mutex mu_;
  RouteTable routes_ GUARDED_BY(mu_);
  std::set<std::string> refresh_topics_ GUARDED_BY(mu_);  // topics whose routes matter
  bool refresh_in_flight_ GUARDED_BY(mu_) = false;
  int64_t last_refresh_nanos_ GUARDED_BY(mu_) = std::numeric_limits<int64_t>::min() / 2;
  size_t refresh_target_ GUARDED_BY(mu_) = 0;  // index into the pool's addresses
  uint64_t refreshes_ GUARDED_BY(mu_) = 0;
  std::set<std::string> discovered_topics_ GUARDED_BY(mu_);  // Discover ran for them
  std::set<std::string> known_nodes_ GUARDED_BY(mu_);        // refresh targets besides the pool
  // Nodes a request went unanswered by, and when: a refresh asks the others
  // first for kUnansweredShunnedNanos (5 s). A METADATA request to a dead node fails
  // only at its connection's next reconnect attempt, which backs off to 2 s.
  std::map<std::string, int64_t> unanswered_at_ GUARDED_BY(mu_);
  static constexpr int64_t kUnansweredShunnedNanos = 5'000'000'000;
};

}  // namespace sprawl::client
