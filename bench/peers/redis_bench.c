/* The peer run of bench/broker_bench.sh for Redis Streams: pipelined XADD
 * of COUNT SIZE-byte messages (1000 per pipeline), then a consumer group
 * that reads with XREADGROUP COUNT 1000 and acks every message with XACK.
 * Prints msg/s for both, in the format of sprawlctl bench.
 * Usage: redis_bench <port> <count> <size> [sync [producers]]
 * `sync` instead sends XADD one at a time, each of `producers` threads (1 by
 * default, one connection each) waiting for every reply, and prints the
 * mean and the percentiles of the round trip. */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync_stats.h"

enum { kPipeline = 1000 };

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int reply_ok(redisContext* c, redisReply* r, const char* what) {
  if (r == NULL) {
    fprintf(stderr, "redis_bench: %s: %s\n", what, c->errstr);
    return 0;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    fprintf(stderr, "redis_bench: %s: %s\n", what, r->str);
    freeReplyObject(r);
    return 0;
  }
  return 1;
}

/* One synchronous producer (sync_stats.h): XADDs, each waiting for its
 * reply, on a connection of its own to the port `*(const int*)target`. */
static void* sync_produce(void* arg) {
  struct sync_producer* p = arg;
  redisContext* c = redisConnect("127.0.0.1", *(const int*)p->target);
  if (c == NULL || c->err) {
    fprintf(stderr, "redis_bench: connect: %s\n", c ? c->errstr : "out of memory");
    p->failed = 1;
    return NULL;
  }
  for (long i = 0; i < p->count; i++) {
    const long long sent = sync_now_nanos();
    redisReply* r = redisCommand(c, "XADD sync * v %b", p->payload, p->size);
    if (!reply_ok(c, r, "XADD")) {
      p->failed = 1;
      break;
    }
    p->nanos[i] = sync_now_nanos() - sent;
    freeReplyObject(r);
  }
  redisFree(c);
  return NULL;
}

static int run_sync(int port, long count, size_t size, int producers) {
  char* payload = malloc(size);
  memset(payload, 'x', size);
  const int failed = sync_run(sync_produce, &port, payload, size, count, producers);
  free(payload);
  return failed;
}

int main(int argc, char** argv) {
  if (argc == 5 || argc == 6) {
    if (strcmp(argv[4], "sync") != 0) {
      fprintf(stderr, "redis_bench: unknown mode '%s'\n", argv[4]);
      return 2;
    }
    const int producers = argc == 6 ? atoi(argv[5]) : 1;
    return run_sync(atoi(argv[1]), atol(argv[2]), (size_t)atol(argv[3]),
                    producers < 1 ? 1 : producers);
  }
  if (argc != 4) {
    fprintf(stderr, "usage: %s <port> <count> <size> [sync [producers]]\n", argv[0]);
    return 2;
  }
  const int port = atoi(argv[1]);
  const long count = atol(argv[2]);
  const size_t size = (size_t)atol(argv[3]);
  char* payload = malloc(size);
  memset(payload, 'x', size);
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == NULL || c->err) {
    fprintf(stderr, "redis_bench: connect: %s\n", c ? c->errstr : "out of memory");
    return 1;
  }

  double start = now_seconds();
  for (long sent = 0; sent < count;) {
    long n = count - sent < kPipeline ? count - sent : kPipeline;
    for (long i = 0; i < n; i++) redisAppendCommand(c, "XADD bench * v %b", payload, size);
    for (long i = 0; i < n; i++) {
      redisReply* r = NULL;
      if (redisGetReply(c, (void**)&r) != REDIS_OK || !reply_ok(c, r, "XADD")) return 1;
      freeReplyObject(r);
    }
    sent += n;
  }
  double seconds = now_seconds() - start;
  printf("produce: %ld messages of %zu B in %.2f s: %.0f msg/s\n", count, size, seconds,
         (double)count / seconds);

  redisReply* r = redisCommand(c, "XGROUP CREATE bench g 0");
  if (!reply_ok(c, r, "XGROUP CREATE")) return 1;
  freeReplyObject(r);
  long received = 0;
  start = now_seconds();
  const char** argv_ack = malloc(sizeof(char*) * (3 + kPipeline));
  size_t* lens = malloc(sizeof(size_t) * (3 + kPipeline));
  while (received < count) {
    r = redisCommand(c, "XREADGROUP GROUP g c1 COUNT %d STREAMS bench >", kPipeline);
    if (!reply_ok(c, r, "XREADGROUP")) return 1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      freeReplyObject(r);
      break;
    }
    redisReply* entries = r->element[0]->element[1];
    argv_ack[0] = "XACK";
    argv_ack[1] = "bench";
    argv_ack[2] = "g";
    lens[0] = 4;
    lens[1] = 5;
    lens[2] = 1;
    for (size_t i = 0; i < entries->elements; i++) {
      argv_ack[3 + i] = entries->element[i]->element[0]->str;
      lens[3 + i] = entries->element[i]->element[0]->len;
    }
    redisReply* ack = redisCommandArgv(c, (int)(3 + entries->elements), argv_ack, lens);
    if (!reply_ok(c, ack, "XACK")) return 1;
    freeReplyObject(ack);
    received += (long)entries->elements;
    freeReplyObject(r);
  }
  seconds = now_seconds() - start;
  printf("consume (group, acked): %ld messages of %zu B in %.2f s: %.0f msg/s\n", received, size,
         seconds, (double)received / seconds);
  free(argv_ack);
  free(lens);
  redisFree(c);
  free(payload);
  return received == count ? 0 : 1;
}
