#pragma once

#include <cstddef>
#include <cstdint>

namespace sprawl {

// 64-bit XXH3 of `size` bytes at `data`: the checksum of record batches and
// stored metadata. Stable across platforms and releases of xxHash.
uint64_t Checksum64(const void* data, size_t size);

}  // namespace sprawl
