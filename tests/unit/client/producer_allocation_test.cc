// The producer's throughput path allocates nothing per record once a
// partition's batch size is known: the record is encoded into the open
// batch, and a record without a callback stores none. Allocations are
// counted on the sending thread (allocation_counter.h).
#include <gtest/gtest.h>

#include <atomic>

#include "../broker/broker_test_util.h"
#include "allocation_counter.h"
#include "core/client/producer.h"
#include "core/node/node.h"

namespace sprawl::client {
namespace {

TEST(ProducerAllocationTest, SteadyStateSendsAllocateOncePerBatchNotPerRecord) {
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

  ProducerConfig pc;
  pc.acks = pb::ACK_LEADER;
  pc.batch_bytes = 64u << 10;
  std::atomic<uint64_t> acked{0};
  pc.on_batch = [&](const BatchOutcome& batch) {
    if (batch.status.ok()) acked += batch.records;
  };
  Producer producer(**client, pc);
  const std::string topic = "steady";
  const std::string value(100, 'v');
  // Warm-up: the partition learns its batch size, the topic is resolved.
  constexpr uint64_t kWarmUp = 5'000;
  for (uint64_t i = 0; i < kWarmUp; ++i) producer.Send(topic, std::nullopt, value, {}, nullptr);
  ASSERT_TRUE(producer.Flush().ok());

  constexpr uint64_t kCounted = 20'000;
  uint64_t counted = 0;
  {
    CountAllocations allocations;
    for (uint64_t i = 0; i < kCounted; ++i) producer.Send(topic, std::nullopt, value, {}, nullptr);
    counted = allocations.count();
  }
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(acked.load(), kWarmUp + kCounted);
  // 20,000 records of 116 bytes fill about 36 batches of 64 KiB; each takes
  // its buffer and, now and then, a slot in the partition's queue.
  EXPECT_LE(counted, kCounted / 100) << counted << " allocations for " << kCounted << " sends";
}

}  // namespace
}  // namespace sprawl::client
