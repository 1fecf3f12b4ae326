/* The peers' synchronous publish runs: producer threads that each wait for
 * every acknowledgement, and their round-trip figures, printed in the format
 * of `sprawlctl bench produce --sync`. */
#ifndef SPRAWL_BENCH_PEERS_SYNC_STATS_H_
#define SPRAWL_BENCH_PEERS_SYNC_STATS_H_

#include <pthread.h>
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

/* One synchronous producer thread's work: `count` publishes of `payload`
 * to `target` (what the peer connects to: a URL, a port), each waiting for
 * its acknowledgement; the thread stores each round trip in `nanos` and
 * sets `failed` when a publish fails. */
struct sync_producer {
  const void* target;
  const char* payload;
  size_t size;
  long count;
  long long* nanos;
  int failed;
};

/* Runs `count` synchronous publishes split over `producers` threads running
 * `produce` (each given its struct sync_producer), then prints the rate and
 * the round-trip percentiles. Returns nonzero when a producer failed. */
static inline int sync_run(void* (*produce)(void*), const void* target, const char* payload,
                           size_t size, long count, int producers) {
  long long* nanos = calloc((size_t)count, sizeof(long long));
  struct sync_producer* ps = calloc((size_t)producers, sizeof(struct sync_producer));
  pthread_t* threads = calloc((size_t)producers, sizeof(pthread_t));
  long next = 0;
  for (int t = 0; t < producers; t++) {
    ps[t].target = target;
    ps[t].payload = payload;
    ps[t].size = size;
    ps[t].count = count / producers + (t < count % producers);
    ps[t].nanos = nanos + next;
    next += ps[t].count;
  }
  const long long start = sync_now_nanos();
  for (int t = 0; t < producers; t++) pthread_create(&threads[t], NULL, produce, &ps[t]);
  int failed = 0;
  for (int t = 0; t < producers; t++) {
    pthread_join(threads[t], NULL);
    failed |= ps[t].failed;
  }
  const double seconds = (double)(sync_now_nanos() - start) / 1e9;
  if (!failed) sync_report(producers, count, (int)size, seconds, nanos);
  free(threads);
  free(ps);
  free(nanos);
  return failed;
}

#endif /* SPRAWL_BENCH_PEERS_SYNC_STATS_H_ */
