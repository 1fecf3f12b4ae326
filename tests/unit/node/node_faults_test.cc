// A real in-process node on a failing disk, driven by the real client
// library: each injected fault gives the client a clear error, no
// acknowledged message is lost (the node restarted on the same data
// directory reads back everything acknowledged), and after the fault clears
// the node says why it refuses writes until it restarts, then serves again.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../broker/broker_test_util.h"
#include "core/client/client.h"
#include "core/client/producer.h"
#include "core/node/node.h"
#include "core/protocol/message_type.h"
#include "tests/support/fault_injection_fs.h"

namespace sprawl::node {
namespace {

using sprawl::testing::FaultInjectionFs;
using Op = FaultInjectionFs::Op;
namespace pb = protocol::pb;

constexpr char kTopic[] = "orders";

class NodeFaultTest : public ::testing::Test {
 protected:
  void Start(const std::string& fsync = "interval:10") {
    client_.reset();
    node_.reset();
    NodeConfig config;
    config.data_dir = dir_.Sub("data");
    config.client_port = 0;
    config.http_port = 0;
    config.fsync = *storage::FsyncPolicy::Parse(fsync);
    config.file_system = fs_;
    auto node = Node::Start(config);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(*node);
    client::ClientConfig cc;
    cc.server = node_->client_endpoint();
    cc.request_timeout = std::chrono::seconds(10);
    auto client = client::Client::Connect(cc);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
  }

