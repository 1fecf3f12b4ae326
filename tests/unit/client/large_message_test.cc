// Large messages end to end: 1 MiB records consumed by a group and by offset
// at every credit setting and byte budget, on a real node. Delivery must
// complete quickly whatever the size: nothing may wait on an ack timeout.
#include <gtest/gtest.h>

#include <set>

#include "../broker/broker_test_util.h"
#include "core/client/group_consumer.h"
#include "core/client/offset_consumer.h"
#include "core/client/producer.h"
#include "core/node/node.h"

namespace sprawl::client {
namespace {

constexpr size_t kMessageBytes = 1u << 20;
// A hot partition: more than the 64 MiB a transport message may carry waits
// in partition 0, a little in partition 1.
constexpr uint32_t kHot = 72;
constexpr uint32_t kCold = 8;
constexpr uint32_t kMessages = kHot + kCold;
// Generous: a run takes well under a second; a delivery lost to a dropped
// push would only come back after the topic's 30 s ack timeout.
constexpr auto kDeadline = std::chrono::seconds(20);

class LargeMessageTest : public ::testing::Test {
 protected:
  // One node and one topic for the suite: publishing 80 MiB once keeps it cheap.
  static void SetUpTestSuite() {
    dir_ = new broker::testing::ScratchDir();
    node::NodeConfig config;
    config.data_dir = dir_->Sub("data");
    config.client_port = 0;
    config.http_port = 0;
    auto node = node::Node::Start(config);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = node->release();
    ClientConfig cc;
    cc.server = node_->client_endpoint();
    client_ = Client::Connect(cc)->release();
    pb::TopicConfig topic;
    topic.set_partitions(2);
    topic.set_max_message_bytes(2u << 20);
    ASSERT_TRUE(client_->CreateTopic("big", topic).ok());
    Producer producer(*client_);
    for (uint32_t i = 0; i < kMessages; ++i) {
      std::string value(kMessageBytes, static_cast<char>('a' + i % 26));
      value.replace(0, 8, std::to_string(10'000'000 + i).substr(0, 8));
      producer.Send(
          "big", std::nullopt, value, {}, [](Result<PublishAck> ack) { ASSERT_TRUE(ack.ok()); },
          i < kHot ? 0u : 1u);
    }
    ASSERT_TRUE(producer.Flush().ok());
  }

  static void TearDownTestSuite() {
    delete client_;
    delete node_;
    delete dir_;
  }

  // Receives until every message arrived once or the deadline passed; acks
  // each. Returns the distinct values seen.
  static std::set<std::string> ConsumeGroup(const std::string& group, uint32_t credits,
                                            uint64_t budget) {
    GroupConsumerConfig config;
    config.topic = "big";
    config.group = group;
    config.max_in_flight = credits;
    config.max_in_flight_bytes = budget;
    auto consumer = GroupConsumer::Join(*client_, config);
    EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
    std::set<std::string> seen;
    if (!consumer.ok()) return seen;
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (seen.size() < kMessages && std::chrono::steady_clock::now() < deadline) {
      auto m = (*consumer)->Receive(std::chrono::milliseconds(100));
      if (!m.ok()) break;
      if (!m->has_value()) continue;
      EXPECT_EQ((*m)->value.size(), kMessageBytes);
      seen.emplace((*m)->value.substr(0, 8));
      (*consumer)->Ack(**m);
    }
    EXPECT_TRUE((*consumer)->Close().ok());
    return seen;
  }

  static inline broker::testing::ScratchDir* dir_ = nullptr;
  static inline node::Node* node_ = nullptr;
  static inline Client* client_ = nullptr;
};

struct Setting {
  uint32_t credits;
  uint64_t budget;  // 0 = the node's default
};

TEST_F(LargeMessageTest, GroupReceivesEveryMessageAtEveryCreditSetting) {
  const Setting settings[] = {
      {1, 0},           {10, 0},           {100, 0},
      {1000, 0},        {1000, 512 << 10},  // a budget smaller than one message: one at a time
      {10, 3u << 20},                       // a budget between messages
      {1000, 1u << 30},                     // a budget above what one transport message carries
  };
  int run = 0;
  for (const Setting& s : settings) {
    SCOPED_TRACE("credits " + std::to_string(s.credits) + ", budget " + std::to_string(s.budget));
    const auto start = std::chrono::steady_clock::now();
    const auto seen = ConsumeGroup("g" + std::to_string(run++), s.credits, s.budget);
    EXPECT_EQ(seen.size(), kMessages)
        << "after "
        << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s";
  }
}

TEST_F(LargeMessageTest, OffsetReaderReceivesEveryMessageAtEveryBudget) {
  // The default, below one message, between messages, above the node's cap.
  for (uint64_t budget :
       {uint64_t{0}, uint64_t{512} << 10, uint64_t{3} << 20, uint64_t{64} << 20}) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    OffsetConsumerOptions options;
    options.max_fetch_bytes = static_cast<uint32_t>(budget);
    auto reader = OffsetConsumer::Open(*client_, "big", {}, StartPosition{}, options);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    std::set<std::string> seen;
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (seen.size() < kMessages && std::chrono::steady_clock::now() < deadline) {
      auto m = (*reader)->Receive(std::chrono::milliseconds(100));
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      if (m->has_value()) seen.emplace((*m)->value.substr(0, 8));
    }
    EXPECT_EQ(seen.size(), kMessages);
  }
}

}  // namespace
}  // namespace sprawl::client
