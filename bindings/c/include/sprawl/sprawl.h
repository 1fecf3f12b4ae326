/*
 * sprawl.h - the stable C ABI of Sprawl (C99, usable from C and C++).
 *
 * Every binding (Python, Node.js, Java) reaches the core through these
 * functions; docs/c-api.md explains them at length. The rules, once:
 *
 * - Handles are opaque. Each `sprawl_X_destroy(sprawl_X_t **)` accepts NULL
 *   or a pointer to NULL, frees the object and sets the pointer to NULL.
 * - Functions that can fail return a sprawl_status_t (SPRAWL_OK = 0, else
 *   the error's code) and take `sprawl_error_t **err` last. When `err` is
 *   not NULL and the call fails, `*err` receives an error the caller
 *   destroys with sprawl_error_destroy. Pass NULL to ignore details.
 * - Bad input (NULL handles or buffers, invalid UTF-8 names, unknown
 *   settings, use after close) returns SPRAWL_INVALID_ARGUMENT or
 *   SPRAWL_CLOSED and changes nothing; it never crashes.
 * - Strings the library returns through `char **` are the caller's, freed
 *   with sprawl_free. `const char *` returns are owned by the object they
 *   came from and live as long as it does.
 * - Callbacks are `(fn, user_data, free_user_data)`: free_user_data (may be
 *   NULL) runs once, after the last call of fn. Each callback's comment says
 *   which thread runs it, and sprawl_publish_async which runs free_user_data.
 *   A callback must not throw (it may be C++): the library catches and
 *   discards whatever escapes it.
 * - Thread-safety: a client (and its admin and publish calls) and a node may
 *   be used from any number of threads. A consumer and the messages it
 *   returns belong to one thread at a time, except sprawl_consumer_close,
 *   which any thread may call. A handle is destroyed by one thread, after
 *   every other call on it has returned.
 * - Lifetimes: a consumer may outlive its client (in any destroy order);
 *   its calls then return SPRAWL_CLOSED. A message may outlive its consumer.
 */
#ifndef SPRAWL_SPRAWL_H
#define SPRAWL_SPRAWL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SPRAWL_BUILDING_LIBRARY)
#define SPRAWL_API __attribute__((visibility("default")))
#else
#define SPRAWL_API
#endif

#define SPRAWL_VERSION_MAJOR 0
#define SPRAWL_VERSION_MINOR 1
#define SPRAWL_VERSION_PATCH 0

/* ---- errors ------------------------------------------------------------ */

/* The codes of docs/errors.md; numbers never change. */
typedef enum sprawl_status {
  SPRAWL_OK = 0,
  SPRAWL_INVALID_ARGUMENT = 1,
  SPRAWL_NOT_FOUND = 2,
  SPRAWL_ALREADY_EXISTS = 3,
  SPRAWL_OFFSET_OUT_OF_RANGE = 4,
  SPRAWL_DATA_CORRUPTION = 5,
  SPRAWL_IO_ERROR = 6,
  SPRAWL_NOT_A_STORE = 7,
  SPRAWL_UNSUPPORTED_VERSION = 8,
  SPRAWL_RESOURCE_EXHAUSTED = 9,
  SPRAWL_CLOSED = 10,
  SPRAWL_TIMEOUT = 11,
  SPRAWL_INTERNAL = 12,
  SPRAWL_NOT_LEADER = 13,
  SPRAWL_OUT_OF_ORDER_SEQUENCE = 14,
  SPRAWL_MESSAGE_TOO_LARGE = 15,
  SPRAWL_RETRY_AFTER = 16,
  SPRAWL_UNKNOWN_MEMBER = 17,
  SPRAWL_PRODUCER_FENCED = 18
} sprawl_status_t;

typedef struct sprawl_error sprawl_error_t;

/* The getters below take an error from any call and may be used from any
 * thread; the error is the caller's until sprawl_error_destroy. */

