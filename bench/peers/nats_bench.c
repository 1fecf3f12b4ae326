/* The peer run of bench/broker_bench.sh for NATS JetStream: asynchronous
 * publish of COUNT SIZE-byte messages to a file-storage stream (R1), then a
 * durable pull consumer that fetches in batches of 1000 and acks every
 * message. Prints msg/s for both, in the format of sprawlctl bench.
 * Usage: nats_bench <url> <count> <size> [both|produce|consume|sync [producers]]
 * `produce` only publishes; `consume` only reads a stream an earlier
 * `produce` filled (a catch-up read after a server restart). `sync`
 * publishes with js_Publish, each of `producers` threads (1 by default, one
 * connection each) waiting for every ack, and prints the mean and the
 * percentiles of the round trip. */
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync_stats.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int check(natsStatus s, const char* what) {
  if (s == NATS_OK) return 0;
  fprintf(stderr, "nats_bench: %s: %s\n", what, natsStatus_GetText(s));
  return 1;
}

/* One synchronous producer (sync_stats.h): js_Publish calls, each waiting
 * for its ack, on a connection of its own to the URL `target`. */
static void* sync_produce(void* arg) {
  struct sync_producer* p = arg;
  natsConnection* nc = NULL;
  jsCtx* js = NULL;
  jsErrCode jerr = 0;
  if (check(natsConnection_ConnectTo(&nc, (const char*)p->target), "connect") ||
      check(natsConnection_JetStream(&js, nc, NULL), "jetstream")) {
    p->failed = 1;
    return NULL;
  }
  for (long i = 0; i < p->count; i++) {
    const long long sent = sync_now_nanos();
    jsPubAck* ack = NULL;
    if (check(js_Publish(&ack, js, "sync", p->payload, (int)p->size, NULL, &jerr), "publish")) {
      p->failed = 1;
      break;
    }
    p->nanos[i] = sync_now_nanos() - sent;
    jsPubAck_Destroy(ack);
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return NULL;
}

static int run_sync(const char* url, long count, int size, int producers, const char* payload) {
  natsConnection* nc = NULL;
  jsCtx* js = NULL;
  jsErrCode jerr = 0;
  if (check(natsConnection_ConnectTo(&nc, url), "connect") ||
      check(natsConnection_JetStream(&js, nc, NULL), "jetstream")) {
    return 1;
  }
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char* subjects[] = {"sync"};
  sc.Name = "SYNC";
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  jsStreamInfo* si = NULL;
  if (check(js_AddStream(&si, js, &sc, NULL, &jerr), "add stream")) return 1;
  jsStreamInfo_Destroy(si);
  const int failed = sync_run(sync_produce, url, payload, (size_t)size, count, producers);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return failed;
}

int main(int argc, char** argv) {
  if (argc < 4 || argc > 6) {
    fprintf(stderr, "usage: %s <url> <count> <size> [both|produce|consume|sync [producers]]\n",
            argv[0]);
    return 2;
  }
  const char* mode = argc >= 5 ? argv[4] : "both";
  if (strcmp(mode, "sync") == 0) {
    const int size = atoi(argv[3]);
    char* payload = malloc((size_t)size);
    memset(payload, 'x', (size_t)size);
    const int producers = argc == 6 ? atoi(argv[5]) : 1;
    const int failed =
        run_sync(argv[1], atol(argv[2]), size, producers < 1 ? 1 : producers, payload);
    free(payload);
    return failed;
  }
  if (strcmp(mode, "both") != 0 && strcmp(mode, "produce") != 0 && strcmp(mode, "consume") != 0) {
    fprintf(stderr, "nats_bench: unknown mode '%s'\n", mode);
    return 2;
  }
  const int produce = strcmp(mode, "consume") != 0;
  const int consume = strcmp(mode, "produce") != 0;
  const char* url = argv[1];
  const long count = atol(argv[2]);
  const int size = atoi(argv[3]);
  char* payload = malloc((size_t)size);
  memset(payload, 'x', (size_t)size);

  natsConnection* nc = NULL;
  jsCtx* js = NULL;
  jsOptions jo;
  jsErrCode jerr = 0;
  if (check(natsConnection_ConnectTo(&nc, url), "connect")) return 1;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = 8192;
  /* A slow disk (long runs) stalls the server for seconds at a time. */
  jo.PublishAsync.StallWait = 60000;
  if (check(natsConnection_JetStream(&js, nc, &jo), "jetstream")) return 1;

  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char* subjects[] = {"bench"};
  sc.Name = "BENCH";
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  /* NATS_REPLICAS: the stream's replicas on a JetStream cluster (default 1). */
  const char* replicas = getenv("NATS_REPLICAS");
  if (replicas != NULL) sc.Replicas = atoi(replicas);
  jsStreamInfo* si = NULL;
  double start = 0;
  double seconds = 0;
  if (produce) {
    if (check(js_AddStream(&si, js, &sc, NULL, &jerr), "add stream")) return 1;
    jsStreamInfo_Destroy(si);
    start = now_seconds();
    for (long i = 0; i < count; i++) {
      if (check(js_PublishAsync(js, "bench", payload, size, NULL), "publish")) return 1;
    }
    if (check(js_PublishAsyncComplete(js, NULL), "publish complete")) return 1;
    seconds = now_seconds() - start;
    printf("produce: %ld messages of %d B in %.2f s: %.0f msg/s, %.1f MB/s\n", count, size, seconds,
           (double)count / seconds, (double)count * size / seconds / 1e6);
  }
  if (!consume) {
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    free(payload);
    return 0;
  }

  natsSubscription* sub = NULL;
  /* A catch-up read gets a durable of its own, so it starts from the first message. */
  const char* durable = produce ? "bench-consumer" : "bench-catchup";
  if (check(js_PullSubscribe(&sub, js, "bench", durable, NULL, NULL, &jerr), "pull subscribe")) {
    return 1;
  }
  long received = 0;
  start = now_seconds();
  while (received < count) {
    natsMsgList list = {0};
    natsStatus s = natsSubscription_Fetch(&list, sub, 1000, 5000, &jerr);
    if (s == NATS_TIMEOUT) break;
    if (check(s, "fetch")) return 1;
    for (int i = 0; i < list.Count; i++) {
      if (check(natsMsg_Ack(list.Msgs[i], NULL), "ack")) return 1;
    }
    received += list.Count;
    natsMsgList_Destroy(&list);
  }
  seconds = now_seconds() - start;
  printf("consume (%s, durable pull, acked): %ld messages of %d B in %.2f s: %.0f msg/s\n",
         produce ? "warm" : "catch-up", received, size, seconds, (double)received / seconds);
  natsSubscription_Destroy(sub);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  free(payload);
  return received == count ? 0 : 1;
}
