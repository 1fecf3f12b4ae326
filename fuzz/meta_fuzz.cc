// libFuzzer target for the metadata group's decoders: the META_FORWARD body
// a peer sends (core/meta/meta_command.h), applied to a MetaState as a
// committed entry would be, and the Raft state records read back from the
// store (core/replication/host/raft_storage.h), and a partition group's
// control entries, images and applied marks (core/replica). The first byte
// picks the decoder. A value that decodes must encode to bytes that decode to an
// equal value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/meta/meta_command.h"
#include "core/meta/meta_state.h"
#include "core/replica/control_entry.h"
#include "core/replica/partition_replicas.h"
#include "core/replication/host/raft_storage.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sprawl;
  if (size == 0) return 0;
  fuzz::ExactBuffer input(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  switch (data[0] % 7) {
    case 0: {
      auto c = meta::DecodeMetaCommand(input.view());
      if (!c.ok()) return 0;
      auto again = meta::DecodeMetaCommand(meta::EncodeMetaCommand(*c));
      FUZZ_CHECK(again.ok() && *again == *c);
      meta::MetaState state;
      (void)state.Apply(*c);
      (void)state.Apply(*c);
      return 0;
    }
    case 1: {
      auto hs = replication::DecodeHardStateRecord(input.view());
      if (hs.ok())
        FUZZ_CHECK(*replication::DecodeHardStateRecord(replication::EncodeHardStateRecord(*hs)) ==
                   *hs);
      return 0;
    }
    case 2: {
      auto e = replication::DecodeEntryRecord(input.view());
      if (e.ok()) {
        FUZZ_CHECK(*replication::DecodeEntryRecord(replication::EncodeEntryRecord(*e)) == *e);
      }
      return 0;
    }
    case 4: {
      auto c = replica::DecodeControlEntry(input.view());
      if (c.ok()) FUZZ_CHECK(*replica::DecodeControlEntry(replica::EncodeControlEntry(*c)) == *c);
      return 0;
    }
    case 5: {
      auto image = replica::DecodePartitionImage(input.view());
      if (image.ok()) {
        FUZZ_CHECK(*replica::DecodePartitionImage(replica::EncodePartitionImage(*image)) == *image);
      }
      return 0;
    }
    case 6: {
      auto mark = replica::DecodeAppliedMark(input.view());
      if (mark.ok()) {
        FUZZ_CHECK(*replica::DecodeAppliedMark(
                       replica::EncodeAppliedMark(mark->first, mark->second)) == *mark);
      }
      return 0;
    }
    default: {
      auto s = replication::DecodeSnapshotRecord(input.view());
      if (s.ok()) {
        FUZZ_CHECK(*replication::DecodeSnapshotRecord(replication::EncodeSnapshotRecord(*s)) == *s);
      }
      return 0;
    }
  }
}
