package io.sprawl;

import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * A received message. Group messages are settled with {@link #ack()} or
 * {@link #nack(Duration)}. The native message is freed by {@link #close()}
 * (after which ack and nack throw SprawlException CLOSED) or, at the latest,
 * when the garbage collector finds the Message unreachable.
 */
public final class Message implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();

  /**
   * The native handle, shared with the cleaner so it is freed exactly once.
   * Its monitor is held while the handle is in use, so a close (or the
   * cleaner) waits for an ack or nack in progress instead of freeing the
   * message under it.
   */
  private static final class Handle implements Runnable {
    private long value;

    Handle(long value) {
      this.value = value;
    }

    synchronized void use(LongConsumer call) {
      if (value == 0) throw SprawlException.closed("the message");
      call.accept(value);
    }

    @Override
    public synchronized void run() {
      if (value != 0) Native.messageDestroy(value);
      value = 0;
    }
  }

  private final Consumer consumer;
  private final Handle handle;
  private final Cleaner.Cleanable cleanable;
  private final String topic;
  private final byte[] key;
  private final byte[] value;
  private final Map<String, byte[]> headers;
  private final int partition;
  private final long offset;
  private final long timestampMs;
  private final int deliveryCount;

  Message(Consumer consumer, long handle) {
    this.consumer = consumer;
    this.handle = new Handle(handle);
    this.cleanable = CLEANER.register(this, this.handle);
    // The consumer's messages share a topic: passing the last one's String
    // spares building a new one per message.
    Object[] f = Native.messageFields(handle, consumer.lastTopic);
    this.topic = (String) f[0];
    consumer.lastTopic = this.topic;
    this.key = (byte[]) f[1];
    this.value = (byte[]) f[2];
    String[] names = (String[]) f[3];
    if (names == null) {
      this.headers = Collections.emptyMap();
    } else {
      byte[][] values = (byte[][]) f[4];
      Map<String, byte[]> h = new LinkedHashMap<>();
      for (int i = 0; i < names.length; i++) h.put(names[i], values[i]);
      this.headers = Collections.unmodifiableMap(h);
    }
    long[] numbers = (long[]) f[5];
    this.partition = (int) numbers[0];
    this.offset = numbers[1];
    this.timestampMs = numbers[2];
    this.deliveryCount = (int) numbers[3];
  }

  public String topic() {
    return topic;
  }

  public int partition() {
    return partition;
  }

  public long offset() {
    return offset;
  }

  public long timestampMs() {
    return timestampMs;
  }

  /** 1 on a first group delivery, more on redeliveries, 0 for reads by offset. */
  public int deliveryCount() {
    return deliveryCount;
  }

  /** The key, or null when the message has none. */
  public byte[] key() {
    return key;
  }

  public byte[] value() {
    return value;
  }

  /** The value as a read-only buffer (no copy). */
  public ByteBuffer valueBuffer() {
    return ByteBuffer.wrap(value).asReadOnlyBuffer();
  }

  public Map<String, byte[]> headers() {
    return headers;
  }

  /**
   * Settles the message: its group will not deliver it again. Any thread;
   * SprawlException CLOSED once the message or its consumer is closed.
   */
  public void ack() {
    handle.use(consumer::ack);
  }

  /**
   * Hands the message back for redelivery after {@code delay}. Any thread;
   * SprawlException CLOSED once the message or its consumer is closed.
   */
  public void nack(Duration delay) {
    handle.use(h -> consumer.nack(h, delay));
  }

  /** Frees the native message (waiting for an ack or nack in progress). Idempotent. */
  @Override
  public void close() {
    cleanable.clean();
  }
}
