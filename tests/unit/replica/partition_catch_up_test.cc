// A partition replica catching up from its leaders' images
// (docs/replication.md, "Catching up from records"): a real PartitionReplicas
// with its RaftHost, broker and partition log, records copied from a real
// node's client port, and the group's leaders played by the test, which
// sends their Raft messages, so that a leader change lands exactly where it
// matters.
#include <gtest/gtest.h>

#include "../broker/broker_test_util.h"
#include "core/client/client.h"
#include "core/node/node.h"
#include "core/protocol/message_type.h"
#include "core/transport/client_connection.h"
#include "replica_under_test.h"

namespace sprawl::replica {
namespace {

using namespace under_test;  // NOLINT(google-build-using-namespace)

class PartitionCatchUpTest : public ::testing::Test {
 protected:
  // A node holding the partition's committed records, kBatches batches of
  // kPerBatch ("v0", "v1", ...), as every replica's log holds them; with
  // `retention_bytes`, a memory node whose retention runs every 20 ms.
  std::unique_ptr<node::Node> StartSource(const std::string& name, uint64_t retention_bytes = 0) {
    node::NodeConfig config;
    config.data_dir = dir_.Sub(name);
    config.client_port = 0;
    config.http_port = 0;
    if (retention_bytes > 0) {
      config.storage = storage::StorageMode::kMemory;
      config.retention_interval = 20ms;
    }
    auto node = node::Node::Start(config);
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    if (!node.ok()) return nullptr;
    client::ClientConfig cc;
    cc.server = (*node)->client_endpoint();
    auto client = client::Client::Connect(cc);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    if (!client.ok()) return nullptr;
    pb::TopicConfig topic;
    topic.set_partitions(1);
    topic.set_retention_bytes(retention_bytes);
    EXPECT_TRUE((*client)->CreateTopic(kTopic, topic).ok());
    // Batches of exactly kPerBatch records, anonymous: a batch applied twice
    // would be stored twice.
    for (int k = 0; k < kBatches; ++k) {
      storage::RecordBatchBuilder builder;
      for (int i = 0; i < kPerBatch; ++i) {
        builder.Add(std::nullopt, "v" + std::to_string(k * kPerBatch + i), 0);
      }
      auto batch = builder.Build();
      EXPECT_TRUE(batch.ok());
      if (!batch.ok()) return nullptr;
      pb::PublishRequest publish;
      publish.set_topic(kTopic);
      publish.add_batches()->set_partition(0);
      auto published = (*client)->Request<pb::PublishResponse>(protocol::MessageType::kPublish,
                                                               publish, {std::move(*batch)});
      EXPECT_TRUE(published.ok()) << published.status().ToString();
      if (!published.ok()) return nullptr;
    }
    return std::move(*node);
  }

  // The source's stored batches, which the leaders' log entries carry.
  void ReadBatches() {
    auto connection = transport::ClientConnection::Connect(source_->client_endpoint());
    ASSERT_TRUE(connection.ok());
    uint64_t offset = 0;
    while (batches_.size() < kBatches) {
      pb::FetchRequest fetch;
      fetch.set_topic(kTopic);
      fetch.set_partition(0);
      fetch.set_offset(offset);
      fetch.set_max_bytes(1 << 20);
      auto reply = (*connection)
                       ->Call(static_cast<uint16_t>(protocol::MessageType::kFetch),
                              fetch.SerializeAsString());
      ASSERT_TRUE(reply.ok() && reply->status().ok());
      ASSERT_FALSE(reply->batches.empty());
      for (const std::string& bytes : reply->batches) {
        auto view = storage::RecordBatchView::Parse(bytes);
        ASSERT_TRUE(view.ok());
        ASSERT_EQ(view->base_offset(), offset);
        ASSERT_EQ(view->record_count(), static_cast<uint32_t>(kPerBatch));
        batches_.push_back(bytes);
        offset = view->last_offset() + 1;
      }
    }
  }

  void SetUp() override {
    source_ = StartSource("source");
    ASSERT_NE(source_, nullptr);
    ReadBatches();
  }

  // Every member's records are read from `source`.
  static ClusterView View(const node::Node& node) {
    const std::string source = node.client_endpoint();
    return ClusterView{[source](std::string_view id) { return id == "f" ? std::string() : source; },
                       [](NodeId id) {
                         for (const char* member : {"a", "b", "f"}) {
                           if (RaftNodeId(member) == id) return std::string(member);
                         }
                         return std::string();
                       },
                       [](NodeId, GroupId) {}};
  }

