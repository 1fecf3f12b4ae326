#pragma once

// What every fuzz target shares: a check that fails the run the way a crash
// does, and an input buffer sized exactly to the bytes it holds.

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

// Aborts with the failed condition when a decoder breaks a promise it makes
// (for example decode(encode(x)) != x). libFuzzer records the input as a crash.
#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace sprawl::fuzz {

// A copy of some bytes in a heap block of exactly their size, so that
// AddressSanitizer reports a read even one byte past the end; the spare
// capacity and terminator of a std::string would hide it.
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view bytes)
      : size_(bytes.size()), data_(new char[bytes.size()]) {
    if (size_ > 0) std::memcpy(data_.get(), bytes.data(), size_);
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

}  // namespace sprawl::fuzz
