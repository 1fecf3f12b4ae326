// Consumer groups end to end: a real node, the client library's members.
#include "core/client/group_consumer.h"

#include <gtest/gtest.h>

#include <set>

#include "../broker/broker_test_util.h"
#include "core/client/producer.h"
#include "core/node/node.h"

namespace sprawl::client {
namespace {

class GroupConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartNode(); }

  void StartNode() {
    node::NodeConfig config;
    config.data_dir = dir_.Sub("data");
    config.client_port = 0;
    config.http_port = 0;
    auto node = node::Node::Start(config);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(*node);
    ClientConfig cc;
    cc.server = node_->client_endpoint();
    client_ = std::move(*Client::Connect(cc));
  }

  void Publish(const std::string& topic, int n, const std::string& prefix = "m") {
    Producer producer(*client_);
    for (int i = 0; i < n; ++i) {
      producer.Send(topic, std::nullopt, prefix + std::to_string(i), {{"h", "v"}},
                    [](Result<PublishAck> ack) { ASSERT_TRUE(ack.ok()); });
    }
    ASSERT_TRUE(producer.Flush().ok());
  }

  std::unique_ptr<GroupConsumer> Join(const std::string& topic, const std::string& group,
                                      uint32_t credits = 100) {
    GroupConsumerConfig config;
    config.topic = topic;
    config.group = group;
    config.max_in_flight = credits;
    auto consumer = GroupConsumer::Join(*client_, config);
    EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
    return consumer.ok() ? std::move(*consumer) : nullptr;
  }

  broker::testing::ScratchDir dir_;
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<Client> client_;
};

TEST_F(GroupConsumerTest, EveryMessageIsDeliveredAndAckedOnce) {
  pb::TopicConfig config;
  config.set_partitions(3);
  ASSERT_TRUE(client_->CreateTopic("orders", config).ok());
  Publish("orders", 300);
  auto member = Join("orders", "billing", 50);
  std::set<std::string> seen;
  while (seen.size() < 300) {
    auto m = member->Receive(std::chrono::seconds(10));
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->has_value()) << "only " << seen.size() << " of 300 arrived";
    EXPECT_EQ((*m)->delivery_count, 1u);
    EXPECT_EQ((*m)->headers.at(0).first, "h");
    EXPECT_TRUE(seen.emplace((*m)->value).second) << "duplicate " << (*m)->value;
    member->Ack(**m);
  }
  // Everything settles: the floors reach the ends of the partitions.
  for (int i = 0; i < 200; ++i) {
    auto d = client_->DescribeGroup("orders", "billing");
    ASSERT_TRUE(d.ok());
    uint64_t lag = 0;
    for (const auto& p : d->partitions()) lag += p.lag();
    if (lag == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto described = client_->DescribeGroup("orders", "billing");
  for (const auto& p : described->partitions()) EXPECT_EQ(p.lag(), 0u);
  auto extra = member->Receive(std::chrono::milliseconds(300));
  ASSERT_TRUE(extra.ok());
  EXPECT_FALSE(extra->has_value()) << "nothing is redelivered after its ack";
  ASSERT_TRUE(member->Close().ok());
}

TEST_F(GroupConsumerTest, UnackedMessagesAreRedeliveredThenDeadLettered) {
  ASSERT_TRUE(client_->CreateTopic("jobs.dlq").ok());
  pb::TopicConfig config;
  config.set_ack_timeout_ms(200);
  config.set_max_deliveries(2);
  config.set_dead_letter_topic("jobs.dlq");
  ASSERT_TRUE(client_->CreateTopic("jobs", config).ok());
  Publish("jobs", 1, "poison");
  auto member = Join("jobs", "workers");
  auto first = member->Receive(std::chrono::seconds(10));
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->delivery_count, 1u);
  auto second = member->Receive(std::chrono::seconds(10));  // not acked: comes back
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->offset, (*first)->offset);
  EXPECT_EQ((*second)->delivery_count, 2u);

  // After the second timeout it goes to the dead letter topic, with why.
  std::vector<Message> dead;
  for (int i = 0; i < 500 && dead.empty(); ++i) {
    auto fetched = client_->Fetch("jobs.dlq", 0, 0, std::chrono::milliseconds(20));
    ASSERT_TRUE(fetched.ok());
    dead = fetched->messages;
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, "poison0");
  std::map<std::string, std::string> headers(dead[0].headers.begin(), dead[0].headers.end());
  EXPECT_EQ(headers["h"], "v") << "original headers are kept";
  EXPECT_EQ(headers["sprawl-deliveries"], "2");
  EXPECT_EQ(headers["sprawl-source-topic"], "jobs");
  EXPECT_EQ(headers["sprawl-group"], "workers");
  EXPECT_NE(headers["sprawl-dead-letter-reason"].find("not acknowledged"), std::string::npos);
  EXPECT_FALSE(headers["sprawl-dead-lettered-at-ms"].empty());
  auto none = member->Receive(std::chrono::milliseconds(600));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value()) << "a dead-lettered message is not redelivered";
}

