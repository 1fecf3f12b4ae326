#include "core/storage/compression.h"

#include <lz4.h>
#include <zstd.h>

#include <limits>

namespace sprawl::storage {

Result<Compression> ParseCompression(std::string_view name) {
  if (name == "none") return Compression::kNone;
  if (name == "zstd") return Compression::kZstd;
  if (name == "lz4") return Compression::kLz4;
  return InvalidArgument("unknown compression '" + std::string(name) +
                         "': expected none, zstd or lz4");
}

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kZstd:
      return "zstd";
    case Compression::kLz4:
      return "lz4";
  }
  return "unknown";
}

Status Compress(Compression c, std::string_view input, std::string* out) {
  const size_t start = out->size();
  switch (c) {
    case Compression::kNone:
      out->append(input);
      return Status::Ok();
    case Compression::kZstd: {
      const size_t bound = ZSTD_compressBound(input.size());
      out->resize(start + bound);
      // Level 1: producers compress on the hot path; ratio matters less than speed.
      const size_t n = ZSTD_compress(out->data() + start, bound, input.data(), input.size(), 1);
      if (ZSTD_isError(n)) {
        out->resize(start);
        return Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
      }
      out->resize(start + n);
      return Status::Ok();
    }
    case Compression::kLz4: {
      if (input.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
        return InvalidArgument("payload too large for lz4");
      }
      const int bound = LZ4_compressBound(static_cast<int>(input.size()));
      out->resize(start + static_cast<size_t>(bound));
      const int n = LZ4_compress_default(input.data(), out->data() + start,
                                         static_cast<int>(input.size()), bound);
      if (n <= 0) {
        out->resize(start);
        return Internal("lz4 compression failed");
      }
      out->resize(start + static_cast<size_t>(n));
      return Status::Ok();
    }
  }
  return InvalidArgument("unknown compression codec");
}

Status Decompress(Compression c, std::string_view input, size_t expected_size, std::string* out) {
  // Check that the input can produce the claimed size before allocating it,
  // so a tiny hostile batch cannot make us allocate the size limit.
  if (c == Compression::kZstd) {
    if (ZSTD_getFrameContentSize(input.data(), input.size()) != expected_size ||
        ZSTD_findFrameCompressedSize(input.data(), input.size()) != input.size()) {
      return DataCorruption("zstd payload is not one frame of the size in the header");
    }
  } else if (c == Compression::kLz4 && expected_size / 255 > input.size()) {
    // An LZ4 block expands at most about 255 times.
    return DataCorruption("lz4 payload is too short for the size in the header");
  }
  out->resize(expected_size);
  switch (c) {
    case Compression::kNone:
      if (input.size() != expected_size) {
        return DataCorruption("uncompressed payload size differs from the header");
      }
      out->assign(input);
      return Status::Ok();
    case Compression::kZstd: {
      const size_t n = ZSTD_decompress(out->data(), expected_size, input.data(), input.size());
      if (ZSTD_isError(n) || n != expected_size) {
        return DataCorruption("zstd payload does not decompress to the size in the header");
      }
      return Status::Ok();
    }
    case Compression::kLz4: {
      if (expected_size > static_cast<size_t>(std::numeric_limits<int>::max()) ||
          input.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
        return DataCorruption("lz4 payload size out of range");
      }
      const int n = LZ4_decompress_safe(input.data(), out->data(), static_cast<int>(input.size()),
                                        static_cast<int>(expected_size));
      if (n < 0 || static_cast<size_t>(n) != expected_size) {
        return DataCorruption("lz4 payload does not decompress to the size in the header");
      }
      return Status::Ok();
    }
  }
  return DataCorruption("unknown compression codec");
}

}  // namespace sprawl::storage
