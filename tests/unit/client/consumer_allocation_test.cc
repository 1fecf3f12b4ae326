// The consumer's receive path allocates nothing per message: records are
// decoded as views into the batch bytes, which the messages share, and acks
// are queued into a vector that keeps its capacity between settles.
// Allocations are counted on the thread that decodes a batch and on the one
// that receives and acks (allocation_counter.h).
#include <gtest/gtest.h>

#include "../broker/broker_test_util.h"
#include "allocation_counter.h"
#include "core/client/group_consumer.h"
#include "core/client/producer.h"
#include "core/node/node.h"
#include "core/storage/record_batch.h"

namespace sprawl::client {
namespace {

TEST(ConsumerAllocationTest, DecodingABatchAllocatesPerBatchNotPerRecord) {
  constexpr int kRecords = 1000;
  storage::RecordBatchBuilder builder;
  const std::string value(100, 'v');
  for (int i = 0; i < kRecords; ++i) builder.Add(std::nullopt, value, 1'000 + i);
  auto batch = builder.Build();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();

  uint64_t counted = 0;
  Result<std::vector<Message>> messages = std::vector<Message>();
  {
    CountAllocations allocations;
    messages = DecodeBatch("a-topic-name-longer-than-sso", 3, *batch);
    counted = allocations.count();
  }
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), static_cast<size_t>(kRecords));
  // The shared bytes (topic and batch) and the vector of messages.
  EXPECT_LE(counted, 5u) << counted << " allocations for " << kRecords << " records";
  const Message& last = messages->back();
  EXPECT_EQ(last.topic, "a-topic-name-longer-than-sso");
  EXPECT_EQ(last.partition, 3u);
  EXPECT_EQ(last.offset, static_cast<uint64_t>(kRecords - 1));
  EXPECT_EQ(last.value, value);
  EXPECT_FALSE(last.key.has_value());
}

TEST(ConsumerAllocationTest, AMessageOutlivesItsBatchAndTheOtherMessages) {
  storage::RecordBatchBuilder builder;
  storage::RecordInput first;
  first.key = "k";
  first.value = "first";
  first.headers = {{"h", "v"}};
  first.timestamp_ms = 1;
  builder.Add(first);
  builder.Add(std::nullopt, "second", 2);
  auto batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  Message kept;
  {
    std::string bytes = *batch;
    auto messages = DecodeBatch("t", 0, bytes);
    ASSERT_TRUE(messages.ok());
    kept = (*messages)[0];
    bytes.assign(bytes.size(), '\0');  // the caller's buffer is not what the views point into
  }
  EXPECT_EQ(kept.topic, "t");
  EXPECT_EQ(kept.key, "k");
  EXPECT_EQ(kept.value, "first");
  ASSERT_EQ(kept.headers.size(), 1u);
  EXPECT_EQ(kept.headers[0].first, "h");
  EXPECT_EQ(kept.headers[0].second, "v");
}

TEST(ConsumerAllocationTest, SteadyStateReceivesAndAcksAllocateOncePerPushNotPerMessage) {
  broker::testing::ScratchDir dir;
  node::NodeConfig config;
  config.data_dir = dir.Sub("data");
  config.client_port = 0;
  config.http_port = 0;
  auto node = node::Node::Start(config);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  ClientConfig cc;
  cc.server = (*node)->client_endpoint();
  auto client = Client::Connect(cc);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->CreateTopic("steady", pb::TopicConfig()).ok());
  constexpr int kWarmUp = 2'000;
  constexpr int kCounted = 20'000;
  {
    Producer producer(**client);
    const std::string value(100, 'v');
    for (int i = 0; i < kWarmUp + kCounted; ++i) {
      producer.Send("steady", std::nullopt, value, {}, nullptr);
    }
    ASSERT_TRUE(producer.Flush().ok());
  }
  GroupConsumerConfig gc;
  gc.topic = "steady";
  gc.group = "g";
  gc.max_in_flight = 1000;
  auto consumer = GroupConsumer::Join(**client, gc);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  auto receive_and_ack = [&](int n) {
    for (int received = 0; received < n;) {
      auto m = (*consumer)->Receive(std::chrono::seconds(10));
      ASSERT_TRUE(m.ok());
      ASSERT_TRUE(m->has_value()) << "nothing after " << received;
      (*consumer)->Ack(**m);
      ++received;
    }
  };
  receive_and_ack(kWarmUp);  // the ack vector reaches its size, the route is known
  uint64_t counted = 0;
  {
    CountAllocations allocations;
    receive_and_ack(kCounted);
    counted = allocations.count();
  }
  ASSERT_TRUE((*consumer)->Commit().ok());
  // Only the settle requests this thread sends allocate (the request, its
  // body, the call's bookkeeping: about a dozen each), one per 500 acks (half
  // the credits); nothing is allocated per message.
  constexpr uint64_t kSettles = kCounted / 500 + 1;
  EXPECT_LE(counted, kSettles * 16)
      << counted << " allocations for " << kCounted << " receives and acks";
  ASSERT_TRUE((*consumer)->Close().ok());
}

}  // namespace
}  // namespace sprawl::client