/* The error's code. SPRAWL_INVALID_ARGUMENT for a NULL error. */
SPRAWL_API sprawl_status_t sprawl_error_code(const sprawl_error_t* error);
/* The code's name, e.g. "NOT_FOUND"; static storage ("INVALID_ARGUMENT" for
 * a NULL error). */
SPRAWL_API const char* sprawl_error_code_name(const sprawl_error_t* error);
/* What went wrong, for a person; lives as long as the error ("no error" for
 * NULL). */
SPRAWL_API const char* sprawl_error_message(const sprawl_error_t* error);
/* 1 when sending the same request again may succeed, else 0. */
SPRAWL_API int sprawl_error_retriable(const sprawl_error_t* error);
/* Frees an error returned through `err` and sets `*error` to NULL; NULL and
 * a pointer to NULL are fine. Not for the `error` a delivery callback gets,
 * which the library owns. */
SPRAWL_API void sprawl_error_destroy(sprawl_error_t** error);

/* Frees a buffer the library returned through a `char **`. NULL is fine; any
 * thread. */
SPRAWL_API void sprawl_free(void* buffer);

/* "0.1.0": the library's version, which may be newer than the header's
 * SPRAWL_VERSION_* macros; static storage, any thread. */
SPRAWL_API const char* sprawl_version_str(void);

/* ---- configuration ----------------------------------------------------- */

/* String settings for a node, a client, a consumer or a topic (the keys of
 * each are listed in docs/c-api.md). Not thread-safe; copy-on-use: the
 * object built from a config keeps no reference to it. */
typedef struct sprawl_config sprawl_config_t;

/* An empty config, the caller's until sprawl_config_destroy; NULL when out of
 * memory. */
SPRAWL_API sprawl_config_t* sprawl_config_new(void);
/* Sets `key` to `value` (both NUL-terminated UTF-8). INVALID_ARGUMENT naming
 * the key when no object knows it or the value does not parse for it; the
 * config is then unchanged. */
SPRAWL_API sprawl_status_t sprawl_config_set(sprawl_config_t* config, const char* key,
                                             const char* value, sprawl_error_t** err);
/* Frees the config and sets `*config` to NULL; NULL and a pointer to NULL are
 * fine. Objects built from it are not affected. */
SPRAWL_API void sprawl_config_destroy(sprawl_config_t** config);

/* ---- embedded node ----------------------------------------------------- */

typedef struct sprawl_node sprawl_node_t;

/* Starts a full node in this process (storage, broker, client port, HTTP
 * admin) from `config` (NULL = defaults: memory storage, free ports on
 * 127.0.0.1); `*out` is the caller's until sprawl_node_destroy, NULL on
 * failure. IO_ERROR when a port is taken or the data directory cannot be
 * used, INVALID_ARGUMENT for a setting that does not fit (e.g. disk storage
 * without data_dir). */
SPRAWL_API sprawl_status_t sprawl_node_start(const sprawl_config_t* config, sprawl_node_t** out,
                                             sprawl_error_t** err);
/* "tcp://127.0.0.1:<port>": where clients connect (the "server" setting).
 * NULL for a NULL node. */
SPRAWL_API const char* sprawl_node_client_address(const sprawl_node_t* node);
/* "http://127.0.0.1:<port>": the HTTP admin API. NULL for a NULL node. The
 * address getters' strings live as long as the node. */
SPRAWL_API const char* sprawl_node_http_address(const sprawl_node_t* node);
/* "tcp://127.0.0.1:<port>": the peer port, which another node's "join"
 * setting names to form a cluster with this one. NULL for a NULL node. */
SPRAWL_API const char* sprawl_node_peer_address(const sprawl_node_t* node);
/* Stops accepting requests, answers those in progress and flushes storage.
 * Any thread; idempotent; blocks until done. The addresses stay readable.
 * INVALID_ARGUMENT for a NULL node. */
