#include "core/overlay/codec.h"

#include <gtest/gtest.h>

namespace sprawl::overlay {
namespace {

Message Sample() {
  Message m;
  m.kind = MessageKind::kPingReq;
  m.sender = "n1";
  m.sender_address = "tcp://127.0.0.1:7401";
  m.sequence = 123456789;
  m.target = "n2";
  m.target_address = "tcp://127.0.0.1:7411";
  Update u;
  u.state = MemberState::kSuspect;
  u.incarnation = 7;
  u.meta = {"n2",
            "tcp://127.0.0.1:7411",
            "tcp://127.0.0.1:7410",
            "http://127.0.0.1:7490",
            "rack-a",
            1700000000000,
            42};
  u.from = "n1";
  m.updates = {u, Update{MemberState::kAlive, 1, {"n3", "a", "", "", "", 0, 0}, ""}};
  return m;
}

TEST(OverlayCodecTest, RoundTripsEveryField) {
  const Message m = Sample();
  auto decoded = Decode(Encode(m));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, m);
}

TEST(OverlayCodecTest, EveryTruncationIsRejected) {
  const std::string bytes = Encode(Sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(Decode(bytes.substr(0, n)).ok()) << "truncated to " << n;
  }
  EXPECT_FALSE(Decode(bytes + "x").ok()) << "trailing bytes";
}

TEST(OverlayCodecTest, UnknownVersionKindStateAndHugeCountsAreRejected) {
  std::string bytes = Encode(Sample());
  std::string v = bytes;
  v[0] = 2;
  EXPECT_FALSE(Decode(v).ok());
  std::string k = bytes;
  k[1] = 9;
  EXPECT_FALSE(Decode(k).ok());
  Message empty;
  empty.sender = "n1";
  std::string e = Encode(empty);
  e.back() = static_cast<char>(0x7f);  // claims 127 updates with no bytes left
  EXPECT_FALSE(Decode(e).ok());
  Message nameless = Sample();
  nameless.sender = "";
  EXPECT_FALSE(Decode(Encode(nameless)).ok());
  Message long_string = Sample();
  long_string.target = std::string(kMaxStringBytes + 1, 'x');
  EXPECT_FALSE(Decode(Encode(long_string)).ok());
}

}  // namespace
}  // namespace sprawl::overlay
