#include "core/broker/delivery_cursor.h"

#include <gtest/gtest.h>

#include <random>

namespace sprawl::broker {
namespace {

std::vector<uint64_t> Offsets(const std::vector<Delivery>& d) {
  std::vector<uint64_t> out;
  for (const auto& x : d) out.push_back(x.offset);
  return out;
}

CursorConfig Config(uint32_t max_deliveries = 0) {
  CursorConfig c;
  c.ack_timeout_ms = 1000;
  c.max_deliveries = max_deliveries;
  c.backoff_base_ms = 100;
  c.backoff_max_ms = 800;
  return c;
}

TEST(DeliveryCursorTest, TakesNewOffsetsUpToTheHighWatermarkAndTheLimit) {
  DeliveryCursor c(10, Config());
  std::vector<DeadLetter> dl;
  EXPECT_EQ(Offsets(c.Take("a", 3, 20, 0, &dl)), (std::vector<uint64_t>{10, 11, 12}));
  EXPECT_EQ(Offsets(c.Take("a", 100, 15, 0, &dl)), (std::vector<uint64_t>{13, 14}));
  EXPECT_TRUE(c.Take("a", 100, 15, 0, &dl).empty());
  EXPECT_EQ(c.in_flight(), 5u);
  EXPECT_EQ(c.in_flight_to("a"), 5u);
  EXPECT_EQ(c.ack_floor(), 10u);
  EXPECT_EQ(c.next_offset(), 15u);
}

TEST(DeliveryCursorTest, OutOfOrderAcksMoveTheFloorOnceTheGapFills) {
  DeliveryCursor c(0, Config());
  std::vector<DeadLetter> dl;
  c.Take("a", 4, 4, 0, &dl);
  ASSERT_TRUE(c.Ack(2).ok());
  ASSERT_TRUE(c.Ack(1).ok());
  EXPECT_EQ(c.ack_floor(), 0u);
  ASSERT_TRUE(c.Ack(0).ok());
  EXPECT_EQ(c.ack_floor(), 3u);
  EXPECT_EQ(c.Ack(1).code(), ErrorCode::kNotFound) << "a second ack changes nothing";
  EXPECT_EQ(c.Ack(9).code(), ErrorCode::kNotFound);
  ASSERT_TRUE(c.Ack(3).ok());
  EXPECT_EQ(c.ack_floor(), 4u);
  EXPECT_EQ(c.in_flight(), 0u);
}

TEST(DeliveryCursorTest, TimeoutsRedeliverWithGrowingBackoffAndCounts) {
  DeliveryCursor c(0, Config());
  std::vector<DeadLetter> dl;
  c.Take("a", 1, 1, 0, &dl);
  c.Tick(999, 0.0, &dl);
  EXPECT_TRUE(c.Take("b", 1, 1, 999, &dl).empty()) << "not yet timed out";
  c.Tick(1000, 0.0, &dl);  // first retry: backoff 100, equal jitter 0 -> due at 1050
  EXPECT_TRUE(c.Take("b", 1, 1, 1049, &dl).empty());
  auto again = c.Take("b", 1, 1, 1050, &dl);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].delivery_count, 2u);
  EXPECT_EQ(c.owner(0), "b");
  c.Tick(2050, 0.0, &dl);  // second: backoff 200 -> due at 2150
  EXPECT_TRUE(c.Take("b", 1, 1, 2149, &dl).empty());
  EXPECT_EQ(c.Take("b", 1, 1, 2150, &dl)[0].delivery_count, 3u);
  EXPECT_TRUE(dl.empty());
  EXPECT_EQ(c.redelivered(), 2u);
}

TEST(DeliveryCursorTest, ALateAckOfATimedOutDeliveryStillSettlesIt) {
  DeliveryCursor c(0, Config());
  std::vector<DeadLetter> dl;
  c.Take("a", 1, 1, 0, &dl);
  c.Tick(1000, 0.5, &dl);
  ASSERT_TRUE(c.Ack(0).ok());
  EXPECT_EQ(c.ack_floor(), 1u);
  EXPECT_TRUE(c.Take("a", 1, 1, 100000, &dl).empty());
}

TEST(DeliveryCursorTest, NacksRedeliverAfterTheirDelay) {
  DeliveryCursor c(0, Config());
  std::vector<DeadLetter> dl;
  c.Take("a", 2, 2, 0, &dl);
  ASSERT_TRUE(c.Nack(0, 0, 10, &dl).ok());
  ASSERT_TRUE(c.Nack(1, 500, 10, &dl).ok());
  EXPECT_EQ(Offsets(c.Take("a", 5, 2, 10, &dl)), std::vector<uint64_t>{0});
  EXPECT_EQ(Offsets(c.Take("a", 5, 2, 510, &dl)), std::vector<uint64_t>{1});
  EXPECT_EQ(c.Nack(7, 0, 10, &dl).code(), ErrorCode::kNotFound);
}