SPRAWL_API sprawl_status_t sprawl_node_stop(sprawl_node_t* node, sprawl_error_t** err);
/* Stops the node if needed, frees it and sets `*node` to NULL; NULL and a
 * pointer to NULL are fine. Requests of clients still connected to it then
 * fail (TIMEOUT). */
SPRAWL_API void sprawl_node_destroy(sprawl_node_t** node);

/* ---- client ------------------------------------------------------------ */

typedef struct sprawl_client sprawl_client_t;

/* Connects to the node at the config's "server" (lazily: a node that is
 * down shows as TIMEOUT on the first request). `*out` is the caller's until
 * sprawl_client_destroy, NULL on failure. INVALID_ARGUMENT for a bad
 * setting. */
SPRAWL_API sprawl_status_t sprawl_client_open(const sprawl_config_t* config, sprawl_client_t** out,
                                              sprawl_error_t** err);
/* First wakes every receive waiting on a consumer of this client (it returns
 * CLOSED), then flushes what was published (waiting up to timeout_ms; < 0 =
 * the delivery timeout; returns TIMEOUT when that is not enough). Messages
 * still unacknowledged then fail with CLOSED at once: each callback runs
 * (or is queued for the next poll) with its outcome, so a close lasts about
 * timeout_ms at most. Then it disconnects and ends a sprawl_client_poll
 * that waits.
 * Later calls, and calls of consumers opened on it, return CLOSED; group
 * members are not left cleanly (close consumers first for that). Any
 * thread; idempotent (a second call returns OK at once). Must not be called
 * from a callback. */
SPRAWL_API sprawl_status_t sprawl_client_close(sprawl_client_t* client, int timeout_ms,
                                               sprawl_error_t** err);
/* Closes the client if needed (as sprawl_client_close with timeout -1),
 * frees it and sets `*client` to NULL; NULL and a pointer to NULL are fine.
 * Poll-mode callbacks never polled do not run; their free_user_data runs
 * here. Consumers opened on it may still be used (they return CLOSED) and
 * destroyed later. */
SPRAWL_API void sprawl_client_destroy(sprawl_client_t** client);

/* -- admin: descriptions come back as JSON (docs/http-api.md shapes) in
 *    buffers freed with sprawl_free; pass NULL to skip them (`*json_out` is
 *    left untouched on failure). Each waits for the node, up to the
 *    client's request timeout (TIMEOUT); any thread; CLOSED once the client
 *    is closed, INVALID_ARGUMENT for a NULL client or a NULL, empty or
 *    invalid UTF-8 name. */

/* Creates `topic` with the topic settings of `config` (NULL = defaults) and
 * returns its description. ALREADY_EXISTS when it exists. */
SPRAWL_API sprawl_status_t sprawl_topic_create(sprawl_client_t* client, const char* topic,
                                               const sprawl_config_t* config, char** json_out,
                                               sprawl_error_t** err);
/* Changes the given settings of `topic` (partitions only grow: fewer is
 * INVALID_ARGUMENT) and returns the new description. NOT_FOUND for a
 * missing topic. */
SPRAWL_API sprawl_status_t sprawl_topic_alter(sprawl_client_t* client, const char* topic,
                                              const sprawl_config_t* config, char** json_out,
                                              sprawl_error_t** err);
/* The description of `topic`: settings and partitions. NOT_FOUND for a
 * missing topic. */
SPRAWL_API sprawl_status_t sprawl_topic_describe(sprawl_client_t* client, const char* topic,
                                                 char** json_out, sprawl_error_t** err);
/* A JSON array of topic descriptions. */
SPRAWL_API sprawl_status_t sprawl_topic_list(sprawl_client_t* client, char** json_out,
                                             sprawl_error_t** err);
/* Deletes the topic with its records and groups. NOT_FOUND for a missing
 * topic. */
