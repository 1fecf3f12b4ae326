/* The C ABI from plain C99: an embedded node, topics, publish (sync, async,
 * poll mode), consumers by group and by offset, acks and nacks, and every
 * kind of bad input. Built with -std=c99 -Wall -Wextra -Werror -pedantic. */
#include <sprawl/sprawl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static sprawl_client_t* open_client(const char* address, const char* mode) {
  const char* pairs[] = {"server", address, "linger_ms", "1", "callback_mode", mode, NULL};
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
  uint64_t last_offset;
  int freed;
} delivery_state;

static void on_delivery(void* user_data, const sprawl_error_t* error, uint32_t partition,
                        uint64_t offset) {
  delivery_state* state = (delivery_state*)user_data;
  (void)partition;
  state->calls++;
  if (error != NULL) state->failures++;
  state->last_offset = offset;
}

static void free_state(void* user_data) { ((delivery_state*)user_data)->freed++; }

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

static void test_async_and_groups(sprawl_client_t* client) {
  /* Static: free_user_data may run after this function returns. */
  static delivery_state state = {0, 0, 0, 0};
  sprawl_consumer_t* member;
  sprawl_message_t* m = NULL;
  int i, received = 0;
  const char* member_pairs[] = {"topic", "c-jobs", "group", "workers", NULL};

  OK(sprawl_topic_create(client, "c-jobs", NULL, NULL, &ok_err_));
  for (i = 0; i < 100; ++i) {
    char value[16];
    sprintf(value, "job-%d", i);
    OK(sprawl_publish_async(client, "c-jobs", -1, NULL, 0, value, strlen(value), NULL, NULL, NULL,
                            0, i == 99 ? on_delivery : NULL, &state, i == 99 ? free_state : NULL,
                            &ok_err_));
  }
  OK(sprawl_client_flush(client, 30000, &ok_err_));
  CHECK(state.calls == 1 && state.failures == 0 && state.last_offset == 99);
  /* free_user_data runs after the last call, possibly a moment later on
   * the library's thread: test_poll_mode checks it once the client is gone. */

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
  if (m != NULL) OK(sprawl_consumer_ack(member, m, &ok_err_));
  sprawl_message_destroy(&m);
  OK(sprawl_consumer_commit(member, &ok_err_));
  OK(sprawl_consumer_close(member, &ok_err_));
  OK(sprawl_consumer_close(member, &ok_err_)); /* idempotent */
  CHECK(sprawl_consumer_receive(member, 0, &m, NULL) == SPRAWL_CLOSED);
  sprawl_consumer_destroy(&member);
}

static void test_poll_mode(const char* address) {
  sprawl_client_t* client = open_client(address, "poll");
  delivery_state state = {0, 0, 0, 0};
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
  CHECK(sprawl_client_poll(NULL, 0) == 0);
  CHECK(sprawl_message_topic(NULL) == NULL);
  CHECK(sprawl_error_code(NULL) == SPRAWL_INVALID_ARGUMENT);
  sprawl_message_destroy(NULL);
  sprawl_consumer_destroy(NULL);
  sprawl_client_destroy(NULL);
  sprawl_node_destroy(NULL);
  sprawl_error_destroy(NULL);
  sprawl_free(NULL);
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

int main(void) {
  sprawl_node_t* node = NULL;
  sprawl_client_t* client;
  const char* address;
  CHECK(strcmp(sprawl_version_str(), "0.1.0") == 0);
  CHECK(SPRAWL_VERSION_MAJOR == 0 && SPRAWL_VERSION_MINOR == 1);
  test_config_validation();
  test_disk_node();
  OK(sprawl_node_start(NULL, &node, &ok_err_));
  if (node == NULL) return 1;
  address = sprawl_node_client_address(node);
  CHECK(strncmp(address, "tcp://127.0.0.1:", 16) == 0);
  CHECK(strncmp(sprawl_node_http_address(node), "http://127.0.0.1:", 17) == 0);
  test_cluster_settings(node);
  client = open_client(address, "background");
  test_round_trip(client);
  test_async_and_groups(client);
  test_poll_mode(address);
  test_errors(client);
  test_use_after_close(address);
  sprawl_client_destroy(&client);
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
