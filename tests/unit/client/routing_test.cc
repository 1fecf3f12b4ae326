// The client's routing (RoutingConnection) against fake nodes on loopback:
// each answers as a node of a cluster would for the partitions it leads and
// with NOT_LEADER (and a hint, or none) for the others.
#include "core/client/routing_connection.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "core/client/client.h"
#include "core/client/group_consumer.h"
#include "core/client/producer.h"
#include "core/protocol/message_type.h"
#include "core/storage/record_batch.h"
#include "core/transport/event_loop.h"
#include "core/transport/server_endpoint.h"
#include "core/util/clock.h"
#include "core/util/metrics.h"

namespace sprawl::client {
namespace {

using protocol::MessageType;

constexpr uint16_t Type(MessageType t) { return static_cast<uint16_t>(t); }

// Waits up to 10 s for `condition`.
template <typename F>
bool Eventually(F condition) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// A batch of `values` for the fake nodes to serve.
std::string BatchOf(const std::vector<std::string>& values) {
  storage::RecordBatchBuilder builder;
  for (const std::string& v : values) builder.Add(std::nullopt, v, 1);
  return *builder.Build();
}

// A node's client port answering like a cluster member: it leads the
// partitions in `leads`; a publish or fetch for another partition gets
// NOT_LEADER with `hints[partition]` (empty when absent). Everything it
// stores is kept per partition, in arrival order.
class FakeNode {
 public:
  explicit FakeNode(zmq::context_t& context) : loop_(SystemClock::Instance()) {
    auto endpoint = transport::ServerEndpoint::Bind(
        context, loop_, "tcp://127.0.0.1:0", transport::Limits{}, registry_,
        [this](transport::Incoming in) { OnRequest(std::move(in)); });
    EXPECT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    endpoint_ = std::move(*endpoint);
    thread_ = std::thread([this] { loop_.Run(); });
  }
  ~FakeNode() {
    loop_.Stop();
    thread_.join();
  }

  const std::string& address() const { return endpoint_->endpoint(); }

  // Configuration, before or while clients send.
  void Lead(const std::string& topic, uint32_t partition) {
    MutexLock lock(mu_);
    leads_.insert({topic, partition});
  }
  void Hint(const std::string& topic, uint32_t partition, const std::string& hint) {
    MutexLock lock(mu_);
    hints_[{topic, partition}] = hint;
  }
  void SetPartitions(const std::string& topic, uint32_t partitions) {
    MutexLock lock(mu_);
    partitions_[topic] = partitions;
  }
  void SetMetadata(pb::MetadataResponse metadata) {
    MutexLock lock(mu_);
    metadata_ = std::move(metadata);
  }
  // Publishes are left unanswered (a node that hangs).
  void Hang() {
    MutexLock lock(mu_);
    hang_ = true;
  }
  // What FETCH of a led partition returns.
  void Serve(const std::string& topic, uint32_t partition, std::vector<std::string> values) {
    MutexLock lock(mu_);
    served_[{topic, partition}] = std::move(values);
  }
  // Makes this node the group's coordinator: joins succeed and `value` is
  // pushed to the member at offset 0 right after its join.
  void Coordinate(const std::string& topic, const std::string& group, std::string value) {
    MutexLock lock(mu_);
    coordinated_[{topic, group}] = std::move(value);
  }