SPRAWL_API sprawl_status_t sprawl_topic_delete(sprawl_client_t* client, const char* topic,
                                               sprawl_error_t** err);
/* A JSON array of the groups of `topic` (NULL or "" = every topic). */
SPRAWL_API sprawl_status_t sprawl_group_list(sprawl_client_t* client, const char* topic,
                                             char** json_out, sprawl_error_t** err);
/* The description of `group` on `topic` (members, partitions, cursors).
 * NOT_FOUND for a missing topic or group. */
SPRAWL_API sprawl_status_t sprawl_group_describe(sprawl_client_t* client, const char* topic,
                                                 const char* group, char** json_out,
                                                 sprawl_error_t** err);

/* -- publish. A message is a value, an optional key (key == NULL: none) and
 *    `header_count` headers given as parallel arrays (names are UTF-8
 *    strings, values bytes). `partition` < 0 picks the partition by key
 *    (xxh3 of the key mod the partition count, the same in every client) or,
 *    without a key, the partition whose batch is filling. The library copies
 *    everything before returning. */

/* The offset reported for a message published with acks "none": the node
 * does not reply, so where the message went is not known. */
#define SPRAWL_OFFSET_UNKNOWN UINT64_MAX

/* Publishes one message and waits for its acknowledgement (up to
 * timeout_ms; < 0 = the client's delivery timeout). Fills the partition and
 * offset it was stored at (either pointer may be NULL; the offset is
 * SPRAWL_OFFSET_UNKNOWN with acks "none"). Any thread.
 * INVALID_ARGUMENT for a bad topic name or buffers, NOT_FOUND for a missing
 * topic, TIMEOUT (the message may still be stored), CLOSED when the client
 * is or gets closed first. */
SPRAWL_API sprawl_status_t sprawl_publish(
    sprawl_client_t* client, const char* topic, int32_t partition, const void* key, size_t key_len,
    const void* value, size_t value_len, const char* const* header_names,
    const void* const* header_values, const size_t* header_value_lens, size_t header_count,
    int timeout_ms, uint32_t* partition_out, uint64_t* offset_out, sprawl_error_t** err);

/* Runs once per asynchronously published message: `error` is NULL on
 * success (owned by the library and valid during the call only: do not
 * destroy it), else why it failed. `offset` is SPRAWL_OFFSET_UNKNOWN with
 * acks "none". In background mode it runs on a library
 * thread, or on the thread of the call that failed the message at once
 * (sprawl_publish_async when the buffer stays full, sprawl_client_close);
 * in poll mode ("callback_mode" "poll") inside sprawl_client_poll. Must not
 * block or throw; may publish again. */
typedef void (*sprawl_delivery_fn)(void* user_data, const sprawl_error_t* error, uint32_t partition,
                                   uint64_t offset);

/* Queues one message for a batch; `fn` (may be NULL) reports the outcome.
 * Waits only while the client's buffer is full, up to "max_block_ms"; with
 * "max_block_ms" 0 it never waits, and in background mode `fn` then runs
 * with RESOURCE_EXHAUSTED on this thread before the call returns (an event
 * loop can hold the message back and send it again later). Any thread. On a non-OK
 * return (INVALID_ARGUMENT, CLOSED) the message was not queued and `fn` will
 * not run. free_user_data runs exactly once, on the thread that drops the
 * callback last: the library's thread after fn ran (background mode), the
 * thread of sprawl_client_poll or sprawl_client_destroy (poll mode), or this
 * call's thread before it returns non-OK. */
SPRAWL_API sprawl_status_t sprawl_publish_async(
    sprawl_client_t* client, const char* topic, int32_t partition, const void* key, size_t key_len,
    const void* value, size_t value_len, const char* const* header_names,
    const void* const* header_values, const size_t* header_value_lens, size_t header_count,
    sprawl_delivery_fn fn, void* user_data, void (*free_user_data)(void*), sprawl_error_t** err);

