// A whole node on real ZeroMQ sockets, driven through the client connection
// and through a raw DEALER that sends bad frames.
#include "core/node/node.h"

#include <gtest/gtest.h>

#include <zmq_addon.hpp>

#include "../broker/broker_test_util.h"
#include "core/protocol/message_type.h"
#include "core/transport/client_connection.h"

namespace sprawl::node {
namespace {

using protocol::MessageType;
namespace pb = protocol::pb;

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NodeConfig config;
    config.data_dir = dir_.Sub("data");
    config.client_port = 0;
    config.http_port = 0;
    auto node = Node::Start(config);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(*node);
    auto conn = transport::ClientConnection::Connect(node_->client_endpoint());
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(*conn);
  }

  template <typename Response>
  Result<Response> Call(MessageType type, const google::protobuf::MessageLite& request,
                        std::vector<std::string> batches = {}) {
    auto reply = conn_->Call(static_cast<uint16_t>(type), request.SerializeAsString(),
                             std::move(batches), std::chrono::seconds(10));
    if (!reply.ok()) return reply.status();
    if (!reply->status().ok()) return reply->status();
    Response out;
    EXPECT_TRUE(out.ParseFromString(reply->body));
    return out;
  }

  broker::testing::ScratchDir dir_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<transport::ClientConnection> conn_;
};

TEST_F(NodeTest, PingCreatePublishAndFetchOverTheWire) {
  auto pong = Call<pb::PingResponse>(MessageType::kPing, pb::PingRequest());
  ASSERT_TRUE(pong.ok()) << pong.status().ToString();
  EXPECT_EQ(pong->node_id(), "node-1");
  EXPECT_EQ(pong->protocol_version(), 1u);

  pb::CreateTopicRequest create;
  create.set_name("orders");
  create.mutable_config()->set_partitions(2);
  ASSERT_TRUE(Call<pb::CreateTopicResponse>(MessageType::kCreateTopic, create).ok());

  pb::PublishRequest publish;
  publish.set_topic("orders");
  publish.add_batches()->set_partition(1);
  std::vector<std::string> batches{broker::testing::Batch(3, "w")};
  auto acked = Call<pb::PublishResponse>(MessageType::kPublish, publish, batches);
  ASSERT_TRUE(acked.ok()) << acked.status().ToString();
  EXPECT_EQ(acked->results(0).last_offset(), 2u);

  pb::FetchRequest fetch;
  fetch.set_topic("orders");
  fetch.set_partition(1);
  auto reply = conn_->Call(static_cast<uint16_t>(MessageType::kFetch), fetch.SerializeAsString());
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(reply->status().ok()) << reply->status().ToString();
  ASSERT_EQ(reply->batches.size(), 1u);
  auto view = storage::RecordBatchView::Parse(reply->batches[0]);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->record_count(), 3u);
  EXPECT_EQ(view->base_offset(), 0u);
}

TEST_F(NodeTest, ErrorsTravelWithTheirCodes) {
  pb::DescribeTopicRequest describe;
  describe.set_name("missing");
  auto missing = Call<pb::DescribeTopicResponse>(MessageType::kDescribeTopic, describe);
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing"), std::string::npos);

  auto garbled = conn_->Call(static_cast<uint16_t>(MessageType::kCreateTopic), "\xff\xff\xff");
  ASSERT_TRUE(garbled.ok());
  EXPECT_EQ(garbled->status().code(), ErrorCode::kInvalidArgument);

  auto unknown = conn_->Call(999, "");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status().code(), ErrorCode::kInvalidArgument);
}

// Sends raw frames on a DEALER and returns the reply's frames.
std::vector<std::string> RawExchange(zmq::socket_t& dealer,
                                     const std::vector<std::string>& frames) {
  std::vector<zmq::const_buffer> parts;
  for (const auto& f : frames) parts.push_back(zmq::buffer(f));
  EXPECT_TRUE(zmq::send_multipart(dealer, parts));
  std::vector<zmq::message_t> reply;
  EXPECT_TRUE(zmq::recv_multipart(dealer, std::back_inserter(reply)));
  std::vector<std::string> out;
  for (auto& m : reply) out.push_back(m.to_string());
  return out;
}

TEST_F(NodeTest, BadFramesGetErrorRepliesAndTheConnectionSurvives) {
  zmq::context_t context;
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 10'000);
  dealer.connect(node_->client_endpoint());

  transport::FrameHeader ping;
  ping.type = static_cast<uint16_t>(MessageType::kPing);
  ping.correlation_id = 77;
  const std::string good = transport::EncodeHeader(ping);

  auto error_code = [](const std::vector<std::string>& reply) {
    EXPECT_GE(reply.size(), 2u);
    auto header = transport::DecodeHeader(reply[0]);
    EXPECT_TRUE(header.ok());
    EXPECT_TRUE(header->flags & transport::kFlagError);
    pb::Error error;
    EXPECT_TRUE(error.ParseFromString(reply[1]));
    return static_cast<ErrorCode>(error.code());
  };

  EXPECT_EQ(error_code(RawExchange(dealer, {"garbage"})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_code(RawExchange(dealer, {good})), ErrorCode::kInvalidArgument);  // no body
  std::string wrong_version = good;
  wrong_version[2] = 9;
  const auto versioned = RawExchange(dealer, {wrong_version, ""});
  EXPECT_EQ(error_code(versioned), ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(transport::DecodeHeader(versioned[0])->correlation_id, 77u);
  std::string oversized(2u << 20, 'x');
  EXPECT_EQ(error_code(RawExchange(dealer, {good, oversized})), ErrorCode::kMessageTooLarge);
  std::vector<std::string> many(3000, "");
  many[0] = good;
  EXPECT_EQ(error_code(RawExchange(dealer, many)), ErrorCode::kMessageTooLarge);

  // The same connection still works.
  const auto pong = RawExchange(dealer, {good, ""});
  ASSERT_EQ(pong.size(), 2u);
  auto header = transport::DecodeHeader(pong[0]);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->flags, transport::kFlagResponse);
  EXPECT_EQ(header->correlation_id, 77u);
}

TEST_F(NodeTest, DataSurvivesAGracefulRestart) {
  pb::CreateTopicRequest create;
  create.set_name("orders");
  ASSERT_TRUE(Call<pb::CreateTopicResponse>(MessageType::kCreateTopic, create).ok());
  pb::PublishRequest publish;
  publish.set_topic("orders");
  publish.set_acks(pb::ACK_ALL);
  publish.add_batches()->set_partition(0);
  ASSERT_TRUE(
      Call<pb::PublishResponse>(MessageType::kPublish, publish, {broker::testing::Batch(5, "keep")})
          .ok());
  conn_.reset();
  const NodeConfig config = node_->config();
  node_.reset();
  auto node = Node::Start(config);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  node_ = std::move(*node);
  conn_ = std::move(*transport::ClientConnection::Connect(node_->client_endpoint()));
  pb::DescribeTopicRequest describe;
  describe.set_name("orders");
  auto described = Call<pb::DescribeTopicResponse>(MessageType::kDescribeTopic, describe);
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->topic().partitions(0).next_offset(), 5u);
  EXPECT_EQ(described->topic().partitions(0).commit_index(), 5u);
}

}  // namespace
}  // namespace sprawl::node
