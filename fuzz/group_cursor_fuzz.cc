// libFuzzer target for the group cursor checkpoint decoder
// (core/broker/delivery_cursor.h): checkpoints are read back from disk after
// a restart. A checkpoint that decodes must encode back to an equal one, and
// a cursor restored from it must survive being driven. The same bytes go to
// the replicated group checkpoint entry's decoder
// (core/broker/group_checkpoint_entry.h), which a replica applies from its
// partition's Raft log.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/broker/delivery_cursor.h"
#include "core/broker/group_checkpoint_entry.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sprawl::broker;
  sprawl::fuzz::ExactBuffer input(std::string_view(reinterpret_cast<const char*>(data), size));
  auto entry = DecodeGroupCheckpointEntry(input.view());
  if (entry.ok()) {
    auto again = DecodeGroupCheckpointEntry(EncodeGroupCheckpointEntry(*entry));
    FUZZ_CHECK(again.ok() && *again == *entry);
  } else {
    FUZZ_CHECK(entry.status().code() == sprawl::ErrorCode::kDataCorruption ||
               entry.status().code() == sprawl::ErrorCode::kUnsupportedVersion);
  }
  auto decoded = DecodeCheckpoint(input.view());
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == sprawl::ErrorCode::kDataCorruption ||
               decoded.status().code() == sprawl::ErrorCode::kUnsupportedVersion);
    return 0;
  }
  auto again = DecodeCheckpoint(EncodeCheckpoint(*decoded));
  FUZZ_CHECK(again.ok() && *again == *decoded);
  CursorConfig config;
  config.max_deliveries = 3;
  DeliveryCursor cursor(*decoded, config);
  std::vector<DeadLetter> letters;
  auto taken = cursor.Take("m", 16, cursor.next_offset() + 16, 0, &letters);
  for (const Delivery& d : taken) (void)cursor.Ack(d.offset);
  cursor.Tick(1'000'000, 0.5, &letters);
  for (const DeadLetter& l : letters) cursor.CompleteDeadLetter(l.offset);
  FUZZ_CHECK(cursor.ack_floor() <= cursor.next_offset());
  return 0;
}