/* Waits until every message published before the call is acknowledged or
 * has failed (its callback ran, or is queued for poll mode). TIMEOUT after
 * timeout_ms (< 0: wait up to the delivery timeout). The first failure among
 * messages published without a callback since the last flush is returned.
 * Any thread; a close meanwhile ends the wait. CLOSED on a closed client. */
SPRAWL_API sprawl_status_t sprawl_client_flush(sprawl_client_t* client, int timeout_ms,
                                               sprawl_error_t** err);

/* Poll mode: runs the delivery callbacks that are due on the calling
 * thread, waiting up to timeout_ms (0 = do not wait, < 0 = until one is due
 * or the client is closed) for the first. Returns how many ran: 0 in
 * background mode, -1 for a NULL client. Any thread; still runs the
 * callbacks queued by close on a closed client. */
SPRAWL_API int sprawl_client_poll(sprawl_client_t* client, int timeout_ms);

/* ---- consumer ---------------------------------------------------------- */

typedef struct sprawl_consumer sprawl_consumer_t;
typedef struct sprawl_message sprawl_message_t;

/* Subscribes to the config's "topic": as a member of "group" (pushed
 * messages to ack or nack), or without one by offset ("partition" and
 * "start"). `*out` is the caller's until sprawl_consumer_destroy, NULL on
 * failure; it may outlive the client. NOT_FOUND for a missing topic or
 * partition, INVALID_ARGUMENT for settings that do not fit, CLOSED on a
 * closed client. Any thread. */
SPRAWL_API sprawl_status_t sprawl_consumer_open(sprawl_client_t* client,
                                                const sprawl_config_t* config,
                                                sprawl_consumer_t** out, sprawl_error_t** err);
/* The next message, waiting up to timeout_ms (< 0 = forever, 0 = not at all);
 * `*out` is NULL when none came in time (and SPRAWL_OK is returned), else the
 * caller's until sprawl_message_destroy. CLOSED once the consumer or its
 * client is closed, also for a receive already waiting then (closing wakes
 * it at once). */
SPRAWL_API sprawl_status_t sprawl_consumer_receive(sprawl_consumer_t* consumer, int timeout_ms,
                                                   sprawl_message_t** out, sprawl_error_t** err);
/* Settles a group message: it is not delivered again. Acks are sent in
 * batches (every few milliseconds, or at once by sprawl_consumer_commit).
 * The message stays the caller's. INVALID_ARGUMENT for a NULL message, one
 * read by offset or one from another consumer; CLOSED once the consumer or
 * its client is closed. */
SPRAWL_API sprawl_status_t sprawl_consumer_ack(sprawl_consumer_t* consumer,
                                               const sprawl_message_t* message,
                                               sprawl_error_t** err);
/* Hands a group message back for redelivery after delay_ms (or to the
 * dead-letter topic when it has used up the topic's max_deliveries). Sent in
 * batches like acks. Errors as sprawl_consumer_ack, and INVALID_ARGUMENT for
 * a negative delay. */
SPRAWL_API sprawl_status_t sprawl_consumer_nack(sprawl_consumer_t* consumer,
                                                const sprawl_message_t* message, int delay_ms,
                                                sprawl_error_t** err);
/* Sends the acks and nacks given so far now and waits for the node to take
 * them (each up to the request timeout). A no-op for an offset consumer.
 * CLOSED once the consumer or its client is closed. */
SPRAWL_API sprawl_status_t sprawl_consumer_commit(sprawl_consumer_t* consumer,
                                                  sprawl_error_t** err);
/* Sends pending acks and leaves the group (on a closed client it only stops
 * the consumer, returning OK), and wakes a receive waiting on another thread
 * (it returns CLOSED). Any thread; idempotent; later calls of the consumer
 * return CLOSED. */
