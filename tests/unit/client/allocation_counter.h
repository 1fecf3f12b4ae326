// Counts the allocations one thread makes, for the tests that check a path
// allocates nothing per message. The client test binary replaces the global
// operator new (allocation_counter.cc); counting happens only on a thread
// inside a CountAllocations scope, so other threads and tests pay one
// thread-local check.
#pragma once

#include <cstdint>

namespace sprawl::client {

// Counts this thread's allocations while it lives.
class CountAllocations {
 public:
  CountAllocations();
  ~CountAllocations();
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;

  // Allocations by this thread since construction.
  uint64_t count() const;

 private:
  uint64_t start_;
};

}  // namespace sprawl::client