  // Observations.
  std::vector<std::string> Stored(const std::string& topic, uint32_t partition) const {
    MutexLock lock(mu_);
    auto it = stored_.find({topic, partition});
    return it == stored_.end() ? std::vector<std::string>() : it->second;
  }
  int Count(MessageType type) const {
    MutexLock lock(mu_);
    auto it = counts_.find(Type(type));
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  void Reply(const transport::Incoming& in, const google::protobuf::MessageLite& body,
             std::vector<std::string> batches = {}) {
    transport::Outgoing out;
    out.header.type = in.message.header.type;
    out.header.flags = transport::kFlagResponse;
    out.header.correlation_id = in.message.header.correlation_id;
    out.body = body.SerializeAsString();
    for (auto& b : batches) out.batches.push_back(std::make_shared<const std::string>(b));
    endpoint_->Send(in.routing_id, out);
  }
  void ReplyNotLeader(const transport::Incoming& in, const std::string& hint) {
    transport::Outgoing out;
    out.header.type = in.message.header.type;
    out.header.flags = transport::kFlagResponse | transport::kFlagError;
    out.header.correlation_id = in.message.header.correlation_id;
    out.body = NotLeader(hint).SerializeAsString();
    endpoint_->Send(in.routing_id, out);
  }
  static pb::Error NotLeader(const std::string& hint) {
    pb::Error error =
        transport::ErrorBody(Status(ErrorCode::kNotLeader, "this node does not lead it"));
    error.set_leader_hint(hint);
    return error;
  }
  std::string HintFor(const std::string& topic, uint32_t partition) const REQUIRES(mu_) {
    auto it = hints_.find({topic, partition});
    return it == hints_.end() ? std::string() : it->second;
  }

  void OnRequest(transport::Incoming in) {
    MutexLock lock(mu_);
    ++counts_[in.message.header.type];
    switch (static_cast<MessageType>(in.message.header.type)) {
      case MessageType::kDescribeTopic: {
        pb::DescribeTopicRequest request;
        request.ParseFromString(in.message.body);
        pb::DescribeTopicResponse response;
        response.mutable_topic()->set_name(request.name());
        for (uint32_t p = 0; p < partitions_[request.name()]; ++p) {
          response.mutable_topic()->add_partitions();
        }
        Reply(in, response);
        return;
      }
      case MessageType::kMetadata:
        Reply(in, metadata_);
        return;
      case MessageType::kPublish: {
        if (hang_) return;
        pb::PublishRequest request;
        request.ParseFromString(in.message.body);
        pb::PublishResponse response;
        for (int i = 0; i < request.batches_size(); ++i) {
          const uint32_t p = request.batches(i).partition();
          pb::PublishResult* result = response.add_results();
          result->set_partition(p);
          if (!leads_.count({request.topic(), p})) {
            *result->mutable_error() = NotLeader(HintFor(request.topic(), p));
            continue;
          }
          auto records = DecodeBatch(request.topic(), p, in.message.batches[i]);
          EXPECT_TRUE(records.ok());
          std::vector<std::string>& log = stored_[{request.topic(), p}];
          result->set_base_offset(log.size());
          for (const Message& m : *records) log.emplace_back(m.value);
          result->set_last_offset(log.size() - 1);
        }
        Reply(in, response);
        return;
      }
      case MessageType::kFetch: {
        pb::FetchRequest request;
        request.ParseFromString(in.message.body);
        if (!leads_.count({request.topic(), request.partition()})) {
          ReplyNotLeader(in, HintFor(request.topic(), request.partition()));
          return;
        }
        const auto& values = served_[{request.topic(), request.partition()}];
        pb::FetchResponse response;
        response.set_next_offset(values.size());
        response.set_high_watermark(values.size());
        Reply(in, response, {BatchOf(values)});
        return;
      }
      case MessageType::kJoinGroup: {
        pb::JoinGroupRequest request;
        request.ParseFromString(in.message.body);
        auto it = coordinated_.find({request.topic(), request.group()});
        if (it == coordinated_.end()) {
          ReplyNotLeader(in, HintFor(request.topic(), 0));
          return;
        }
        pb::JoinGroupResponse response;
        response.set_member_id("m1");
        response.set_generation(1);
        response.add_partitions(0);
        Reply(in, response);
        pb::DeliverPush push;
        push.set_topic(request.topic());
        push.set_group(request.group());
        push.set_member_id("m1");
        push.set_partition(0);
        auto* d = push.add_deliveries();
        d->set_offset(0);
        d->set_delivery_count(1);
        transport::Outgoing out;
        out.header.type = Type(MessageType::kDeliver);
        out.body = push.SerializeAsString();
        out.batches.push_back(std::make_shared<const std::string>(BatchOf({it->second})));
        endpoint_->Send(in.routing_id, out);
        return;
      }
      case MessageType::kHeartbeat: {
        pb::HeartbeatResponse response;
        response.set_generation(1);
        response.add_partitions(0);
        Reply(in, response);
        return;
      }
      case MessageType::kSettle:
        Reply(in, pb::SettleResponse());
        return;
      case MessageType::kLeaveGroup:
        Reply(in, pb::LeaveGroupResponse());
        return;
      default:
        ADD_FAILURE() << "unexpected request type " << in.message.header.type;
    }
  }

  transport::EventLoop loop_;
  metrics::Registry registry_;
  std::unique_ptr<transport::ServerEndpoint> endpoint_;
  std::thread thread_;
  mutable Mutex mu_;
  std::set<std::pair<std::string, uint32_t>> leads_ GUARDED_BY(mu_);
  std::map<std::pair<std::string, uint32_t>, std::string> hints_ GUARDED_BY(mu_);
  std::map<std::string, uint32_t> partitions_ GUARDED_BY(mu_);
  pb::MetadataResponse metadata_ GUARDED_BY(mu_);
  bool hang_ GUARDED_BY(mu_) = false;
  std::map<std::pair<std::string, uint32_t>, std::vector<std::string>> served_ GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::string> coordinated_ GUARDED_BY(mu_);
  std::map<std::pair<std::string, uint32_t>, std::vector<std::string>> stored_ GUARDED_BY(mu_);
  std::map<uint16_t, int> counts_ GUARDED_BY(mu_);
};

// A METADATA answer for `topic` whose partition i is led by leaders[i].
pb::MetadataResponse MetadataOf(const std::string& topic, const std::vector<std::string>& leaders) {
  pb::MetadataResponse metadata;
  pb::TopicMetadata* t = metadata.add_topics();
  t->set_name(topic);
  for (size_t i = 0; i < leaders.size(); ++i) {
    pb::PartitionMetadata* p = t->add_partitions();
    p->set_partition(static_cast<uint32_t>(i));
    p->set_leader_address(leaders[i]);
    p->set_term(1);
  }
  return metadata;
}

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override { Connect(std::chrono::milliseconds(10'000)); }

  void Connect(std::chrono::milliseconds timeout) {
    ClientConfig config;
    config.server = a_.address();
    config.request_timeout = timeout;
    auto client = Client::Connect(config);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
  }

  std::vector<std::string> Values(const std::string& prefix, int from, int to, int step) {
    std::vector<std::string> out;
    for (int i = from; i < to; i += step) out.push_back(prefix + std::to_string(i));
    return out;
  }

  zmq::context_t context_;
  FakeNode a_{context_};  // the bootstrap node
  FakeNode b_{context_};
  FakeNode c_{context_};
  std::unique_ptr<Client> client_;
};

TEST_F(RoutingTest, ProducerFollowsHintsAndEveryRecordLandsOnItsLeaderInOrder) {
  a_.SetPartitions("t", 2);
  a_.Hint("t", 0, b_.address());
  a_.Hint("t", 1, c_.address());
  b_.Lead("t", 0);
  b_.Hint("t", 1, c_.address());
  c_.Lead("t", 1);
  c_.Hint("t", 0, b_.address());

  Producer producer(*client_);
  std::atomic<int> acked{0};
  std::vector<std::string> errors;
  Mutex errors_mu;
  for (int i = 0; i < 400; ++i) {
    producer.Send(
        "t", std::nullopt, "v" + std::to_string(i), {},
        [&](Result<PublishAck> ack) {
          if (!ack.ok()) {
            MutexLock lock(errors_mu);
            errors.push_back(ack.status().ToString());
          }
          ++acked;
        },
        static_cast<uint32_t>(i % 2));
  }
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(acked.load(), 400);
  {
    MutexLock lock(errors_mu);
    EXPECT_TRUE(errors.empty()) << errors.front();
  }
  EXPECT_EQ(b_.Stored("t", 0), Values("v", 0, 400, 2));
  EXPECT_EQ(c_.Stored("t", 1), Values("v", 1, 400, 2));
  EXPECT_TRUE(a_.Stored("t", 0).empty());
  EXPECT_TRUE(b_.Stored("t", 1).empty());
  EXPECT_EQ(client_->connection().RouteOf("t", 0), b_.address());
  EXPECT_EQ(client_->connection().RouteOf("t", 1), c_.address());
  // Once the routes are known, publishes go straight to the leaders.
  EXPECT_LE(a_.Count(MessageType::kPublish), 2);
}

TEST_F(RoutingTest, AnEmptyHintRefreshesMetadataAndTheRetryReachesTheLeader) {
  a_.SetPartitions("t", 1);
  a_.SetMetadata(MetadataOf("t", {b_.address()}));  // a names no leader itself
  b_.Lead("t", 0);

  Producer producer(*client_);
  std::vector<Result<PublishAck>> acks;
  for (int i = 0; i < 50; ++i) {
    acks.push_back(producer.SendSync("t", std::nullopt, "v" + std::to_string(i), {}, 0u));
  }
  for (const auto& ack : acks) EXPECT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(b_.Stored("t", 0), Values("v", 0, 50, 1));
  EXPECT_GE(a_.Count(MessageType::kMetadata), 1);
  EXPECT_GE(client_->connection().refreshes(), 1u);
  EXPECT_EQ(client_->connection().RouteOf("t", 0), b_.address());
}

TEST_F(RoutingTest, ASplitRequestsResultsComeBackInTheRequestsOrder) {
  a_.SetMetadata(MetadataOf("t", {b_.address(), c_.address(), ""}));
  a_.Lead("t", 2);
  b_.Lead("t", 0);
  c_.Lead("t", 1);
  ASSERT_TRUE(client_->Metadata({"t"}).ok());
  ASSERT_EQ(client_->connection().RouteOf("t", 0), b_.address());

  pb::PublishRequest request;
  request.set_topic("t");
  request.set_acks(pb::ACK_ALL);
  std::vector<std::string> batches;
  const std::vector<std::pair<uint32_t, std::vector<std::string>>> parts = {
      {1, {"c0", "c1", "c2"}}, {0, {"b0"}}, {2, {"a0", "a1"}}, {1, {"c3"}}};
  for (const auto& [p, values] : parts) {
    request.add_batches()->set_partition(p);
    batches.push_back(BatchOf(values));
  }
  auto reply = client_->connection().Call(Type(MessageType::kPublish), request.SerializeAsString(),
                                          std::move(batches));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_TRUE(reply->status().ok()) << reply->status().ToString();
  pb::PublishResponse response;
  ASSERT_TRUE(response.ParseFromString(reply->body));
  ASSERT_EQ(response.results_size(), 4);
  const std::vector<std::tuple<uint32_t, uint64_t, uint64_t>> expected = {
      {1, 0, 2}, {0, 0, 0}, {2, 0, 1}, {1, 3, 3}};
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(response.results(i).has_error()) << i;
    EXPECT_EQ(response.results(i).partition(), std::get<0>(expected[i])) << i;
    EXPECT_EQ(response.results(i).base_offset(), std::get<1>(expected[i])) << i;
    EXPECT_EQ(response.results(i).last_offset(), std::get<2>(expected[i])) << i;
  }
  EXPECT_EQ(c_.Stored("t", 1), (std::vector<std::string>{"c0", "c1", "c2", "c3"}));
  EXPECT_EQ(b_.Stored("t", 0), std::vector<std::string>{"b0"});
  EXPECT_EQ(a_.Stored("t", 2), (std::vector<std::string>{"a0", "a1"}));
  EXPECT_EQ(a_.Count(MessageType::kPublish), 1);
  EXPECT_EQ(b_.Count(MessageType::kPublish), 1);
  EXPECT_EQ(c_.Count(MessageType::kPublish), 1);
}

TEST_F(RoutingTest, ABatchFollowsItsHintAndItsResultIsMergedInPlace) {
  // The routes are stale for partition 0: b hands it to c.
  a_.SetMetadata(MetadataOf("t", {b_.address(), b_.address()}));
  b_.Lead("t", 1);
  b_.Hint("t", 0, c_.address());
  c_.Lead("t", 0);
  ASSERT_TRUE(client_->Metadata({"t"}).ok());

  pb::PublishRequest request;
  request.set_topic("t");
  std::vector<std::string> batches;
  for (uint32_t p : {0u, 1u}) {
    request.add_batches()->set_partition(p);
    batches.push_back(BatchOf({"p" + std::to_string(p)}));
  }
  auto reply = client_->connection().Call(Type(MessageType::kPublish), request.SerializeAsString(),
                                          std::move(batches));
  ASSERT_TRUE(reply.ok() && reply->status().ok());
  pb::PublishResponse response;
  ASSERT_TRUE(response.ParseFromString(reply->body));
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).partition(), 0u);
  EXPECT_FALSE(response.results(0).has_error()) << response.results(0).error().message();
  EXPECT_EQ(response.results(1).partition(), 1u);
  EXPECT_FALSE(response.results(1).has_error());
  EXPECT_EQ(c_.Stored("t", 0), std::vector<std::string>{"p0"});
  EXPECT_EQ(b_.Stored("t", 1), std::vector<std::string>{"p1"});
  EXPECT_EQ(client_->connection().RouteOf("t", 0), c_.address());
}

TEST_F(RoutingTest, HintsAreFollowedAtMostKMaxHopsTimes) {
  // b and c each name the other: the batch gives up with NOT_LEADER.
  a_.Hint("t", 0, b_.address());
  b_.Hint("t", 0, c_.address());
  c_.Hint("t", 0, b_.address());
  pb::PublishRequest request;
  request.set_topic("t");
  request.add_batches()->set_partition(0);
  auto reply = client_->connection().Call(Type(MessageType::kPublish), request.SerializeAsString(),
                                          {BatchOf({"x"})});
  ASSERT_TRUE(reply.ok() && reply->status().ok());
  pb::PublishResponse response;
  ASSERT_TRUE(response.ParseFromString(reply->body));
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).error().code(), static_cast<uint32_t>(ErrorCode::kNotLeader));
  EXPECT_EQ(a_.Count(MessageType::kPublish) + b_.Count(MessageType::kPublish) +
                c_.Count(MessageType::kPublish),
            1 + RoutingConnection::kMaxHops);
}

