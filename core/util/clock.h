#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sprawl {

// Time as the core sees it. State machines never read a clock themselves; the
// node hands them one, so tests and the simulator can drive time by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds on a monotonic clock with an arbitrary origin; for intervals and deadlines.
  virtual int64_t MonotonicNanos() const = 0;
  // Milliseconds since the Unix epoch; for record timestamps and retention.
  virtual int64_t WallMillis() const = 0;
};

// The operating system's clocks. Thread-safe.
class SystemClock final : public Clock {
 public:
  // The process-wide instance; never destroyed.
  static SystemClock& Instance();
  int64_t MonotonicNanos() const override;
  int64_t WallMillis() const override;
};

// A clock that moves only when told to. Thread-safe: tests may advance it from
// one thread while components read it from another.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wall_millis = 1'700'000'000'000, int64_t monotonic_nanos = 0)
      : wall_millis_(wall_millis), monotonic_nanos_(monotonic_nanos) {}

  int64_t MonotonicNanos() const override { return monotonic_nanos_.load(); }
  int64_t WallMillis() const override { return wall_millis_.load(); }

  // Moves both clocks forward by `d` (which must not be negative).
  void Advance(std::chrono::nanoseconds d) {
    monotonic_nanos_ += d.count();
    wall_millis_ += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  }

 private:
  std::atomic<int64_t> wall_millis_;
  std::atomic<int64_t> monotonic_nanos_;
};

}  // namespace sprawl
