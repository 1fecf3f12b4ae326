/* The C ABI's logging hook from plain C99 (with POSIX threads): the default
 * level, records at each level with their component and fields reaching the
 * callback, records below the level never reaching it, nothing on stderr
 * while a callback is set, and a callback that blocks: the core goes on, the
 * queue stays bounded and the records it refuses are counted. A process of
 * its own, as the log settings are process-wide. Built with -std=c99 -Wall
 * -Wextra -Werror -pedantic. */
#define _XOPEN_SOURCE 700 /* pthreads, clock_gettime */

#include <sprawl/sprawl.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a collecting callback ---------------------------------------------- */

#define MAX_SEEN 4096

struct seen_record {
  sprawl_log_level_t level;
  char component[32];
  char message[96];
  char node[32];
  char topic[32];
  int64_t timestamp_ms;
};

struct collector {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct seen_record seen[MAX_SEEN];
  size_t count;
  int freed;
  /* Blocking mode: the callback waits until `blocked` is cleared. */
  int blocked;
  int calls_while_blocked;
};

static void copy_text(char* out, size_t size, const char* text) {
  if (text == NULL) text = "";
  strncpy(out, text, size - 1);
  out[size - 1] = '\0';
}

static void collect(void* user_data, const sprawl_log_record_t* record) {
  struct collector* c = (struct collector*)user_data;
  pthread_mutex_lock(&c->mu);
  if (c->blocked) ++c->calls_while_blocked;
  while (c->blocked) pthread_cond_wait(&c->cv, &c->mu);
  if (c->count < MAX_SEEN) {
    struct seen_record* s = &c->seen[c->count++];
    s->level = sprawl_log_record_level(record);
    copy_text(s->component, sizeof s->component, sprawl_log_record_component(record));
    copy_text(s->message, sizeof s->message, sprawl_log_record_message(record));
    copy_text(s->node, sizeof s->node, sprawl_log_record_get(record, "node"));
    copy_text(s->topic, sizeof s->topic, sprawl_log_record_get(record, "topic"));
    s->timestamp_ms = sprawl_log_record_timestamp_ms(record);
  }
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

static void free_collector(void* user_data) {
  struct collector* c = (struct collector*)user_data;
  pthread_mutex_lock(&c->mu);
  c->freed += 1;
  pthread_mutex_unlock(&c->mu);
}

static void collector_init(struct collector* c) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
}

/* The index of the first record with `message`, waiting up to 10 s for it; -1
 * when it never came. */
static long wait_for(struct collector* c, const char* message) {
  const int64_t give_up = now_ms() + 10000;
  long found = -1;
  pthread_mutex_lock(&c->mu);
  while (found < 0) {
    size_t i;
    for (i = 0; i < c->count && found < 0; ++i) {
      if (strcmp(c->seen[i].message, message) == 0) found = (long)i;
    }
    if (found >= 0 || now_ms() > give_up) break;
    {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += 10 * 1000000;
      if (until.tv_nsec >= 1000000000) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000;
      }
      pthread_cond_timedwait(&c->cv, &c->mu, &until);
    }
  }
  pthread_mutex_unlock(&c->mu);
  return found;
}

/* ---- stderr capture ------------------------------------------------------ */

static char stderr_path[] = "/tmp/sprawl_log_test_stderr_XXXXXX";
static int saved_stderr = -1;

static void capture_stderr(void) {
  int fd = mkstemp(stderr_path);
  CHECK(fd >= 0);
  fflush(stderr);
  saved_stderr = dup(2);
  dup2(fd, 2);
  close(fd);
}

/* Restores stderr and returns how many bytes were written meanwhile. */
static long release_stderr(void) {
  struct stat st;
  fflush(stderr);
  dup2(saved_stderr, 2);
  close(saved_stderr);
  if (stat(stderr_path, &st) != 0) return -1;
  unlink(stderr_path);
  return (long)st.st_size;
}

/* ---- tests --------------------------------------------------------------- */

