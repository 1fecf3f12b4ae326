#include "core/broker/group_coordinator.h"

#include <gtest/gtest.h>

#include <set>

#include "core/broker/sticky_assignor.h"

namespace sprawl::broker {
namespace {

using Assignment = std::map<std::string, std::vector<uint32_t>>;

size_t Moved(const Assignment& before, const Assignment& after) {
  size_t moved = 0;
  for (const auto& [id, parts] : after) {
    auto it = before.find(id);
    for (uint32_t p : parts) {
      if (it == before.end() ||
          std::find(it->second.begin(), it->second.end(), p) == it->second.end()) {
        ++moved;
      }
    }
  }
  return moved;
}

TEST(StickyAssignorTest, BalancedAndStickyOnJoinAndLeave) {
  Assignment a = AssignSticky({{"a", {}}, {"b", {}}, {"c", {}}}, 10);
  size_t total = 0;
  for (const auto& [id, parts] : a) {
    EXPECT_GE(parts.size(), 3u);
    EXPECT_LE(parts.size(), 4u);
    total += parts.size();
  }
  EXPECT_EQ(total, 10u);

  Assignment joined = a;
  joined["d"] = {};
  Assignment after_join = AssignSticky(joined, 10);
  for (const auto& [id, parts] : after_join) EXPECT_LE(parts.size(), 3u);
  EXPECT_EQ(Moved(a, after_join), 2u) << "only what the newcomer needs moves";

  Assignment left = after_join;
  left.erase("b");
  Assignment after_leave = AssignSticky(left, 10);
  EXPECT_EQ(Moved(after_join, after_leave), after_join.at("b").size());

  Assignment crowd = AssignSticky({{"a", {}}, {"b", {}}, {"c", {}}}, 2);
  size_t empty = 0;
  for (const auto& [id, parts] : crowd) empty += parts.empty() ? 1 : 0;
  EXPECT_EQ(empty, 1u);
  EXPECT_EQ(AssignSticky(a, 10), a) << "deterministic and stable";
}

std::vector<DeliveryCursor> Cursors(uint32_t n, uint32_t max_deliveries = 0) {
  CursorConfig c;
  c.ack_timeout_ms = 1000;
  c.max_deliveries = max_deliveries;
  std::vector<DeliveryCursor> out;
  for (uint32_t i = 0; i < n; ++i) out.emplace_back(0, c);
  return out;
}

TEST(GroupCoordinatorTest, CreditsBoundWhatAMemberHasInFlight) {
  GroupCoordinator g("t", "g", Cursors(2), 1);
  const std::string a = g.Join("", "app", "conn-a", 10'000, 5, 0).id;
  std::vector<PartitionDeadLetter> dl;
  auto pushes = g.Plan({100, 100}, 0, &dl);
  size_t sent = 0;
  for (const auto& p : pushes) sent += p.deliveries.size();
  EXPECT_EQ(sent, 5u);
  EXPECT_TRUE(g.Plan({100, 100}, 0, &dl).empty()) << "out of credits";
  std::set<uint32_t> partitions;
  for (const auto& p : pushes) partitions.insert(p.partition);
  EXPECT_EQ(partitions.size(), 2u) << "both partitions get a turn";
  ASSERT_TRUE(g.Ack(a, pushes[0].partition, pushes[0].deliveries[0].offset).ok());
  sent = 0;
  for (const auto& p : g.Plan({100, 100}, 0, &dl)) sent += p.deliveries.size();
  EXPECT_EQ(sent, 1u);
}

TEST(GroupCoordinatorTest, AnExpiredSessionRebalancesAndRedeliversToOthers) {
  GroupCoordinator g("t", "g", Cursors(2), 1);
  const std::string a = g.Join("", "", "conn-a", 1000, 10, 0).id;
  const std::string b = g.Join("", "", "conn-b", 5000, 10, 0).id;
  EXPECT_NE(a, b);
  EXPECT_EQ(g.members().at(a).partitions.size(), 1u);
  std::vector<PartitionDeadLetter> dl;
  g.Plan({3, 3}, 0, &dl);
  ASSERT_TRUE(g.Heartbeat(b, "conn-b", 900).ok());
  const uint64_t generation = g.generation();
  EXPECT_TRUE(g.Tick(1001, &dl));
  EXPECT_GT(g.generation(), generation);
  EXPECT_EQ(g.members().size(), 1u);
  EXPECT_EQ(g.members().at(b).partitions, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(g.Heartbeat(a, "conn-a", 1001).status().code(), ErrorCode::kUnknownMember);
  EXPECT_EQ(g.Ack(a, 0, 0).code(), ErrorCode::kUnknownMember);
  size_t redelivered = 0;
  for (const auto& p : g.Plan({3, 3}, 1001, &dl)) {
    EXPECT_EQ(p.member, b);
    for (const auto& d : p.deliveries) redelivered += d.delivery_count == 2 ? 1 : 0;
  }
  EXPECT_EQ(redelivered, 3u);
}

TEST(GroupCoordinatorTest, LeaveHandsPartitionsOverAndNextDeadlineTracksSessions) {
  GroupCoordinator g("t", "g", Cursors(4), 7);
  const std::string a = g.Join("", "", "conn-a", 3000, 10, 0).id;
  const std::string b = g.Join("", "", "conn-b", 3000, 10, 100).id;
  EXPECT_EQ(g.NextDeadline(100), 3001);
  std::vector<PartitionDeadLetter> dl;
  ASSERT_TRUE(g.Leave(a, 200, &dl).ok());
  EXPECT_EQ(g.members().at(b).partitions.size(), 4u);
  EXPECT_EQ(g.Leave(a, 200, &dl).code(), ErrorCode::kUnknownMember);
  const std::string rejoined = g.Join(b, "", "conn-b2", 3000, 10, 300).id;
  EXPECT_EQ(rejoined, b) << "a known member renews its session";
  EXPECT_EQ(g.members().at(b).connection, "conn-b2");
}

// Every message counts 1 MiB: the byte budget, not the credits, limits.
uint32_t MiB(uint32_t /*partition*/, uint64_t /*offset*/) { return 1u << 20; }

size_t Sent(const std::vector<Push>& pushes) {
  size_t n = 0;
  for (const auto& p : pushes) n += p.deliveries.size();
  return n;
}

TEST(GroupCoordinatorTest, TheByteBudgetBoundsWhatAMemberHasInFlight) {
  GroupCoordinator g("t", "g", Cursors(2), 1);
  const std::string a = g.Join("", "", "conn-a", 10'000, 1000, 0, 4u << 20).id;
  std::vector<PartitionDeadLetter> dl;
  auto pushes = g.Plan({100, 100}, 0, &dl, MiB);
  EXPECT_EQ(Sent(pushes), 4u) << "4 MiB of 1 MiB messages, though 1000 credits are free";
  std::set<uint32_t> partitions;
  for (const auto& p : pushes) {
    partitions.insert(p.partition);
    for (const Delivery& d : p.deliveries) EXPECT_EQ(d.bytes, 1u << 20);
  }
  EXPECT_EQ(partitions.size(), 2u) << "both partitions get a turn";
  const GroupMember& member = g.members().at(a);
  EXPECT_EQ(g.InFlightBytes(member), 4u << 20);
  EXPECT_TRUE(g.Plan({100, 100}, 0, &dl, MiB).empty()) << "the budget is used up";
  // An ack frees 1 MiB: a quarter of the budget, enough to push again.
  ASSERT_TRUE(g.Ack(a, pushes[0].partition, pushes[0].deliveries[0].offset).ok());
  EXPECT_EQ(g.InFlightBytes(member), 3u << 20);
  EXPECT_EQ(Sent(g.Plan({100, 100}, 0, &dl, MiB)), 1u);
  EXPECT_EQ(g.InFlightBytes(member), 4u << 20);
  // A nack and a timeout give the bytes back too.
  ASSERT_TRUE(g.Nack(a, pushes[0].partition, pushes[0].deliveries.back().offset, 0, 0, &dl).ok());
  EXPECT_EQ(g.InFlightBytes(member), 3u << 20);
  g.Tick(1001, &dl);
  EXPECT_EQ(g.InFlightBytes(member), 0u) << "every delivery timed out";
  EXPECT_EQ(g.InFlight(member), 0u);
}

TEST(GroupCoordinatorTest, AMessageLargerThanTheBudgetGoesAloneWhenNothingIsInFlight) {
  GroupCoordinator g("t", "g", Cursors(1), 1);
  const std::string a = g.Join("", "", "conn-a", 10'000, 1000, 0, 256u << 10).id;
  std::vector<PartitionDeadLetter> dl;
  for (uint64_t offset = 0; offset < 3; ++offset) {
    auto pushes = g.Plan({3}, 0, &dl, MiB);
    ASSERT_EQ(Sent(pushes), 1u) << "one message at a time, never none";
    EXPECT_EQ(pushes[0].deliveries[0].offset, offset);
    EXPECT_TRUE(g.Plan({3}, 0, &dl, MiB).empty()) << "nothing more while it is in flight";
    ASSERT_TRUE(g.Ack(a, 0, offset).ok());
  }
  EXPECT_EQ(g.InFlightBytes(g.members().at(a)), 0u);
}

TEST(GroupCoordinatorTest, DueRedeliveriesGoBeforeNewMessagesWithinTheBudget) {
  GroupCoordinator g("t", "g", Cursors(1), 1);
  const std::string a = g.Join("", "", "conn-a", 10'000, 1000, 0, 2u << 20).id;
  std::vector<PartitionDeadLetter> dl;
  ASSERT_EQ(Sent(g.Plan({10}, 0, &dl, MiB)), 2u);
  ASSERT_TRUE(g.Nack(a, 0, 0, 0, 0, &dl).ok());
  ASSERT_TRUE(g.Nack(a, 0, 1, 0, 0, &dl).ok());
  auto pushes = g.Plan({10}, 0, &dl, MiB);
  ASSERT_EQ(Sent(pushes), 2u);
  EXPECT_EQ(pushes[0].deliveries[0].offset, 0u);
  EXPECT_EQ(pushes[0].deliveries[0].delivery_count, 2u);
  EXPECT_EQ(pushes[0].deliveries[1].offset, 1u);
}

TEST(GroupCoordinatorTest, WithoutSizesOnlyTheCreditsLimit) {
  GroupCoordinator g("t", "g", Cursors(1), 1);
  g.Join("", "", "conn-a", 10'000, 50, 0, 1);
  std::vector<PartitionDeadLetter> dl;
  EXPECT_EQ(Sent(g.Plan({100}, 0, &dl)), 50u);
}

}  // namespace
}  // namespace sprawl::broker
