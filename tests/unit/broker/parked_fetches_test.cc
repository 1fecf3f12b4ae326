#include "core/broker/parked_fetches.h"

#include <gtest/gtest.h>

#include <limits>

namespace sprawl::broker {
namespace {

ParkedFetch Make(const std::string& topic, uint32_t partition, int64_t deadline, int* answered) {
  ParkedFetch f;
  f.request.set_topic(topic);
  f.request.set_partition(partition);
  f.deadline_nanos = deadline;
  f.done = [answered](Result<FetchReply>) { ++*answered; };
  return f;
}

TEST(ParkedFetchesTest, ExpireInDeadlineOrderWhateverTheirPartition) {
  ParkedFetches parked;
  int answered = 0;
  parked.Park(Make("a", 0, 300, &answered));
  parked.Park(Make("b", 1, 100, &answered));
  parked.Park(Make("a", 0, 200, &answered));
  EXPECT_EQ(parked.NextDeadlineNanos(), 100);
  auto expired = parked.TakeExpired(250);
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].deadline_nanos, 100);
  EXPECT_EQ(expired[1].deadline_nanos, 200);
  EXPECT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked.NextDeadlineNanos(), 300);
}

TEST(ParkedFetchesTest, APartitionOrTopicIsTakenWholeAndItsDeadlinesGoWithIt) {
  ParkedFetches parked;
  int answered = 0;
  parked.Park(Make("a", 0, 100, &answered));
  parked.Park(Make("a", 1, 200, &answered));
  parked.Park(Make("ab", 0, 300, &answered));
  auto woken = parked.TakePartition("a", 0);
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(parked.NextDeadlineNanos(), 200);
  auto dropped = parked.TakeTopic("a");
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].request.partition(), 1u);
  EXPECT_EQ(parked.size(), 1u) << "topic 'ab' is another topic";
  EXPECT_EQ(parked.NextDeadlineNanos(), 300);
  EXPECT_TRUE(parked.TakeExpired(250).empty());
  EXPECT_EQ(parked.TakeExpired(300).size(), 1u);
  EXPECT_EQ(parked.NextDeadlineNanos(), std::numeric_limits<int64_t>::max());
}

TEST(ParkedFetchesTest, AFetchWokenAndParkedAgainManyTimesExpiresOnce) {
  ParkedFetches parked;
  int answered = 0;
  parked.Park(Make("a", 0, 1'000'000, &answered));
  for (int i = 0; i < 10'000; ++i) {
    for (ParkedFetch& f : parked.TakePartition("a", 0)) parked.Park(std::move(f));
  }
  EXPECT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked.TakeExpired(1'000'000).size(), 1u);
  EXPECT_EQ(parked.size(), 0u);
}

}  // namespace
}  // namespace sprawl::broker
