/* Round-trip figures of the peers' synchronous publish runs, printed in the
 * format of `sprawlctl bench produce --sync`. */
#ifndef SPRAWL_BENCH_PEERS_SYNC_STATS_H_
#define SPRAWL_BENCH_PEERS_SYNC_STATS_H_

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline long long sync_now_nanos(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int sync_compare(const void* a, const void* b) {
  const long long x = *(const long long*)a;
  const long long y = *(const long long*)b;
  return (x > y) - (x < y);
}

/* The q-quantile of the `n` sorted round trips, in milliseconds. */
static inline double sync_quantile_ms(const long long* nanos, long n, double q) {
  if (n == 0) return 0;
  long i = (long)(q * (double)n);
  if (i >= n) i = n - 1;
  return (double)nanos[i] / 1e6;
}

/* `nanos`: the `n` round trips of all producers (sorted here). */
static inline void sync_report(int producers, long n, int size, double seconds, long long* nanos) {
  qsort(nanos, (size_t)n, sizeof(long long), sync_compare);
  double mean = 0;
  for (long i = 0; i < n; i++) mean += (double)nanos[i];
  mean = n == 0 ? 0 : mean / (double)n / 1e3;
  printf("produce (sync, %d producers): %ld messages of %d B in %.2f s: %.0f msg/s\n", producers, n,
         size, seconds, (double)n / seconds);
  printf(
      "  round trip (mean %d us) latency: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
      (int)mean, sync_quantile_ms(nanos, n, 0.50), sync_quantile_ms(nanos, n, 0.99),
      sync_quantile_ms(nanos, n, 0.999), sync_quantile_ms(nanos, n, 1.0));
}

#endif /* SPRAWL_BENCH_PEERS_SYNC_STATS_H_ */
