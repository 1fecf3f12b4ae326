#pragma once

#include <cstddef>
#include <cstdint>

namespace sprawl::broker {

struct BrokerOptions {
  // Bytes appended and not yet acknowledged before publishes get RETRY_AFTER.
  // Below the storage writer's queue bound, so an append never waits for it.
  uint64_t max_pending_publish_bytes = 32u << 20;
  // The smallest RETRY_AFTER hint; it grows with the backlog.
  uint32_t retry_after_ms = 5;
  // Longest long poll a fetch may ask for.
  uint32_t max_fetch_wait_ms = 30'000;
  // Fetches parked at once; more get RETRY_AFTER.
  size_t max_parked_fetches = 10'000;
  // Largest fetch reply.
  uint32_t max_fetch_bytes = 16u << 20;
};

}  // namespace sprawl::broker
