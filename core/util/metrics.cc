#include "core/util/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace sprawl::metrics {
namespace {

// Misuse of the registry is a bug in the caller, not a runtime condition to handle; crashing
// at registration makes it show up in the first test that touches the metric.
[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "sprawl::metrics: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAsciiLetter(c) || c == '_' || c == ':' || (i > 0 && IsAsciiDigit(c));
    if (!ok) return false;
  }
  return true;
}

// Prometheus: [a-zA-Z_][a-zA-Z0-9_]*, and names starting with "__" are reserved.
bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAsciiLetter(c) || c == '_' || (i > 0 && IsAsciiDigit(c));
    if (!ok) return false;
  }
  return true;
}

// Label values escape backslash, double quote and newline (text format 0.0.4).
void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// HELP text escapes only backslash and newline (text format 0.0.4).
void AppendEscapedHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// Prometheus parses Go float syntax: shortest round-trip digits, with "+Inf", "-Inf", "NaN".
std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// `{a="x",b="y"}` (plus `le` for histogram buckets), or nothing when there are no labels.
void AppendLabels(std::string& out, const Labels& labels, const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    AppendEscapedLabelValue(out, value);
    out += '"';
  }
  if (le != nullptr) {
    if (!first) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const Labels& labels, const std::string& value, const std::string* le = nullptr) {
  out += name;
  out += suffix;
  AppendLabels(out, labels, le);
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::vector<double> LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0};
}

// ---------------------------------------------------------------------------------------------
// Histogram

Histogram::Histogram(std::vector<double> buckets)
    : bounds_(std::move(buckets)),
      min_(std::numeric_limits<double>::infinity()),
      max_(-std::numeric_limits<double>::infinity()) {
  if (!bounds_.empty() && bounds_.back() == std::numeric_limits<double>::infinity()) {
    bounds_.pop_back();
  }
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i])) {
      Die(fmt::format("histogram bucket bound #{} is {}; bounds must be finite (+Inf is implicit)",
                      i, bounds_[i]));
    }
    if (i > 0 && !(bounds_[i - 1] < bounds_[i])) {
      Die(
          fmt::format("histogram bucket bounds must be strictly increasing, but #{} ({}) follows "
                      "{}",
                      i, bounds_[i], bounds_[i - 1]));
    }
  }
  export_counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  fine_counts_ = std::make_unique<std::atomic<uint64_t>[]>(kFineBuckets);
}

int Histogram::FineIndex(double v) {
  if (!(v > 0)) return 0;
  if (v < std::ldexp(1.0, kMinExponent)) return 1;
  if (v >= std::ldexp(1.0, kMaxExponent)) return kFineBuckets - 1;
  int exponent = 0;
  const double mantissa = std::frexp(v, &exponent);  // v = mantissa * 2^exponent, in [0.5, 1)
  // log2 of a value in [1, 2) keeps full precision for the sub-bucket, unlike log2(v).
  int sub = static_cast<int>(std::log2(2.0 * mantissa) * kSubBucketsPerOctave);
  sub = std::min(sub, kSubBucketsPerOctave - 1);  // rounding just below 2.0
  const int octave = exponent - 1 - kMinExponent;
  return 2 + octave * kSubBucketsPerOctave + sub;
}

double Histogram::FineRepresentative(int index) {
  if (index == 0) return 0.0;
  if (index == 1) return std::ldexp(1.0, kMinExponent);
  if (index == kFineBuckets - 1) return std::ldexp(1.0, kMaxExponent);
  // The geometric midpoint is within 2^(1/32) - 1 (~2.2%) of every value in the bucket.
  const double k = index - 2;
  return std::exp2(kMinExponent + (k + 0.5) / kSubBucketsPerOctave);
}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;
  double lo = min_.load(std::memory_order_relaxed);
  while (v < lo && !min_.compare_exchange_weak(lo, v, std::memory_order_relaxed)) {
  }
  double hi = max_.load(std::memory_order_relaxed);
  while (v > hi && !max_.compare_exchange_weak(hi, v, std::memory_order_relaxed)) {
  }
  fine_counts_[FineIndex(v)].fetch_add(1, std::memory_order_relaxed);
  // Prometheus buckets are "less than or equal": the first bound >= v takes the value.
  const size_t bucket =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  export_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::Count() const {
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += export_counts_[i].load(std::memory_order_relaxed);
  }
  return total;
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += export_counts_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

