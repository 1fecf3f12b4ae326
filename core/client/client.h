#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/client/message.h"
#include "core/client/routing_connection.h"
#include "core/protocol/message_type.h"
#include "core/protocol/messages.h"
#include "core/transport/client_connection.h"
#include "core/util/thread_annotations.h"

namespace sprawl::client {

namespace pb = protocol::pb;

struct ClientConfig {
  std::string server = "tcp://127.0.0.1:7400";
  std::chrono::milliseconds request_timeout{30'000};
};

struct FetchResult {
  std::vector<Message> messages;
  uint64_t next_offset = 0;
  uint64_t high_watermark = 0;
};

// The FETCH request for `max_bytes` from `offset`, parked up to `max_wait`
// when there is nothing new; and its reply decoded into messages.
pb::FetchRequest FetchRequestFor(const std::string& topic, uint32_t partition, uint64_t offset,
                                 std::chrono::milliseconds max_wait, uint32_t max_bytes);
Result<FetchResult> DecodeFetchReply(const std::string& topic, uint32_t partition, uint64_t offset,
                                     const transport::Reply& reply);

// A connection to a node (or a cluster through it) with the admin calls
// (topics, offsets, fetch). Producers and consumers are built on a Client
// and share its connection, which sends each request to the node that
// serves it (RoutingConnection). Thread-safe; blocking calls must not run on
// a connection's I/O thread (inside callbacks).
class Client {
 public:
  // INVALID_ARGUMENT for a malformed server address. Connecting is lazy:
  // a server that is down shows as TIMEOUT on the first call.
  static Result<std::unique_ptr<Client>> Connect(const ClientConfig& config);
  ~Client();

  Result<pb::PingResponse> Ping();
  // Each partition's leader and replicas, for `topics` (every topic when
  // empty), as the bootstrap node knows them; unknown topics are left out.
  // The answer also refreshes the routes requests follow.
  Result<pb::MetadataResponse> Metadata(const std::vector<std::string>& topics = {});
  Result<pb::TopicDescription> CreateTopic(const std::string& name,
                                           const pb::TopicConfig& config = {});
  Result<pb::TopicDescription> AlterTopic(const std::string& name, const pb::TopicConfig& patch);
  Status DeleteTopic(const std::string& name);
  Result<pb::TopicDescription> DescribeTopic(const std::string& name);
  Result<std::vector<pb::TopicDescription>> ListTopics();

  // The offset for `spec` (earliest, latest, a timestamp, or `offset` checked).
  Result<uint64_t> ListOffset(const std::string& topic, uint32_t partition, pb::OffsetSpec spec,
                              int64_t timestamp_ms = 0, uint64_t offset = 0);
  // Committed records from `offset`, waiting up to `max_wait` for new ones.
  Result<FetchResult> Fetch(const std::string& topic, uint32_t partition, uint64_t offset,
                            std::chrono::milliseconds max_wait = std::chrono::milliseconds(0),
                            uint32_t max_bytes = 1u << 20);

  // Asks the leader of partition `partition` of `topic` to hand its
  // leadership to the replica `node` (a member id); returns once the
  // transfer has started (METADATA names the new leader when it is done).
  Result<pb::TransferLeaderResponse> TransferLeader(const std::string& topic, uint32_t partition,
                                                    const std::string& node);
  // A new epoch for the producers named `name` (INIT_PRODUCER): older
  // instances under that name are fenced from now on.
  Result<pb::InitProducerResponse> InitProducer(const std::string& name);
  Result<pb::GroupDescription> DescribeGroup(const std::string& topic, const std::string& group);
  Result<std::vector<pb::GroupDescription>> ListGroups(const std::string& topic = "");
  Result<pb::GroupDescription> ResetGroupOffsets(const std::string& topic, const std::string& group,
                                                 pb::OffsetSpec spec, int64_t timestamp_ms = 0,
                                                 uint64_t offset = 0);

  // One request and its decoded response; the server's error as a Status.
  template <typename Response>
  Result<Response> Request(protocol::MessageType type, const google::protobuf::MessageLite& body,
                           std::vector<std::string> batches = {});

  // Routes server pushes (group deliveries) of (topic, group) to `handler`,
  // on the connection's I/O thread; an empty handler unregisters. The
  // handler may take (move from) the push's batches and the decoded
  // DeliverPush: both are the push's own and discarded after the call.
  using PushHandler = std::function<void(transport::Reply& push, pb::DeliverPush& deliver)>;
  void RoutePushes(const std::string& topic, const std::string& group, PushHandler handler);

  RoutingConnection& connection() { return *connection_; }
  const ClientConfig& config() const { return config_; }

 private:
  Client(ClientConfig config, std::unique_ptr<RoutingConnection> connection)
      : config_(std::move(config)), connection_(std::move(connection)) {}

  void OnPush(transport::Reply& push);

  ClientConfig config_;
  std::unique_ptr<RoutingConnection> connection_;
  Mutex routes_mu_;
  std::map<std::pair<std::string, std::string>, PushHandler> routes_ GUARDED_BY(routes_mu_);
};

template <typename Response>
Result<Response> Client::Request(protocol::MessageType type,
                                 const google::protobuf::MessageLite& body,
                                 std::vector<std::string> batches) {
  SPRAWL_ASSIGN_OR_RETURN(auto reply,
                          connection_->Call(static_cast<uint16_t>(type), body.SerializeAsString(),
                                            std::move(batches), config_.request_timeout));
  SPRAWL_RETURN_IF_ERROR(reply.status());
  Response out;
  if (!out.ParseFromString(reply.body)) {
    return DataCorruption("the reply to " +
                          std::string(protocol::MessageTypeName(static_cast<uint16_t>(type))) +
                          " does not decode");
  }
  return out;
}

}  // namespace sprawl::client
