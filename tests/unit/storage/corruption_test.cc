// Corrupt bytes on disk, planted on purpose: they are detected, reported and
// never served, and the valid prefix of the log stays readable.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/storage/batch_format.h"
#include "core/storage/keys.h"
#include "core/util/checksum.h"

#include <cstring>
#include "core/storage/store.h"
#include "storage_test_util.h"

namespace sprawl::storage {
namespace {

using testing::MakeBatch;
using testing::TempDir;
namespace fs = std::filesystem;

// Opens the store's RocksDB directly, bypassing Sprawl, to damage it.
class RawDb {
 public:
  explicit RawDb(const std::string& data_dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"index", {}}, {"state", {}}};
    rocksdb::DB* raw = nullptr;
    const auto s =
        rocksdb::DB::Open(rocksdb::Options(), data_dir + "/rocksdb", families, &handles_, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(raw);
  }
  ~RawDb() {
    for (auto* h : handles_) (void)db_->DestroyColumnFamilyHandle(h);
    (void)db_->Close();
  }
  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* log() { return handles_[1]; }

  // Flips one byte of the stored batch at `base_offset` of partition id 1.
  void CorruptBatch(uint64_t base_offset, size_t byte) {
    const std::string key = keys::Offset(1, base_offset);
    std::string value;
    ASSERT_TRUE(db_->Get({}, log(), key, &value).ok());
    value[byte % value.size()] ^= 0x20;
    ASSERT_TRUE(db_->Put({}, log(), key, value).ok());
  }

 private:
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

class CorruptionTest : public ::testing::Test {
 protected:
  StoreOptions Options() const {
    StoreOptions o;
    o.data_dir = dir_.Sub("data");
    o.segment_bytes = 2048;
    return o;
  }

  // Writes `batches` batches of 10 records to orders/0 (partition id 1) and
  // closes the store.
  void Fill(int batches) {
    auto store = Store::Open(Options(), registry_);
    ASSERT_TRUE(store.ok());
    auto log = *(*store)->OpenPartition({"orders", 0});
    for (int i = 0; i < batches; ++i) {
      ASSERT_TRUE(log->Append(MakeBatch(10, "b" + std::to_string(i)), 1).ok());
    }
    ASSERT_TRUE(log->Flush().ok());
  }

  uint64_t Counter(const std::string& name) { return testing::MetricValue(registry_, name); }