double Histogram::Quantile(double q) const {
  std::vector<uint64_t> counts(kFineBuckets);
  uint64_t total = 0;
  for (int i = 0; i < kFineBuckets; ++i) {
    counts[i] = fine_counts_[i].load(std::memory_order_relaxed);
    total += counts[i];
  }
  if (total == 0) return 0.0;
  if (!(q > 0.0)) q = 0.0;  // also maps NaN to the minimum
  if (q > 1.0) q = 1.0;
  // The q-quantile is the observation of rank ceil(q * total), counting from 1.
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total))));
  const double lo = min_.load(std::memory_order_relaxed);
  const double hi = max_.load(std::memory_order_relaxed);
  // The extremes are tracked exactly; a concurrent first Observe may not have published them
  // yet, hence the lo <= hi checks.
  if (lo <= hi && rank == 1) return lo;
  if (lo <= hi && rank == total) return hi;
  uint64_t seen = 0;
  int index = kFineBuckets - 1;
  for (int i = 0; i < kFineBuckets; ++i) {
    seen += counts[i];
    if (seen >= rank) {
      index = i;
      break;
    }
  }
  // Clamping makes constant and narrow distributions exact.
  const double estimate = FineRepresentative(index);
  return lo <= hi ? std::clamp(estimate, lo, hi) : estimate;
}

// ---------------------------------------------------------------------------------------------
// Registry

const char* Registry::TypeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "unknown";
}

std::pair<Registry::Family*, Labels> Registry::FamilyFor(std::string_view name,
                                                         std::string_view help,
                                                         const Labels& labels, Type type) {
  if (!IsValidMetricName(name)) {
    Die(fmt::format("invalid metric name \"{}\": must match [a-zA-Z_:][a-zA-Z0-9_:]*", name));
  }
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string& label = sorted[i].first;
    if (!IsValidLabelName(label)) {
      Die(fmt::format(
          "metric \"{}\": invalid label name \"{}\": must match [a-zA-Z_][a-zA-Z0-9_]* and not "
          "start with \"__\"",
          name, label));
    }
    if (i > 0 && sorted[i - 1].first == label) {
      Die(fmt::format("metric \"{}\": label \"{}\" appears twice", name, label));
    }
    if (type == Type::kHistogram && label == "le") {
      Die(fmt::format("histogram \"{}\": label name \"le\" is reserved for bucket bounds", name));
    }
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    Family family;
    family.type = type;
    family.help = std::string(help);
    it = families_.emplace(std::string(name), std::move(family)).first;
  } else if (it->second.type != type) {
    Die(fmt::format("metric \"{}\" is already registered as a {}; cannot register it as a {}", name,
                    TypeName(it->second.type), TypeName(type)));
  }
  return {&it->second, std::move(sorted)};
}

Counter& Registry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  MutexLock lock(mu_);
  auto [family, key] = FamilyFor(name, help, labels, Type::kCounter);
  auto& slot = family->counters[std::move(key)];
  if (slot == nullptr) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  MutexLock lock(mu_);
  auto [family, key] = FamilyFor(name, help, labels, Type::kGauge);
  auto& slot = family->gauges[std::move(key)];
  if (slot == nullptr) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(std::string_view name, std::string_view help,
                                  const Labels& labels, std::vector<double> buckets) {
  MutexLock lock(mu_);
  auto [family, key] = FamilyFor(name, help, labels, Type::kHistogram);
  auto& slot = family->histograms[std::move(key)];
  if (slot == nullptr) slot = std::make_unique<Histogram>(std::move(buckets));
  return *slot;
}

std::string Registry::RenderPrometheus() const {
  MutexLock lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP ";
    out += name;
    if (!family.help.empty()) {
      out += ' ';
      AppendEscapedHelp(out, family.help);
    }
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += TypeName(family.type);
    out += '\n';
    switch (family.type) {
      case Type::kCounter:
        for (const auto& [labels, counter] : family.counters) {
          AppendSample(out, name, "", labels, std::to_string(counter->Value()));
        }
        break;
      case Type::kGauge:
        for (const auto& [labels, gauge] : family.gauges) {
          AppendSample(out, name, "", labels, std::to_string(gauge->Value()));
        }
        break;
      case Type::kHistogram:
        for (const auto& [labels, histogram] : family.histograms) {
          // One snapshot feeds both the buckets and _count, so they always agree.
          const std::vector<uint64_t> cumulative = histogram->CumulativeCounts();
          const std::vector<double>& bounds = histogram->Bounds();
          for (size_t i = 0; i < cumulative.size(); ++i) {
            const std::string le = i < bounds.size() ? FormatDouble(bounds[i]) : "+Inf";
            AppendSample(out, name, "_bucket", labels, std::to_string(cumulative[i]), &le);
          }
          AppendSample(out, name, "_sum", labels, FormatDouble(histogram->Sum()));
          AppendSample(out, name, "_count", labels, std::to_string(cumulative.back()));
        }
        break;
    }
  }
  return out;
}

}  // namespace sprawl::metrics
