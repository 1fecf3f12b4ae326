// The node-wide memory budget alone, with holders that are plain lists of
// stamped batches: the accounting, the order of reclaim passes across
// holders, and what a pass must leave alone.
#include "core/storage/memory_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

#include "storage_test_util.h"

namespace sprawl::storage {
namespace {

// A holder of batches of `size` bytes, charged to the budget, oldest first.
class FakeHolder final : public MemoryBudget::Holder {
 public:
  explicit FakeHolder(MemoryBudget& budget) : budget_(budget) { budget_.Join(this); }
  ~FakeHolder() {
    budget_.Leave(this);
    for (const Batch& b : batches_) budget_.Release(b.size);
  }

  // Adds a batch; `reclaimable` false stands for one the disk writer still has.
  uint64_t Add(uint64_t size, bool reclaimable = true) {
    const uint64_t stamp = budget_.NextStamp();
    batches_.push_back({stamp, size, reclaimable});
    budget_.Charge(size);
    return stamp;
  }
  void MakeAllReclaimable() {
    for (Batch& b : batches_) b.reclaimable = true;
  }

  std::optional<uint64_t> OldestReclaimable() override {
    ++calls;
    if (busy || batches_.empty() || !batches_.front().reclaimable) return std::nullopt;
    return batches_.front().stamp;
  }
  std::optional<uint64_t> ReclaimOldest(uint64_t below, uint64_t target) override {
    ++calls;
    if (busy) return std::nullopt;
    while (budget_.bytes() > target && !batches_.empty() && batches_.front().stamp < below &&
           batches_.front().reclaimable) {
      reclaimed.push_back(batches_.front().stamp);
      budget_.Release(batches_.front().size);
      batches_.pop_front();
    }
    return OldestReclaimable();
  }

  std::vector<uint64_t> Stamps() const {
    std::vector<uint64_t> out;
    for (const Batch& b : batches_) out.push_back(b.stamp);
    return out;
  }

  bool busy = false;
  int calls = 0;
  std::vector<uint64_t> reclaimed;

