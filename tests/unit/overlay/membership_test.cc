// Single transitions of the membership state machine, driven by hand with
// explicit times and messages.
#include "core/overlay/membership.h"

#include <gtest/gtest.h>

namespace sprawl::overlay {
namespace {

NodeMeta Meta(const std::string& id) { return {id, "sim://" + id, "", "", "", 0, 0}; }

Update Alive(const std::string& id, uint64_t incarnation = 0) {
  return {MemberState::kAlive, incarnation, Meta(id), ""};
}

// n1 knowing n2, n3 and n4 (all alive), at time 0.
Membership Node(MembershipConfig config = {}) {
  Membership m(Meta("n1"), config, 42);
  m.Join({}, 0);
  Message hello;
  hello.kind = MessageKind::kPushPullReply;
  hello.sender = "n2";
  hello.sender_address = "sim://n2";
  hello.updates = {Alive("n2"), Alive("n3"), Alive("n4")};
  m.Receive(hello, 0);
  m.TakeOutgoing();
  m.TakeEvents();
  return m;
}

// Ticks until a ping goes out; returns it.
Outgoing NextPing(Membership& m, int64_t* now) {
  for (int i = 0; i < 100; ++i) {
    *now = m.NextTickMs();
    m.Tick(*now);
    for (Outgoing& o : m.TakeOutgoing()) {
      if (o.message.kind == MessageKind::kPing) return o;
    }
  }
  ADD_FAILURE() << "no ping";
  return {};
}

TEST(MembershipTest, PingIsAnsweredWithAnAckCarryingGossip) {
  Membership m = Node();
  Message ping;
  ping.kind = MessageKind::kPing;
  ping.sender = "n2";
  ping.sender_address = "sim://n2";
  ping.sequence = 9;
  ping.target = "n1";
  m.Receive(ping, 10);
  auto out = m.TakeOutgoing();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, "sim://n2");
  EXPECT_EQ(out[0].message.kind, MessageKind::kAck);
  EXPECT_EQ(out[0].message.sequence, 9u);
  EXPECT_FALSE(out[0].message.updates.empty()) << "gossip rides on the ack";
  ping.target = "someone-else";
  m.Receive(ping, 11);
  EXPECT_TRUE(m.TakeOutgoing().empty()) << "a ping for another id is not acked";
}

TEST(MembershipTest, AnUnansweredProbeGoesIndirectThenSuspectsThenDeclaresDead) {
  Membership m = Node();
  int64_t now = 0;
  Outgoing ping = NextPing(m, &now);
  const std::string target = ping.message.target;
  // No ack: after the probe timeout, ping-reqs go to k others.
  now += MembershipConfig{}.probe_timeout_ms;
  m.Tick(now);
  auto out = m.TakeOutgoing();
  ASSERT_FALSE(out.empty());
  for (const Outgoing& o : out) {
    EXPECT_EQ(o.message.kind, MessageKind::kPingReq);
    EXPECT_EQ(o.message.target, target);
    EXPECT_NE(o.to, "sim://" + target);
  }
  EXPECT_EQ(m.metrics().indirect_probes_sent, out.size());
  // No ack by the end of the period: suspect.
  now += MembershipConfig{}.probe_interval_ms;
  m.Tick(now);
  EXPECT_EQ(m.members().at(target).state, MemberState::kSuspect);
  EXPECT_EQ(m.metrics().suspicions_raised, 1u);
  EXPECT_EQ(m.local_health(), 1) << "a missed ack raises the local health multiplier";
  // Unrefuted: dead once the suspicion times out (4x the minimum here).
  const int64_t suspected_at = now;
  while (m.members().at(target).state == MemberState::kSuspect && now < suspected_at + 60'000) {
    now = std::max(now + 1, m.NextTickMs());
    m.Tick(now);
    for (const Outgoing& o : m.TakeOutgoing()) {
      if (o.message.kind != MessageKind::kPing || o.message.target == target) continue;
      Message ack;  // the others answer
      ack.kind = MessageKind::kAck;
      ack.sender = o.message.target;
      ack.sender_address = o.to;
      ack.sequence = o.message.sequence;
      m.Receive(ack, now);
    }
  }
  EXPECT_EQ(m.members().at(target).state, MemberState::kDead);
  // Heard from at time 0 (the push-pull reply came from n2 only).
  const auto detections = m.TakeDetectionTimes();
  if (target == "n2") {
    ASSERT_EQ(detections.size(), 1u);
    EXPECT_EQ(detections[0], now);
  }
  const int64_t min_ms = static_cast<int64_t>(2.0 * 1.0 * 200);
  EXPECT_GE(now - suspected_at, min_ms);
  EXPECT_LE(now - suspected_at, 4 * min_ms + 2 * 200 * 9) << "bounded by max (stretched by health)";
}

TEST(MembershipTest, IndependentConfirmationsShortenASuspicion) {
  Membership alone = Node();
  Membership confirmed = Node();
  Update suspect{MemberState::kSuspect, 0, Meta("n3"), "n2"};
  Message gossip;
  gossip.kind = MessageKind::kPushPullReply;
  gossip.sender = "n2";
  gossip.sender_address = "sim://n2";
  gossip.updates = {suspect};
  alone.Receive(gossip, 0);
  confirmed.Receive(gossip, 0);
  for (const std::string from : {"n4", "n5", "n6"}) {
    suspect.from = from;
    gossip.updates = {suspect};
    confirmed.Receive(gossip, 0);
  }
  auto dead_at = [](Membership& m) {
    int64_t now = 0;
    while (m.members().at("n3").state != MemberState::kDead && now < 100'000) {
      now += 10;
      m.Tick(now);
      m.TakeOutgoing();
    }
    return now;
  };
  EXPECT_LT(dead_at(confirmed), dead_at(alone));
}

TEST(MembershipTest, ASuspicionAboutItselfIsRefutedWithAHigherIncarnation) {
  Membership m = Node();
  Message gossip;
  gossip.kind = MessageKind::kPushPullReply;
  gossip.sender = "n2";
  gossip.sender_address = "sim://n2";
  gossip.updates = {{MemberState::kSuspect, 3, Meta("n1"), "n2"}};
  m.Receive(gossip, 5);
  EXPECT_EQ(m.self().incarnation, 4u);
  EXPECT_EQ(m.self().state, MemberState::kAlive);
  EXPECT_EQ(m.metrics().suspicions_refuted, 1u);
  // The accuser hears the refutation at once...
  auto answer = m.TakeOutgoing();
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].to, "sim://n2");
  ASSERT_EQ(answer[0].message.updates.size(), 1u);
  EXPECT_EQ(answer[0].message.updates[0].incarnation, 4u);
  // ...and it is gossiped on the next messages, such as this ack.
  Message ping;
  ping.kind = MessageKind::kPing;
  ping.sender = "n2";
  ping.sender_address = "sim://n2";
  ping.target = "n1";
  m.Receive(ping, 6);
  auto out = m.TakeOutgoing();
  ASSERT_EQ(out.size(), 1u);
  bool carried = false;
  for (const Update& u : out[0].message.updates) {
    carried |= u.meta.id == "n1" && u.state == MemberState::kAlive && u.incarnation == 4;
  }
  EXPECT_TRUE(carried);
}

