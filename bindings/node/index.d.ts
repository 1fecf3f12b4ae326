// Type declarations of the sprawl package for Node.js.
/// <reference types="node" />
import { EventEmitter } from 'node:events';

export declare const version: string;

/** An error Sprawl reported; `code` is the name from docs/errors.md. */
export declare class SprawlError extends Error {
  readonly code: string;
  readonly codeNumber: number;
  readonly retriable: boolean;
}

export interface PublishAck {
  topic: string;
  partition: number;
  /** null with acks 'none': the node does not reply, so it is not known. */
  offset: number | null;
}

export interface ClientOptions {
  acks?: 'none' | 'leader' | 'all';
  lingerMs?: number;
  batchBytes?: number;
  /**
   * Bytes of messages buffered and not yet acknowledged (default 64 MiB).
   * Publishes beyond it wait, in order, for acknowledgements to free space:
   * their Promises settle later, and the event loop never blocks.
   */
  bufferBytes?: number;
  idempotent?: boolean;
  /** Fences earlier clients with the same name (their publishes fail with PRODUCER_FENCED). */
  producerName?: string;
  requestTimeoutMs?: number;
  deliveryTimeoutMs?: number;
  /** Sends the library's log records to this logger (process-wide; see setLogger). */
  logger?: Logger | null;
  logLevel?: LogLevel;
}

export interface TopicOptions {
  partitions?: number;
  retentionMs?: number;
  retentionBytes?: number;
  maxMessageBytes?: number;
  ackTimeoutMs?: number;
  maxDeliveries?: number;
  deadLetterTopic?: string;
  messageTtlMs?: number;
  /** Replicas per partition, 1 to 7 (default on a node: min(3, live nodes)). */
  replicationFactor?: number;
}

export type Bytes = Buffer | Uint8Array | string;

export interface PublishOptions {
  key?: Bytes | null;
  headers?: Record<string, Bytes>;
  partition?: number;
}

export interface SubscribeOptions {
  /** A consumer group; without one the topic is read by offset. */
  group?: string;
  /** 'earliest', 'latest', an offset, or '@<timestamp ms>'. */
  start?: string | number;
  partition?: number;
  autoAck?: boolean;
  /** Group credits: unacked messages the node sends ahead (default 1000). */
  maxInFlight?: number;
  /**
   * Byte budget: for a group, unacked bytes the node sends ahead (a larger
   * message comes alone); read by offset, the bytes one fetch returns.
   * Default 8 MiB.
   */
  maxInFlightBytes?: number;
  sessionTimeoutMs?: number;
  /** Iteration ends after this long without a message (default: never). */
  timeoutMs?: number;
}

/** Topic and group descriptions have the HTTP API's JSON shapes. */
export type Description = Record<string, any>;

/**
 * `key`, `value` and header values are views into a buffer shared with the
 * other messages of its batch, made when first read.
 */
export declare class Message {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestampMs: number;
  /** 1 on a first group delivery, more on redeliveries, 0 for reads by offset. */
  readonly deliveryCount: number;
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly headers: Record<string, Buffer>;
  ack(): Promise<void>;
  nack(delayMs?: number): Promise<void>;
}

export declare class Subscription extends EventEmitter implements AsyncIterable<Message> {
  receive(timeoutMs?: number): Promise<Message | null>;
  /**
   * Up to maxMessages messages (1000): waits up to timeoutMs for the first,
   * then takes those already received; an empty array after timeoutMs.
   */
  receiveMany(maxMessages?: number, timeoutMs?: number): Promise<Message[]>;
  /** Acks messages of this subscription in one call. */
  ackMany(messages: Iterable<Message>): Promise<void>;
  /** Nacks messages of this subscription in one call; redelivered after delayMs. */
  nackMany(messages: Iterable<Message>, delayMs?: number): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<Message>;
  /** Emits 'message', 'error' and 'end' instead of iterating. */
  start(): this;
  commit(): Promise<void>;
  close(): Promise<void>;
  on(event: 'message', listener: (message: Message) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'end', listener: () => void): this;
}

export declare class Client {
  constructor(address?: string, options?: ClientOptions);
  createTopic(name: string, options?: TopicOptions): Promise<Description>;
  alterTopic(name: string, options: TopicOptions): Promise<Description>;
  describeTopic(name: string): Promise<Description>;
  listTopics(): Promise<Description[]>;
  deleteTopic(name: string): Promise<void>;
  listGroups(topic?: string): Promise<Description[]>;
  describeGroup(topic: string, group: string): Promise<Description>;
  publish(topic: string, value: Bytes, options?: PublishOptions): Promise<PublishAck>;
  /**
   * Queues many messages at once; resolves with their count once all are
   * queued (later while the buffer is full). flush() reports the first failure.
   */
  publishMany(topic: string, values: Bytes[], options?: { key?: Bytes | null }): Promise<number>;
  flush(timeoutMs?: number): Promise<void>;
  subscribe(topic: string, options?: SubscribeOptions): Subscription;
  close(timeoutMs?: number): Promise<void>;
}

export interface NodeOptions {
  dataDir?: string;
  storage?: 'memory' | 'disk';
  nodeId?: string;
  bind?: string;
  clientPort?: number;
  httpPort?: number;
  fsync?: string;
  /** Peer addresses of nodes to join, comma-separated ("host:port" or "tcp://host:port"). */
  join?: string;
  rack?: string;
  /** Sends the library's log records to this logger (process-wide; see setLogger). */
  logger?: Logger | null;
  logLevel?: LogLevel;
}

export declare class Node {
  static start(options?: NodeOptions): Promise<Node>;
  readonly address: string;
  readonly httpAddress: string;
  /** The peer port; another node started with `join: node.peerAddress` forms a cluster with this one. */
  readonly peerAddress: string;
  stop(): Promise<void>;
}

/** The core's levels; pino's 'fatal' and 'silent' are taken as 'error' and 'off'. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'off' | 'fatal' | 'silent';

/** Anything with these methods: console, pino, winston, bunyan. */
export interface Logger {
  trace?(...args: any[]): unknown;
  debug(...args: any[]): unknown;
  info(...args: any[]): unknown;
  warn(...args: any[]): unknown;
  error(...args: any[]): unknown;
  level?: string;
}

export interface SetLoggerOptions {
  /** Records below it are dropped in the core (default: the logger's `level`, else 'info'). */
  level?: LogLevel;
  /** Call logger[level](fields, message) (pino, bunyan) rather than (message, fields). Detected. */
  fieldsFirst?: boolean;
  /** Records that may wait for the event loop before further ones are dropped (8192). */
  queueCapacity?: number;
}

/**
 * Sends the log records of every embedded node and client in this process to
 * `logger`, in batches on the event loop, with `{ component, node, topic, ... }`
 * fields; `null` goes back to stderr (warnings and errors).
 */
export declare function setLogger(logger: Logger | null, options?: SetLoggerOptions): void;
export declare function setLogLevel(level: LogLevel): void;
export declare function logLevel(): Exclude<LogLevel, 'fatal' | 'silent'>;
/** Records dropped because the logger or the event loop did not keep up. */
export declare function logDropped(): number;
