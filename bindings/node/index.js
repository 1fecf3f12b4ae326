'use strict';
// Sprawl for Node.js: a client and an embedded node over Sprawl's C ABI.
// Every call that can block returns a Promise and runs off the main thread;
// subscriptions are async iterators (or EventEmitters via .start()).

const { EventEmitter } = require('node:events');
const path = require('node:path');
const { Batch, Message, ACK_WANTED, NACK_BASE } = require('./message.js');

const native = require(process.env.SPRAWL_NODE_ADDON ||
  path.join(__dirname, '..', '..', 'build', 'node-addon', 'node', 'sprawl.node'));

const DEFAULT_ADDRESS = 'tcp://127.0.0.1:7400';
const DEFAULT_DELIVERY_TIMEOUT_MS = 120000;  // the C ABI's delivery_timeout_ms default

/** An error Sprawl reported: `code` is the name from docs/errors.md. */
class SprawlError extends Error {
  constructor(code, codeNumber, message, retriable) {
    super(`${code}: ${message}`);
    this.name = 'SprawlError';
    this.code = code;
    this.codeNumber = codeNumber;
    this.retriable = retriable;
  }
}

function fromNative(e) {
  if (e instanceof SprawlError) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string' && 'retriable' in e) {
    return new SprawlError(e.code, e.codeNumber, e.message, e.retriable);
  }
  if (e && e.native) return fromNative(e.native);
  return e;
}

async function call(promise) {
  try {
    return await promise;
  } catch (e) {
    throw fromNative(e);
  }
}

