#include "core/storage/disk_space_guard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "core/storage/store.h"
#include "storage_test_util.h"

namespace sprawl::storage {
namespace {

using testing::MakeBatch;
using testing::ReadValues;
using testing::TempDir;
using testing::WaitFor;

constexpr uint64_t kMiB = 1ull << 20;

// A file system whose free space the test sets.
struct FakeDisk {
  std::atomic<uint64_t> capacity{1024 * kMiB};
  std::atomic<uint64_t> available{512 * kMiB};
  DiskSpaceGuard::Probe Probe() {
    return [this](const std::string&) -> Result<DiskUsage> {
      return DiskUsage{capacity.load(), available.load()};
    };
  }
};

class DiskSpaceGuardTest : public ::testing::Test {
 protected:
  // `period`: how often the guard's thread re-reads the fake disk. A test
  // that counts admitted bytes between explicit Refresh()es needs a long one:
  // a reading between two Admits starts the count again (a slow sanitizer
  // build makes 5 ms pass between any two lines).
  std::unique_ptr<DiskSpaceGuard> Start(
      std::optional<uint64_t> reserve,
      std::chrono::milliseconds period = std::chrono::milliseconds(5)) {
    auto guard = DiskSpaceGuard::Start("/data", reserve, metrics_, disk_.Probe(), period);
    EXPECT_TRUE(guard.ok()) << guard.status().ToString();
    return std::move(guard).value();
  }

  FakeDisk disk_;
  metrics::Registry registry_;
  StorageMetrics metrics_{registry_};
};

TEST(DiskSpaceGuardDefaults, TheReserveIsFivePercentOfTheDiskAtMostOneGibibyte) {
  EXPECT_EQ(DiskSpaceGuard::DefaultReserve(100 * kMiB), 5 * kMiB);
  EXPECT_EQ(DiskSpaceGuard::DefaultReserve(1000ull * 1024 * kMiB), 1024 * kMiB);
}

TEST_F(DiskSpaceGuardTest, AppendsStopAtTheReserveAndCountWhatTheyTake) {
  disk_.available = 100 * kMiB;
  auto guard = Start(60 * kMiB, std::chrono::hours(1));
  ASSERT_TRUE(guard->Admit(30 * kMiB).ok());
  // Admitted bytes count at once: the second 30 MiB would cross the reserve
  // before the next reading of the disk.
  const Status refused = guard->Admit(30 * kMiB);
  ASSERT_EQ(refused.code(), ErrorCode::kResourceExhausted) << refused.ToString();
  EXPECT_TRUE(refused.retriable());
  EXPECT_NE(refused.message().find("--min-free-disk-bytes"), std::string::npos);
  EXPECT_NE(refused.message().find("nearly full"), std::string::npos);
  EXPECT_EQ(metrics_.disk_full.Value(), 1);
  EXPECT_EQ(metrics_.disk_full_refusals.Value(), 1u);
  EXPECT_EQ(guard->Admit(1).code(), ErrorCode::kResourceExhausted)
      << "once full, nothing is admitted until a reading shows room again";
  disk_.available = 70 * kMiB;  // 10 MiB above the reserve: past the 6 MiB margin
  guard->Refresh();
  EXPECT_TRUE(guard->Admit(1 * kMiB).ok());
  EXPECT_EQ(metrics_.disk_full.Value(), 0);
}

TEST_F(DiskSpaceGuardTest, AppendsResumeOnlyWithSomeRoomAboveTheReserve) {
  disk_.available = 59 * kMiB;
  auto guard = Start(60 * kMiB);
  disk_.available = 61 * kMiB;  // above the reserve, within its 10% margin
  guard->Refresh();
  EXPECT_EQ(guard->Admit(1).code(), ErrorCode::kResourceExhausted);
  disk_.available = 67 * kMiB;
  guard->Refresh();
  EXPECT_TRUE(guard->Admit(1).ok());
}

TEST_F(DiskSpaceGuardTest, AppendsResumeOnceSpaceIsFreed) {
  disk_.available = 50 * kMiB;
  auto guard = Start(60 * kMiB);
  EXPECT_EQ(metrics_.disk_full.Value(), 1) << "full from the first reading";
  ASSERT_EQ(guard->Admit(1).code(), ErrorCode::kResourceExhausted);
  disk_.available = 200 * kMiB;
  ASSERT_TRUE(WaitFor([&] { return guard->Admit(1 * kMiB).ok(); }));
  EXPECT_EQ(metrics_.disk_full.Value(), 0);
  EXPECT_GE(metrics_.disk_available_bytes.Value(), static_cast<int64_t>(199 * kMiB));
  EXPECT_EQ(metrics_.disk_reserve_bytes.Value(), static_cast<int64_t>(60 * kMiB));
}

TEST_F(DiskSpaceGuardTest, AZeroReserveTurnsTheGuardOff) {
  disk_.available = 0;
  auto guard = Start(0);
  EXPECT_TRUE(guard->Admit(1024 * kMiB).ok());
  EXPECT_EQ(metrics_.disk_full.Value(), 0);
}

TEST_F(DiskSpaceGuardTest, AFailedReadingKeepsTheLastOne) {
  disk_.available = 100 * kMiB;
  std::atomic<bool> fail{false};
  auto guard = DiskSpaceGuard::Start(
      "/data", 10 * kMiB, metrics_,
      [&](const std::string&) -> Result<DiskUsage> {
        if (fail) return IoError("stat failed");
        return DiskUsage{disk_.capacity.load(), disk_.available.load()};
      },
      std::chrono::milliseconds(5));
  ASSERT_TRUE(guard.ok());
  fail = true;
  (*guard)->Refresh();
  EXPECT_EQ((*guard)->available(), 100 * kMiB);
  EXPECT_TRUE((*guard)->Admit(kMiB).ok());
}

// Through the store: a refused append takes no offset and changes nothing,
// and the log goes on where it was once space is back.
TEST(StoreDiskSpaceTest, ARefusedAppendTakesNoOffsetAndChangesNothing) {
  TempDir dir;
  metrics::Registry registry;
  FakeDisk disk;
  disk.available = 100 * kMiB;
  StoreOptions o;
  o.data_dir = dir.Sub("data");
  o.min_free_disk_bytes = 99 * kMiB;
  o.disk_usage_probe = disk.Probe();
  auto store = Store::Open(o, registry);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = (*store)->OpenPartition({"orders", 0});
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(MakeBatch(2, "a"), 1).ok());

  disk.available = 99 * kMiB;
  (*store)->RefreshDiskSpace();
  const auto refused = (*log)->Append(MakeBatch(2, "b"), 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ((*log)->NextOffset(), 2u);

  disk.available = 500 * kMiB;
  (*store)->RefreshDiskSpace();
  const auto accepted = (*log)->Append(MakeBatch(1, "c"), 1);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(accepted->base_offset, 2u);
  EXPECT_EQ(ReadValues(**log, 0), (std::vector<std::string>{"a-0", "a-1", "c-0"}));
}

TEST(StoreDiskSpaceTest, AStoreIsNotOpenedOnAnAlmostFullDisk) {
  TempDir dir;
  metrics::Registry registry;
  FakeDisk disk;
  disk.available = 4 * kMiB;
  StoreOptions o;
  o.data_dir = dir.Sub("data");
  o.disk_usage_probe = disk.Probe();
  auto store = Store::Open(o, registry);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kIoError);
  EXPECT_NE(store.status().message().find("bytes free"), std::string::npos)
      << store.status().ToString();
}

}  // namespace
}  // namespace sprawl::storage