TEST(DeliveryCursorTest, MaxDeliveriesSendsToDeadLettersUntilCompleted) {
  DeliveryCursor c(0, Config(2));
  std::vector<DeadLetter> dl;
  c.Take("a", 1, 1, 0, &dl);
  c.Tick(1000, 0.0, &dl);
  c.Take("a", 1, 1, 2000, &dl);
  c.Tick(3000, 0.0, &dl);
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(dl[0].offset, 0u);
  EXPECT_EQ(dl[0].deliveries, 2u);
  EXPECT_NE(dl[0].reason.find("not acknowledged"), std::string::npos);
  EXPECT_TRUE(c.Take("a", 1, 1, 100000, &dl).empty()) << "not redelivered";
  EXPECT_EQ(c.ack_floor(), 0u) << "not settled before it is safely dead-lettered";
  c.CompleteDeadLetter(0);
  EXPECT_EQ(c.ack_floor(), 1u);
  EXPECT_EQ(c.dead_lettered(), 1u);
}

TEST(DeliveryCursorTest, ANackOnTheLastDeliveryDeadLetters) {
  DeliveryCursor c(0, Config(1));
  std::vector<DeadLetter> dl;
  c.Take("a", 1, 1, 0, &dl);
  ASSERT_TRUE(c.Nack(0, 0, 5, &dl).ok());
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_NE(dl[0].reason.find("nacked"), std::string::npos);
}

