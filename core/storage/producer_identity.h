#pragma once

#include <cstdint>
#include <string_view>

// Producer ids (docs/replication.md, "Fencing"). An anonymous idempotent
// producer draws random ids with the top bit clear. A named producer's ids
// have it set, a hash of the name in the bits below down to bit 16 (its
// *family*, alike for every instance that uses the name), and in the low 16
// bits a counter the instance advances whenever it must start a partition's
// sequence afresh (a failed batch leaves a hole the server would refuse).
// Each start of a named producer gets a new epoch from the cluster's
// metadata; a batch of a family under an older epoch than its latest is
// refused with PRODUCER_FENCED.
namespace sprawl::storage {

inline constexpr uint64_t kNamedProducerBit = uint64_t{1} << 63;
inline constexpr uint64_t kProducerSessionMask = 0xffff;
inline constexpr size_t kMaxProducerNameBytes = 255;

inline bool IsNamedProducer(uint64_t producer_id) { return (producer_id & kNamedProducerBit) != 0; }

// The part of a named producer's id its name fixes.
inline uint64_t ProducerFamily(uint64_t producer_id) { return producer_id & ~kProducerSessionMask; }

// The family of the producers named `name`: FNV-1a of the name, so every
// node and client derives the same one without asking.
inline uint64_t NamedProducerFamily(std::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return kNamedProducerBit | (hash & ~kNamedProducerBit & ~kProducerSessionMask);
}

// An anonymous producer's id from a random draw: never 0, never named.
inline uint64_t AnonymousProducerId(uint64_t draw) {
  const uint64_t id = draw & ~kNamedProducerBit;
  return id == 0 ? 1 : id;
}

}  // namespace sprawl::storage
