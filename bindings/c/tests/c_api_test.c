/* The C ABI from plain C99 (with POSIX threads and files): an embedded node
 * in memory and on disk, topic and group admin, publish (sync, async, poll
 * mode), consumers by group and by offset, acks, nacks with a delay, dead
 * letters, closing from another thread, handles destroyed in any order, and
 * every kind of bad input. Built with -std=c99 -Wall -Wextra -Werror
 * -pedantic. */
#define _XOPEN_SOURCE 700 /* pthreads, clock_gettime, mkdtemp, nftw */

#include <sprawl/sprawl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* Fails the test (and says why) unless `status` is SPRAWL_OK. */
#define OK(call)                                                               \
  do {                                                                         \
    sprawl_error_t* ok_err_ = NULL;                                            \
    sprawl_status_t ok_status_ = (call);                                       \
    if (ok_status_ != SPRAWL_OK) {                                             \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #call, \
              sprawl_error_code_name(ok_err_), sprawl_error_message(ok_err_)); \
      ++failures;                                                              \
    }                                                                          \
    sprawl_error_destroy(&ok_err_);                                            \
  } while (0)

static sprawl_config_t* config_of(const char* const* pairs) {
  sprawl_config_t* config = sprawl_config_new();
  size_t i;
  for (i = 0; pairs[i] != NULL; i += 2) {
    sprawl_error_t* err = NULL;
    if (sprawl_config_set(config, pairs[i], pairs[i + 1], &err) != SPRAWL_OK) {
      fprintf(stderr, "setting %s: %s\n", pairs[i], sprawl_error_message(err));
      ++failures;
    }
    sprawl_error_destroy(&err);
  }
  return config;
}

static sprawl_client_t* open_client_with(const char* const* pairs) {
  sprawl_config_t* config = config_of(pairs);
  sprawl_client_t* client = NULL;
  sprawl_error_t* err = NULL;
  if (sprawl_client_open(config, &client, &err) != SPRAWL_OK) {
    fprintf(stderr, "client_open: %s\n", sprawl_error_message(err));
    exit(1);
  }
  sprawl_config_destroy(&config);
  return client;
}

static sprawl_client_t* open_client(const char* address, const char* mode) {
  const char* pairs[] = {"server", address, "linger_ms", "1", "callback_mode", mode, NULL};
  return open_client_with(pairs);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How often `needle` occurs in `text`. */
static int count_of(const char* text, const char* needle) {
  int n = 0;
  const char* at = text;
  while (at != NULL && (at = strstr(at, needle)) != NULL) {
    ++n;
    at += strlen(needle);
  }
  return n;
}

/* ---- a flag another thread sets, waited for with a deadline ------------- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int set;
} flag_t;

static void flag_init(flag_t* f) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&f->cv, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&f->mu, NULL);
  f->set = 0;
}

static void flag_destroy(flag_t* f) {
  pthread_cond_destroy(&f->cv);
  pthread_mutex_destroy(&f->mu);
}

static void flag_raise(flag_t* f) {
  pthread_mutex_lock(&f->mu);
  f->set = 1;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

/* 1 once the flag is raised, 0 when timeout_ms passed first. */
static int flag_wait(flag_t* f, int timeout_ms) {
  struct timespec deadline;
  int set;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&f->mu);
  while (!f->set) {
    if (pthread_cond_timedwait(&f->cv, &f->mu, &deadline) == ETIMEDOUT) break;
  }
  set = f->set;
  pthread_mutex_unlock(&f->mu);
  return set;
}

/* A thread blocked in sprawl_consumer_receive(-1) or sprawl_client_poll(-1). */
typedef struct {
  sprawl_consumer_t* consumer; /* receive, or */
  sprawl_client_t* client;     /* poll */
  flag_t started;
  flag_t done;
  sprawl_status_t status; /* receive's; set before `done` */
  int got_message;
  int polled; /* poll's result */
} blocked_call;

static void* block_forever(void* arg) {
  blocked_call* b = (blocked_call*)arg;
  flag_raise(&b->started);
  if (b->consumer != NULL) {
    sprawl_message_t* m = NULL;
    b->status = sprawl_consumer_receive(b->consumer, -1, &m, NULL);
    b->got_message = m != NULL;
    sprawl_message_destroy(&m);
  } else {
    b->polled = sprawl_client_poll(b->client, -1);
  }
  flag_raise(&b->done);
  return NULL;
}

/* Starts `b` on a thread and checks that it blocks (nothing can arrive). */
static void start_blocked(blocked_call* b, pthread_t* thread) {
  flag_init(&b->started);
  flag_init(&b->done);
  b->status = SPRAWL_OK;
  b->got_message = 0;
  b->polled = -2;
  if (pthread_create(thread, NULL, block_forever, b) != 0) {
    fprintf(stderr, "pthread_create failed\n");
    exit(1);
  }
  CHECK(flag_wait(&b->started, 10000));
  CHECK(!flag_wait(&b->done, 300)); /* it waits: nothing is there to return */
}

/* Waits (bounded) for `b` to return after a close; a thread still blocked
 * cannot be joined, so the run ends there. */
static void join_blocked(blocked_call* b, pthread_t thread, const char* what) {
  if (!flag_wait(&b->done, 5000)) {
    fprintf(stderr, "%s: the blocked call did not return within 5 s of the close\n", what);
    fflush(stderr);
    _exit(1);
  }
  pthread_join(thread, NULL);
  flag_destroy(&b->started);
  flag_destroy(&b->done);
}

static sprawl_consumer_t* open_consumer(sprawl_client_t* client, const char* const* pairs) {
  sprawl_config_t* config = config_of(pairs);
  sprawl_consumer_t* consumer = NULL;
  sprawl_error_t* err = NULL;
  if (sprawl_consumer_open(client, config, &consumer, &err) != SPRAWL_OK) {
    fprintf(stderr, "consumer_open: %s\n", sprawl_error_message(err));
    exit(1);
  }
  sprawl_config_destroy(&config);
  return consumer;
}

