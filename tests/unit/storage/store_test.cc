// Opening, reopening and refusing data directories; the partition registry.
#include "core/storage/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage_test_util.h"

namespace sprawl::storage {
namespace {

using testing::MakeBatch;
using testing::ReadValues;
using testing::TempDir;
namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() const {
    StoreOptions o;
    o.data_dir = dir_.Sub("data");
    o.segment_bytes = 1024;  // several segments per partition in these tests
    return o;
  }
  Result<std::unique_ptr<Store>> Open(const StoreOptions& o) { return Store::Open(o, registry_); }

  TempDir dir_;
  metrics::Registry registry_;
};

TEST_F(StoreTest, ReopenRestoresEveryPartition) {
  uint64_t segments_before = 0;
  {
    auto store = Open(Options());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (uint32_t p = 0; p < 3; ++p) {
      auto log = (*store)->OpenPartition({"orders", p});
      ASSERT_TRUE(log.ok());
      for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE((*log)->Append(MakeBatch(10, "p" + std::to_string(p)), 2).ok());
      }
      ASSERT_TRUE((*log)->SetCommitIndex(150).ok());
      segments_before = (*log)->Stats().disk_segments;
    }
    ASSERT_GT(segments_before, 0u);
    auto other = (*store)->OpenPartition({"audit.log_v2", 7});
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->Append(MakeBatch(1, "x"), 1).ok());
  }
  auto store = Open(Options());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Partitions().size(), 4u);
  for (uint32_t p = 0; p < 3; ++p) {
    auto log = (*store)->GetPartition({"orders", p});
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->NextOffset(), 200u);
    EXPECT_EQ((*log)->CommitIndex(), 150u);
    EXPECT_EQ(*(*log)->TermAt(199), 2u);
    const auto values = ReadValues(**log, 0);
    ASSERT_EQ(values.size(), 200u);
    EXPECT_EQ(values[0], "p" + std::to_string(p) + "-0");
    // Appends continue where the log ended, with segments intact.
    auto info = (*log)->Append(MakeBatch(1, "more"), 2);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->base_offset, 200u);
    EXPECT_EQ((*log)->Stats().disk_segments, segments_before);
  }
  auto other = (*store)->GetPartition({"audit.log_v2", 7});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->NextOffset(), 1u);
}

TEST_F(StoreTest, ReopenKeepsRetentionAndTruncation) {
  {
    auto store = Open(Options());
    ASSERT_TRUE(store.ok());
    auto log = *(*store)->OpenPartition({"t", 0});
    for (int i = 0; i < 60; ++i) ASSERT_TRUE(log->Append(MakeBatch(10, "b"), 1).ok());
    ASSERT_TRUE(log->SetCommitIndex(500).ok());
    RetentionPolicy policy;
    policy.max_bytes = 4000;
    ASSERT_TRUE(log->ApplyRetention(policy, 0).ok());
    ASSERT_GT(log->FirstOffset(), 0u);
    ASSERT_TRUE(log->TruncateSuffix(550).ok());
  }
  auto store = Open(Options());
  ASSERT_TRUE(store.ok());
  auto log = *(*store)->GetPartition({"t", 0});
  EXPECT_GT(log->FirstOffset(), 0u);
  EXPECT_EQ(log->NextOffset(), 550u);
  EXPECT_EQ(log->Read(0, {}).status().code(), ErrorCode::kOffsetOutOfRange);
  EXPECT_EQ(ReadValues(*log, log->FirstOffset()).size(), 550u - log->FirstOffset());
  EXPECT_TRUE(log->TermAt(log->FirstOffset() - 1).ok());
}

// Only sealed segments are persisted; the active one is rebuilt on open. A
// truncation into a sealed segment makes it active again: after more appends
// and a reopen, the index must describe the log exactly as before.
TEST_F(StoreTest, SegmentIndexSurvivesTruncationIntoASealedSegmentAndReopen) {
  PartitionStats before;
  std::vector<uint64_t> lookups_before;
  auto lookups = [](PartitionLog& log) {
    std::vector<uint64_t> out;
    for (int64_t ts = 900; ts <= 1200; ts += 7) out.push_back(*log.OffsetForTimestamp(ts));
    return out;
  };
  {
    auto store = Open(Options());
    ASSERT_TRUE(store.ok());
    auto log = *(*store)->OpenPartition({"seg", 0});
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(log->Append(MakeBatch(10, "a", 1000 + i), 1).ok());
    ASSERT_GT(log->Stats().disk_segments, 3u);
    ASSERT_TRUE(log->TruncateSuffix(150).ok());  // inside an early, sealed segment
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->Append(MakeBatch(10, "b", 1100 + i), 2).ok());
    before = log->Stats();
    lookups_before = lookups(*log);
  }
  auto store = Open(Options());
  ASSERT_TRUE(store.ok());
  auto log = *(*store)->GetPartition({"seg", 0});
  const PartitionStats after = log->Stats();
  EXPECT_EQ(after.next_offset, before.next_offset);
  EXPECT_EQ(after.disk_segments, before.disk_segments);
  EXPECT_EQ(after.disk_bytes, before.disk_bytes);
  EXPECT_EQ(lookups(*log), lookups_before);
  EXPECT_EQ(ReadValues(*log, 0).size(), 350u);
}