SPRAWL_API sprawl_status_t sprawl_consumer_close(sprawl_consumer_t* consumer, sprawl_error_t** err);
/* Closes the consumer if needed, frees it and sets `*consumer` to NULL; NULL
 * and a pointer to NULL are fine. Before or after its client's destroy. */
SPRAWL_API void sprawl_consumer_destroy(sprawl_consumer_t** consumer);

/* ---- messages ---------------------------------------------------------- */

/* The getters read a message on the thread that holds it; the views they
 * return are valid until the message is destroyed (no copies). */

/* The topic's name, NUL-terminated; NULL for a NULL message. */
SPRAWL_API const char* sprawl_message_topic(const sprawl_message_t* message);
/* The partition it was stored in; 0 for a NULL message. */
SPRAWL_API uint32_t sprawl_message_partition(const sprawl_message_t* message);
/* Its offset within the partition; 0 for a NULL message. */
SPRAWL_API uint64_t sprawl_message_offset(const sprawl_message_t* message);
/* Milliseconds since the Unix epoch, as the producer stamped it; 0 for NULL. */
SPRAWL_API int64_t sprawl_message_timestamp_ms(const sprawl_message_t* message);
/* 1 on a first group delivery, more on redeliveries, 0 for reads by offset
 * (and NULL). */
SPRAWL_API uint32_t sprawl_message_delivery_count(const sprawl_message_t* message);
/* Returns 1 and sets data/len when the message has a key (possibly empty),
 * else 0 (also for NULL). data or len may be NULL. */
SPRAWL_API int sprawl_message_key(const sprawl_message_t* message, const void** data, size_t* len);
/* Sets data/len to the value (a NULL message reads as empty); either pointer
 * may be NULL. */
SPRAWL_API void sprawl_message_value(const sprawl_message_t* message, const void** data,
                                     size_t* len);
/* How many headers the message has, in the order they were published; 0 for
 * NULL. */
SPRAWL_API size_t sprawl_message_header_count(const sprawl_message_t* message);
/* Returns 1 and fills name (NUL-terminated), value and len for index < count,
 * else 0 (also for NULL). Any of the three pointers may be NULL. */
SPRAWL_API int sprawl_message_header(const sprawl_message_t* message, size_t index,
                                     const char** name, const void** value, size_t* len);
/* Frees the message and sets `*message` to NULL; NULL and a pointer to NULL
 * are fine. Settle it (ack or nack) before, if it is a group message. */
SPRAWL_API void sprawl_message_destroy(sprawl_message_t** message);

/* ---- logging ----------------------------------------------------------- */

/* What embedded nodes and clients log goes to stderr (warn and above) until
 * a callback is set; then every record at or above the level goes to the
 * callback instead, and nothing to stderr. Both settings are process-wide.
 * (sprawl-server has its own --log-level and --log-format.) */

/* Severity, lowest first. SPRAWL_LOG_OFF is a level to set only: no record
 * has it. Numbers never change. */
typedef enum sprawl_log_level {
  SPRAWL_LOG_TRACE = 0,
  SPRAWL_LOG_DEBUG = 1,
  SPRAWL_LOG_INFO = 2,
  SPRAWL_LOG_WARN = 3,
  SPRAWL_LOG_ERROR = 4,
  SPRAWL_LOG_OFF = 5
} sprawl_log_level_t;

/* One log record, read with the sprawl_log_record_* getters during the
 * callback's call only (the library owns it and its strings). */
typedef struct sprawl_log_record sprawl_log_record_t;

/* Receives the records at or above the level, one call per record, in the
 * order they were written, on the library's log delivery thread (one thread,
 * never a core thread: records are queued for it). May block or be slow: the
 * queue then fills and further records are dropped and counted
 * (sprawl_log_dropped) while the core goes on. Must not throw; may call any
 * function of this library except sprawl_log_set_callback. */
typedef void (*sprawl_log_fn)(void* user_data, const sprawl_log_record_t* record);

