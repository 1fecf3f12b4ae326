// libFuzzer target for the overlay's gossip codec (core/overlay/codec.h):
// every GOSSIP body a peer port receives goes through Decode. A message that
// decodes must encode to bytes that decode to an equal message, and a
// membership state machine must survive receiving it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/overlay/codec.h"
#include "core/overlay/membership.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sprawl::overlay;
  sprawl::fuzz::ExactBuffer input(std::string_view(reinterpret_cast<const char*>(data), size));
  auto decoded = Decode(input.view());
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == sprawl::ErrorCode::kInvalidArgument);
    return 0;
  }
  auto again = Decode(Encode(*decoded));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *decoded);
  Membership node({"fuzz-node", "tcp://127.0.0.1:1", "", "", "", 0, 0}, MembershipConfig{}, 1);
  node.Join({}, 0);
  node.Receive(*decoded, 10);
  node.Tick(1'000);
  node.Receive(*decoded, 1'001);
  node.TakeOutgoing();
  node.TakeEvents();
  return 0;
}