TEST_F(GroupConsumerTest, NackRedeliversAfterTheDelay) {
  ASSERT_TRUE(client_->CreateTopic("orders").ok());
  Publish("orders", 1);
  auto member = Join("orders", "g");
  auto first = member->Receive(std::chrono::seconds(10));
  ASSERT_TRUE(first.ok() && first->has_value());
  const auto nacked_at = std::chrono::steady_clock::now();
  member->Nack(**first, std::chrono::milliseconds(300));
  auto again = member->Receive(std::chrono::seconds(10));
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - nacked_at, std::chrono::milliseconds(250));
  EXPECT_EQ((*again)->delivery_count, 2u);
  member->Ack(**again);
}

TEST_F(GroupConsumerTest, MembersSplitPartitionsAndALeaverHandsOver) {
  pb::TopicConfig config;
  config.set_partitions(4);
  ASSERT_TRUE(client_->CreateTopic("orders", config).ok());
  auto second_client = Client::Connect(client_->config());
  ASSERT_TRUE(second_client.ok());
  auto a = Join("orders", "g");
  GroupConsumerConfig bc;
  bc.topic = "orders";
  bc.group = "g";
  auto b = GroupConsumer::Join(**second_client, bc);
  ASSERT_TRUE(b.ok());
  auto described = client_->DescribeGroup("orders", "g");
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->members_size(), 2);
  EXPECT_EQ(described->members(0).partitions_size(), 2);
  EXPECT_EQ(described->members(1).partitions_size(), 2);

  ASSERT_TRUE((*b)->Close().ok());
  Publish("orders", 40);
  std::set<std::string> seen;
  while (seen.size() < 40) {
    auto m = a->Receive(std::chrono::seconds(10));
    ASSERT_TRUE(m.ok() && m->has_value()) << seen.size();
    seen.emplace((*m)->value);
    a->Ack(**m);
  }
}

TEST_F(GroupConsumerTest, AGroupResumesAtItsAckFloorAfterARestart) {
  ASSERT_TRUE(client_->CreateTopic("orders").ok());
  Publish("orders", 10);
  {
    auto member = Join("orders", "g", 10);
    for (int i = 0; i < 6; ++i) {
      auto m = member->Receive(std::chrono::seconds(10));
      ASSERT_TRUE(m.ok() && m->has_value());
      member->Ack(**m);
    }
    ASSERT_TRUE(member->Close().ok());
  }
  client_.reset();
  node_.reset();
  StartNode();
  auto member = Join("orders", "g", 10);
  std::set<std::string> rest;
  while (rest.size() < 4) {
    auto m = member->Receive(std::chrono::seconds(10));
    ASSERT_TRUE(m.ok() && m->has_value());
    rest.emplace((*m)->value);
    member->Ack(**m);
  }
  EXPECT_EQ(rest, (std::set<std::string>{"m6", "m7", "m8", "m9"}));
}

TEST_F(GroupConsumerTest, BadGroupRequestsAreClearErrors) {
  ASSERT_TRUE(client_->CreateTopic("orders").ok());
  GroupConsumerConfig config;
  config.topic = "missing";
  config.group = "g";
  EXPECT_EQ(GroupConsumer::Join(*client_, config).status().code(), ErrorCode::kNotFound);
  config.topic = "orders";
  config.group = "bad name";
  EXPECT_EQ(GroupConsumer::Join(*client_, config).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client_->DescribeGroup("orders", "nope").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace sprawl::client