  // A leader's image at `index`: the log offset after it is index * kPerBatch.
  static Message ImageFrom(const std::string& leader, uint64_t term, uint64_t index) {
    Message m;
    m.type = MessageType::kSnapshot;
    m.from = RaftNodeId(leader);
    m.to = RaftNodeId("f");
    m.term = term;
    Snapshot snapshot;
    snapshot.index = index;
    snapshot.term = 1;
    snapshot.conf.voters = {RaftNodeId("a"), RaftNodeId("b"), RaftNodeId("f")};
    std::sort(snapshot.conf.voters.begin(), snapshot.conf.voters.end());
    snapshot.data = EncodePartitionImage({index, index * kPerBatch});
    m.snapshot = std::move(snapshot);
    return m;
  }
  // A leader's append of entries [from, to] (all of term 1), committing `to`.
  Message AppendFrom(const std::string& leader, uint64_t term, uint64_t from, uint64_t to) {
    Message m;
    m.type = MessageType::kAppend;
    m.from = RaftNodeId(leader);
    m.to = RaftNodeId("f");
    m.term = term;
    m.index = from - 1;
    m.log_term = 1;
    m.commit = to;
    for (uint64_t k = from; k <= to; ++k) {
      m.entries.push_back(Entry{1, k, replication::EntryType::kNormal, batches_[k - 1]});
    }
    return m;
  }

  broker::testing::ScratchDir dir_;
  std::unique_ptr<node::Node> source_;
  std::vector<std::string> batches_;
};

// Leader a's image at index 20 makes the replica copy records [0, 200); a
// dies before sending it again, and the new leader b (which compacted only
// through index 10, offset 100) sends its own image. The replica already
// holds every record that image covers: it installs it (a refusal would be
// for ever, since b's compaction waits for this replica, which answers its
// heartbeats) and then applies b's entries after it, matching the records
// it copied instead of storing them twice.
TEST_F(PartitionCatchUpTest, AReplicaThatCopiedPastANewLeadersImageInstallsItAndFollowsItsLog) {
  Replica f(dir_.Sub("f"), View(*source_));
  f.Place();

  f.Receive(ImageFrom("a", 1, 20));
  ASSERT_TRUE(WaitUntil([&] { return f.CatchUpsDone() == 1; }, 20s));
  ASSERT_EQ(f.LogEnd(), 200u);
  EXPECT_EQ(f.SnapshotIndex(), 0u);  // a's image waits for a's next send, which never comes

  // b leads at term 2 and sends its image at each heartbeat answer.
  const bool installed = WaitUntil(
      [&] {
        f.Receive(ImageFrom("b", 2, 10));
        return f.SnapshotIndex() == 10;
      },
      5s);
  ASSERT_TRUE(installed) << "the replica refuses the new leader's image, which covers less than "
                            "it holds, for ever: its catch-up stalls";

  f.Receive(AppendFrom("b", 2, 11, kBatches));
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto mark = f.Mark();
        return mark && mark->first == static_cast<uint64_t>(kBatches);
      },
      10s));
  EXPECT_EQ(f.Mark()->second, static_cast<uint64_t>(kBatches * kPerBatch));
  EXPECT_EQ(f.LogEnd(), static_cast<uint64_t>(kBatches * kPerBatch));
  const std::vector<std::string> values = f.Values();
  ASSERT_EQ(values.size(), static_cast<size_t>(kBatches * kPerBatch));
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i], "v" + std::to_string(i));
}

// Leader a's image ends at offset 100, but a's retention has removed more
// than that: its log starts past 100. The replica restarts its own log at
// the image's end, not at a's first record (a log starting past the image
// could never follow the entries after it, whose records begin at 100),
// installs the image and stores the records of a's entries from there.
TEST_F(PartitionCatchUpTest, ARecordsSourceRetainingPastTheImagesEndRestartsTheLogAtTheImagesEnd) {
  auto retaining = StartSource("retaining", /*retention_bytes=*/1000);
  ASSERT_NE(retaining, nullptr);
  client::ClientConfig cc;
  cc.server = retaining->client_endpoint();
  auto client = client::Client::Connect(cc);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto first = (*client)->ListOffset(kTopic, 0, pb::OFFSET_EARLIEST);
        return first.ok() && *first > 100;
      },
      10s))
      << "retention removed too little";

  Replica f(dir_.Sub("f"), View(*retaining));
  f.Place();
  const bool installed = WaitUntil(
      [&] {
        f.Receive(ImageFrom("a", 1, 10));
        return f.SnapshotIndex() == 10;
      },
      10s);
  ASSERT_TRUE(installed) << "the replica never installs the image its source retains less than";
  EXPECT_EQ(f.LogEnd(), 100u);

  f.Receive(AppendFrom("a", 1, 11, kBatches));
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto mark = f.Mark();
        return mark && mark->first == static_cast<uint64_t>(kBatches);
      },
      10s));
  EXPECT_EQ(f.Mark()->second, static_cast<uint64_t>(kBatches * kPerBatch));
  const std::vector<std::string> values = f.Values();
  ASSERT_EQ(values.size(), static_cast<size_t>((kBatches - 10) * kPerBatch));
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(values[i], "v" + std::to_string(100 + i));
  }
}

}  // namespace
}  // namespace sprawl::replica