TEST(DeliveryCursorTest, ReleaseRedeliversAMembersInFlightAtOnce) {
  DeliveryCursor c(0, Config());
  std::vector<DeadLetter> dl;
  c.Take("a", 2, 4, 0, &dl);
  c.Take("b", 2, 4, 0, &dl);
  c.Release("a", 50, &dl);
  EXPECT_EQ(c.in_flight_to("a"), 0u);
  EXPECT_EQ(c.in_flight_to("b"), 2u);
  auto redelivered = c.Take("b", 10, 4, 50, &dl);
  EXPECT_EQ(Offsets(redelivered), (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(redelivered[0].delivery_count, 2u);
}

TEST(DeliveryCursorTest, OwnersStayDistinctAsMembersComeAndGo) {
  DeliveryCursor c(0, Config());
  std::vector<DeadLetter> dl;
  c.Take("member-with-a-long-identifier-a", 2, 10, 0, &dl);  // 0, 1
  c.Take("member-with-a-long-identifier-b", 2, 10, 0, &dl);  // 2, 3
  EXPECT_TRUE(c.Take("idle", 5, 4, 0, &dl).empty());
  EXPECT_EQ(c.in_flight_to("idle"), 0u);
  ASSERT_TRUE(c.Ack(0).ok());
  ASSERT_TRUE(c.Ack(1).ok());  // a has nothing in flight any more
  EXPECT_EQ(c.in_flight_to("member-with-a-long-identifier-a"), 0u);
  c.Take("c", 2, 10, 0, &dl);  // 4, 5: may reuse a's place
  EXPECT_EQ(c.owner(2), "member-with-a-long-identifier-b");
  EXPECT_EQ(c.owner(4), "c");
  EXPECT_EQ(c.owner(1), "") << "settled";
  EXPECT_EQ(c.in_flight_to("c"), 2u);
  c.Release("member-with-a-long-identifier-b", 5, &dl);
  EXPECT_EQ(c.in_flight_to("member-with-a-long-identifier-b"), 0u);
  EXPECT_EQ(c.owner(2), "");
  EXPECT_EQ(Offsets(c.Take("c", 5, 6, 5, &dl)), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(c.owner(3), "c");
  EXPECT_EQ(c.in_flight_to("c"), 4u);
  c.Release("nobody", 5, &dl);  // an unknown member changes nothing
  EXPECT_EQ(c.in_flight(), 4u);
}

TEST(DeliveryCursorTest, AMemberLeavingOnTheLastDeliveryDeadLetters) {
  DeliveryCursor c(0, Config(1));
  std::vector<DeadLetter> dl;
  c.Take("a", 1, 1, 0, &dl);
  c.Release("a", 10, &dl);
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_NE(dl[0].reason.find("left"), std::string::npos);
  EXPECT_TRUE(c.Take("b", 1, 1, 20, &dl).empty());
}

TEST(DeliveryCursorTest, ExpiryAndRetentionSettle) {
  DeliveryCursor c(0, Config());
  std::vector<DeadLetter> dl;
  c.Take("a", 3, 3, 0, &dl);
  c.Expire(0);
  EXPECT_EQ(c.ack_floor(), 1u);
  EXPECT_EQ(c.expired(), 1u);
  c.OnLogStart(10);
  EXPECT_EQ(c.ack_floor(), 10u);
  EXPECT_EQ(c.next_offset(), 10u);
  EXPECT_EQ(c.in_flight(), 0u);
  EXPECT_EQ(c.in_flight_to("a"), 0u);
  EXPECT_EQ(c.Ack(1).code(), ErrorCode::kNotFound);
  EXPECT_EQ(Offsets(c.Take("a", 1, 11, 0, &dl)), std::vector<uint64_t>{10});
}

TEST(DeliveryCursorTest, TheWindowBoundsUnsettledOffsets) {
  CursorConfig config = Config();
  config.max_window = 3;
  DeliveryCursor c(0, config);
  std::vector<DeadLetter> dl;
  EXPECT_EQ(c.Take("a", 10, 100, 0, &dl).size(), 3u);
  ASSERT_TRUE(c.Ack(1).ok());
  EXPECT_TRUE(c.Take("a", 10, 100, 0, &dl).empty()) << "offset 0 still holds the floor";
  ASSERT_TRUE(c.Ack(0).ok());
  EXPECT_EQ(c.Take("a", 10, 100, 0, &dl).size(), 2u);
}

TEST(DeliveryCursorTest, CheckpointRestoreRedeliversUnackedWithCountsAndNeverAcked) {
  DeliveryCursor c(5, Config(3));
  std::vector<DeadLetter> dl;
  c.Take("a", 4, 9, 0, &dl);  // 5..8
  ASSERT_TRUE(c.Ack(5).ok());
  ASSERT_TRUE(c.Ack(7).ok());
  c.Tick(1000, 0.0, &dl);        // 6 and 8 time out
  c.Take("a", 4, 9, 5000, &dl);  // redelivered: count 2
  const CursorCheckpoint saved = c.Checkpoint();
  auto decoded = DecodeCheckpoint(EncodeCheckpoint(saved));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, saved);

  DeliveryCursor restored(*decoded, Config(3));
  EXPECT_EQ(restored.ack_floor(), 6u);
  auto again = restored.Take("b", 10, 9, 0, &dl);
  EXPECT_EQ(Offsets(again), (std::vector<uint64_t>{6, 8}));
  EXPECT_EQ(again[0].delivery_count, 3u);
}

TEST(DeliveryCursorTest, CheckpointDecoderRejectsCorruptInput) {
  DeliveryCursor c(0, Config());
  std::vector<DeadLetter> dl;
  c.Take("a", 3, 3, 0, &dl);
  ASSERT_TRUE(c.Ack(1).ok());
  const std::string good = EncodeCheckpoint(c.Checkpoint());
  EXPECT_TRUE(DecodeCheckpoint(good).ok());
  EXPECT_EQ(DecodeCheckpoint("").status().code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(DecodeCheckpoint(std::string(1, '\0')).status().code(), ErrorCode::kDataCorruption);
  EXPECT_EQ(DecodeCheckpoint(std::string(1, '\x02')).status().code(),
            ErrorCode::kUnsupportedVersion);
  for (size_t cut = 1; cut < good.size(); ++cut) {
    EXPECT_EQ(DecodeCheckpoint(good.substr(0, cut)).status().code(), ErrorCode::kDataCorruption)
        << "cut at " << cut;
  }
  EXPECT_EQ(DecodeCheckpoint(good + "x").status().code(), ErrorCode::kDataCorruption);
  CursorCheckpoint overlapping = c.Checkpoint();
  overlapping.delivery_counts.push_back({1, 1});
  overlapping.delivery_counts.erase(overlapping.delivery_counts.begin());
  EXPECT_FALSE(DecodeCheckpoint(EncodeCheckpoint(overlapping)).ok());
}

// Random acks, nacks, timeouts and releases: no offset is ever in flight to
// two members, the floor never moves back, and once everything is acked the
// floor reaches the high watermark.
TEST(DeliveryCursorTest, RandomScheduleKeepsItsInvariants) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    DeliveryCursor c(0, Config());
    std::vector<DeadLetter> dl;
    const uint64_t hw = 500;
    int64_t now = 0;
    uint64_t floor = 0;
    std::map<uint64_t, std::string> held;
    const std::vector<std::string> members{"a", "b", "c"};
    for (int step = 0; step < 3000; ++step) {
      now += static_cast<int64_t>(rng() % 200);
      const std::string& m = members[rng() % members.size()];
      switch (rng() % 5) {
        case 0:
        case 1:
          for (const Delivery& d : c.Take(m, rng() % 8, hw, now, &dl)) {
            held[d.offset] = m;
          }
          break;
        case 2:
          if (!held.empty()) {
            auto it = std::next(held.begin(), static_cast<long>(rng() % held.size()));
            if (c.owner(it->first) == it->second) {
              ASSERT_TRUE(c.Ack(it->first).ok());
            }
            held.erase(it);
          }
          break;
        case 3:
          c.Tick(now, 0.5, &dl);
          break;
        case 4:
          c.Release(m, now, &dl);
          break;
      }
      // Each in-flight offset has exactly one owner: the per-member counts
      // add up to the offsets in flight.
      uint32_t owned = 0;
      for (const std::string& member : members) owned += c.in_flight_to(member);
      ASSERT_EQ(owned, c.in_flight());
      ASSERT_GE(c.ack_floor(), floor);
      floor = c.ack_floor();
    }
    // Drain: deliver and ack everything.
    for (int round = 0; round < 10000 && c.ack_floor() < hw; ++round) {
      now += 10'000;
      c.Tick(now, 0.5, &dl);
      for (const Delivery& d : c.Take("z", 1000, hw, now, &dl)) ASSERT_TRUE(c.Ack(d.offset).ok());
    }
    EXPECT_EQ(c.ack_floor(), hw) << "seed " << seed;
  }
}

}  // namespace
}  // namespace sprawl::broker
