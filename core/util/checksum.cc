#include "core/util/checksum.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sprawl {

uint64_t Checksum64(const void* data, size_t size) { return XXH3_64bits(data, size); }

}  // namespace sprawl