TEST_F(RoutingTest, WithoutRepliesBatchesStillGoToTheKnownLeaders) {
  a_.SetPartitions("t", 2);
  a_.SetMetadata(MetadataOf("t", {b_.address(), c_.address()}));
  b_.Lead("t", 0);
  c_.Lead("t", 1);
  ASSERT_TRUE(client_->Metadata({"t"}).ok());
  ProducerConfig config;
  config.acks = pb::ACK_NONE;
  Producer producer(*client_, config);
  for (int i = 0; i < 100; ++i) {
    producer.Send(
        "t", std::nullopt, "v" + std::to_string(i), {}, [](const Result<PublishAck>&) {},
        static_cast<uint32_t>(i % 2));
  }
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_TRUE(Eventually([&] { return b_.Stored("t", 0).size() == 50; }));
  EXPECT_TRUE(Eventually([&] { return c_.Stored("t", 1).size() == 50; }));
  EXPECT_EQ(b_.Stored("t", 0), Values("v", 0, 100, 2));
  EXPECT_EQ(c_.Stored("t", 1), Values("v", 1, 100, 2));
  EXPECT_EQ(a_.Count(MessageType::kPublish), 0);
}

TEST_F(RoutingTest, FetchFollowsAHintAndThenGoesStraightToTheReplica) {
  a_.Hint("t", 0, b_.address());
  b_.Lead("t", 0);
  b_.Serve("t", 0, {"r0", "r1", "r2"});
  for (int round = 0; round < 2; ++round) {
    auto fetched = client_->Fetch("t", 0, 0);
    ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
    ASSERT_EQ(fetched->messages.size(), 3u);
    EXPECT_EQ(fetched->messages[2].value, "r2");
    EXPECT_EQ(fetched->next_offset, 3u);
  }
  EXPECT_EQ(a_.Count(MessageType::kFetch), 1);
  EXPECT_EQ(b_.Count(MessageType::kFetch), 2);
  EXPECT_EQ(client_->connection().RouteOf("t", 0), b_.address());
}

