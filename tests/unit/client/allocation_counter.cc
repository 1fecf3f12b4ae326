// The global operator new of the client test binary, counting the
// allocations of threads inside a CountAllocations scope.
#include "allocation_counter.h"

#include <cstdlib>
#include <new>

namespace {
thread_local bool counting = false;
thread_local uint64_t allocations = 0;
}  // namespace

namespace sprawl::client {

CountAllocations::CountAllocations() : start_(allocations) { counting = true; }
CountAllocations::~CountAllocations() { counting = false; }
uint64_t CountAllocations::count() const { return allocations - start_; }

}  // namespace sprawl::client

// GCC, inlining these into gtest's factories at -O1, takes the malloc in
// operator new and the free in operator delete for a mismatched pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
// The nothrow forms too (libzmq's threads use them): left to the runtime,
// they would pair its allocator with the free below (ASan: alloc-dealloc
// mismatch).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (counting) ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return ::operator new(size, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