static void test_config_validation(void) {
  sprawl_config_t* config = sprawl_config_new();
  sprawl_error_t* err = NULL;
  CHECK(sprawl_config_set(config, "no_such_key", "1", &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(strstr(sprawl_error_message(err), "no_such_key") != NULL);
  CHECK(sprawl_error_retriable(err) == 0);
  sprawl_error_destroy(&err);
  CHECK(err == NULL);
  CHECK(sprawl_config_set(config, "client_port", "70000", &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(strstr(sprawl_error_message(err), "client_port") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_config_set(config, "acks", "some", NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_config_set(config, "storage", "tape", NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_config_set(NULL, "acks", "all", NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_config_set(config, NULL, "all", NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_config_set(config, "acks", NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_config_set(config, "acks", "all", NULL) == SPRAWL_OK);
  sprawl_config_destroy(&config);
  sprawl_config_destroy(&config); /* NULL-safe */
  sprawl_config_destroy(NULL);
}

typedef struct {
  int calls;
  int failures;
  int closed_or_timeout; /* failures with SPRAWL_CLOSED or SPRAWL_TIMEOUT */
  uint64_t last_offset;
  int freed;
} delivery_state;

static void on_delivery(void* user_data, const sprawl_error_t* error, uint32_t partition,
                        uint64_t offset) {
  delivery_state* state = (delivery_state*)user_data;
  (void)partition;
  /* Atomic: when a client fails what it still holds (a close after its node
   * went away), callbacks run on more than one of the library's threads. */
  __atomic_fetch_add(&state->calls, 1, __ATOMIC_SEQ_CST);
  if (error != NULL) {
    __atomic_fetch_add(&state->failures, 1, __ATOMIC_SEQ_CST);
    if (sprawl_error_code(error) == SPRAWL_CLOSED || sprawl_error_code(error) == SPRAWL_TIMEOUT) {
      __atomic_fetch_add(&state->closed_or_timeout, 1, __ATOMIC_SEQ_CST);
    }
  }
  __atomic_store_n(&state->last_offset, offset, __ATOMIC_SEQ_CST);
}

static void free_state(void* user_data) {
  __atomic_fetch_add(&((delivery_state*)user_data)->freed, 1, __ATOMIC_SEQ_CST);
}

static void test_round_trip(sprawl_client_t* client) {
  const char* names[] = {"trace", "bin"};
  const void* values[] = {"abc", "\x00\x01"};
  const size_t lens[] = {3, 2};
  uint32_t partition = 99;
  uint64_t offset = 99;
  char* json = NULL;
  const void* data;
  size_t len;
  const char* name;
  sprawl_message_t* m = NULL;
  sprawl_consumer_t* reader;
  const char* reader_pairs[] = {"topic", "c-orders", "start", "earliest", NULL};
  const char* topic_pairs[] = {"partitions", "2", NULL};
  sprawl_config_t* topic_config = config_of(topic_pairs);

  OK(sprawl_topic_create(client, "c-orders", topic_config, &json, &ok_err_));
  CHECK(json != NULL && strstr(json, "\"c-orders\"") != NULL);
  sprawl_free(json);
  CHECK(sprawl_topic_create(client, "c-orders", topic_config, NULL, NULL) == SPRAWL_ALREADY_EXISTS);
  sprawl_config_destroy(&topic_config);

  OK(sprawl_publish(client, "c-orders", 1, "user-1", 6, "hello", 5, names, values, lens, 2, 10000,
                    &partition, &offset, &ok_err_));
  CHECK(partition == 1 && offset == 0);

  reader = open_consumer(client, reader_pairs);
  OK(sprawl_consumer_receive(reader, 10000, &m, &ok_err_));
  CHECK(m != NULL);
  if (m != NULL) {
    CHECK(strcmp(sprawl_message_topic(m), "c-orders") == 0);
    CHECK(sprawl_message_partition(m) == 1 && sprawl_message_offset(m) == 0);
    CHECK(sprawl_message_timestamp_ms(m) > 0);
    CHECK(sprawl_message_delivery_count(m) == 0);
    CHECK(sprawl_message_key(m, &data, &len) == 1 && len == 6 && memcmp(data, "user-1", 6) == 0);
    sprawl_message_value(m, &data, &len);
    CHECK(len == 5 && memcmp(data, "hello", 5) == 0);
    CHECK(sprawl_message_header_count(m) == 2);
    CHECK(sprawl_message_header(m, 1, &name, &data, &len) == 1);
    CHECK(strcmp(name, "bin") == 0 && len == 2 && memcmp(data, "\x00\x01", 2) == 0);
    CHECK(sprawl_message_header(m, 2, &name, &data, &len) == 0);
    /* Reads by offset are not acked. */
    CHECK(sprawl_consumer_ack(reader, m, NULL) == SPRAWL_INVALID_ARGUMENT);
  }
  sprawl_message_destroy(&m);
  CHECK(m == NULL);
  OK(sprawl_consumer_receive(reader, 200, &m, &ok_err_));
  CHECK(m == NULL); /* nothing more: a timeout is not an error */
  sprawl_consumer_destroy(&reader);
  CHECK(reader == NULL);
}

/* File scope: its free_user_data may run after test_async_and_groups
 * returns; main checks it once the client is destroyed. */
static delivery_state async_state = {0, 0, 0, 0, 0};

static void test_async_and_groups(sprawl_client_t* client) {
  delivery_state* state = &async_state;
  sprawl_consumer_t* member;
  sprawl_message_t* m = NULL;
  sprawl_error_t* err = NULL;
  char* json = NULL;
  int i, received = 0;
  const char* member_pairs[] = {"topic", "c-jobs", "group", "workers", NULL};

  OK(sprawl_topic_create(client, "c-jobs", NULL, NULL, &ok_err_));
  for (i = 0; i < 100; ++i) {
    char value[32];
    snprintf(value, sizeof value, "job-%d", i);
    OK(sprawl_publish_async(client, "c-jobs", -1, NULL, 0, value, strlen(value), NULL, NULL, NULL,
                            0, i == 99 ? on_delivery : NULL, state, i == 99 ? free_state : NULL,
                            &ok_err_));
  }
  OK(sprawl_client_flush(client, 30000, &ok_err_));
  CHECK(state->calls == 1 && state->failures == 0 && state->last_offset == 99);
  /* free_user_data runs after the last call, possibly a moment later on
   * the library's thread: main checks it once the client is destroyed. */

  member = open_consumer(client, member_pairs);
  while (received < 100) {
    OK(sprawl_consumer_receive(member, 10000, &m, &ok_err_));
    if (m == NULL) break;
    CHECK(sprawl_message_delivery_count(m) == 1);
    if (sprawl_message_offset(m) == 7) {
      OK(sprawl_consumer_nack(member, m, 0, &ok_err_));
    } else {
      OK(sprawl_consumer_ack(member, m, &ok_err_));
    }
    ++received;
    sprawl_message_destroy(&m);
  }
  CHECK(received == 100);
  /* The nacked message comes back with its delivery count raised. */
  OK(sprawl_consumer_receive(member, 10000, &m, &ok_err_));
  CHECK(m != NULL && sprawl_message_offset(m) == 7 && sprawl_message_delivery_count(m) == 2);
  if (m != NULL) {
    CHECK(sprawl_consumer_nack(member, m, -1, &err) == SPRAWL_INVALID_ARGUMENT);
    CHECK(strstr(sprawl_error_message(err), "negative") != NULL);
    sprawl_error_destroy(&err);
    OK(sprawl_consumer_ack(member, m, &ok_err_));
  }
  sprawl_message_destroy(&m);
  /* Settling needs a message. */
  CHECK(sprawl_consumer_ack(member, NULL, &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(strstr(sprawl_error_message(err), "NULL") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_consumer_nack(member, NULL, 0, &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(strstr(sprawl_error_message(err), "NULL") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_consumer_ack(NULL, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  OK(sprawl_consumer_commit(member, &ok_err_));

  /* The group as the admin calls see it: one member, everything acked. */
  OK(sprawl_group_list(client, "c-jobs", &json, &ok_err_));
  CHECK(json != NULL && json[0] == '[' && count_of(json, "\"group\":\"workers\"") == 1);
  sprawl_free(json);
  json = NULL;
  OK(sprawl_group_list(client, NULL, &json, &ok_err_)); /* every topic */
  CHECK(json != NULL && strstr(json, "\"topic\":\"c-jobs\"") != NULL);
  sprawl_free(json);
  json = NULL;
  OK(sprawl_group_list(client, "c-orders", &json, &ok_err_));
  CHECK(json != NULL && strstr(json, "workers") == NULL);
  sprawl_free(json);
  json = NULL;
  OK(sprawl_group_describe(client, "c-jobs", "workers", &json, &ok_err_));
  CHECK(json != NULL && strstr(json, "\"group\":\"workers\"") != NULL);
  CHECK(json != NULL && count_of(json, "\"client_name\":\"sprawl-c\"") == 1);
  CHECK(json != NULL && strstr(json, "\"ack_floor\":100") != NULL);
  sprawl_free(json);
  json = NULL;
  CHECK(sprawl_group_describe(client, "c-jobs", "nobody", &json, &err) == SPRAWL_NOT_FOUND);
  CHECK(json == NULL && strstr(sprawl_error_message(err), "nobody") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_group_describe(client, "missing", "workers", NULL, NULL) == SPRAWL_NOT_FOUND);
  CHECK(sprawl_group_describe(client, "c-jobs", NULL, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_group_list(NULL, NULL, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);

  OK(sprawl_consumer_close(member, &ok_err_));
  OK(sprawl_consumer_close(member, &ok_err_)); /* idempotent */
  CHECK(sprawl_consumer_receive(member, 0, &m, NULL) == SPRAWL_CLOSED);
  sprawl_consumer_destroy(&member);
}

static void test_poll_mode(const char* address) {
  sprawl_client_t* client = open_client(address, "poll");
  delivery_state state = {0, 0, 0, 0, 0};
  int ran = 0, rounds = 0;
  OK(sprawl_publish_async(client, "c-jobs", -1, NULL, 0, "polled", 6, NULL, NULL, NULL, 0,
                          on_delivery, &state, free_state, &ok_err_));
  OK(sprawl_client_flush(client, 30000, &ok_err_));
  CHECK(state.calls == 0); /* queued for the caller's thread, not run */
  while (ran == 0 && rounds++ < 100) ran = sprawl_client_poll(client, 100);
  CHECK(ran == 1 && state.calls == 1 && state.failures == 0);
  sprawl_client_destroy(&client);
  CHECK(state.freed == 1);
}

static void test_errors(sprawl_client_t* client) {
  sprawl_error_t* err = NULL;
  char* json = NULL;
  sprawl_message_t* m = NULL;
  CHECK(sprawl_topic_describe(client, "missing", &json, &err) == SPRAWL_NOT_FOUND);
  CHECK(json == NULL);
  CHECK(strcmp(sprawl_error_code_name(err), "NOT_FOUND") == 0);
  CHECK(sprawl_error_code(err) == SPRAWL_NOT_FOUND);
  sprawl_error_destroy(&err);
  CHECK(sprawl_topic_create(client, "bad\xff\xfename", NULL, NULL, &err) ==
        SPRAWL_INVALID_ARGUMENT);
  CHECK(strstr(sprawl_error_message(err), "UTF-8") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_topic_create(client, "has space", NULL, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_topic_create(client, NULL, NULL, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_topic_create(NULL, "x", NULL, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_publish(client, "c-orders", -1, NULL, 0, NULL, 5, NULL, NULL, NULL, 0, 1000, NULL,
                       NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_publish(client, "c-orders", -1, NULL, 0, "x", 1, NULL, NULL, NULL, 2, 1000, NULL,
                       NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_publish(client, "missing", -1, NULL, 0, "x", 1, NULL, NULL, NULL, 0, 10000, NULL,
                       NULL, NULL) == SPRAWL_NOT_FOUND);
  CHECK(sprawl_consumer_receive(NULL, 0, &m, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_consumer_open(client, NULL, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_node_start(NULL, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_client_poll(NULL, 0) == -1);  /* not "nothing ran" */
  CHECK(sprawl_client_poll(client, 0) == 0); /* background mode */
  CHECK(sprawl_message_topic(NULL) == NULL);
  CHECK(sprawl_error_code(NULL) == SPRAWL_INVALID_ARGUMENT);
  sprawl_message_destroy(NULL);
  sprawl_consumer_destroy(NULL);
  sprawl_client_destroy(NULL);
  sprawl_node_destroy(NULL);
  sprawl_error_destroy(NULL);
  sprawl_free(NULL);
}

/* Expects `status` INVALID_ARGUMENT with `field` in the message; frees err. */
static void expect_refused(sprawl_status_t status, sprawl_error_t** err, const char* field) {
  CHECK(status == SPRAWL_INVALID_ARGUMENT);
  CHECK(*err != NULL && strstr(sprawl_error_message(*err), field) != NULL);
  if (*err != NULL && strstr(sprawl_error_message(*err), field) == NULL) {
    fprintf(stderr, "  the message does not name '%s': %s\n", field, sprawl_error_message(*err));
  }
  sprawl_error_destroy(err);
}

static void expect_no_topic(sprawl_client_t* client, const char* topic) {
  char* json = NULL;
  CHECK(sprawl_topic_describe(client, topic, &json, NULL) == SPRAWL_NOT_FOUND);
  sprawl_free(json);
}

/* A bad partition count or an unknown topic option is refused, naming it,
 * either when it is set or when the topic is created, and creates nothing. */
static void test_topic_options_refused(sprawl_client_t* client) {
  sprawl_error_t* err = NULL;
  sprawl_config_t* config = sprawl_config_new();
  expect_refused(sprawl_config_set(config, "partitions", "-1", &err), &err, "partitions");
  expect_refused(sprawl_config_set(config, "partitions", "4294967297", &err), &err, "partitions");
  expect_refused(sprawl_config_set(config, "partitons", "2", &err), &err, "partitons");
  OK(sprawl_config_set(config, "partitions", "0", &ok_err_));
  expect_refused(sprawl_topic_create(client, "c-refused", config, NULL, &err), &err, "partitions");
  expect_no_topic(client, "c-refused");
  OK(sprawl_config_set(config, "partitions", "2", &ok_err_));
  OK(sprawl_config_set(config, "group", "g", &ok_err_)); /* a consumer's setting */
  expect_refused(sprawl_topic_create(client, "c-refused", config, NULL, &err), &err, "group");
  expect_no_topic(client, "c-refused");
  sprawl_config_destroy(&config);
}

static void test_use_after_close(const char* address) {
  sprawl_client_t* client = open_client(address, "background");
  OK(sprawl_client_close(client, 1000, &ok_err_));
  OK(sprawl_client_close(client, 1000, &ok_err_));
  CHECK(sprawl_topic_list(client, NULL, NULL) == SPRAWL_CLOSED);
  CHECK(sprawl_publish(client, "c-orders", -1, NULL, 0, "x", 1, NULL, NULL, NULL, 0, 1000, NULL,
                       NULL, NULL) == SPRAWL_CLOSED);
  sprawl_client_destroy(&client);
}

static void test_disk_node(void) {
  const char* pairs[] = {"storage", "disk", NULL};
  sprawl_config_t* config = config_of(pairs);
  sprawl_node_t* node = NULL;
  sprawl_error_t* err = NULL;
  /* Disk storage without a data directory is refused clearly. */
  CHECK(sprawl_node_start(config, &node, &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(node == NULL && strstr(sprawl_error_message(err), "data_dir") != NULL);
  sprawl_error_destroy(&err);
  sprawl_config_destroy(&config);
}

/* A second embedded node joins the first through its peer address; bad
 * cluster settings are refused when set or when the node starts. */
static void test_cluster_settings(const sprawl_node_t* first) {
  const char* peer = sprawl_node_peer_address(first);
  sprawl_config_t* config = sprawl_config_new();
  sprawl_node_t* second = NULL;
  sprawl_error_t* err = NULL;
  CHECK(sprawl_node_peer_address(NULL) == NULL);
  CHECK(peer != NULL && strncmp(peer, "tcp://127.0.0.1:", 16) == 0);
  CHECK(sprawl_config_set(config, "gossip_probe_interval_ms", "soon", &err) ==
        SPRAWL_INVALID_ARGUMENT);
  sprawl_error_destroy(&err);
  OK(sprawl_config_set(config, "gossip_probe_timeout_ms", "500", &ok_err_));
  CHECK(sprawl_node_start(config, &second, &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(second == NULL && strstr(sprawl_error_message(err), "probe timeout") != NULL);
  sprawl_error_destroy(&err);
  OK(sprawl_config_set(config, "gossip_probe_timeout_ms", "80", &ok_err_));
  OK(sprawl_config_set(config, "join", peer, &ok_err_));
  OK(sprawl_config_set(config, "rack", "r2", &ok_err_));
  OK(sprawl_node_start(config, &second, &ok_err_));
  CHECK(second != NULL);
  sprawl_node_destroy(&second);
  sprawl_config_destroy(&config);
}

static void test_topic_admin(sprawl_client_t* client) {
  const char* grow_pairs[] = {"partitions", "3", NULL};
  const char* shrink_pairs[] = {"partitions", "2", NULL};
  sprawl_config_t* grow = config_of(grow_pairs);
  sprawl_config_t* shrink = config_of(shrink_pairs);
  sprawl_error_t* err = NULL;
  char* json = NULL;

  OK(sprawl_topic_create(client, "c-admin", NULL, NULL, &ok_err_));
  OK(sprawl_topic_alter(client, "c-admin", grow, &json, &ok_err_));
  CHECK(json != NULL && strstr(json, "\"partitions\":3") != NULL);
  CHECK(json != NULL && count_of(json, "\"partition\":") == 3);
  sprawl_free(json);
  json = NULL;
  /* Partitions only grow; a refused change leaves the topic as it was. */
  CHECK(sprawl_topic_alter(client, "c-admin", shrink, &json, &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(json == NULL && strstr(sprawl_error_message(err), "grow") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_topic_alter(client, "missing", grow, NULL, NULL) == SPRAWL_NOT_FOUND);
  CHECK(sprawl_topic_alter(client, "c-\xff", grow, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  OK(sprawl_topic_describe(client, "c-admin", &json, &ok_err_));
  CHECK(json != NULL && strstr(json, "\"name\":\"c-admin\"") != NULL);
  CHECK(json != NULL && count_of(json, "\"partition\":") == 3);
  sprawl_free(json);
  json = NULL;

  OK(sprawl_topic_list(client, &json, &ok_err_));
  CHECK(json != NULL && json[0] == '[');
  CHECK(json != NULL && count_of(json, "\"name\":\"c-admin\"") == 1);
  CHECK(json != NULL && count_of(json, "\"name\":\"c-orders\"") == 1);
  sprawl_free(json);
  json = NULL;
  OK(sprawl_topic_list(client, NULL, &ok_err_)); /* the JSON may be skipped */

  OK(sprawl_topic_delete(client, "c-admin", &ok_err_));
  CHECK(sprawl_topic_describe(client, "c-admin", NULL, NULL) == SPRAWL_NOT_FOUND);
  CHECK(sprawl_topic_delete(client, "c-admin", &err) == SPRAWL_NOT_FOUND);
  CHECK(strstr(sprawl_error_message(err), "c-admin") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_topic_delete(client, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_topic_delete(client, "c-\xc3", NULL) == SPRAWL_INVALID_ARGUMENT);
  OK(sprawl_topic_list(client, &json, &ok_err_));
  CHECK(json != NULL && strstr(json, "c-admin") == NULL);
  CHECK(json != NULL && count_of(json, "\"name\":\"c-orders\"") == 1);
  sprawl_free(json);
  CHECK(sprawl_topic_list(NULL, NULL, NULL) == SPRAWL_INVALID_ARGUMENT);
  sprawl_config_destroy(&grow);
  sprawl_config_destroy(&shrink);
}

/* A nack with a delay comes back no sooner; a nack on the last allowed
 * delivery sends the message to the dead-letter topic instead. */
static void test_nack_delay_and_dead_letter(sprawl_client_t* client) {
  const char* topic_pairs[] = {"max_deliveries", "2", "dead_letter_topic", "c-retry-dlq", NULL};
  const char* member_pairs[] = {"topic", "c-retry", "group", "fixers", NULL};
  const char* dlq_pairs[] = {"topic", "c-retry-dlq", NULL};
  sprawl_config_t* topic_config = config_of(topic_pairs);
  sprawl_consumer_t* member;
  sprawl_consumer_t* dlq;
  sprawl_message_t* first = NULL;
  sprawl_message_t* again = NULL;
  sprawl_message_t* m = NULL;
  char* json = NULL;
  int64_t nacked_at;
  const void* data;
  size_t len, i;
  int deliveries_header = 0, source_header = 0, reason_header = 0;

  OK(sprawl_topic_create(client, "c-retry-dlq", NULL, NULL, &ok_err_));
  OK(sprawl_topic_create(client, "c-retry", topic_config, NULL, &ok_err_));
  sprawl_config_destroy(&topic_config);
  OK(sprawl_publish(client, "c-retry", -1, NULL, 0, "poison", 6, NULL, NULL, NULL, 0, 10000, NULL,
                    NULL, &ok_err_));
  member = open_consumer(client, member_pairs);

  OK(sprawl_consumer_receive(member, 10000, &first, &ok_err_));
  CHECK(first != NULL && sprawl_message_delivery_count(first) == 1);
  if (first == NULL) return;
  nacked_at = now_ms();
  OK(sprawl_consumer_nack(member, first, 400, &ok_err_));
  OK(sprawl_consumer_receive(member, 10000, &again, &ok_err_));
  CHECK(again != NULL);
  if (again != NULL) {
    CHECK(now_ms() - nacked_at >= 350); /* not before the delay (less the node's tick) */
    CHECK(sprawl_message_offset(again) == sprawl_message_offset(first));
    CHECK(sprawl_message_delivery_count(again) == 2);
    /* The second of max_deliveries = 2: a nack now dead-letters it. */
    OK(sprawl_consumer_nack(member, again, 0, &ok_err_));
    OK(sprawl_consumer_commit(member, &ok_err_));
  }
  dlq = open_consumer(client, dlq_pairs);
  OK(sprawl_consumer_receive(dlq, 10000, &m, &ok_err_));
  CHECK(m != NULL);
  if (m != NULL) {
    sprawl_message_value(m, &data, &len);
    CHECK(len == 6 && memcmp(data, "poison", 6) == 0);
    for (i = 0; i < sprawl_message_header_count(m); ++i) {
      const char* name;
      CHECK(sprawl_message_header(m, i, &name, &data, &len) == 1);
      if (strcmp(name, "sprawl-deliveries") == 0) {
        deliveries_header = len == 1 && memcmp(data, "2", 1) == 0;
      } else if (strcmp(name, "sprawl-source-topic") == 0) {
        source_header = len == 7 && memcmp(data, "c-retry", 7) == 0;
      } else if (strcmp(name, "sprawl-dead-letter-reason") == 0) {
        reason_header = len >= 6 && memcmp(data, "nacked", 6) == 0;
      }
    }
    CHECK(deliveries_header && source_header && reason_header);
  }
  sprawl_message_destroy(&m);
  /* Dead-lettered, so not delivered again. */
  OK(sprawl_consumer_receive(member, 500, &m, &ok_err_));
  CHECK(m == NULL);
  OK(sprawl_group_describe(client, "c-retry", "fixers", &json, &ok_err_));
  CHECK(json != NULL && strstr(json, "\"dead_lettered\":1") != NULL);
  sprawl_free(json);
  sprawl_message_destroy(&first);
  sprawl_message_destroy(&again);
  sprawl_consumer_destroy(&dlq);
  sprawl_consumer_destroy(&member);
}

/* Invalid UTF-8 in a topic or header name is refused before anything is
 * queued; an async publish then frees its user data at once. */
static void test_invalid_utf8_publish(sprawl_client_t* client) {
  delivery_state state = {0, 0, 0, 0, 0};
  sprawl_error_t* err = NULL;
  const char* bad_names[] = {"ok", "h\xed\xa0\x80"}; /* a UTF-16 surrogate */
  const void* values[] = {"a", "b"};
  const size_t lens[] = {1, 1};
  CHECK(sprawl_publish(client, "c-\xff", -1, NULL, 0, "x", 1, NULL, NULL, NULL, 0, 1000, NULL, NULL,
                       &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(strstr(sprawl_error_message(err), "UTF-8") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_publish(client, "c-\xc0\xaf", -1, NULL, 0, "x", 1, NULL, NULL, NULL, 0, 1000, NULL,
                       NULL, NULL) == SPRAWL_INVALID_ARGUMENT); /* overlong */
  CHECK(sprawl_publish(client, "c-orders", -1, NULL, 0, "x", 1, bad_names, values, lens, 2, 1000,
                       NULL, NULL, &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(strstr(sprawl_error_message(err), "UTF-8") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_publish_async(client, "c-\xe2\x82", -1, NULL, 0, "x", 1, NULL, NULL, NULL, 0,
                             on_delivery, &state, free_state, &err) == SPRAWL_INVALID_ARGUMENT);
  CHECK(strstr(sprawl_error_message(err), "UTF-8") != NULL);
  sprawl_error_destroy(&err);
  CHECK(state.calls == 0 && state.freed == 1);
}

/* A consumer that outlives its client: every call returns CLOSED, close and
 * destroy are safe, and a message outlives both. */
static void test_consumer_outlives_client(const char* address) {
  sprawl_client_t* client = open_client(address, "background");
  const char* member_pairs[] = {"topic", "c-orders", "group", "orphans", NULL};
  const char* reader_pairs[] = {"topic", "c-orders", "partition", "1", NULL};
  sprawl_consumer_t* member = open_consumer(client, member_pairs);
  sprawl_consumer_t* reader = open_consumer(client, reader_pairs);
  sprawl_message_t* kept = NULL;
  sprawl_message_t* m = NULL;
  sprawl_error_t* err = NULL;

  OK(sprawl_consumer_receive(member, 10000, &kept, &ok_err_));
  CHECK(kept != NULL);
  sprawl_client_destroy(&client);
  CHECK(client == NULL);

  CHECK(sprawl_consumer_receive(member, 0, &m, &err) == SPRAWL_CLOSED);
  CHECK(m == NULL && strstr(sprawl_error_message(err), "closed") != NULL);
  sprawl_error_destroy(&err);
  CHECK(sprawl_consumer_receive(reader, -1, &m, NULL) == SPRAWL_CLOSED); /* does not wait */
  CHECK(sprawl_consumer_ack(member, kept, NULL) == SPRAWL_CLOSED);
  CHECK(sprawl_consumer_nack(member, kept, 0, NULL) == SPRAWL_CLOSED);
  CHECK(sprawl_consumer_commit(member, NULL) == SPRAWL_CLOSED);
  CHECK(sprawl_consumer_commit(reader, NULL) == SPRAWL_CLOSED);
  OK(sprawl_consumer_close(member, &ok_err_));
  CHECK(sprawl_consumer_receive(member, 0, &m, NULL) == SPRAWL_CLOSED);
  sprawl_consumer_destroy(&member);
  CHECK(member == NULL);
  /* The reader is destroyed without a close, and last: it frees the
   * client's state. */
  sprawl_consumer_destroy(&reader);
  CHECK(reader == NULL);
  CHECK(kept != NULL && strcmp(sprawl_message_topic(kept), "c-orders") == 0);
  sprawl_message_destroy(&kept);
}

/* A receive blocked forever on another thread returns CLOSED soon after
 * its consumer, or its client, is closed. */
static void check_close_wakes_receive(const char* address, const char* const* consumer_pairs,
                                      int close_the_client, const char* what) {
  sprawl_client_t* client = open_client(address, "background");
  blocked_call b;
  pthread_t thread;
  memset(&b, 0, sizeof b);
  b.consumer = open_consumer(client, consumer_pairs);
  start_blocked(&b, &thread);
  if (close_the_client) {
    OK(sprawl_client_close(client, 1000, &ok_err_));
  } else {
    OK(sprawl_consumer_close(b.consumer, &ok_err_));
  }
  join_blocked(&b, thread, what);
  if (b.status != SPRAWL_CLOSED || b.got_message) {
    fprintf(stderr, "%s: receive returned %d (message: %d), not CLOSED\n", what, (int)b.status,
            b.got_message);
    ++failures;
  }
  sprawl_consumer_destroy(&b.consumer);
  sprawl_client_destroy(&client);
}

static void test_close_wakes_blocked_calls(const char* address) {
  const char* reader_pairs[] = {"topic", "c-idle", "partition", "0", NULL};
  const char* member_pairs[] = {"topic", "c-idle", "group", "sleepers", NULL};
  sprawl_client_t* admin = open_client(address, "background");
  sprawl_client_t* polled;
  blocked_call b;
  pthread_t thread;
  OK(sprawl_topic_create(admin, "c-idle", NULL, NULL, &ok_err_));
  sprawl_client_destroy(&admin);
  check_close_wakes_receive(address, reader_pairs, 0, "offset consumer, consumer closed");
  check_close_wakes_receive(address, member_pairs, 0, "group consumer, consumer closed");
  check_close_wakes_receive(address, reader_pairs, 1, "offset consumer, client closed");
  check_close_wakes_receive(address, member_pairs, 1, "group consumer, client closed");

  /* A poll waiting for a callback that will never come returns too. */
  polled = open_client(address, "poll");
  memset(&b, 0, sizeof b);
  b.client = polled;
  start_blocked(&b, &thread);
  OK(sprawl_client_close(polled, 1000, &ok_err_));
  join_blocked(&b, thread, "poll(-1), client closed");
  CHECK(b.polled == 0);
  sprawl_client_destroy(&polled);
}

/* Messages that cannot be delivered (the node is gone) fail with CLOSED or
 * TIMEOUT when the client closes, and the close keeps to its timeout (well
 * below the request and delivery timeouts). */
static void test_close_with_undeliverable_messages(void) {
  sprawl_node_t* node = NULL;
  sprawl_client_t* client;
  delivery_state state = {0, 0, 0, 0, 0};
  sprawl_error_t* err = NULL;
  int64_t started;
  int i;
  OK(sprawl_node_start(NULL, &node, &ok_err_));
  if (node == NULL) return;
  {
    const char* pairs[] = {"server",
                           sprawl_node_client_address(node),
                           "linger_ms",
                           "1",
                           "request_timeout_ms",
                           "500",
                           "delivery_timeout_ms",
                           "3000",
                           NULL};
    client = open_client_with(pairs);
  }
  OK(sprawl_topic_create(client, "c-doomed", NULL, NULL, &ok_err_));
  OK(sprawl_publish(client, "c-doomed", -1, NULL, 0, "first", 5, NULL, NULL, NULL, 0, 10000, NULL,
                    NULL, &ok_err_));
  OK(sprawl_node_stop(node, &ok_err_));
  for (i = 0; i < 5; ++i) {
    OK(sprawl_publish_async(client, "c-doomed", -1, NULL, 0, "lost", 4, NULL, NULL, NULL, 0,
                            on_delivery, &state, free_state, &ok_err_));
  }
  started = now_ms();
  CHECK(sprawl_client_close(client, 100, &err) == SPRAWL_TIMEOUT);
  CHECK(err != NULL && strstr(sprawl_error_message(err), "not acknowledged") != NULL);
  sprawl_error_destroy(&err);
  CHECK(now_ms() - started < 1000);
  CHECK(state.calls == 5 && state.failures == 5 && state.closed_or_timeout == 5);
  CHECK(sprawl_publish(client, "c-doomed", -1, NULL, 0, "x", 1, NULL, NULL, NULL, 0, 1000, NULL,
                       NULL, NULL) == SPRAWL_CLOSED);
  sprawl_client_destroy(&client);
  CHECK(state.freed == 5);
  sprawl_node_destroy(&node);
}

static int remove_entry(const char* path, const struct stat* st, int type, struct FTW* ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  return remove(path);
}

/* A node on disk keeps topics and records across a stop and a restart. */
static void test_disk_node_restart(void) {
  char dir[] = "/tmp/sprawl-c-api-XXXXXX";
  const char* names[] = {"n"};
  const void* header_values[] = {"v"};
  const size_t header_lens[] = {1};
  sprawl_node_t* node = NULL;
  sprawl_client_t* client;
  sprawl_consumer_t* reader;
  sprawl_config_t* config;
  sprawl_message_t* m = NULL;
  const char* reader_pairs[] = {"topic", "c-durable", NULL};
  int round, i;
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    ++failures;
    return;
  }
  {
    const char* pairs[] = {"data_dir", dir, "fsync", "always", NULL};
    config = config_of(pairs);
  }
  for (round = 0; round < 2; ++round) {
    OK(sprawl_node_start(config, &node, &ok_err_));
    if (node == NULL) break;
    client = open_client(sprawl_node_client_address(node), "background");
    if (round == 0) {
      OK(sprawl_topic_create(client, "c-durable", NULL, NULL, &ok_err_));
      for (i = 0; i < 3; ++i) {
        char value[32];
        uint64_t offset = 99;
        snprintf(value, sizeof value, "kept-%d", i);
        OK(sprawl_publish(client, "c-durable", -1, "k", 1, value, strlen(value), names,
                          header_values, header_lens, 1, 10000, NULL, &offset, &ok_err_));
        CHECK(offset == (uint64_t)i);
      }
    } else {
      /* After the restart: the topic and its records are back. */
      OK(sprawl_topic_describe(client, "c-durable", NULL, &ok_err_));
      reader = open_consumer(client, reader_pairs);
      for (i = 0; i < 3; ++i) {
        char value[32];
        const void* data;
        size_t len;
        const char* name;
        snprintf(value, sizeof value, "kept-%d", i);
        OK(sprawl_consumer_receive(reader, 10000, &m, &ok_err_));
        CHECK(m != NULL);
        if (m == NULL) break;
        CHECK(sprawl_message_offset(m) == (uint64_t)i);
        sprawl_message_value(m, &data, &len);
        CHECK(len == strlen(value) && memcmp(data, value, len) == 0);
        CHECK(sprawl_message_key(m, &data, &len) == 1 && len == 1 && memcmp(data, "k", 1) == 0);
        CHECK(sprawl_message_header(m, 0, &name, &data, &len) == 1 && strcmp(name, "n") == 0);
        sprawl_message_destroy(&m);
      }
      OK(sprawl_consumer_receive(reader, 200, &m, &ok_err_));
      CHECK(m == NULL); /* exactly the three */
      sprawl_consumer_destroy(&reader);
    }
    sprawl_client_destroy(&client);
    OK(sprawl_node_stop(node, &ok_err_));
    sprawl_node_destroy(&node);
  }
  sprawl_config_destroy(&config);
  CHECK(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

/* acks "none": the node does not reply, so no offset is reported (neither
 * by sprawl_publish nor to a delivery callback) rather than a guessed one. */
static void test_acks_none_reports_no_offset(const char* address) {
  const char* pairs[] = {"server", address, "linger_ms", "1", "acks", "none", NULL};
  sprawl_client_t* client = open_client_with(pairs);
  delivery_state state = {0, 0, 0, 0, 0};
  uint32_t partition = 99;
  uint64_t offset = 0;
  OK(sprawl_topic_create(client, "c-acks-none", NULL, NULL, &ok_err_));
  OK(sprawl_publish(client, "c-acks-none", -1, NULL, 0, "x", 1, NULL, NULL, NULL, 0, 10000,
                    &partition, &offset, &ok_err_));
  CHECK(partition == 0 && offset == SPRAWL_OFFSET_UNKNOWN);
  OK(sprawl_publish_async(client, "c-acks-none", -1, NULL, 0, "y", 1, NULL, NULL, NULL, 0,
                          on_delivery, &state, NULL, &ok_err_));
  OK(sprawl_client_flush(client, 10000, &ok_err_));
  CHECK(state.calls == 1 && state.failures == 0 && state.last_offset == SPRAWL_OFFSET_UNKNOWN);
  sprawl_client_destroy(&client);
}

/* The value of the counter `name` in the node's /metrics (-1 when absent):
 * a plain HTTP/1.0 GET over a socket, so that this test needs only libc. */
static double metric_of(const sprawl_node_t* node, const char* name) {
  static char reply[1 << 20];
  const char* http = sprawl_node_http_address(node); /* http://127.0.0.1:<port> */
  struct sockaddr_in addr;
  const char* request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  size_t got = 0;
  ssize_t n;
  const char* line;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(strrchr(http, ':') + 1));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (const struct sockaddr*)&addr, sizeof addr) != 0 ||
      write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
    perror("metrics request");
    if (fd >= 0) close(fd);
    return -1;
  }
  while (got < sizeof reply - 1 && (n = read(fd, reply + got, sizeof reply - 1 - got)) > 0) {
    got += (size_t)n;
  }
  close(fd);
  reply[got] = '\0';
  for (line = reply; line != NULL; line = strchr(line, '\n')) {
    if (*line == '\n') ++line;
    if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == ' ') {
      return atof(line + strlen(name) + 1);
    }
  }
  return -1;
}

/* Without an "acks" setting a publish is acknowledged at `all`: under a lazy
 * fsync policy only `all` syncs the log before it acknowledges (the interval
 * is long enough that no timed sync falls inside the publish). */
static void test_default_ack_level_is_all(void) {
  char dir[] = "/tmp/sprawl-c-acks-XXXXXX";
  sprawl_node_t* node = NULL;
  sprawl_client_t* client;
  sprawl_config_t* config;
  double before;
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    ++failures;
    return;
  }
  {
    const char* pairs[] = {"data_dir", dir, "fsync", "interval:60000", NULL};
    config = config_of(pairs);
  }
  OK(sprawl_node_start(config, &node, &ok_err_));
  sprawl_config_destroy(&config);
  if (node == NULL) return;
  client = open_client(sprawl_node_client_address(node), "background");
  OK(sprawl_topic_create(client, "c-default-acks", NULL, NULL, &ok_err_));
  before = metric_of(node, "sprawl_storage_fsyncs_total");
  CHECK(before >= 0);
  OK(sprawl_publish(client, "c-default-acks", -1, NULL, 0, "x", 1, NULL, NULL, NULL, 0, 10000, NULL,
                    NULL, &ok_err_));
  CHECK(metric_of(node, "sprawl_storage_fsyncs_total") > before);
  sprawl_client_destroy(&client);
  sprawl_node_destroy(&node);
  CHECK(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

int main(void) {
  sprawl_node_t* node = NULL;
  sprawl_client_t* client;
  const char* address;
  char header_version[32];
  /* Built together, the library and the header carry the same version. */
  snprintf(header_version, sizeof header_version, "%d.%d.%d", SPRAWL_VERSION_MAJOR,
           SPRAWL_VERSION_MINOR, SPRAWL_VERSION_PATCH);
  CHECK(strcmp(sprawl_version_str(), header_version) == 0);
  test_config_validation();
  test_disk_node();
  test_disk_node_restart();
  test_default_ack_level_is_all();
  test_close_with_undeliverable_messages();
  OK(sprawl_node_start(NULL, &node, &ok_err_));
  if (node == NULL) return 1;
  address = sprawl_node_client_address(node);
  CHECK(strncmp(address, "tcp://127.0.0.1:", 16) == 0);
  CHECK(strncmp(sprawl_node_http_address(node), "http://127.0.0.1:", 17) == 0);
  test_cluster_settings(node);
  client = open_client(address, "background");
  test_round_trip(client);
  test_async_and_groups(client);
  test_topic_admin(client);
  test_nack_delay_and_dead_letter(client);
  test_invalid_utf8_publish(client);
  test_poll_mode(address);
  test_errors(client);
  test_topic_options_refused(client);
  test_acks_none_reports_no_offset(address);
  test_use_after_close(address);
  test_consumer_outlives_client(address);
  test_close_wakes_blocked_calls(address);
  sprawl_client_destroy(&client);
  /* Every thread of the client is gone: its last free_user_data ran once. */
  CHECK(async_state.freed == 1);
  OK(sprawl_node_stop(node, &ok_err_));
  OK(sprawl_node_stop(node, &ok_err_));
  sprawl_node_destroy(&node);
  CHECK(node == NULL);
  if (failures > 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all C API checks passed\n");
  return 0;
}