 private:
  struct Batch {
    uint64_t stamp;
    uint64_t size;
    bool reclaimable;
  };
  MemoryBudget& budget_;
  std::deque<Batch> batches_;
};

constexpr uint64_t kLimit = 16 * 1024;
constexpr uint64_t kBatch = 1024;

class MemoryBudgetTest : public ::testing::Test {
 protected:
  metrics::Registry registry_;
  metrics::Gauge& bytes_gauge_ = registry_.GetGauge("test_memory_bytes", "held");
  metrics::Gauge& limit_gauge_ = registry_.GetGauge("test_memory_limit", "limit");
  MemoryBudget budget_{kLimit, bytes_gauge_, limit_gauge_};
};

TEST_F(MemoryBudgetTest, CountsWhatHoldersChargeAndReleaseAndShowsItInItsGauges) {
  EXPECT_EQ(limit_gauge_.Value(), static_cast<int64_t>(kLimit));
  {
    FakeHolder a(budget_), b(budget_);
    a.Add(100);
    b.Add(250);
    EXPECT_EQ(budget_.bytes(), 350u);
    EXPECT_EQ(bytes_gauge_.Value(), 350);
  }
  EXPECT_EQ(budget_.bytes(), 0u);
  EXPECT_EQ(bytes_gauge_.Value(), 0);
}

TEST_F(MemoryBudgetTest, StampsIncreaseAcrossHolders) {
  FakeHolder a(budget_), b(budget_);
  const uint64_t first = a.Add(1);
  const uint64_t second = b.Add(1);
  const uint64_t third = a.Add(1);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST_F(MemoryBudgetTest, ReclaimGivesBackTheNodesOldestBatchesFirstDownToTheTarget) {
  FakeHolder a(budget_), b(budget_), c(budget_);
  // Interleaved, as appends to three partitions arrive: 24 KiB in all.
  std::vector<uint64_t> order;
  FakeHolder* holders[] = {&a, &b, &c};
  for (int i = 0; i < 24; ++i) order.push_back(holders[(i / 3 + i % 2) % 3]->Add(kBatch));
  ASSERT_GT(budget_.bytes(), kLimit);

  budget_.MaybeReclaim(UINT64_MAX);
  EXPECT_LE(budget_.bytes(), budget_.target());
  // Exactly the oldest batches of the node went, whoever held them.
  const size_t gone = (24 * kBatch - budget_.bytes()) / kBatch;
  std::vector<uint64_t> reclaimed;
  for (FakeHolder* h : holders)
    reclaimed.insert(reclaimed.end(), h->reclaimed.begin(), h->reclaimed.end());
  std::sort(reclaimed.begin(), reclaimed.end());
  EXPECT_EQ(reclaimed, std::vector<uint64_t>(order.begin(), order.begin() + gone));
  // It stopped at the target, not before: one batch fewer would be over it.
  EXPECT_GT(budget_.bytes() + kBatch, budget_.target());
}

TEST_F(MemoryBudgetTest, NothingHappensWithinTheLimit) {
  FakeHolder a(budget_);
  for (uint64_t i = 0; i < kLimit / kBatch; ++i) a.Add(kBatch);
  ASSERT_EQ(budget_.bytes(), kLimit);
  budget_.MaybeReclaim(UINT64_MAX);
  budget_.Reclaim();
  EXPECT_EQ(budget_.bytes(), kLimit);
  EXPECT_TRUE(a.reclaimed.empty());
}

TEST_F(MemoryBudgetTest, BatchesThatAreNotReclaimableStayEvenOverTheLimit) {
  FakeHolder written(budget_), unwritten(budget_);
  for (int i = 0; i < 4; ++i) written.Add(kBatch);
  for (int i = 0; i < 20; ++i) unwritten.Add(kBatch, /*reclaimable=*/false);
  budget_.MaybeReclaim(UINT64_MAX);
  // Only what could go went; the rest stays, over the limit.
  EXPECT_EQ(written.Stamps().size(), 0u);
  EXPECT_EQ(unwritten.Stamps().size(), 20u);
  EXPECT_EQ(budget_.bytes(), 20 * kBatch);
}

TEST_F(MemoryBudgetTest, AfterAFutilePassAppendsRetryOnlyOnceTheSlackIsCharged) {
  FakeHolder stuck(budget_);
  for (int i = 0; i < 20; ++i) stuck.Add(kBatch, /*reclaimable=*/false);
  budget_.MaybeReclaim(UINT64_MAX);
  const int after_first = stuck.calls;
  EXPECT_GT(after_first, 0);
  // Within the slack (limit / 16 = 1 KiB here) of where the pass ended: no pass.
  stuck.Add(kBatch / 2, /*reclaimable=*/false);
  budget_.MaybeReclaim(UINT64_MAX);
  EXPECT_EQ(stuck.calls, after_first);
  // Beyond it: a pass, which now finds what became reclaimable.
  stuck.MakeAllReclaimable();
  stuck.Add(kBatch, /*reclaimable=*/false);
  budget_.MaybeReclaim(UINT64_MAX);
  EXPECT_GT(stuck.calls, after_first);
  EXPECT_LE(budget_.bytes(), budget_.target());
}

TEST_F(MemoryBudgetTest, AnExplicitReclaimIgnoresTheRetryThreshold) {
  FakeHolder stuck(budget_);
  for (int i = 0; i < 20; ++i) stuck.Add(kBatch, /*reclaimable=*/false);
  budget_.MaybeReclaim(UINT64_MAX);
  ASSERT_GT(budget_.bytes(), kLimit);
  stuck.MakeAllReclaimable();  // the writer caught up; no append follows
  budget_.Reclaim();
  EXPECT_LE(budget_.bytes(), budget_.target());
}

TEST_F(MemoryBudgetTest, BatchesStampedFromKeepFromStay) {
  FakeHolder a(budget_);
  std::vector<uint64_t> stamps;
  for (int i = 0; i < 24; ++i) stamps.push_back(a.Add(kBatch));
  // Keep the last 20: only the 4 before them may go, which is not enough.
  budget_.MaybeReclaim(stamps[4]);
  EXPECT_EQ(a.reclaimed, std::vector<uint64_t>(stamps.begin(), stamps.begin() + 4));
  EXPECT_EQ(budget_.bytes(), 20 * kBatch);
}

TEST_F(MemoryBudgetTest, ABusyHolderIsSkippedAndTheOthersGiveBackInstead) {
  FakeHolder busy(budget_), idle(budget_);
  for (int i = 0; i < 12; ++i) busy.Add(kBatch);  // the oldest
  for (int i = 0; i < 12; ++i) idle.Add(kBatch);
  busy.busy = true;
  budget_.MaybeReclaim(UINT64_MAX);
  EXPECT_TRUE(busy.reclaimed.empty());
  EXPECT_FALSE(idle.reclaimed.empty());
  EXPECT_LE(budget_.bytes(), budget_.target());
}

TEST_F(MemoryBudgetTest, AHolderThatLeftIsNeverReachedAgain) {
  auto gone = std::make_unique<FakeHolder>(budget_);
  FakeHolder stays(budget_);
  for (int i = 0; i < 10; ++i) gone->Add(kBatch);
  gone.reset();  // released its bytes and left
  for (int i = 0; i < 20; ++i) stays.Add(kBatch);
  budget_.MaybeReclaim(UINT64_MAX);  // would crash (ASan: use after free) if it reached it
  EXPECT_LE(budget_.bytes(), budget_.target());
}

}  // namespace
}  // namespace sprawl::storage