static void test_defaults_and_bad_input(void) {
  sprawl_error_t* err = NULL;
  CHECK(sprawl_log_get_level() == SPRAWL_LOG_WARN);
  CHECK(sprawl_log_set_level((sprawl_log_level_t)9, &err) == SPRAWL_INVALID_ARGUMENT);
  sprawl_error_destroy(&err);
  CHECK(sprawl_log_get_level() == SPRAWL_LOG_WARN);
  CHECK(sprawl_log_write(SPRAWL_LOG_OFF, "app", "x", NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_log_write(SPRAWL_LOG_INFO, NULL, "x", NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_log_write(SPRAWL_LOG_INFO, "app", "", NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_log_set_queue_capacity(0, NULL) == SPRAWL_INVALID_ARGUMENT);
  CHECK(sprawl_log_record_level(NULL) == SPRAWL_LOG_ERROR);
  CHECK(strcmp(sprawl_log_record_component(NULL), "") == 0);
  CHECK(sprawl_log_record_field_count(NULL) == 0);
  CHECK(sprawl_log_record_field(NULL, 0, NULL, NULL) == 0);
  CHECK(sprawl_log_record_get(NULL, "node") == NULL);
}

/* Every level reaches the callback with its component; the core's own
 * records carry theirs and their fields; nothing goes to stderr. */
static void test_records_reach_the_callback(void) {
  static struct collector c;
  static const sprawl_log_level_t levels[] = {SPRAWL_LOG_TRACE, SPRAWL_LOG_DEBUG, SPRAWL_LOG_INFO,
                                              SPRAWL_LOG_WARN, SPRAWL_LOG_ERROR};
  static const char* const messages[] = {"at trace", "at debug", "at info", "at warn", "at error"};
  sprawl_config_t* config = sprawl_config_new();
  sprawl_node_t* node = NULL;
  sprawl_client_t* client = NULL;
  size_t i;
  long at;
  collector_init(&c);
  capture_stderr();
  OK(sprawl_log_set_callback(collect, &c, free_collector, NULL));
  OK(sprawl_log_set_level(SPRAWL_LOG_TRACE, NULL));
  for (i = 0; i < 5; ++i) OK(sprawl_log_write(levels[i], "app", messages[i], NULL));
  for (i = 0; i < 5; ++i) {
    at = wait_for(&c, messages[i]);
    CHECK(at >= 0);
    if (at >= 0) {
      CHECK(c.seen[at].level == levels[i]);
      CHECK(strcmp(c.seen[at].component, "app") == 0);
      CHECK(c.seen[at].timestamp_ms > 1700000000000LL);
    }
  }

  /* The core's own records, with their components and fields. */
  OK(sprawl_log_set_level(SPRAWL_LOG_INFO, NULL));
  OK(sprawl_config_set(config, "node_id", "log-node", NULL));
  OK(sprawl_node_start(config, &node, NULL));
  sprawl_config_destroy(&config);
  config = sprawl_config_new();
  OK(sprawl_config_set(config, "server", sprawl_node_client_address(node), NULL));
  OK(sprawl_client_open(config, &client, NULL));
  sprawl_config_destroy(&config);
  OK(sprawl_topic_create(client, "logged", NULL, NULL, NULL));
  at = wait_for(&c, "topic created");
  CHECK(at >= 0);
  if (at >= 0) {
    CHECK(c.seen[at].level == SPRAWL_LOG_INFO);
    CHECK(strcmp(c.seen[at].component, "broker") == 0);
    CHECK(strcmp(c.seen[at].topic, "logged") == 0);
    CHECK(strcmp(c.seen[at].node, "log-node") == 0);
  }
  at = wait_for(&c, "node listening");
  CHECK(at >= 0);
  if (at >= 0) {
    CHECK(strcmp(c.seen[at].component, "node") == 0);
    CHECK(strcmp(c.seen[at].node, "log-node") == 0);
  }
  at = wait_for(&c, "store opened");
  CHECK(at >= 0);
  if (at >= 0) CHECK(strcmp(c.seen[at].component, "storage") == 0);
  sprawl_client_destroy(&client);
  sprawl_node_destroy(&node);
  CHECK(wait_for(&c, "node stopped") >= 0);

  /* Back to stderr: the callback's user_data is freed once, before the call
   * returns. */
  OK(sprawl_log_set_level(SPRAWL_LOG_WARN, NULL));
  OK(sprawl_log_set_callback(NULL, NULL, NULL, NULL));
  CHECK(c.freed == 1);
  CHECK(release_stderr() == 0);
}

/* Records below the level are dropped where they are written: the callback
 * never sees them, only the warning sent after them. */
static void test_below_level_never_delivered(void) {
  static struct collector c;
  size_t i;
  sprawl_node_t* node = NULL;
  collector_init(&c);
  OK(sprawl_log_set_callback(collect, &c, free_collector, NULL));
  OK(sprawl_log_set_level(SPRAWL_LOG_WARN, NULL));
  OK(sprawl_log_write(SPRAWL_LOG_INFO, "app", "below the level", NULL));
  OK(sprawl_log_write(SPRAWL_LOG_DEBUG, "app", "far below the level", NULL));
  OK(sprawl_node_start(NULL, &node, NULL)); /* logs at info */
  sprawl_node_destroy(&node);
  OK(sprawl_log_write(SPRAWL_LOG_WARN, "app", "the marker", NULL));
  CHECK(wait_for(&c, "the marker") >= 0);
  pthread_mutex_lock(&c.mu);
  for (i = 0; i < c.count; ++i) CHECK(c.seen[i].level >= SPRAWL_LOG_WARN);
  pthread_mutex_unlock(&c.mu);

  /* OFF silences everything. */
  OK(sprawl_log_set_level(SPRAWL_LOG_OFF, NULL));
  CHECK(sprawl_log_get_level() == SPRAWL_LOG_OFF);
  OK(sprawl_log_write(SPRAWL_LOG_ERROR, "app", "silenced", NULL));
  OK(sprawl_log_set_level(SPRAWL_LOG_WARN, NULL));
  OK(sprawl_log_write(SPRAWL_LOG_WARN, "app", "the second marker", NULL));
  CHECK(wait_for(&c, "the second marker") >= 0);
  OK(sprawl_log_set_callback(NULL, NULL, NULL, NULL));
  for (i = 0; i < c.count; ++i) CHECK(strcmp(c.seen[i].message, "silenced") != 0);
}

struct setter_args {
  sprawl_status_t status;
  int freed;
};

static void count_free(void* user_data) { ((struct setter_args*)user_data)->freed += 1; }

/* From the log delivery thread, replacing the callback is refused, and the
 * refused callback's user_data is freed at once. */
static void set_from_callback(void* user_data, const sprawl_log_record_t* record) {
  struct setter_args* args = (struct setter_args*)user_data;
  (void)record;
  args->status = sprawl_log_set_callback(collect, args, count_free, NULL);
}

static void test_set_from_callback_refused(void) {
  struct setter_args args;
  args.status = SPRAWL_OK;
  args.freed = 0;
  OK(sprawl_log_set_callback(set_from_callback, &args, NULL, NULL));
  OK(sprawl_log_write(SPRAWL_LOG_ERROR, "app", "first", NULL));
  /* Replacing it delivers what was queued first: the call above has run. */
  OK(sprawl_log_set_callback(NULL, NULL, NULL, NULL));
  CHECK(args.status == SPRAWL_INVALID_ARGUMENT);
  CHECK(args.freed == 1);
  /* Without a function there is nothing to call: user_data is freed at once. */
  OK(sprawl_log_set_callback(NULL, &args, count_free, NULL));
  CHECK(args.freed == 2);
}

/* A callback that blocks: writers never wait for it, the queue holds at most
 * its capacity, the rest is dropped and counted, and a node still serves. */
static void test_blocking_callback(void) {
  static struct collector c;
  const uint64_t dropped_before = sprawl_log_dropped();
  const size_t capacity = 8;
  const int writes = 200;
  int i;
  int64_t started;
  sprawl_node_t* node = NULL;
  sprawl_config_t* config = sprawl_config_new();
  sprawl_client_t* client = NULL;
  collector_init(&c);
  c.blocked = 1;
  OK(sprawl_log_set_queue_capacity(capacity, NULL));
  OK(sprawl_log_set_callback(collect, &c, free_collector, NULL));
  OK(sprawl_log_set_level(SPRAWL_LOG_INFO, NULL));
  started = now_ms();
  for (i = 0; i < writes; ++i) OK(sprawl_log_write(SPRAWL_LOG_WARN, "app", "flood", NULL));
  /* The core logs at info meanwhile and still works. */
  OK(sprawl_node_start(NULL, &node, NULL));
  OK(sprawl_config_set(config, "server", sprawl_node_client_address(node), NULL));
  OK(sprawl_client_open(config, &client, NULL));
  sprawl_config_destroy(&config);
  OK(sprawl_topic_create(client, "while-blocked", NULL, NULL, NULL));
  OK(sprawl_publish(client, "while-blocked", -1, NULL, 0, "v", 1, NULL, NULL, NULL, 0, 10000, NULL,
                    NULL, NULL));
  sprawl_client_destroy(&client);
  sprawl_node_destroy(&node);
  CHECK(now_ms() - started < 20000);
  /* One record is in the blocked call; at most `capacity` wait behind it. */
  CHECK(sprawl_log_dropped() - dropped_before >= (uint64_t)(writes - 1 - (int)capacity));
  pthread_mutex_lock(&c.mu);
  CHECK(c.calls_while_blocked == 1);
  c.blocked = 0;
  pthread_cond_broadcast(&c.cv);
  pthread_mutex_unlock(&c.mu);
  OK(sprawl_log_set_callback(NULL, NULL, NULL, NULL));
  CHECK(c.count >= 1 && c.count <= capacity + 1);
  CHECK(c.freed == 1);
  OK(sprawl_log_set_level(SPRAWL_LOG_WARN, NULL));
}

int main(void) {
  test_defaults_and_bad_input();
  test_records_reach_the_callback();
  test_below_level_never_delivered();
  test_set_from_callback_refused();
  test_blocking_callback();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("c_log_test: all checks passed\n");
  return 0;
}
