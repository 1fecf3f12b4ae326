#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/result.h"

namespace sprawl::storage {

// Per-batch payload compression. The numbers are stored in batch headers.
enum class Compression : uint8_t { kNone = 0, kZstd = 1, kLz4 = 2 };

// Parses "none", "zstd" or "lz4".
Result<Compression> ParseCompression(std::string_view name);
std::string_view CompressionName(Compression c);

// Compresses `input`, appending to `out`.
Status Compress(Compression c, std::string_view input, std::string* out);

// Decompresses `input` into `out`, which must come out exactly
// `expected_size` bytes long (the size recorded in the batch header, bounded
// by the caller before any allocation). Malformed input is DATA_CORRUPTION.
Status Decompress(Compression c, std::string_view input, size_t expected_size, std::string* out);

}  // namespace sprawl::storage