/* Records below `level` are discarded where they are written, before any
 * formatting or queueing (default SPRAWL_LOG_WARN). Any thread; takes effect
 * at once. INVALID_ARGUMENT for a value outside the enum. */
SPRAWL_API sprawl_status_t sprawl_log_set_level(sprawl_log_level_t level, sprawl_error_t** err);
/* The current level. Any thread. */
SPRAWL_API sprawl_log_level_t sprawl_log_get_level(void);
/* Sends records to `fn` instead of stderr; fn == NULL goes back to stderr.
 * The previous callback first gets the records already queued for it, then
 * its free_user_data runs on this thread before the call returns (so this
 * waits for a call of the previous fn in progress). This call's own
 * free_user_data runs on this thread before it returns when fn is NULL or
 * the call fails; otherwise after the last call of fn, on the thread that
 * replaces the callback. INVALID_ARGUMENT when called from the log delivery
 * thread (that is, from a log callback). How many records may wait: see
 * sprawl_log_set_queue_capacity. Any thread. */
SPRAWL_API sprawl_status_t sprawl_log_set_callback(sprawl_log_fn fn, void* user_data,
                                                   void (*free_user_data)(void*),
                                                   sprawl_error_t** err);
/* How many records may wait for the callback (default 8192); takes effect at
 * the next sprawl_log_set_callback. INVALID_ARGUMENT for 0. Any thread. */
SPRAWL_API sprawl_status_t sprawl_log_set_queue_capacity(size_t capacity, sprawl_error_t** err);
/* How many records were dropped, since the library was loaded, because the
 * callback's queue was full. Any thread. */
SPRAWL_API uint64_t sprawl_log_dropped(void);

/* Puts a record of the host's through the same path as the library's own:
 * dropped below the level, else to the callback (or stderr). For checking a
 * host's logging set-up, and for a binding's own records. INVALID_ARGUMENT
 * for SPRAWL_LOG_OFF or another value outside the enum, and for a NULL,
 * empty or invalid UTF-8 component or message. Any thread. */
SPRAWL_API sprawl_status_t sprawl_log_write(sprawl_log_level_t level, const char* component,
                                            const char* message, sprawl_error_t** err);

/* The record's level (never SPRAWL_LOG_OFF); SPRAWL_LOG_ERROR for NULL. */
SPRAWL_API sprawl_log_level_t sprawl_log_record_level(const sprawl_log_record_t* record);
/* The part of the library that wrote it: "broker", "storage", "node",
 * "client", "transport", "admin", "replication", "overlay", ... ("" for
 * NULL). */
SPRAWL_API const char* sprawl_log_record_component(const sprawl_log_record_t* record);
/* What happened, e.g. "topic created" ("" for NULL). */
SPRAWL_API const char* sprawl_log_record_message(const sprawl_log_record_t* record);
/* When it was written, in milliseconds since the Unix epoch; 0 for NULL. */
SPRAWL_API int64_t sprawl_log_record_timestamp_ms(const sprawl_log_record_t* record);
/* How many key/value fields it carries (0 for NULL). Where known: "node",
 * "topic", "partition", "group", "error" (the failure, starting with its
 * code name), "trace_id"; others as the record needs. */
SPRAWL_API size_t sprawl_log_record_field_count(const sprawl_log_record_t* record);
/* Returns 1 and fills key and value (NUL-terminated UTF-8 text, numbers in
 * decimal) for index < count, else 0 (also for NULL). Either pointer may be
 * NULL. */
SPRAWL_API int sprawl_log_record_field(const sprawl_log_record_t* record, size_t index,
                                       const char** key, const char** value);
/* The value of the first field named `key`, or NULL when it has none (or
 * for NULL arguments). */
SPRAWL_API const char* sprawl_log_record_get(const sprawl_log_record_t* record, const char* key);

#ifdef __cplusplus
}
#endif

#endif /* SPRAWL_SPRAWL_H */