TEST(MembershipTest, IncarnationsOrderUpdates) {
  Membership m = Node();
  Message gossip;
  gossip.kind = MessageKind::kPushPullReply;
  gossip.sender = "n2";
  gossip.sender_address = "sim://n2";
  gossip.updates = {{MemberState::kSuspect, 2, Meta("n3"), "n2"}};
  m.Receive(gossip, 0);
  EXPECT_EQ(m.members().at("n3").state, MemberState::kSuspect);
  gossip.updates = {Alive("n3", 1)};  // older: ignored
  m.Receive(gossip, 1);
  EXPECT_EQ(m.members().at("n3").state, MemberState::kSuspect);
  gossip.updates = {Alive("n3", 3)};  // newer: refutes the suspicion
  m.Receive(gossip, 2);
  EXPECT_EQ(m.members().at("n3").state, MemberState::kAlive);
  gossip.updates = {{MemberState::kDead, 3, Meta("n3"), "n2"}};
  m.Receive(gossip, 3);
  EXPECT_EQ(m.members().at("n3").state, MemberState::kDead);
  gossip.updates = {Alive("n3", 3)};  // a dead member needs a newer incarnation
  m.Receive(gossip, 4);
  EXPECT_EQ(m.members().at("n3").state, MemberState::kDead);
  gossip.updates = {Alive("n3", 4)};  // it restarted and refuted
  m.Receive(gossip, 5);
  EXPECT_EQ(m.members().at("n3").state, MemberState::kAlive);
}