TEST_F(RoutingTest, AGroupJoinedThroughAHintGetsItsDeliveriesAndSettlesThere) {
  a_.Hint("t", 0, b_.address());
  b_.Coordinate("t", "g", "hello");
  GroupConsumerConfig config;
  config.topic = "t";
  config.group = "g";
  auto consumer = GroupConsumer::Join(*client_, config);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  auto message = (*consumer)->Receive(std::chrono::seconds(10));
  ASSERT_TRUE(message.ok() && message->has_value());
  EXPECT_EQ((*message)->value, "hello");
  (*consumer)->Ack(**message);
  ASSERT_TRUE((*consumer)->Commit().ok());
  EXPECT_TRUE((*consumer)->Close().ok());
  EXPECT_EQ(a_.Count(MessageType::kJoinGroup), 1);
  EXPECT_EQ(b_.Count(MessageType::kJoinGroup), 1);
  EXPECT_EQ(b_.Count(MessageType::kSettle), 1);
  EXPECT_EQ(b_.Count(MessageType::kLeaveGroup), 1);
  EXPECT_EQ(a_.Count(MessageType::kSettle) + a_.Count(MessageType::kLeaveGroup), 0);
}

TEST_F(RoutingTest, ANodeThatStopsAnsweringLosesItsRoutesAndMetadataIsAskedAgain) {
  Connect(std::chrono::milliseconds(300));
  a_.SetMetadata(MetadataOf("t", {b_.address()}));
  ASSERT_TRUE(client_->Metadata({"t"}).ok());
  ASSERT_EQ(client_->connection().RouteOf("t", 0), b_.address());
  b_.Hang();
  a_.SetMetadata(MetadataOf("t", {c_.address()}));  // the partition moved to c
  c_.Lead("t", 0);

  pb::PublishRequest request;
  request.set_topic("t");
  request.add_batches()->set_partition(0);
  auto reply = client_->connection().Call(Type(MessageType::kPublish), request.SerializeAsString(),
                                          {BatchOf({"x"})});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), ErrorCode::kTimeout);
  EXPECT_TRUE(Eventually([&] { return client_->connection().RouteOf("t", 0) == c_.address(); }));
  EXPECT_GE(client_->connection().refreshes(), 1u);
}

