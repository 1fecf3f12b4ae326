'use strict';
// Received messages arrive in batches: one native call hands over a whole
// batch as one byte buffer and one table of numbers (the layout of
// src/batch.h). A Message reads its numbers from the table when it is made
// and slices key, value and headers out of the buffer only when they are
// read, so a message costs one small object until it is used. Acks and nacks
// are marks in the batch's Int32Array that the subscription passes to the
// native consumer many at a time.

// The table's columns, FIELDS numbers a message (src/batch.h, BatchField).
const PARTITION = 0;
const OFFSET = 1;
const TIMESTAMP_MS = 2;
const DELIVERY_COUNT = 3;
const KEY_START = 4;
const KEY_END = 5;
const VALUE_START = 6;
const VALUE_END = 7;
const HEADER_FIRST = 8;
const HEADER_COUNT = 9;
const FIELDS = 10;
const HEADER_FIELDS = 4;  // name start, name end, value start, value end

// A message's settle mark (src/addon.cc, SettleMark): OPEN until settled,
// ACK_WANTED or NACK_BASE + delay until the native consumer has it, SETTLED
// after.
const OPEN = 0;
const ACK_WANTED = -1;
const SETTLED = -2;
const NACK_BASE = 1;

/** One native batch and how far it has been handed out and settled. */
class Batch {
  constructor(raw, subscription) {
    this.topic = raw.topic;
    this.table = raw.table;
    this.headerTable = raw.headerTable;
    this.bytes = raw.bytes;
    this.handle = raw.handle;
    this.subscription = subscription;
    this.length = raw.table.length / FIELDS;
    this.next = 0;  // the next message to hand out
    this.marks = new Int32Array(this.length);
    // The range of marks the native consumer has not seen ([low, high)).
    this.low = this.length;
    this.high = 0;
  }

  /** The next message of the batch; the caller checks that one is left. */
  take() { return new Message(this, this.next++); }

  /** Marks message `index` for an ack or a nack; false when it was settled before. */
  mark(index, mark) {
    if (this.marks[index] !== OPEN) return false;
    this.marks[index] = mark;
    if (index < this.low) this.low = index;
    if (index >= this.high) this.high = index + 1;
    return true;
  }

  /** Hands the new marks to the native consumer; the first error, if any. */
  flush(consumer) {
    if (this.low >= this.high) return undefined;
    const error = consumer.settle(this.handle, this.marks, this.low, this.high);
    this.low = this.length;
    this.high = 0;
    return error;
  }
}

/**
 * A received message; `ack()`/`nack(delayMs)` settle it (group messages).
 * `key`, `value` and header values are views into a buffer the message
 * shares with the others of its batch: keeping one keeps that buffer (copy
 * with Buffer.from() to keep a value alone for long).
 */
class Message {
  #batch;
  #index;
  #key;
  #value;
  #headers;

  constructor(batch, index) {
    const t = batch.table;
    const at = index * FIELDS;
    this.topic = batch.topic;
    this.partition = t[at + PARTITION];
    this.offset = t[at + OFFSET];
    this.timestampMs = t[at + TIMESTAMP_MS];
    this.deliveryCount = t[at + DELIVERY_COUNT];
    this.#batch = batch;
    this.#index = index;
  }

  /** The key as a Buffer, null when the message has none. */
  get key() {
    if (this.#key === undefined) {
      const at = this.#index * FIELDS;
      const start = this.#batch.table[at + KEY_START];
      this.#key = start < 0 ? null : this.#batch.bytes.subarray(start, this.#batch.table[at + KEY_END]);
    }
    return this.#key;
  }

  set key(key) { this.#key = key; }

  get value() {
    if (this.#value === undefined) {
      const at = this.#index * FIELDS;
      this.#value = this.#batch.bytes.subarray(this.#batch.table[at + VALUE_START],
        this.#batch.table[at + VALUE_END]);
    }
    return this.#value;
  }

  set value(value) { this.#value = value; }

  /** The headers by name, values as Buffers. */
  get headers() {
    if (this.#headers === undefined) {
      const batch = this.#batch;
      const at = this.#index * FIELDS;
      const headers = {};
      const first = batch.table[at + HEADER_FIRST];
      const count = batch.table[at + HEADER_COUNT];
      for (let h = first; h < first + count; h++) {
        const hat = h * HEADER_FIELDS;
        const ht = batch.headerTable;
        headers[batch.bytes.toString('utf8', ht[hat], ht[hat + 1])] = batch.bytes.subarray(ht[hat + 2], ht[hat + 3]);
      }
      this.#headers = headers;
    }
    return this.#headers;
  }

  set headers(headers) { this.#headers = headers; }

  /** Settles the message: it is not delivered again. The first settle of a message counts. */
  async ack() { this.#batch.subscription._settle(this.#batch, this.#index, ACK_WANTED); }

  /** Hands the message back for redelivery after delayMs. */
  async nack(delayMs = 0) { this.#batch.subscription._settle(this.#batch, this.#index, NACK_BASE, delayMs); }

  /** For Subscription: the batch and index behind a message of this module. */
  static _place(message) { return [message.#batch, message.#index]; }

  toJSON() {
    return {
      topic: this.topic, partition: this.partition, offset: this.offset, timestampMs: this.timestampMs,
      deliveryCount: this.deliveryCount, key: this.key, value: this.value, headers: this.headers,
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](depth, options, inspect) {
    return `Message ${inspect(this.toJSON(), options)}`;
  }
}

module.exports = { Batch, Message, ACK_WANTED, NACK_BASE, SETTLED };
