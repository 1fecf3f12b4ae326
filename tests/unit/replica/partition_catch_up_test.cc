// A partition replica catching up from its leaders' images
// (docs/replication.md, "Catching up from records"): a real PartitionReplicas
// with its RaftHost, broker and partition log, records copied from a real
// node's client port, and the group's leaders played by the test, which
// sends their Raft messages, so that a leader change lands exactly where it
// matters.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "../broker/broker_test_util.h"
#include "core/broker/broker.h"
#include "core/client/client.h"
#include "core/client/producer.h"
#include "core/node/node.h"
#include "core/protocol/message_type.h"
#include "core/replica/control_entry.h"
#include "core/replica/partition_replicas.h"
#include "core/replication/host/raft_host.h"
#include "core/storage/record_batch.h"
#include "core/transport/client_connection.h"
#include "core/transport/event_loop.h"

namespace sprawl::replica {
namespace {

using namespace std::chrono_literals;
using replication::Entry;
using replication::GroupId;
using replication::Message;
using replication::MessageType;
using replication::NodeId;
using replication::PeerBatch;
using replication::RaftNodeId;
using replication::Snapshot;

constexpr char kTopic[] = "orders";
constexpr char kTopicId[] = "orders-id";
// The source holds kBatches batches of kPerBatch records; in the group's log
// entry k (1-based) carries batch k-1, so the image at index i ends the
// partition log at i * kPerBatch.
constexpr int kBatches = 30;
constexpr int kPerBatch = 10;

template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// Node "f": a store, a broker, a RaftHost and the PartitionReplicas under
// test on a loop thread. Its Raft messages go nowhere (the test's leaders
// need none of them); it never ticks, so it never campaigns.
class Replica {
 public:
  Replica(const std::string& dir, ClusterView view) : loop_(SystemClock::Instance()) {
    storage::StoreOptions options;
    options.data_dir = dir;
    auto store = storage::Store::Open(options, registry_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto post = [this](std::function<void()> fn) { loop_.Post(std::move(fn)); };
    broker_ = std::make_unique<broker::Broker>(*store_, SystemClock::Instance(), registry_, post);
    Status opened = broker_->Open();
    EXPECT_TRUE(opened.ok()) << opened.ToString();
    raft_storage_ = std::make_unique<replication::RaftStorage>(*store_);
    host_ = std::make_unique<replication::RaftHost>(
        RaftNodeId("f"), *raft_storage_, SystemClock::Instance(), post, [](NodeId, std::string) {});
    replicas_ = std::make_unique<PartitionReplicas>("f", *host_, *broker_, *store_, post,
                                                    std::move(view), nullptr, registry_);
    thread_ = std::thread([this] { loop_.Run(); });
  }
  ~Replica() {
    loop_.Stop();
    thread_.join();
    replicas_.reset();
    host_.reset();
    raft_storage_.reset();
    broker_.reset();
    store_.reset();
  }

  template <typename Fn>
  auto OnLoop(Fn fn) {
    std::promise<decltype(fn())> done;
    auto result = done.get_future();
    loop_.Post([&] { done.set_value(fn()); });
    return result.get();
  }

  // The topic as the metadata would place it: one partition on a, b and f.
  void Place() {
    std::promise<Status> created;
    loop_.Post([&] {
      pb::CreateTopicRequest request;
      request.set_name(kTopic);
      request.mutable_config()->set_partitions(1);
      request.mutable_config()->set_replication_factor(3);
      broker_->CreateTopic(request,
                           [&](Result<pb::TopicDescription> d) { created.set_value(d.status()); });
    });
    Status s = created.get_future().get();
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = OnLoop([&] {
      Placement placement{kTopicId, 3, {{"a", "b", "f"}}, {0}};
      replicas_->OnPlacement(kTopic, &placement);
      return replicas_->Open(kTopic);
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A Raft message from `from`, as the peer port delivers it.
  void Receive(const Message& m) {
    PeerBatch batch;
    batch.from = m.from;
    batch.to = m.to;
    batch.messages.push_back({group(), m});
    std::string bytes = replication::EncodeBatch(batch);
    OnLoop([&] {
      host_->Receive(bytes);
      return true;
    });
  }

  GroupId group() const { return PartitionGroupId(kTopicId, 0); }
  uint64_t LogEnd() {
    return OnLoop([&] { return (*broker_->topics().Find(kTopic))->partitions[0]->NextOffset(); });
  }
  uint64_t SnapshotIndex() {
    return OnLoop([&] {
      const replication::Raft* r = host_->group(group());
      return r == nullptr ? uint64_t{0} : r->log().snapshot_index();
    });
  }
  // The applied mark stored for the group: (index, log end).
  std::optional<std::pair<uint64_t, uint64_t>> Mark() {
    return OnLoop([&]() -> std::optional<std::pair<uint64_t, uint64_t>> {
      auto marks = store_->ScanRecords(AppliedMarkKey(group()));
      if (!marks.ok() || marks->empty()) return std::nullopt;
      auto mark = DecodeAppliedMark(marks->front().second);
      if (!mark.ok()) return std::nullopt;
      return *mark;
    });
  }
  // Every record value of the partition log, in offset order.
  std::vector<std::string> Values() {
    return OnLoop([&] {
      std::vector<std::string> values;
      const storage::PartitionLog& log = *(*broker_->topics().Find(kTopic))->partitions[0];
      uint64_t offset = log.FirstOffset();
      while (offset < log.NextOffset()) {
        auto read = log.Read(offset, storage::ReadLimits{});
        if (!read.ok() || read->batches.empty()) break;
        for (const storage::StoredBatch& stored : read->batches) {
          auto batch = storage::RecordBatchView::Parse(*stored.bytes);
          if (!batch.ok()) return values;
          auto records = batch->Records();
          if (!records.ok()) return values;
          storage::RecordView record;
          while (records->Next(&record)) values.emplace_back(record.value);
        }
        offset = read->next_offset;
      }
      return values;
    });
  }
  uint64_t CatchUpsDone() {
    return registry_
        .GetCounter("sprawl_replica_catch_ups_total",
                    "Catch-ups of partition replicas that copied the records a leader's image "
                    "covers",
                    {{"outcome", "done"}})
        .Value();
  }

 private:
  metrics::Registry registry_;
  transport::EventLoop loop_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<replication::RaftStorage> raft_storage_;
  std::unique_ptr<replication::RaftHost> host_;
  std::unique_ptr<PartitionReplicas> replicas_;
  std::thread thread_;
};

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
    // Anonymous batches: a batch applied twice would be stored twice.
    client::ProducerConfig pc;
    pc.idempotent = false;
    pc.linger = 1000ms;
    client::Producer producer(**client, pc);
    for (int i = 0; i < kBatches * kPerBatch; ++i) {
      producer.Send(kTopic, std::nullopt, "v" + std::to_string(i), {}, {}, 0);
      if ((i + 1) % kPerBatch == 0) {
        EXPECT_TRUE(producer.Flush().ok());
      }
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
