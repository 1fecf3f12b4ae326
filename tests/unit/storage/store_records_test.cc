// Records of the layers above the storage: topic configs, group cursors.
#include <gtest/gtest.h>

#include <future>

#include "core/storage/store.h"
#include "storage_test_util.h"

namespace sprawl::storage {
namespace {

using testing::TempDir;

class StoreRecordsTest : public ::testing::TestWithParam<StorageMode> {
 protected:
  StoreOptions Options() const {
    StoreOptions o;
    o.mode = GetParam();
    o.data_dir = dir_.Sub("data");
    return o;
  }
  std::unique_ptr<Store> Open() {
    auto store = Store::Open(Options(), registry_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  static std::vector<std::string> Keys(const Store& store, std::string_view prefix) {
    auto records = store.ScanRecords(prefix);
    EXPECT_TRUE(records.ok());
    std::vector<std::string> keys;
    for (const auto& [k, v] : *records) keys.push_back(k);
    return keys;
  }

  TempDir dir_;
  metrics::Registry registry_;
};

TEST_P(StoreRecordsTest, PutScanAndDeleteByPrefix) {
  auto store = Open();
  ASSERT_TRUE(store->PutRecord("topic/orders", "cfg-orders").ok());
  ASSERT_TRUE(store->PutRecord("topic/audit", "cfg-audit").ok());
  ASSERT_TRUE(store->PutRecord("group/orders/billing/0", "cursor").ok());
  ASSERT_TRUE(store->PutRecord("topic/orders", "cfg-orders-2").ok());

  auto topics = store->ScanRecords("topic/");
  ASSERT_TRUE(topics.ok());
  ASSERT_EQ(topics->size(), 2u);
  EXPECT_EQ((*topics)[0], (std::pair<std::string, std::string>("topic/audit", "cfg-audit")));
  EXPECT_EQ((*topics)[1], (std::pair<std::string, std::string>("topic/orders", "cfg-orders-2")));

  ASSERT_TRUE(store->PutRecord("topic/orders2", "cfg").ok());
  ASSERT_TRUE(store->DeleteRecord("topic/orders").ok());
  EXPECT_EQ(Keys(*store, "topic/"), (std::vector<std::string>{"topic/audit", "topic/orders2"}));
  ASSERT_TRUE(store->DeleteRecords("topic/orders").ok());
  EXPECT_EQ(Keys(*store, "topic/"), std::vector<std::string>{"topic/audit"});
  EXPECT_EQ(Keys(*store, "group/"), std::vector<std::string>{"group/orders/billing/0"});
  EXPECT_TRUE(Keys(*store, "nothing/").empty());
}

TEST_P(StoreRecordsTest, AsyncPutCompletesAndIsVisible) {
  auto store = Open();
  std::promise<Status> done;
  store->PutRecordAsync("group/g/0", std::string("\x00\xff", 2),
                        [&done](Status s) { done.set_value(std::move(s)); });
  ASSERT_TRUE(done.get_future().get().ok());
  auto records = store->ScanRecords("group/");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].second, std::string("\x00\xff", 2));
}

TEST_P(StoreRecordsTest, RecordsDoNotDisturbPartitions) {
  auto store = Open();
  ASSERT_TRUE(store->OpenPartition({"orders", 0}).ok());
  ASSERT_TRUE(store->PutRecord("reg/orders/1", "not a partition").ok());
  store.reset();
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Partitions().size(), GetParam() == StorageMode::kDisk ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(BothModes, StoreRecordsTest,
                         ::testing::Values(StorageMode::kMemory, StorageMode::kDisk),
                         [](const auto& info) {
                           return info.param == StorageMode::kDisk ? "Disk" : "Memory";
                         });

class StoreRecordsDiskTest : public ::testing::Test {
 protected:
  TempDir dir_;
  metrics::Registry registry_;
};

TEST_F(StoreRecordsDiskTest, RecordsSurviveReopen) {
  {
    StoreOptions o;
    o.data_dir = dir_.Sub("data");
    auto store = Store::Open(o, registry_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->PutRecord("topic/orders", "cfg").ok());
    ASSERT_TRUE((*store)->PutRecord("topic/gone", "cfg").ok());
    ASSERT_TRUE((*store)->DeleteRecords("topic/gone").ok());
  }
  StoreOptions o;
  o.data_dir = dir_.Sub("data");
  auto store = Store::Open(o, registry_);
  ASSERT_TRUE(store.ok());
  auto records = (*store)->ScanRecords("topic/");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].first, "topic/orders");
  EXPECT_EQ((*records)[0].second, "cfg");
}

}  // namespace
}  // namespace sprawl::storage