TEST(RoutingFailoverTest, AClientWhoseOnlyNodeDiesRefreshesFromTheReplicasItWasTold) {
  zmq::context_t context;
  auto bootstrap = std::make_unique<FakeNode>(context);
  FakeNode other(context);
  // The bootstrap node leads the partition, so no hint ever names another;
  // its METADATA says the partition also has a replica on `other`.
  pb::MetadataResponse placed = MetadataOf("t", {bootstrap->address()});
  pb::PartitionMetadata* p = placed.mutable_topics(0)->mutable_partitions(0);
  for (const auto& [id, address] :
       {std::pair{"n1", bootstrap->address()}, std::pair{"n2", other.address()}}) {
    p->add_replica_ids(id);
    p->add_replica_addresses(address);
  }
  bootstrap->SetMetadata(placed);
  bootstrap->SetPartitions("t", 1);
  bootstrap->Lead("t", 0);

  ClientConfig config;
  config.server = bootstrap->address();
  config.request_timeout = std::chrono::milliseconds(10'000);
  auto client = Client::Connect(config);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Producer producer(**client);
  ASSERT_TRUE(producer.SendSync("t", std::nullopt, "before", {}, 0u).ok());
  EXPECT_TRUE(Eventually([&] { return !(*client)->connection().KnownNodes().empty(); }));
  EXPECT_EQ(bootstrap->Stored("t", 0), std::vector<std::string>{"before"});
  // Learning the nodes did not route the partition anywhere.
  EXPECT_EQ((*client)->connection().RouteOf("t", 0), "");

  // The bootstrap node dies; the partition's new leader is `other`.
  other.SetMetadata(MetadataOf("t", {other.address()}));
  other.Lead("t", 0);
  bootstrap.reset();
  auto ack = producer.SendSync("t", std::nullopt, "after", {}, 0u);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(other.Stored("t", 0), std::vector<std::string>{"after"});
  EXPECT_GE(other.Count(MessageType::kMetadata), 1);
  EXPECT_EQ((*client)->connection().RouteOf("t", 0), other.address());
}

TEST(RoutingFailoverTest, AClientWhoseNodeIsCutOffFromItsPeersRefreshesFromTheOthers) {
  // The bootstrap node is cut off from its peers but answers its clients:
  // it knows no leader of the partition (it stepped down) and says so, in
  // METADATA and with NOT_LEADER without a hint, while the others elected
  // `other`. Asking the bootstrap node alone, the client never found it.
  zmq::context_t context;
  FakeNode bootstrap(context);
  FakeNode other(context);
  pb::MetadataResponse leaderless = MetadataOf("t", {""});
  pb::PartitionMetadata* p = leaderless.mutable_topics(0)->mutable_partitions(0);
  for (const auto& [id, address] :
       {std::pair{"n1", bootstrap.address()}, std::pair{"n2", other.address()}}) {
    p->add_replica_ids(id);
    p->add_replica_addresses(address);
  }
  bootstrap.SetMetadata(leaderless);
  bootstrap.SetPartitions("t", 1);
  other.SetMetadata(MetadataOf("t", {other.address()}));
  other.Lead("t", 0);

  ClientConfig config;
  config.server = bootstrap.address();
  config.request_timeout = std::chrono::milliseconds(5'000);
  auto client = Client::Connect(config);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ProducerConfig producer_config;
  producer_config.delivery_timeout = std::chrono::milliseconds(10'000);
  Producer producer(**client, producer_config);
  auto ack = producer.SendSync("t", std::nullopt, "v", {}, 0u);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(other.Stored("t", 0), std::vector<std::string>{"v"});
  EXPECT_GE(other.Count(MessageType::kMetadata), 1);
  EXPECT_EQ((*client)->connection().RouteOf("t", 0), other.address());
}

}  // namespace
}  // namespace sprawl::client
