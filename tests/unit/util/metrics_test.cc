#include "core/util/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sprawl::metrics {
namespace {

constexpr double kQuantileTolerance = 0.03;  // the documented relative error bound

void ExpectRelativelyNear(double actual, double expected, double tolerance) {
  EXPECT_LE(std::abs(actual - expected), tolerance * std::abs(expected))
      << "actual " << actual << " expected " << expected;
}

TEST(CounterTest, StartsAtZeroAndAddsIncrements) {
  Counter counter;
  EXPECT_EQ(counter.Value(), 0u);
  counter.Increment();
  counter.Increment(41);
  EXPECT_EQ(counter.Value(), 42u);
}

TEST(GaugeTest, SetReplacesAndAddAccumulatesSignedDeltas) {
  Gauge gauge;
  EXPECT_EQ(gauge.Value(), 0);
  gauge.Set(10);
  gauge.Add(5);
  gauge.Add(-20);
  EXPECT_EQ(gauge.Value(), -5);
  gauge.Set(7);
  EXPECT_EQ(gauge.Value(), 7);
}

TEST(CounterTest, ConcurrentIncrementsAddUpExactly) {
  Counter counter;
  Gauge gauge;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100'000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        gauge.Add(2);
        gauge.Add(-1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(gauge.Value(), int64_t{kThreads} * kPerThread);
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
  Histogram histogram({10, 100, 1000});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 1; i <= kPerThread; ++i) histogram.Observe(i % 2000);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(histogram.Count(), uint64_t{kThreads} * kPerThread);
  // Integers this small sum exactly in a double, whatever the order.
  double expected_sum = 0;
  for (int i = 1; i <= kPerThread; ++i) expected_sum += i % 2000;
  EXPECT_EQ(histogram.Sum(), expected_sum * kThreads);
  EXPECT_EQ(histogram.CumulativeCounts().back(), histogram.Count());
}

TEST(HistogramTest, EmptyHistogramReportsZero) {
  Histogram histogram;
  EXPECT_EQ(histogram.Count(), 0u);
  EXPECT_EQ(histogram.Sum(), 0.0);
  EXPECT_EQ(histogram.Quantile(0.5), 0.0);
  EXPECT_EQ(histogram.Quantile(0.0), 0.0);
  EXPECT_EQ(histogram.Quantile(1.0), 0.0);
}

TEST(HistogramTest, QuantilesOfUniformDistributionAreWithinTolerance) {
  Histogram histogram;
  for (int v = 1; v <= 10'000; ++v) histogram.Observe(v);
  EXPECT_EQ(histogram.Count(), 10'000u);
  EXPECT_EQ(histogram.Sum(), 10'000.0 * 10'001.0 / 2.0);
  for (double q : {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999}) {
    SCOPED_TRACE(q);
    ExpectRelativelyNear(histogram.Quantile(q), std::ceil(q * 10'000), kQuantileTolerance);
  }
  // The extremes are tracked exactly.
  EXPECT_EQ(histogram.Quantile(0.0), 1.0);
  EXPECT_EQ(histogram.Quantile(1.0), 10'000.0);
}

TEST(HistogramTest, QuantilesOfSubMillisecondLatenciesAreWithinTolerance) {
  Histogram histogram;
  // 1us .. 1ms in 1us steps, observed in seconds.
  for (int us = 1; us <= 1000; ++us) histogram.Observe(us * 1e-6);
  for (double q : {0.05, 0.5, 0.99}) {
    SCOPED_TRACE(q);
    ExpectRelativelyNear(histogram.Quantile(q), std::ceil(q * 1000) * 1e-6, kQuantileTolerance);
  }
}

TEST(HistogramTest, QuantilesOfConstantAreThatConstant) {
  Histogram histogram;
  for (int i = 0; i < 5000; ++i) histogram.Observe(0.0042);
  for (double q : {0.0, 0.01, 0.5, 0.99, 1.0}) {
    SCOPED_TRACE(q);
    ExpectRelativelyNear(histogram.Quantile(q), 0.0042, kQuantileTolerance);
  }
}

TEST(HistogramTest, QuantileClampsOutOfRangeQ) {
  Histogram histogram;
  for (int v = 1; v <= 100; ++v) histogram.Observe(v);
  EXPECT_EQ(histogram.Quantile(-1.0), 1.0);
  EXPECT_EQ(histogram.Quantile(2.0), 100.0);
}

TEST(HistogramTest, ZeroAndNegativeValuesShareTheZeroBucket) {
  Histogram histogram;
  histogram.Observe(0.0);
  histogram.Observe(0.0);
  histogram.Observe(0.0);
  histogram.Observe(-2.0);
  histogram.Observe(8.0);
  EXPECT_EQ(histogram.Count(), 5u);
  EXPECT_EQ(histogram.Sum(), 6.0);
  EXPECT_EQ(histogram.Quantile(0.0), -2.0);
  EXPECT_EQ(histogram.Quantile(0.5), 0.0);
  EXPECT_EQ(histogram.Quantile(1.0), 8.0);
}

TEST(HistogramTest, ExtremeValuesAreCountedAndBoundedByMinMax) {
  Histogram histogram;
  histogram.Observe(1e-300);
  histogram.Observe(1e300);
  EXPECT_EQ(histogram.Count(), 2u);
  EXPECT_EQ(histogram.Quantile(0.0), 1e-300);
  EXPECT_EQ(histogram.Quantile(1.0), 1e300);
}

TEST(HistogramTest, NanIsIgnored) {
  Histogram histogram;
  histogram.Observe(1.0);
  histogram.Observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(histogram.Count(), 1u);
  EXPECT_EQ(histogram.Sum(), 1.0);
}

TEST(HistogramTest, ExportedBucketsAreExactAndCumulative) {
  Histogram histogram({1, 2, 5});
  // A bucket counts values less than or equal to its bound.
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 100.0}) histogram.Observe(v);
  EXPECT_EQ(histogram.CumulativeCounts(), (std::vector<uint64_t>{2, 4, 6, 8}));
  EXPECT_EQ(histogram.Count(), 8u);
}

TEST(HistogramTest, TrailingInfinityBoundIsImplicit) {
  Histogram histogram({1, 2, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(histogram.Bounds(), (std::vector<double>{1, 2}));
  histogram.Observe(3);
  EXPECT_EQ(histogram.CumulativeCounts(), (std::vector<uint64_t>{0, 0, 1}));
}

TEST(LatencyBucketsTest, SpanFiftyMicrosecondsToTenSecondsInOrder) {
  const std::vector<double> buckets = LatencyBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_EQ(buckets.front(), 0.00005);
  EXPECT_EQ(buckets.back(), 10.0);
  for (size_t i = 1; i < buckets.size(); ++i) EXPECT_LT(buckets[i - 1], buckets[i]);
}

TEST(RegistryTest, SameNameAndLabelsReturnTheSameObject) {
  Registry registry;
  Counter& a = registry.GetCounter("requests_total", "Requests.", {{"topic", "t"}, {"op", "put"}});
  // Label order does not identify a series.
  Counter& b = registry.GetCounter("requests_total", "Requests.", {{"op", "put"}, {"topic", "t"}});
  Counter& c = registry.GetCounter("requests_total", "Requests.", {{"op", "get"}, {"topic", "t"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  a.Increment(3);
  EXPECT_EQ(b.Value(), 3u);
  EXPECT_EQ(c.Value(), 0u);

  Gauge& g1 = registry.GetGauge("depth", "Depth.");
  Gauge& g2 = registry.GetGauge("depth", "Depth.");
  EXPECT_EQ(&g1, &g2);
  Histogram& h1 = registry.GetHistogram("latency_seconds", "Latency.", {{"p", "1"}});
  Histogram& h2 = registry.GetHistogram("latency_seconds", "Latency.", {{"p", "1"}}, {1.0});
  EXPECT_EQ(&h1, &h2);
  EXPECT_EQ(h2.Bounds(), LatencyBuckets());  // buckets only matter on creation
}

TEST(RegistryTest, ConcurrentLookupsShareOneSeries) {
  Registry registry;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        registry.GetCounter("hits_total", "Hits.", {{"shard", std::to_string(i % 4)}}).Increment();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  uint64_t total = 0;
  for (int shard = 0; shard < 4; ++shard) {
    total += registry.GetCounter("hits_total", "Hits.", {{"shard", std::to_string(shard)}}).Value();
  }
  EXPECT_EQ(total, uint64_t{kThreads} * kPerThread);
}

TEST(RegistryTest, RendersPrometheusTextFormat) {
  Registry registry;
  // Registered out of order: families come out sorted by name, series by labels.
  Histogram& latency = registry.GetHistogram("sprawl_append_seconds", "Append latency.",
                                             {{"topic", "orders"}}, {0.001, 0.01, 0.1});
  registry.GetGauge("sprawl_connections", "Open client connections.").Set(-2);
  registry.GetCounter("sprawl_appends_total", "Records appended.", {{"topic", "orders"}})
      .Increment(7);
  registry.GetCounter("sprawl_appends_total", "Records appended.", {{"topic", "audit"}})
      .Increment(1);
  registry.GetHistogram("sprawl_batch_bytes", "Batch size.", {}, {100});
  latency.Observe(0.0005);
  latency.Observe(0.001);
  latency.Observe(0.05);
  latency.Observe(3.0);

  const std::string expected =
      "# HELP sprawl_append_seconds Append latency.\n"
      "# TYPE sprawl_append_seconds histogram\n"
      "sprawl_append_seconds_bucket{topic=\"orders\",le=\"0.001\"} 2\n"
      "sprawl_append_seconds_bucket{topic=\"orders\",le=\"0.01\"} 2\n"
      "sprawl_append_seconds_bucket{topic=\"orders\",le=\"0.1\"} 3\n"
      "sprawl_append_seconds_bucket{topic=\"orders\",le=\"+Inf\"} 4\n"
      "sprawl_append_seconds_sum{topic=\"orders\"} 3.0515\n"
      "sprawl_append_seconds_count{topic=\"orders\"} 4\n"
      "# HELP sprawl_appends_total Records appended.\n"
      "# TYPE sprawl_appends_total counter\n"
      "sprawl_appends_total{topic=\"audit\"} 1\n"
      "sprawl_appends_total{topic=\"orders\"} 7\n"
      "# HELP sprawl_batch_bytes Batch size.\n"
      "# TYPE sprawl_batch_bytes histogram\n"
      "sprawl_batch_bytes_bucket{le=\"100\"} 0\n"
      "sprawl_batch_bytes_bucket{le=\"+Inf\"} 0\n"
      "sprawl_batch_bytes_sum 0\n"
      "sprawl_batch_bytes_count 0\n"
      "# HELP sprawl_connections Open client connections.\n"
      "# TYPE sprawl_connections gauge\n"
      "sprawl_connections -2\n";
  EXPECT_EQ(registry.RenderPrometheus(), expected);
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry
      .GetCounter("odd_total", "Help with \\ and\nnewline and \"quotes\".",
                  {{"path", "C:\\dir \"x\"\nnext"}})
      .Increment();
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP odd_total Help with \\\\ and\\nnewline and \"quotes\".\n"
            "# TYPE odd_total counter\n"
            "odd_total{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n");
}

TEST(RegistryTest, FirstHelpWinsAndMultipleLabelsAreSorted) {
  Registry registry;
  registry.GetGauge("lag", "Consumer lag.", {{"topic", "t"}, {"group", "g"}}).Set(5);
  registry.GetGauge("lag", "Different help.", {{"topic", "u"}, {"group", "g"}}).Set(6);
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP lag Consumer lag.\n"
            "# TYPE lag gauge\n"
            "lag{group=\"g\",topic=\"t\"} 5\n"
            "lag{group=\"g\",topic=\"u\"} 6\n");
}

TEST(RegistryTest, EmptyRegistryRendersNothing) {
  Registry registry;
  EXPECT_EQ(registry.RenderPrometheus(), "");
}

TEST(RegistryTest, AcceptsColonsAndUnderscoresInNames) {
  Registry registry;
  registry.GetCounter("_private:rate_1m", "", {{"_x9", ""}}).Increment(2);
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP _private:rate_1m\n"
            "# TYPE _private:rate_1m counter\n"
            "_private:rate_1m{_x9=\"\"} 2\n");
}

class RegistryDeathTest : public testing::Test {
 protected:
  // Other tests in this binary start threads; fork-and-exec is the safe death test style.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(RegistryDeathTest, InvalidMetricNameAborts) {
  Registry registry;
  EXPECT_DEATH(registry.GetCounter("bad-name", "h"), "invalid metric name \"bad-name\"");
  EXPECT_DEATH(registry.GetCounter("9lives", "h"), "invalid metric name");
  EXPECT_DEATH(registry.GetGauge("", "h"), "invalid metric name");
}

TEST_F(RegistryDeathTest, InvalidLabelNameAborts) {
  Registry registry;
  EXPECT_DEATH(registry.GetCounter("ok_total", "h", {{"bad:label", "v"}}),
               "invalid label name \"bad:label\"");
  EXPECT_DEATH(registry.GetCounter("ok_total", "h", {{"__reserved", "v"}}),
               "invalid label name \"__reserved\"");
  EXPECT_DEATH(registry.GetCounter("ok_total", "h", {{"1st", "v"}}), "invalid label name");
}

TEST_F(RegistryDeathTest, DuplicateLabelNameAborts) {
  Registry registry;
  EXPECT_DEATH(registry.GetCounter("ok_total", "h", {{"a", "1"}, {"a", "2"}}),
               "label \"a\" appears twice");
}

TEST_F(RegistryDeathTest, ReusingANameWithAnotherTypeAborts) {
  Registry registry;
  registry.GetCounter("things", "h");
  EXPECT_DEATH(registry.GetGauge("things", "h"),
               "\"things\" is already registered as a counter; cannot register it as a gauge");
  EXPECT_DEATH(registry.GetHistogram("things", "h"), "already registered as a counter");
}

TEST_F(RegistryDeathTest, HistogramLeLabelAborts) {
  Registry registry;
  EXPECT_DEATH(registry.GetHistogram("h_seconds", "h", {{"le", "1"}}), "\"le\" is reserved");
}

TEST_F(RegistryDeathTest, InvalidBucketsAbort) {
  EXPECT_DEATH(Histogram({1, 1}), "strictly increasing");
  EXPECT_DEATH(Histogram({2, 1}), "strictly increasing");
  EXPECT_DEATH(Histogram({std::numeric_limits<double>::quiet_NaN()}), "must be finite");
  EXPECT_DEATH(Histogram({-std::numeric_limits<double>::infinity(), 1}), "must be finite");
}

}  // namespace
}  // namespace sprawl::metrics
