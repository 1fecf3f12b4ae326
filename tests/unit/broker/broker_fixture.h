// The broker on a real store (memory or RocksDB in a scratch directory) with
// the event loop played by the test, shared by the broker's test files.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker_test_util.h"
#include "core/broker/broker.h"

namespace sprawl::broker::testing {

class BrokerTest : public ::testing::TestWithParam<storage::StorageMode> {
 protected:
  void SetUp() override { Open(); }

  void Open(BrokerOptions options = {}, storage::FsyncPolicy fsync = {}) {
    broker_.reset();
    store_.reset();
    storage::StoreOptions o;
    o.mode = GetParam();
    o.data_dir = dir_.Sub("data");
    o.fsync = fsync;
    auto store = storage::Store::Open(o, registry_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    broker_ = std::make_unique<Broker>(*store_, clock_, registry_, loop_.Poster(), options);
    ASSERT_TRUE(broker_->Open().ok());
  }

  bool disk() const { return GetParam() == storage::StorageMode::kDisk; }

  void CreateTopic(const std::string& name, uint32_t partitions) {
    pb::CreateTopicRequest request;
    request.set_name(name);
    request.mutable_config()->set_partitions(partitions);
    auto created = CreateTopicNow(request);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  // Topic administration, running the loop until the callback fires.
  Result<pb::TopicDescription> CreateTopicNow(const pb::CreateTopicRequest& request) {
    std::optional<Result<pb::TopicDescription>> reply;
    broker_->CreateTopic(request,
                         [&](Result<pb::TopicDescription> r) { reply.emplace(std::move(r)); });
    loop_.RunUntil([&] { return reply.has_value(); });
    return reply ? std::move(*reply) : Result<pb::TopicDescription>(Timeout("no reply"));
  }
  Result<pb::TopicDescription> AlterTopicNow(const pb::AlterTopicRequest& request) {
    std::optional<Result<pb::TopicDescription>> reply;
    broker_->AlterTopic(request,
                        [&](Result<pb::TopicDescription> r) { reply.emplace(std::move(r)); });
    loop_.RunUntil([&] { return reply.has_value(); });
    return reply ? std::move(*reply) : Result<pb::TopicDescription>(Timeout("no reply"));
  }
  Status DeleteTopicNow(const pb::DeleteTopicRequest& request) {
    std::optional<Status> reply;
    broker_->DeleteTopic(request, [&](Status s) { reply.emplace(std::move(s)); });
    loop_.RunUntil([&] { return reply.has_value(); });
    return reply ? std::move(*reply) : Timeout("no reply");
  }

  Result<pb::JoinGroupResponse> JoinGroupNow(const pb::JoinGroupRequest& request,
                                             const std::string& connection) {
    std::optional<Result<pb::JoinGroupResponse>> reply;
    broker_->JoinGroup(request, connection,
                       [&](Result<pb::JoinGroupResponse> r) { reply.emplace(std::move(r)); });
    loop_.RunUntil([&] { return reply.has_value(); });
    return reply ? std::move(*reply) : Result<pb::JoinGroupResponse>(Timeout("no reply"));
  }

  // Publishes and runs the loop until the reply arrives.
  Result<pb::PublishResponse> Publish(const std::string& topic, uint32_t partition,
                                      std::string batch, pb::AckLevel acks = pb::ACK_LEADER) {
    pb::PublishRequest request;
    request.set_topic(topic);
    request.set_acks(acks);
    request.add_batches()->set_partition(partition);
    std::vector<std::string> batches;
    batches.push_back(std::move(batch));
    std::optional<Result<pb::PublishResponse>> reply;
    broker_->Publish(request, std::move(batches),
                     [&](Result<pb::PublishResponse> r) { reply.emplace(std::move(r)); });
    loop_.RunUntil([&] { return reply.has_value(); });
    return std::move(*reply);
  }

  Result<FetchReply> Fetch(const std::string& topic, uint32_t partition, uint64_t offset) {
    pb::FetchRequest request;
    request.set_topic(topic);
    request.set_partition(partition);
    request.set_offset(offset);
    std::optional<Result<FetchReply>> reply;
    broker_->Fetch(request, [&](Result<FetchReply> r) { reply.emplace(std::move(r)); });
    loop_.RunUntil([&] { return reply.has_value(); });
    return std::move(*reply);
  }

  // Values of the records at and after `from` in a fetch reply.
  static std::vector<std::string> Values(const FetchReply& reply, uint64_t from) {
    std::vector<std::string> out;
    for (const auto& bytes : reply.batches) {
      auto view = storage::RecordBatchView::Parse(*bytes);
      EXPECT_TRUE(view.ok());
      auto records = view->Records();
      storage::RecordView record;
      while (records->Next(&record)) {
        if (record.offset >= from) out.emplace_back(record.value);
      }
    }
    return out;
  }

  ScratchDir dir_;
  ManualClock clock_;
  metrics::Registry registry_;
  PostQueue loop_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Broker> broker_;
};

// The storage modes every broker suite runs in, and their names in test ids.
inline auto BothStorageModes() {
  return ::testing::Values(storage::StorageMode::kMemory, storage::StorageMode::kDisk);
}
inline std::string StorageModeName(const ::testing::TestParamInfo<storage::StorageMode>& info) {
  return info.param == storage::StorageMode::kDisk ? "Disk" : "Memory";
}

}  // namespace sprawl::broker::testing