  void CreateTopic() {
    pb::TopicConfig config;
    config.set_partitions(1);
    auto created = client_->CreateTopic(kTopic, config);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  // Sends one message and waits for its acknowledgement; an acknowledged
  // value joins acked_.
  Result<client::PublishAck> Send(client::Producer& producer, const std::string& value) {
    auto ack = producer.SendSync(kTopic, std::nullopt, value, {}, 0u);
    if (ack.ok()) acked_.push_back(value);
    return ack;
  }

  // Every committed value of the partition, from offset 0.
  std::vector<std::string> ReadAll() {
    std::vector<std::string> out;
    uint64_t offset = 0;
    while (true) {
      auto fetched = client_->Fetch(kTopic, 0, offset);
      EXPECT_TRUE(fetched.ok()) << fetched.status().ToString();
      if (!fetched.ok() || fetched->messages.empty()) break;
      for (auto& m : fetched->messages) out.emplace_back(m.value);
      offset = fetched->next_offset;
    }
    return out;
  }

  // Restarts the node on the same data directory with a healthy disk and
  // checks that every acknowledged value is there, in order, followed at most
  // by `maybe` (a message whose failed write reached the disk anyway).
  void RestartAndCheckNothingAcknowledgedIsLost(const std::string& fsync,
                                                const std::vector<std::string>& maybe = {}) {
    fs_->ClearAll();
    Start(fsync);
    const std::vector<std::string> stored = ReadAll();
    ASSERT_GE(stored.size(), acked_.size());
    EXPECT_EQ(std::vector<std::string>(stored.begin(), stored.begin() + acked_.size()), acked_);
    const std::vector<std::string> extra(stored.begin() + acked_.size(), stored.end());
    if (!extra.empty()) {
      EXPECT_EQ(extra, maybe);
    }
  }

  // The node serves again: a new producer is acknowledged and read back.
  void ExpectServing() {
    client::Producer producer(*client_);
    auto ack = Send(producer, "after-restart");
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    auto fetched = client_->Fetch(kTopic, 0, ack->offset);
    ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
    ASSERT_FALSE(fetched->messages.empty());
    EXPECT_EQ(fetched->messages[0].value, "after-restart");
  }

  // The error a client gets from a failed store: IO_ERROR, not retriable,
  // naming the cause and what to do.
  static void ExpectStoreFailure(const Status& s, const std::string& cause) {
    EXPECT_EQ(s.code(), ErrorCode::kIoError) << s.ToString();
    EXPECT_FALSE(s.retriable()) << s.ToString();
    EXPECT_NE(s.message().find(cause), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find("restart the node"), std::string::npos) << s.ToString();
  }

  broker::testing::ScratchDir dir_;
  std::shared_ptr<FaultInjectionFs> fs_ = std::make_shared<FaultInjectionFs>();
  std::unique_ptr<Node> node_;
  std::unique_ptr<client::Client> client_;
  std::vector<std::string> acked_;
};

TEST_F(NodeFaultTest, FailedWriteGivesTheClientAClearErrorAndLosesNothingAcknowledged) {
  Start();
  CreateTopic();
  {
    client::Producer producer(*client_);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(Send(producer, "m" + std::to_string(i)).ok());
    fs_->Fail(Op::kWrite, FaultInjectionFs::kWal);
    auto failed = Send(producer, "lost");
    ASSERT_FALSE(failed.ok());
    ExpectStoreFailure(failed.status(), "write-ahead log failed");

    // The disk is healthy again; the node still refuses writes and says why.
    fs_->ClearAll();
    auto refused = Send(producer, "refused");
    ASSERT_FALSE(refused.ok());
    ExpectStoreFailure(refused.status(), "write-ahead log failed");
    // What was acknowledged is still served.
    EXPECT_EQ(std::vector<std::string>(ReadAll()), acked_);
  }
  RestartAndCheckNothingAcknowledgedIsLost("interval:10", {"lost"});
  ExpectServing();
}

TEST_F(NodeFaultTest, FailedSyncUnderFsyncAlwaysFailsThePublishAndIsNotRetried) {
  Start("always");
  CreateTopic();
  {
    client::Producer producer(*client_);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(Send(producer, "m" + std::to_string(i)).ok());
    fs_->Fail(Op::kSync, FaultInjectionFs::kWal);
    auto failed = Send(producer, "unsynced");
    ASSERT_FALSE(failed.ok());
    ExpectStoreFailure(failed.status(), "syncing the store's write-ahead log");

    fs_->ClearAll();
    const uint64_t syncs = fs_->calls(Op::kSync, FaultInjectionFs::kWal);
    auto refused = Send(producer, "refused");
    ASSERT_FALSE(refused.ok());
    ExpectStoreFailure(refused.status(), "syncing the store's write-ahead log");
    EXPECT_EQ(fs_->calls(Op::kSync, FaultInjectionFs::kWal), syncs) << "a failed sync was retried";
  }
  RestartAndCheckNothingAcknowledgedIsLost("always", {"unsynced"});
  ExpectServing();
}

TEST_F(NodeFaultTest, FailedSyncFailsAnAcksAllPublishUnderAnInterval) {
  Start("interval:10");
  CreateTopic();
  {
    client::ProducerConfig config;
    config.acks = pb::ACK_ALL;
    client::Producer producer(*client_, config);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(Send(producer, "m" + std::to_string(i)).ok());
    fs_->Fail(Op::kSync, FaultInjectionFs::kWal);
    auto failed = Send(producer, "unsynced");
    ASSERT_FALSE(failed.ok()) << "acknowledged at ack level all without a sync";
    ExpectStoreFailure(failed.status(), "syncing the store's write-ahead log");
    fs_->ClearAll();
    auto refused = Send(producer, "refused");
    ASSERT_FALSE(refused.ok());
    ExpectStoreFailure(refused.status(), "syncing the store's write-ahead log");
  }
  RestartAndCheckNothingAcknowledgedIsLost("interval:10", {"unsynced"});
  ExpectServing();
}

// A node reads its partitions' tails when it starts (the fetch-time read
// fault is covered at the storage level, StoreFaultTest, where the data can
// be made to sit in table files that no read has cached).
TEST_F(NodeFaultTest, FailedReadAtStartIsAClearErrorAndTheNodeStartsOnceItClears) {
  Start();
  CreateTopic();
  {
    client::Producer producer(*client_);
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(Send(producer, "m" + std::to_string(i)).ok());
  }
  client_.reset();
  node_.reset();
  fs_->Fail(Op::kRead, FaultInjectionFs::kDataFiles);
  NodeConfig config;
  config.data_dir = dir_.Sub("data");
  config.client_port = 0;
  config.http_port = 0;
  config.file_system = fs_;
  auto refused = Node::Start(config);
  ASSERT_FALSE(refused.ok()) << "started and served without reading its data";
  EXPECT_EQ(refused.status().code(), ErrorCode::kIoError) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("injected read fault"), std::string::npos)
      << refused.status().ToString();
  EXPECT_GE(fs_->injected(Op::kRead), 1u);

  // Nothing was cut or lost because of the fault.
  RestartAndCheckNothingAcknowledgedIsLost("interval:10");
  ExpectServing();
}

}  // namespace
}  // namespace sprawl::node