TEST_F(StoreTest, DropPartitionRemovesItsData) {
  {
    auto store = Open(Options());
    ASSERT_TRUE(store.ok());
    auto log = *(*store)->OpenPartition({"gone", 0});
    ASSERT_TRUE(log->Append(MakeBatch(5, "g"), 1).ok());
    ASSERT_TRUE((*store)->DropPartition({"gone", 0}).ok());
    EXPECT_EQ((*store)->DropPartition({"gone", 0}).code(), ErrorCode::kNotFound);
    EXPECT_EQ((*store)->GetPartition({"gone", 0}).status().code(), ErrorCode::kNotFound);
  }
  auto store = Open(Options());
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->Partitions().empty());
  // A new partition of the same name starts empty.
  auto log = *(*store)->OpenPartition({"gone", 0});
  EXPECT_EQ(log->NextOffset(), 0u);
}

TEST_F(StoreTest, InvalidTopicNamesAreRefused) {
  auto store = Open(Options());
  ASSERT_TRUE(store.ok());
  const std::vector<std::string> bad = {"",
                                        ".",
                                        "..",
                                        "has space",
                                        "slash/x",
                                        "\xc3\xbcnicode",
                                        std::string(250, 'a'),
                                        std::string("nul\0byte", 8)};
  for (const std::string& name : bad) {
    auto log = (*store)->OpenPartition({name, 0});
    ASSERT_FALSE(log.ok()) << name;
    EXPECT_EQ(log.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE((*store)->Partitions().empty());
  EXPECT_TRUE((*store)->OpenPartition({std::string(249, 'a'), 0}).ok());
}

TEST_F(StoreTest, NonEmptyForeignDirectoryIsNotAStore) {
  fs::create_directories(dir_.Sub("data"));
  std::ofstream(dir_.Sub("data/precious.txt")) << "do not touch";
  auto store = Open(Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kNotAStore);
  EXPECT_NE(store.status().message().find("refusing"), std::string::npos);
  // Nothing was written into the directory.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.Sub("data")), fs::directory_iterator()), 1);
}

TEST_F(StoreTest, StoreFromANewerFormatIsRefusedUntouched) {
  { ASSERT_TRUE(Open(Options()).ok()); }
  std::ofstream(dir_.Sub("data/SPRAWL_STORE"), std::ios::trunc) << "sprawl-store\nformat=99\n";
  const auto before = fs::last_write_time(dir_.Sub("data/rocksdb"));
  auto store = Open(Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(fs::last_write_time(dir_.Sub("data/rocksdb")), before);
}

TEST_F(StoreTest, GarbledMarkerIsNotAStore) {
  fs::create_directories(dir_.Sub("data"));
  std::ofstream(dir_.Sub("data/SPRAWL_STORE")) << "something else entirely";
  auto store = Open(Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kNotAStore);
}

TEST_F(StoreTest, DataDirThatIsAFileIsNotAStore) {
  std::ofstream(dir_.Sub("data")) << "a file";
  auto store = Open(Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kNotAStore);
}

TEST_F(StoreTest, MissingDirectoryWithoutCreateIsNotFound) {
  StoreOptions o = Options();
  o.create_if_missing = false;
  auto store = Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_.Sub("data")));
}

TEST_F(StoreTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto first = Open(Options());
  ASSERT_TRUE(first.ok());
  auto second = Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kIoError);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
}

TEST_F(StoreTest, InvalidOptionsAreRefused) {
  StoreOptions o = Options();
  o.segment_bytes = 10;
  auto store = Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_.Sub("data")));
}

TEST(FsyncPolicyTest, ParsesEveryFormAndRejectsTheRest) {
  EXPECT_EQ(FsyncPolicy::Parse("always")->kind, FsyncPolicy::Kind::kAlways);
  EXPECT_EQ(FsyncPolicy::Parse("never")->kind, FsyncPolicy::Kind::kNever);
  auto interval = FsyncPolicy::Parse("interval:25");
  ASSERT_TRUE(interval.ok());
  EXPECT_EQ(interval->interval.count(), 25);
  EXPECT_EQ(interval->ToString(), "interval:25");
  for (const char* bad : {"", "sometimes", "interval:", "interval:0", "interval:-5",
                          "interval:10ms", "interval:999999", "ALWAYS"}) {
    auto p = FsyncPolicy::Parse(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(ParseStorageMode("disk").value(), StorageMode::kDisk);
  EXPECT_EQ(ParseStorageMode("tape").status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace sprawl::storage
