// An idempotent producer's retry after a failed write, through a real node
// and the client library: the retry must not be acknowledged unless the batch
// is stored. The broker records a producer's sequence when the append is
// accepted, before it is durable, so today the retry is answered "duplicate"
// with the offsets of a batch that never reached the disk.
#include <gtest/gtest.h>

#include "../broker/broker_test_util.h"
#include "core/client/client.h"
#include "core/node/node.h"
#include "core/protocol/message_type.h"
#include "tests/support/fault_injection_fs.h"

namespace sprawl::node {
namespace {

using sprawl::testing::FaultInjectionFs;
using Op = FaultInjectionFs::Op;
namespace pb = protocol::pb;

struct Running {
  std::unique_ptr<Node> node;
  std::unique_ptr<client::Client> client;
};

Running StartNode(const std::string& data_dir, std::shared_ptr<FaultInjectionFs> fs) {
  NodeConfig config;
  config.data_dir = data_dir;
  config.client_port = 0;
  config.http_port = 0;
  config.file_system = std::move(fs);
  auto node = Node::Start(config);
  EXPECT_TRUE(node.ok()) << node.status().ToString();
  if (!node.ok()) return {};
  client::ClientConfig cc;
  cc.server = (*node)->client_endpoint();
  cc.request_timeout = std::chrono::seconds(10);
  auto client = client::Client::Connect(cc);
  EXPECT_TRUE(client.ok());
  return {std::move(*node), std::move(*client)};
}

// Publishes one batch of producer 7 at `sequence` with ack level leader.
Result<pb::PublishResult> Publish(client::Client& client, uint32_t sequence, int count,
                                  const std::string& prefix) {
  pb::PublishRequest request;
  request.set_topic("orders");
  request.set_acks(pb::ACK_LEADER);
  request.add_batches()->set_partition(0);
  std::vector<std::string> batches{
      broker::testing::Batch(count, prefix, storage::ProducerStamp{7, sequence})};
  auto reply =
      client.Request<pb::PublishResponse>(protocol::MessageType::kPublish, request, batches);
  if (!reply.ok()) return reply.status();
  const pb::PublishResult& r = reply->results(0);
  if (r.has_error()) {
    return Status(static_cast<ErrorCode>(r.error().code()), r.error().message());
  }
  return r;
}

TEST(NodeRetryFaultTest, RetryOfAFailedIdempotentWriteIsNeverAcknowledgedWithoutTheData) {
  broker::testing::ScratchDir dir;
  auto fs = std::make_shared<FaultInjectionFs>();
  uint64_t acked_records = 0;
  {
    Running n = StartNode(dir.Sub("data"), fs);
    ASSERT_TRUE(n.node);
    pb::TopicConfig config;
    config.set_partitions(1);
    ASSERT_TRUE(n.client->CreateTopic("orders", config).ok());
    auto first = Publish(*n.client, 0, 3, "a");
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    acked_records = first->last_offset() + 1;

    fs->Fail(Op::kWrite, FaultInjectionFs::kWal);
    auto failed = Publish(*n.client, 3, 2, "b");
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), ErrorCode::kIoError) << failed.status().ToString();

    // The same batch again, as an application retrying after an error would.
    fs->ClearAll();
    auto retried = Publish(*n.client, 3, 2, "b");
    if (retried.ok()) {
      // Acknowledged: then it must be stored, and survive a restart.
      EXPECT_FALSE(retried->duplicate())
          << "the retry was answered 'duplicate' (offsets " << retried->base_offset() << " to "
          << retried->last_offset() << ") although its only write failed";
      acked_records = retried->last_offset() + 1;
    }
  }
  Running n = StartNode(dir.Sub("data"), fs);
  ASSERT_TRUE(n.node);
  uint64_t stored = 0;
  uint64_t offset = 0;
  while (true) {
    auto fetched = n.client->Fetch("orders", 0, offset);
    ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
    if (fetched->messages.empty()) break;
    stored += fetched->messages.size();
    offset = fetched->next_offset;
  }
  EXPECT_GE(stored, acked_records) << "an acknowledged record is not stored after a restart";
}

}  // namespace
}  // namespace sprawl::node