  TempDir dir_;
  metrics::Registry registry_;
};

TEST_F(CorruptionTest, CorruptTailIsCutOnRecoveryAndCounted) {
  Fill(30);
  {
    RawDb raw(dir_.Sub("data"));
    raw.CorruptBatch(280, 100);  // the second-to-last batch
  }
  auto store = Store::Open(Options(), registry_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = *(*store)->GetPartition({"orders", 0});
  EXPECT_EQ(log->NextOffset(), 280u);
  EXPECT_EQ(Counter("sprawl_storage_recovery_tail_cuts_total"), 1u);
  const auto values = testing::ReadValues(*log, 0);
  ASSERT_EQ(values.size(), 280u);
  EXPECT_EQ(values.back(), "b27-9");
  // The log goes on from the cut.
  auto info = log->Append(MakeBatch(1, "after"), 1);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->base_offset, 280u);
}

TEST_F(CorruptionTest, CorruptBatchInAnOldSegmentIsNeverServed) {
  Fill(60);
  {
    RawDb raw(dir_.Sub("data"));
    raw.CorruptBatch(100, 90);  // well inside the first segments
  }
  auto store = Store::Open(Options(), registry_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = *(*store)->GetPartition({"orders", 0});
  EXPECT_EQ(log->NextOffset(), 600u);  // only the tail is re-verified on open

  // A read from before the bad batch returns the valid prefix and stops.
  ReadLimits all;
  all.max_bytes = 1 << 20;
  auto prefix = log->Read(0, all);
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  EXPECT_EQ(prefix->next_offset, 100u);
  // A read starting at it is an error, not data.
  auto at = log->Read(105, all);
  ASSERT_FALSE(at.ok());
  EXPECT_EQ(at.status().code(), ErrorCode::kDataCorruption);
  EXPECT_NE(at.status().message().find("offset 100"), std::string::npos);
  // What follows is still readable.
  auto after = log->Read(110, all);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->batches.front().base_offset, 110u);
  EXPECT_GE(Counter("sprawl_storage_corrupt_batches_total"), 2u);
}

TEST_F(CorruptionTest, BatchStoredUnderTheWrongOffsetIsDetected) {
  Fill(10);
  {
    RawDb raw(dir_.Sub("data"));
    std::string value;
    ASSERT_TRUE(raw.db()->Get({}, raw.log(), keys::Offset(1, 20), &value).ok());
    ASSERT_TRUE(raw.db()->Put({}, raw.log(), keys::Offset(1, 30), value).ok());
  }
  auto store = Store::Open(Options(), registry_);
  ASSERT_TRUE(store.ok());
  auto log = *(*store)->GetPartition({"orders", 0});
  // The whole log is the tail segment here, so recovery cuts at the bad batch.
  EXPECT_EQ(log->NextOffset(), 30u);
  EXPECT_EQ(testing::ReadValues(*log, 0).size(), 30u);
}

// Regression: recovery treated a tail batch of a newer format as corrupt and
// deleted it; an older build must refuse to open instead.
TEST_F(CorruptionTest, TailBatchFromANewerFormatIsKeptAndTheOpenRefused) {
  Fill(5);
  std::string newer;
  {
    RawDb raw(dir_.Sub("data"));
    ASSERT_TRUE(raw.db()->Get({}, raw.log(), keys::Offset(1, 40), &newer).ok());
    newer[batch_format::kVersionPos] = batch_format::kBatchFormatVersion + 1;
    const uint64_t sum = Checksum64(newer.data() + batch_format::kChecksummedFrom,
                                    newer.size() - batch_format::kChecksummedFrom);
    std::memcpy(newer.data() + batch_format::kChecksumPos, &sum, sizeof(sum));
    ASSERT_TRUE(raw.db()->Put({}, raw.log(), keys::Offset(1, 40), newer).ok());
  }
  auto store = Store::Open(Options(), registry_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kUnsupportedVersion) << store.status().ToString();
  RawDb raw(dir_.Sub("data"));
  std::string still_there;
  ASSERT_TRUE(raw.db()->Get({}, raw.log(), keys::Offset(1, 40), &still_there).ok());
  EXPECT_EQ(still_there, newer);
}

TEST_F(CorruptionTest, DamagedSstFilesAreReportedNeverServed) {
  Fill(1000);
  {
    // Move everything into SST files so the damage hits RocksDB's blocks.
    RawDb raw(dir_.Sub("data"));
    ASSERT_TRUE(raw.db()->Flush(rocksdb::FlushOptions(), raw.log()).ok());
  }
  size_t damaged = 0;
  for (const auto& entry : fs::directory_iterator(dir_.Sub("data/rocksdb"))) {
    if (entry.path().extension() != ".sst" || entry.file_size() < 32 * 1024) continue;
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    // Flip a byte every 8 KiB through the first half, where data blocks lie.
    for (size_t pos = 4096; pos < entry.file_size() / 2; pos += 8192) {
      f.seekg(static_cast<std::streamoff>(pos));
      char c = 0;
      f.read(&c, 1);
      c ^= 0x55;
      f.seekp(static_cast<std::streamoff>(pos));
      f.write(&c, 1);
      ++damaged;
    }
  }
  ASSERT_GT(damaged, 0u);

  auto store = Store::Open(Options(), registry_);
  if (!store.ok()) {
    // Damage RocksDB finds while opening is a clear corruption error.
    EXPECT_EQ(store.status().code(), ErrorCode::kDataCorruption) << store.status().ToString();
    return;
  }
  auto log = *(*store)->GetPartition({"orders", 0});
  uint64_t offset = log->FirstOffset();
  bool saw_corruption = false;
  while (offset < log->NextOffset()) {
    auto r = log->Read(offset, {});
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kDataCorruption) << r.status().ToString();
      saw_corruption = true;
      offset += 10;  // batches hold 10 records: step over the bad one
      continue;
    }
    for (const auto& b : r->batches) {
      // Whatever is served is intact.
      auto view = RecordBatchView::Parse(*b.bytes);
      ASSERT_TRUE(view.ok());
      ASSERT_TRUE(view->Validate().ok());
    }
    offset = r->next_offset;
  }
  EXPECT_TRUE(saw_corruption || Counter("sprawl_storage_recovery_tail_cuts_total") > 0);
}

TEST_F(CorruptionTest, TornWriteAheadLogKeepsTheValidPrefix) {
  StoreOptions o = Options();
  o.fsync = *FsyncPolicy::Parse("never");
  uint64_t written = 0;
  {
    auto store = Store::Open(o, registry_);
    ASSERT_TRUE(store.ok());
    auto log = *(*store)->OpenPartition({"orders", 0});
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(log->Append(MakeBatch(10, "w"), 1).ok());
    written = log->NextOffset();
  }
  // The batches live only in the WAL (closing does not flush memtables while
  // the WAL is on). Cut its tail mid-record, as a crash during a write would.
  fs::path wal;
  for (const auto& entry : fs::directory_iterator(dir_.Sub("data/rocksdb"))) {
    if (entry.path().extension() == ".log" &&
        (wal.empty() || entry.file_size() > fs::file_size(wal))) {
      wal = entry.path();
    }
  }
  ASSERT_FALSE(wal.empty());
  fs::resize_file(wal, fs::file_size(wal) - 300);

  auto store = Store::Open(o, registry_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = *(*store)->GetPartition({"orders", 0});
  EXPECT_LT(log->NextOffset(), written);
  EXPECT_GT(log->NextOffset(), 0u);
  const auto values = testing::ReadValues(*log, 0);
  EXPECT_EQ(values.size(), log->NextOffset());
  EXPECT_TRUE(std::all_of(values.begin(), values.end(),
                          [](const std::string& v) { return v.rfind("w-", 0) == 0; }));
}

}  // namespace
}  // namespace sprawl::storage
