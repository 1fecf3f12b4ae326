#pragma once

// Counters, gauges and histograms, and a registry that renders them in the
// Prometheus text exposition format (version 0.0.4) for /metrics.
//
// Hand-written on purpose: no maintained C++ Prometheus client is packaged in
// Debian, and the subset Sprawl needs (three metric types, one text format) is
// small. Keep it small; anything beyond this belongs in a real client library.
//
// Invalid metric or label names, and reusing a name with another type, are
// programming errors: the registry writes a message to stderr and aborts, so
// they surface in the first test that registers the metric.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/thread_annotations.h"

namespace sprawl::metrics {

// Label name/value pairs; order does not matter (the registry sorts by name).
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. Thread-safe and lock-free.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `n`; wraps around at 2^64 (far beyond any realistic process lifetime).
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  // The current count; concurrent increments may or may not be included.
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (queue depth, open connections). Thread-safe and lock-free.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  // Replaces the value.
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  // Adds `delta` (which may be negative) atomically, so concurrent Adds never lose an update.
  void Add(int64_t delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  // The current value.
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Default export bucket bounds suited to latencies in seconds (50us .. 10s).
std::vector<double> LatencyBuckets();

// A distribution of observed values. Keeps exact counts for the exported `le`
// buckets (so /metrics is exact) and, separately, fine log-scale buckets with
// ratio 2^(1/16) over [2^-40, 2^40) that only Quantile() reads. Values <= 0 fall
// in a zero bucket. About 10 KiB per histogram. Thread-safe and lock-free.
class Histogram {
 public:
  // `buckets` are the exported upper bounds: finite, strictly increasing; a
  // trailing +Inf is allowed and dropped (the +Inf bucket is always implicit).
  // Anything else is a programming error and aborts.
  explicit Histogram(std::vector<double> buckets = LatencyBuckets());
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Records `v`. O(log #export-buckets). NaN is ignored: it has no bucket and would
  // poison the sum forever.
  void Observe(double v);
  // How many values were observed (the sum of all export buckets).
  uint64_t Count() const;
  // The sum of observed values.
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  // An estimate of the q-quantile (q is clamped into [0,1]) with relative error below ~2.2%,
  // clamped into the observed [min, max], which q=0 and q=1 return exactly; 0 when empty.
  double Quantile(double q) const;

  // The exported upper bounds, without the implicit +Inf.
  const std::vector<double>& Bounds() const { return bounds_; }
  // Cumulative counts per bound, as exported: element i counts values <= Bounds()[i];
  // the extra last element is the +Inf bucket (== Count() for the same snapshot).
  std::vector<uint64_t> CumulativeCounts() const;

 private:
  static constexpr int kSubBucketsPerOctave = 16;
  static constexpr int kMinExponent = -40;  // fine buckets start at 2^kMinExponent
  static constexpr int kMaxExponent = 40;   // and end at 2^kMaxExponent
  static constexpr int kLogBuckets = (kMaxExponent - kMinExponent) * kSubBucketsPerOctave;
  // Fine bucket layout: [0] values <= 0, [1] (0, 2^kMinExponent), [2 .. kLogBuckets+1]
  // the log-scale buckets, [kLogBuckets+2] values >= 2^kMaxExponent.
  static constexpr int kFineBuckets = kLogBuckets + 3;

  static int FineIndex(double v);
  static double FineRepresentative(int index);

  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> export_counts_;  // bounds_.size() + 1 entries
  std::unique_ptr<std::atomic<uint64_t>[]> fine_counts_;    // kFineBuckets entries
  std::atomic<double> sum_{0.0};
  std::atomic<double> min_;
  std::atomic<double> max_;
};

// Owns every metric of a process (or of one node in tests) and renders them
// for /metrics. Thread-safe; Get* take a mutex, so cache the returned reference
// instead of looking it up on a hot path.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Returns the metric with this name and label set, creating it on first use. The reference
  // stays valid for the registry's lifetime. Thread-safe. The first `help` given for a name wins.
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  // As GetCounter, for a gauge.
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // As GetCounter, for a histogram; `buckets` only matter when this call creates it. The
  // label name "le" is reserved for the exported buckets.
  Histogram& GetHistogram(std::string_view name, std::string_view help, const Labels& labels = {},
                          std::vector<double> buckets = LatencyBuckets());

  // The whole registry in Prometheus text format: # HELP and # TYPE once per family, families
  // sorted by name, series sorted by labels, histograms as cumulative _bucket, _sum, _count.
  std::string RenderPrometheus() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };

  struct Family {
    Type type = Type::kCounter;
    std::string help;
    // Keyed by labels sorted by name; only the map matching `type` is used.
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };

  // The TYPE keyword of the text format.
  static const char* TypeName(Type type);

  // Validates the name and labels, then finds or creates the family (aborting on a type
  // clash). Returns the family and the labels in canonical (sorted) order. Caller holds mu_.
  std::pair<Family*, Labels> FamilyFor(std::string_view name, std::string_view help,
                                       const Labels& labels, Type type) REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<std::string, Family, std::less<>> families_ GUARDED_BY(mu_);
};

}  // namespace sprawl::metrics