TEST(MembershipTest, LeavingTellsEveryLiveMember) {
  Membership m = Node();
  m.Leave(100);
  auto out = m.TakeOutgoing();
  EXPECT_EQ(out.size(), 3u);
  for (const Outgoing& o : out) {
    ASSERT_EQ(o.message.updates.size(), 1u);
    EXPECT_EQ(o.message.updates[0].state, MemberState::kLeft);
    EXPECT_EQ(o.message.updates[0].meta.id, "n1");
  }
  m.Tick(10'000);
  EXPECT_TRUE(m.TakeOutgoing().empty()) << "a node that left stays quiet";
}

TEST(MembershipTest, DisseminationStopsAfterTheRetransmitLimit) {
  Membership m = Node();
  Message gossip;
  gossip.kind = MessageKind::kPushPullReply;
  gossip.sender = "n2";
  gossip.sender_address = "sim://n2";
  gossip.updates = {Alive("n9")};
  m.Receive(gossip, 0);
  Message ping;
  ping.kind = MessageKind::kPing;
  ping.sender = "n2";
  ping.sender_address = "sim://n2";
  ping.target = "n1";
  int carried = 0;
  for (int i = 0; i < 50; ++i) {
    m.Receive(ping, 1 + i);
    for (const Outgoing& o : m.TakeOutgoing()) {
      for (const Update& u : o.message.updates) carried += u.meta.id == "n9" ? 1 : 0;
    }
  }
  // λ·ceil(log10(n+1)) with λ = 4 and n = 5 members: 4 transmissions.
  EXPECT_EQ(carried, 4);
}

TEST(MembershipTest, MetadataChangesTravelUnderANewIncarnation) {
  Membership m = Node();
  NodeMeta meta = m.self().meta;
  meta.load = 12;
  m.UpdateMeta(meta, 10);
  EXPECT_EQ(m.self().incarnation, 1u);
  EXPECT_EQ(m.self().meta.load, 12u);
  int64_t now = 10;
  const Outgoing ping = NextPing(m, &now);
  bool carried = false;
  for (const Update& u : ping.message.updates) {
    carried |= u.meta.id == "n1" && u.incarnation == 1 && u.meta.load == 12;
  }
  EXPECT_TRUE(carried) << "the next probe carries the new metadata";

  m.Leave(now);
  const uint64_t left_at = m.self().incarnation;
  m.UpdateMeta(meta, now + 1);
  EXPECT_EQ(m.self().state, MemberState::kLeft) << "a node that left stays left";
  EXPECT_EQ(m.self().incarnation, left_at);
}

TEST(MembershipConfigTest, TheDefaultsAreValid) { EXPECT_TRUE(MembershipConfig{}.Validate().ok()); }

TEST(MembershipConfigTest, TimingsTheProtocolCannotRunWithAreRefusedByName) {
  auto refused = [](auto change, const std::string& word) {
    MembershipConfig c;
    change(c);
    const Status s = c.Validate();
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << word;
    EXPECT_NE(s.message().find(word), std::string::npos) << s.message();
  };
  refused([](MembershipConfig& c) { c.probe_interval_ms = 0; }, "probe interval");
  refused([](MembershipConfig& c) { c.probe_timeout_ms = c.probe_interval_ms; }, "probe timeout");
  refused([](MembershipConfig& c) { c.indirect_probes = -1; }, "indirect probes");
  refused([](MembershipConfig& c) { c.suspicion_mult = 0.5; }, "suspicion multiplier");
  refused([](MembershipConfig& c) { c.retransmit_mult = 0; }, "retransmit");
  refused([](MembershipConfig& c) { c.push_pull_interval_ms = 10; }, "push-pull");
  refused([](MembershipConfig& c) { c.max_piggyback = 0; }, "updates per message");
}

}  // namespace
}  // namespace sprawl::overlay
