// A partition replica under test: a real PartitionReplicas with its
// RaftHost, broker and partition log on a loop thread, whose group's
// leaders are played by the test (it sends their Raft messages).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "core/broker/broker.h"
#include "core/replica/control_entry.h"
#include "core/replica/partition_replicas.h"
#include "core/replication/host/raft_host.h"
#include "core/storage/record_batch.h"
#include "core/transport/event_loop.h"

namespace sprawl::replica::under_test {

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

  // The topic as the metadata would place it: one partition on `replicas`,
  // whose set changed `moves` times. The broker's topic is created first.
  void Place(std::vector<std::string> replicas = {"a", "b", "f"}, uint32_t moves = 0) {
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
    ASSERT_TRUE(s.ok() || s.code() == ErrorCode::kAlreadyExists) << s.ToString();
    Replace(std::move(replicas), moves);
  }
  // The metadata applied a new replica set of the partition.
  void Replace(std::vector<std::string> replicas, uint32_t moves) {
    Status s = OnLoop([&] {
      Placement placement{kTopicId, static_cast<uint32_t>(replicas.size()), {replicas}, {moves}};
      replicas_->OnPlacement(kTopic, &placement);
      return replicas_->Open(kTopic);
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // REPLICA_REMOVED from the group's leader.
  void Removed() {
    OnLoop([&] {
      replicas_->OnRemoved(group());
      return true;
    });
  }
  bool GroupOpen() {
    return OnLoop([&] { return host_->group(group()) != nullptr; });
  }
  // Whether any of the group's Raft state is stored.
  bool RaftStateStored() {
    return OnLoop([&] {
      auto stored = store_->ScanRecords(replication::RaftGroupPrefix(group()));
      return !stored.ok() || !stored->empty();
    });
  }
  // Stops the group and drops its Raft state, leaving the records (what a
  // replica removed before records were dropped with it left behind).
  void CloseGroupOnly() {
    OnLoop([&] { return host_->CloseGroup(group()).ok(); });
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

}  // namespace sprawl::replica::under_test
