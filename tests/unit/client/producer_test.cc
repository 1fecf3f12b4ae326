// The client library against a real node on loopback.
#include "core/client/producer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "../broker/broker_test_util.h"
#include "core/node/node.h"
#include "core/protocol/partitioner.h"

namespace sprawl::client {
namespace {

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node::NodeConfig config;
    config.data_dir = dir_.Sub("data");
    config.client_port = 0;
    config.http_port = 0;
    auto node = node::Node::Start(config);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(*node);
    ClientConfig cc;
    cc.server = node_->client_endpoint();
    auto client = Client::Connect(cc);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
  }

  // Every message of a partition from offset 0.
  std::vector<Message> ReadAll(const std::string& topic, uint32_t partition) {
    std::vector<Message> out;
    uint64_t offset = 0;
    while (true) {
      auto fetched = client_->Fetch(topic, partition, offset);
      EXPECT_TRUE(fetched.ok()) << fetched.status().ToString();
      if (!fetched.ok() || fetched->messages.empty()) break;
      for (auto& m : fetched->messages) out.push_back(std::move(m));
      offset = fetched->next_offset;
    }
    return out;
  }

  broker::testing::ScratchDir dir_;
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<Client> client_;
};

TEST_F(ProducerTest, KeyedRecordsLandOnTheirPartitionInOrderWithHeaders) {
  pb::TopicConfig config;
  config.set_partitions(4);
  ASSERT_TRUE(client_->CreateTopic("orders", config).ok());
  Producer producer(*client_);
  std::atomic<int> acked{0};
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "user-" + std::to_string(i % 10);
    producer.Send("orders", key, "v" + std::to_string(i), {{"trace", std::to_string(i)}},
                  [&](Result<PublishAck> ack) {
                    EXPECT_TRUE(ack.ok()) << ack.status().ToString();
                    ++acked;
                  });
  }
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(acked.load(), 1000);

  size_t total = 0;
  for (uint32_t p = 0; p < 4; ++p) {
    std::map<std::string, int, std::less<>> last_index;
    for (const Message& m : ReadAll("orders", p)) {
      ASSERT_TRUE(m.key.has_value());
      EXPECT_EQ(protocol::PartitionForKey(*m.key, 4), p);
      const int index = std::stoi(std::string(m.value.substr(1)));
      ASSERT_EQ(m.headers.size(), 1u);
      EXPECT_EQ(m.headers[0].second, std::to_string(index));
      auto it = last_index.find(*m.key);
      if (it != last_index.end()) {
        EXPECT_GT(index, it->second) << "order within a key";
      }
      last_index.insert_or_assign(std::string(*m.key), index);
      ++total;
    }
  }
  EXPECT_EQ(total, 1000u);
}

TEST_F(ProducerTest, SyncSendReturnsTheOffsetAndErrorsAreReported) {
  ASSERT_TRUE(client_->CreateTopic("orders").ok());
  Producer producer(*client_);
  auto first = producer.SendSync("orders", std::nullopt, "a");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->offset, 0u);
  auto second = producer.SendSync("orders", std::nullopt, "b");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->offset, 1u);

  auto missing = producer.SendSync("nope", std::nullopt, "x");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  auto bad_partition = producer.SendSync("orders", std::nullopt, "x", {}, 7);
  EXPECT_EQ(bad_partition.status().code(), ErrorCode::kNotFound);

  pb::TopicConfig small;
  small.set_max_message_bytes(4);
  ASSERT_TRUE(client_->AlterTopic("orders", small).ok());
  auto large = producer.SendSync("orders", std::nullopt, "too large");
  EXPECT_EQ(large.status().code(), ErrorCode::kMessageTooLarge);
  EXPECT_EQ(ReadAll("orders", 0).size(), 2u);
}

TEST_F(ProducerTest, RecordsOfManyThreadsAreEachStoredOnce) {
  pb::TopicConfig config;
  config.set_partitions(3);
  ASSERT_TRUE(client_->CreateTopic("events", config).ok());
  Producer producer(*client_);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        producer.Send("events", std::nullopt, std::to_string(t) + ":" + std::to_string(i), {},
                      [&](Result<PublishAck> ack) {
                        if (!ack.ok()) ++failures;
                      });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> seen;
  for (uint32_t p = 0; p < 3; ++p) {
    for (const Message& m : ReadAll("events", p)) EXPECT_TRUE(seen.emplace(m.value).second);
  }
  EXPECT_EQ(seen.size(), 8000u);
}

TEST_F(ProducerTest, CloseWithRecordsBufferedDeliversThem) {
  ASSERT_TRUE(client_->CreateTopic("orders").ok());
  std::atomic<int> acked{0};
  {
    ProducerConfig config;
    config.linger = std::chrono::milliseconds(1000);
    Producer producer(*client_, config);
    for (int i = 0; i < 50; ++i) {
      producer.Send("orders", std::nullopt, "x", {}, [&](Result<PublishAck> ack) {
        if (ack.ok()) ++acked;
      });
    }
  }
  EXPECT_EQ(acked.load(), 50);
  EXPECT_EQ(ReadAll("orders", 0).size(), 50u);
}

// Without an ack level a producer asks for `all`: under a lazy fsync policy
// only `all` syncs the log before the ack (the interval is long enough that
// no timed sync falls inside the publish).
TEST(ProducerDefaultsTest, TheDefaultAckLevelIsAllAPublishWaitsForASync) {
  broker::testing::ScratchDir dir;
  node::NodeConfig config;
  config.data_dir = dir.Sub("data");
  config.client_port = 0;
  config.http_port = 0;
  config.fsync = *storage::FsyncPolicy::Parse("interval:60000");
  auto node = node::Node::Start(config);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  ClientConfig cc;
  cc.server = (*node)->client_endpoint();
  auto client = Client::Connect(cc);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->CreateTopic("durable", pb::TopicConfig()).ok());
  metrics::Counter& fsyncs =
      (*node)->registry().GetCounter("sprawl_storage_fsyncs_total", "Write-ahead log syncs.");
  const uint64_t before = fsyncs.Value();
  Producer producer(**client);
  Result<PublishAck> ack = producer.SendSync("durable", std::nullopt, "x");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_GT(fsyncs.Value(), before);
}

}  // namespace
}  // namespace sprawl::client