function toBuffer(value, what) {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${what} must be a Buffer, a Uint8Array or a string`);
}

function settings(object) {
  const out = {};
  for (const [k, v] of Object.entries(object)) {
    if (v !== undefined && v !== null) out[k] = String(v);
  }
  return out;
}

const TOPIC_SETTINGS = {
  partitions: 'partitions', retentionMs: 'retention_ms', retentionBytes: 'retention_bytes',
  maxMessageBytes: 'max_message_bytes', ackTimeoutMs: 'ack_timeout_ms',
  maxDeliveries: 'max_deliveries', deadLetterTopic: 'dead_letter_topic',
  messageTtlMs: 'message_ttl_ms', replicationFactor: 'replication_factor',
};

function topicSettings(options) {
  const out = {};
  for (const [k, v] of Object.entries(options || {})) {
    if (!(k in TOPIC_SETTINGS)) {
      // The error the core gives for a bad value, so one check covers both.
      throw new SprawlError('INVALID_ARGUMENT', 1,
        `unknown topic option '${k}'; known: ${Object.keys(TOPIC_SETTINGS).join(', ')}`, false);
    }
    if (v !== undefined) out[TOPIC_SETTINGS[k]] = String(v);
  }
  return out;
}

// Messages a native call may hand over at once (at most this many wait in a
// subscription's buffer besides the batch being read).
const BATCH_MESSAGES = 1000;
// How long a batch fetched ahead may wait for its first message: long
// enough that a worker is waiting when the node pushes, short enough that a
// subscription left unread without close() lets the process exit soon.
const FETCH_AHEAD_WAIT_MS = 50;
// Marks that wait before they go to the native consumer without waiting for
// the next batch: the node pushes again once acks free credits.
const SETTLE_EVERY = 64;
// A wait for messages is cut into slices this long, so that close() is
// noticed even where the native wake-up is missed.
const WAIT_SLICE_MS = 500;

const CLOSED_SUBSCRIPTION = () => new SprawlError('CLOSED', 10, 'the subscription is closed', false);

/**
 * Messages of a topic: `for await (const msg of sub)`, receive(), or events
 * via start(). Messages come from the native consumer in batches (one trip to
 * the worker pool for many), and the next batch is fetched while the
 * current one is read; acks and nacks go to the native consumer in batches.
 */
class Subscription extends EventEmitter {
  constructor(client, config, timeoutMs) {
    super();
    this._client = client;
    this._config = config;
    this._timeoutMs = timeoutMs;
    this._grouped = 'group' in config;
    this._consumer = null;
    this._opening = null;
    this._closed = false;
    this._batches = new Fifo();  // received batches with messages not handed out yet
    this._buffered = 0;          // messages in them not handed out yet
    this._fetch = null;          // the receiveMany under way, a Promise that never rejects
    this._fetchEnds = 0;         // when it times out at the latest (Date.now() scale)
    this._error = null;          // what the last fetch failed with, for the next reader
    this._unflushed = [];        // batches with marks the native consumer has not seen
    this._marks = 0;             // how many marks wait in them
    this._flushQueued = false;
  }

  async _open() {
    if (!this._opening) {
      this._opening = call(native.openConsumer(this._client._native, this._config)).then((c) => {
        this._consumer = c;
        return c;
      });
    }
    return this._opening;
  }

  /** The next message, or null after timeoutMs. */
  async receive(timeoutMs = this._timeoutMs ?? 1000) {
    if (this._closed) throw CLOSED_SUBSCRIPTION();
    const message = this._buffered > 0 ? this._take() : await this._wait(timeoutMs);
    if (message === null && this._closed) throw CLOSED_SUBSCRIPTION();
    return message;
  }

  /**
   * Up to maxMessages messages: waits up to timeoutMs for the first, then
   * takes those already received (an empty array after timeoutMs).
   */
  async receiveMany(maxMessages = BATCH_MESSAGES, timeoutMs = this._timeoutMs ?? 1000) {
    if (this._closed) throw CLOSED_SUBSCRIPTION();
    if (!(maxMessages >= 1)) throw new RangeError('maxMessages must be 1 or more');
    const first = this._buffered > 0 ? this._take() : await this._wait(timeoutMs);
    if (first === null) {
      if (this._closed) throw CLOSED_SUBSCRIPTION();
      return [];
    }
    const messages = [first];
    while (messages.length < maxMessages && this._buffered > 0) messages.push(this._take());
    return messages;
  }

  // An iterator object rather than an async generator: a message already
  // received costs one resolved Promise, where a generator's yield costs
  // several. Ends after timeoutMs idle (default: never), and closes the
  // subscription when it ends, breaks or throws.
  [Symbol.asyncIterator]() {
    let finished = false;
    const end = () => {
      finished = true;
      return this.close().then(() => ({ value: undefined, done: true }));
    };
    const fail = (e) => {
      finished = true;
      return this.close().then(() => { throw e; }, () => { throw e; });
    };
    return {
      next: () => {
        if (finished) return Promise.resolve({ value: undefined, done: true });
        if (this._closed) return end();
        if (this._buffered > 0) return Promise.resolve({ value: this._take(), done: false });
        return this._wait(this._timeoutMs ?? -1)
          .then((message) => (message === null ? end() : { value: message, done: false }), fail);
      },
      return: () => (finished ? Promise.resolve({ value: undefined, done: true }) : end()),
      [Symbol.asyncIterator]() { return this; },
    };
  }

  /**
   * Emits 'message' for each message (and 'error') until close(), then
   * 'end'. The messages of a batch are emitted in one go.
   */
  start() {
    (async () => {
      try {
        for (;;) {
          const message = await this._wait(this._timeoutMs ?? -1);
          if (message === null) break;
          this.emit('message', message);
          while (this._buffered > 0 && !this._closed) this.emit('message', this._take());
        }
        await this.close();
        this.emit('end');
      } catch (e) {
        try {
          await this.close();
        } catch {
          // The first error is the one to report.
        }
        this.emit('error', e);
      }
    })();
    return this;
  }

  // Hands out the next buffered message; fetches the next batch ahead once
  // less than half a batch is left.
  _take() {
    const batch = this._batches.peek();
    const message = batch.take();
    if (batch.next === batch.length) this._batches.shift();
    this._buffered -= 1;
    if (this._fetch === null && this._buffered < BATCH_MESSAGES / 2 && !this._closed) {
      this._startFetch(FETCH_AHEAD_WAIT_MS);
    }
    return message;
  }

  // The next message, waiting up to timeoutMs (< 0: forever); null after
  // it, or once the subscription is closed.
  async _wait(timeoutMs) {
    if (!this._consumer) await this._open();
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    let first = true;
    for (;;) {
      if (this._closed) return null;
      if (this._buffered > 0) return this._take();
      if (this._error) {
        const error = this._error;
        this._error = null;
        throw error;
      }
      const left = deadline - Date.now();
      if (left <= 0 && !first) return null;
      first = false;
      const slice = Math.max(0, Math.min(left, WAIT_SLICE_MS));
      if (this._fetch === null) this._startFetch(slice);
      if (this._fetchEnds > Date.now() + slice) {
        // A fetch that may outlast this wait is under way: wait for it or the slice.
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, slice);
          this._fetch.then(() => { clearTimeout(timer); resolve(); });
        });
      } else {
        await this._fetch;
      }
    }
  }

  // Starts one receiveMany; its Promise never rejects (a failure waits in
  // _error). Settles waiting marks first, so that the node can push again.
  _startFetch(timeoutMs) {
    this._flushSettles();
    this._fetchEnds = Date.now() + timeoutMs;
    this._fetch = this._consumer.receiveMany(BATCH_MESSAGES, timeoutMs).then((raw) => {
      this._fetch = null;
      if (raw === null || this._closed) return;
      const batch = new Batch(raw, this);
      this._batches.push(batch);
      this._buffered += batch.length;
    }, (e) => {
      this._fetch = null;
      if (!this._closed) this._error = fromNative(e);
    });
    return this._fetch;
  }

  // Message.ack() and nack(): marks the message; the marks go to the native
  // consumer SETTLE_EVERY at a time, before the next fetch, and at the end of
  // this turn of the event loop at the latest.
  _settle(batch, index, mark, delayMs = 0) {
    if (!this._grouped) throw new TypeError('messages read by offset are not acked');
    if (this._closed) throw CLOSED_SUBSCRIPTION();
    if (mark === NACK_BASE) {
      if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > 0x7ffffffe) {
        throw new SprawlError('INVALID_ARGUMENT', 1, 'a nack delay must be a whole number of ms, 0 or more', false);
      }
      mark += delayMs;
    }
    if (!batch.mark(index, mark)) return;
    if (batch.low === index && batch.high === index + 1) this._unflushed.push(batch);
    if (++this._marks >= SETTLE_EVERY) {
      this._flushSettles();
    } else if (!this._flushQueued) {
      this._flushQueued = true;
      setImmediate(() => {
        this._flushQueued = false;
        this._flushSettles();
      });
    }
  }

  _flushSettles() {
    if (this._marks === 0) return;
    this._marks = 0;
    let failure;
    for (const batch of this._unflushed) failure = failure || batch.flush(this._consumer);
    this._unflushed.length = 0;
    if (failure && !this._closed) this._error = fromNative(failure);
  }

  /** Acks many messages of this subscription in one go. */
  async ackMany(messages) { this._settleMany(messages, ACK_WANTED, 0); }

  /** Nacks many messages of this subscription in one go (redelivered after delayMs). */
  async nackMany(messages, delayMs = 0) { this._settleMany(messages, NACK_BASE, delayMs); }

  _settleMany(messages, mark, delayMs) {
    for (const message of messages) {
      const [batch, index] = Message._place(message);
      if (batch.subscription !== this) {
        throw new SprawlError('INVALID_ARGUMENT', 1, 'the message was received by another subscription', false);
      }
      this._settle(batch, index, mark, delayMs);
    }
    this._flushSettles();
  }

  async commit() {
    if (!this._consumer) return;
    this._flushSettles();
    await call(this._consumer.commit());
  }

  /**
   * Sends pending acks and leaves the group; messages received but not
   * handed out yet go to other members. Idempotent.
   */
  async close() {
    if (this._closed) return;
    this._flushSettles();
    this._closed = true;
    this._client._subscriptions.delete(this);
    this._batches = new Fifo();
    this._buffered = 0;
    if (this._opening) {
      let consumer;
      try {
        consumer = await this._opening;
      } catch {
        return;  // never opened: nothing to leave
      }
      await call(consumer.close());
    }
  }
}

// A first-in first-out queue with O(1) shift, for the publishes that wait for
// buffer space (there may be many: a burst of publish() calls).
class Fifo {
  constructor() {
    this._items = [];
    this._head = 0;
  }

  get length() { return this._items.length - this._head; }

  push(item) { this._items.push(item); }

  peek() { return this._items[this._head]; }

  shift() {
    const item = this._items[this._head];
    this._items[this._head++] = undefined;
    if (this._head >= 1024 && this._head * 2 >= this._items.length) {
      this._items = this._items.slice(this._head);
      this._head = 0;
    }
    return item;
  }
}

function copyBuffer(b) { return b === null ? null : Buffer.from(b); }

// Copies buffers into one allocation (views into it), so that a caller may
// reuse its buffers while the copies wait.
function copyBuffers(buffers) {
  const joined = Buffer.concat(buffers);
  let offset = 0;
  return buffers.map((b) => {
    const view = joined.subarray(offset, offset + b.length);
    offset += b.length;
    return view;
  });
}

/**
 * A connection to a Sprawl node. Publishing never blocks the event loop: the
 * native client never waits for buffer space (max_block_ms=0). A publish that
 * finds the buffer full waits here, with every publish after it, and they are
 * handed over in order as acknowledgements free space: the caller sees a
 * Promise that settles later (backpressure). One fails with TIMEOUT only if it
 * waited longer than the delivery timeout.
 */
class Client {
  constructor(address = DEFAULT_ADDRESS, options = {}) {
    // Logging is process-wide: a client's `logger` serves every node and client.
    if (options.logger !== undefined) setLogger(options.logger, { level: options.logLevel });
    this._pending = new Map();
    this._nextId = 1;
    this._subscriptions = new Set();
    this._closed = false;
    this._backlog = new Fifo();  // publishes waiting for buffer space, in order
    this._drainWaiters = new Set();
    this._deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
    const onOutcomes = () => this._takeOutcomes();
    try {
      this._native = new native.Client(settings({
        server: address,
        acks: options.acks ?? 'all',
        linger_ms: options.lingerMs,
        batch_bytes: options.batchBytes,
        buffer_bytes: options.bufferBytes,
        max_block_ms: 0,
        idempotent: options.idempotent,
        producer_name: options.producerName,
        request_timeout_ms: options.requestTimeoutMs,
        delivery_timeout_ms: options.deliveryTimeoutMs,
      }), onOutcomes);
    } catch (e) {
      throw fromNative(e);
    }
  }

  // Runs on the main thread when outcomes are ready or buffer space was freed.
  _takeOutcomes() {
    for (const [id, error, partition, offset] of this._native.takeOutcomes()) {
      const pending = this._pending.get(id);
      if (!pending) continue;
      this._pending.delete(id);
      if (error) pending.reject(fromNative(error));
      else pending.resolve({ topic: pending.topic, partition, offset });
    }
    this._drain();
  }

  _check() {
    if (this._closed) throw new SprawlError('CLOSED', 10, 'the client is closed', false);
  }

  // Puts a publish behind the ones waiting for buffer space.
  _wait(entry) {
    if (this._backlog.length === 0) this._native.hold(true);
    this._backlog.push(entry);
  }

  // Hands waiting publishes to the native client in order until the buffer is
  // full again (the next completion calls this again) or none is left.
  _drain() {
    const backlog = this._backlog;
    if (backlog.length === 0) return;
    while (backlog.length > 0) {
      const entry = backlog.peek();
      if (Date.now() >= entry.deadline) {
        backlog.shift();
        this._fail(entry, new SprawlError('TIMEOUT', 11, entry.values
          ? `${entry.queuedBefore + entry.next} of ${entry.queuedBefore + entry.values.length} ` +
            "messages were queued; the client's buffer " +
            'stayed full for the delivery timeout (the server is not keeping up)'
          : "the client's buffer stayed full for the delivery timeout (the server is not keeping up)",
        true));
        continue;
      }
      if (!this._handOver(entry)) return;
      backlog.shift();
    }
    this._backlogEmpty();
  }

  // False when the buffer is still full; true once the entry is queued or failed.
  _handOver(entry) {
    if (entry.values) {
      const reached = this._native.publishMany(entry.topic, entry.values, entry.key, entry.next);
      if (typeof reached !== 'number') {
        entry.reject(fromNative(reached));
        return true;
      }
      entry.next = reached;
      if (reached < entry.values.length) return false;
      entry.resolve(entry.values.length);
      return true;
    }
    const error = this._native.publish(entry.id, entry.topic, entry.value, entry.key, entry.headers,
      entry.partition);
    if (error === false) return false;
    if (error) this._fail(entry, fromNative(error));
    return true;
  }

  _fail(entry, error) {
    if (entry.values) {
      entry.reject(error);
      return;
    }
    const pending = this._pending.get(entry.id);
    if (!pending) return;
    this._pending.delete(entry.id);
    pending.reject(error);
  }

  _backlogEmpty() {
    this._native.hold(false);
    for (const waiter of this._drainWaiters) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this._drainWaiters.clear();
  }

  // Resolves once no publish waits for buffer space; TIMEOUT at `deadline`.
  _backlogDrained(deadline) {
    if (this._backlog.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { resolve, timer: null };
      if (deadline !== Infinity) {
        waiter.timer = setTimeout(() => {
          this._drainWaiters.delete(waiter);
          reject(new SprawlError('TIMEOUT', 11,
            `${this._backlog.length} publishes still wait for buffer space`, true));
        }, Math.max(0, deadline - Date.now()));
      }
      this._drainWaiters.add(waiter);
    });
  }

  async createTopic(name, options = {}) {
    this._check();
    return JSON.parse(await call(this._native.admin('createTopic', name, topicSettings(options))));
  }

  async alterTopic(name, options) {
    this._check();
    return JSON.parse(await call(this._native.admin('alterTopic', name, topicSettings(options))));
  }

  async describeTopic(name) { this._check(); return JSON.parse(await call(this._native.admin('describeTopic', name))); }

  async listTopics() { this._check(); return JSON.parse(await call(this._native.admin('listTopics'))); }

  async deleteTopic(name) { this._check(); await call(this._native.admin('deleteTopic', name)); }

  async listGroups(topic = '') { this._check(); return JSON.parse(await call(this._native.admin('listGroups', topic))); }

  async describeGroup(topic, group) {
    this._check();
    return JSON.parse(await call(this._native.admin('describeGroup', topic, group)));
  }

  /**
   * Publishes one message; resolves with {topic, partition, offset} once it
   * is acknowledged (offset null with acks 'none': the node sends none).
   * Batched with other publishes (no thread waits on it); while the buffer
   * is full it waits, in order, behind earlier publishes.
   */
  publish(topic, value, options = {}) {
    try {
      this._check();
      if (typeof topic !== 'string') throw new TypeError('topic must be a string');
      const key = options.key == null ? null : toBuffer(options.key, 'key');
      const headers = Object.entries(options.headers || {}).map(([k, v]) => [k, toBuffer(v, `header '${k}'`)]);
      const bytes = toBuffer(value, 'value');
      const partition = options.partition ?? -1;
      const id = this._nextId++;
      const promise = new Promise((resolve, reject) => this._pending.set(id, { resolve, reject, topic }));
      const error = this._backlog.length > 0 ? false
        : this._native.publish(id, topic, bytes, key, headers, partition);
      if (error === false) {
        // The buffer is full, or publishes ahead of this one wait: wait behind them.
        this._wait({
          id, topic, partition, value: copyBuffer(bytes), key: copyBuffer(key),
          headers: headers.map(([k, v]) => [k, copyBuffer(v)]),
          deadline: Date.now() + this._deliveryTimeoutMs,
        });
      } else if (error) {
        this._pending.delete(id);
        return Promise.reject(fromNative(error));
      }
      return promise;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Queues many messages in one call (the fast path for bulk loads); resolves
   * with how many were queued, once all were (later when the buffer is full).
   * flush() waits for their acks and rejects with the first failure.
   */
  async publishMany(topic, values, options = {}) {
    this._check();
    if (typeof topic !== 'string') throw new TypeError('topic must be a string');
    const key = options.key == null ? null : toBuffer(options.key, 'key');
    const buffers = values.map((v) => toBuffer(v, 'value'));
    let start = 0;
    if (this._backlog.length === 0) {
      start = this._native.publishMany(topic, buffers, key, 0);
      if (typeof start !== 'number') throw fromNative(start);
      if (start === buffers.length) return start;
    }
    const rest = copyBuffers(start === 0 ? buffers : buffers.slice(start));
    const queued = await new Promise((resolve, reject) => this._wait({
      topic, values: rest, key: copyBuffer(key), queuedBefore: start, next: 0, resolve, reject,
      deadline: Date.now() + this._deliveryTimeoutMs,
    }));
    return start + queued;
  }

  /** Waits until everything published so far is acknowledged. */
  async flush(timeoutMs = -1) {
    this._check();
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    await this._backlogDrained(deadline);
    await call(this._native.flush(deadline === Infinity ? -1 : Math.max(0, deadline - Date.now())));
  }

  /**
   * Subscribes to a topic: as a group member (`group`), or by offset
   * (`start`: 'earliest', 'latest' or an offset; `partition`). Iteration ends
   * after `timeoutMs` without a message (default: never).
   */
  subscribe(topic, options = {}) {
    this._check();
    if (options.autoAck && !options.group) throw new TypeError('autoAck needs a group');
    const sub = new Subscription(this, settings({
      topic,
      group: options.group,
      start: options.start,
      partition: options.partition,
      auto_ack: options.group ? options.autoAck : undefined,
      max_in_flight: options.maxInFlight,
      max_in_flight_bytes: options.maxInFlightBytes,
      session_timeout_ms: options.sessionTimeoutMs,
    }), options.timeoutMs);
    this._subscriptions.add(sub);
    return sub;
  }

  /**
   * Closes subscriptions, hands over and flushes publishes (up to timeoutMs
   * in all) and disconnects; what could not be delivered is rejected with
   * CLOSED. Idempotent.
   */
  async close(timeoutMs = -1) {
    if (this._closed) return;
    this._closed = true;
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    await Promise.all([...this._subscriptions].map((s) => s.close()));
    try {
      try {
        await this._backlogDrained(deadline);
      } catch {
        // Out of time: what still waits is rejected below.
      }
      const closed = new SprawlError('CLOSED', 10, 'the client closed before the message was sent', false);
      while (this._backlog.length > 0) this._fail(this._backlog.shift(), closed);
      this._backlogEmpty();
      await call(this._native.close(deadline === Infinity ? -1 : Math.max(0, deadline - Date.now())));
    } finally {
      this._takeOutcomes();
      for (const pending of this._pending.values()) {
        pending.reject(new SprawlError('CLOSED', 10, 'the client closed before the ack', false));
      }
      this._pending.clear();
    }
  }
}


// ---- logging -------------------------------------------------------------
// The library's records go to a logger the application gives (console, pino,
// winston, or any object with debug/info/warn/error), delivered on the event
// loop in batches. Without one they go to stderr (warnings and errors).

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'off'];
// pino's and bunyan's names for what the core calls error and off.
const LOG_LEVEL_ALIASES = { fatal: 'error', silent: 'off', warning: 'warn' };

function logLevelNumber(level) {
  const name = LOG_LEVEL_ALIASES[level] || level;
  const n = LOG_LEVELS.indexOf(name);
  if (n < 0) {
    throw new SprawlError('INVALID_ARGUMENT', 1,
      `unknown log level '${level}'; expected one of: ${LOG_LEVELS.join(', ')}`, false);
  }
  return n;
}

// pino and bunyan take (fields, message); console and winston (message, fields).
function fieldsFirst(logger) {
  return typeof logger.child === 'function' && logger.levels !== null &&
    typeof logger.levels === 'object' && typeof logger.levels.values === 'object';
}

/**
 * Sends the library's log records (every embedded node and client in this
 * process) to `logger`, or back to stderr with `null`. `options.level`
 * (default: the logger's own `level` when it is a level name, as pino's is,
 * else 'info') drops lower records in the core, before they are formatted;
 * `options.fieldsFirst` says how to call the logger (default: detected, true
 * for pino); `options.queueCapacity` bounds the records waiting for the event
 * loop (8192; the rest are dropped and counted by logDropped()).
 */
function setLogger(logger, options = {}) {
  if (logger === null || logger === undefined) {
    native.setLogSink(null);
    native.setLogLevel(logLevelNumber('warn'));
    return;
  }
  for (const method of ['debug', 'info', 'warn', 'error']) {
    if (typeof logger[method] !== 'function') {
      throw new TypeError(`a logger needs a ${method}() method`);
    }
  }
  const ownLevel = typeof logger.level === 'string' &&
    (LOG_LEVELS.includes(logger.level) || logger.level in LOG_LEVEL_ALIASES) ? logger.level : null;
  const level = logLevelNumber(options.level ?? ownLevel ?? 'info');
  const objectFirst = options.fieldsFirst ?? fieldsFirst(logger);
  const methods = [typeof logger.trace === 'function' ? 'trace' : 'debug', 'debug', 'info', 'warn', 'error'];
  native.setLogLevel(level);
  native.setLogSink((records) => {
    for (const r of records) {
      const fields = { component: r.component, ...r.fields };
      try {
        const method = methods[r.level] || 'error';
        if (objectFirst) {
          logger[method](fields, r.message);
        } else {
          logger[method](r.message, fields);
        }
      } catch {
        // A logger that throws loses its record, never the library's delivery.
      }
    }
  }, options.queueCapacity);
}

/** Sets the level below which the core drops records ('trace' .. 'error', 'off'). */
function setLogLevel(level) {
  native.setLogLevel(logLevelNumber(level));
}

/** The current level's name. */
function logLevel() {
  return LOG_LEVELS[native.getLogLevel()];
}

/** How many records were dropped because the logger or the event loop did not keep up. */
function logDropped() {
  return native.logStats().dropped;
}

/** An embedded node: `const node = await Node.start({ dataDir })`. */
class Node {
  constructor(handle) {
    this._handle = handle;
    this.address = handle.clientAddress;
    this.httpAddress = handle.httpAddress;
    this.peerAddress = handle.peerAddress;
    this._stopped = false;
  }

  static async start(options = {}) {
    // Logging is process-wide: a node's `logger` serves every node and client.
    if (options.logger !== undefined) setLogger(options.logger, { level: options.logLevel });
    const handle = await call(native.startNode(settings({
      data_dir: options.dataDir,
      storage: options.storage,
      node_id: options.nodeId,
      bind: options.bind,
      client_port: options.clientPort ?? 0,
      http_port: options.httpPort ?? 0,
      fsync: options.fsync,
      join: options.join,
      rack: options.rack,
    })));
    return new Node(handle);
  }

  async stop() {
    if (this._stopped) return;
    this._stopped = true;
    await call(this._handle.stop());
  }
}

module.exports = {
  Client, Node, Message, Subscription, SprawlError, version: native.version,
  setLogger, setLogLevel, logLevel, logDropped,
};
