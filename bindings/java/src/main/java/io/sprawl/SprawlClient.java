package io.sprawl;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongFunction;

/**
 * A connection to a Sprawl node: admin calls, publishing (batched, idempotent,
 * acknowledged through CompletableFutures) and consumers. Thread-safe.
 *
 * <pre>{@code
 * try (SprawlClient client = SprawlClient.builder().address(node.address()).build()) {
 *   client.createTopic("orders", Map.of("partitions", 4));
 *   PublishAck ack = client.publish("orders", "user-1".getBytes(), "hello".getBytes()).join();
 * }
 * }</pre>
 */
public final class SprawlClient implements AutoCloseable {
  private long handle;
  private volatile boolean closed;
  // Calls hold it shared; close takes it exclusively to set `closed`, so no
  // call (nor a consumer being opened) is in progress once it is set.
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  // The open consumers, closed before the client; a consumer leaves the set
  // when it closes. Guarded by its own monitor.
  private final Set<Consumer> consumers = new LinkedHashSet<>();

  private SprawlClient(Settings settings) {
    this.handle = Native.clientOpen(settings.flatten());
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The JSON description of the new topic. Settings: docs/c-api.md (topic keys). */
  public String createTopic(String name, Map<String, ?> settings) {
    return admin("createTopic", name, null, settings);
  }

  public String createTopic(String name) {
    return createTopic(name, Map.of());
  }

  public String alterTopic(String name, Map<String, ?> settings) {
    return admin("alterTopic", name, null, settings);
  }

  public String describeTopic(String name) {
    return admin("describeTopic", name, null, Map.of());
  }

  public String listTopics() {
    return admin("listTopics", null, null, Map.of());
  }

  public void deleteTopic(String name) {
    admin("deleteTopic", name, null, Map.of());
  }

  public String listGroups(String topic) {
    return admin("listGroups", topic, null, Map.of());
  }

  public String describeGroup(String topic, String group) {
    return admin("describeGroup", topic, group, Map.of());
  }

  private String admin(String op, String a, String b, Map<String, ?> settings) {
    Settings s = new Settings();
    settings.forEach(s::put);
    return withHandle(h -> Native.clientAdmin(h, op, a, b, s.flatten()));
  }

  /** Publishes a message with a key (null for none) and no headers. */
  public CompletableFuture<PublishAck> publish(String topic, byte[] key, byte[] value) {
    return publish(topic, key, value, Map.of(), -1);
  }

  /**
   * Queues a message for a batch; the future completes with where it was
   * stored once acknowledged (on a library thread), or with a
   * SprawlException. {@code partition} < 0 picks it by key.
   */
  public CompletableFuture<PublishAck> publish(String topic, byte[] key, byte[] value,
      Map<String, byte[]> headers, int partition) {
    if (value == null) throw new NullPointerException("value");
    String[] names = headers.keySet().toArray(new String[0]);
    byte[][] values = new byte[names.length][];
    for (int i = 0; i < names.length; i++) values[i] = headers.get(names[i]);
    CompletableFuture<PublishAck> done = new CompletableFuture<>();
    withHandle(h -> {
      Native.clientPublish(h, topic, partition, key, value, names, values, done);
      return null;
    });
    return done;
  }

  /** Publishes and waits for the acknowledgement; throws SprawlException. */
  public PublishAck publishSync(String topic, byte[] key, byte[] value) {
    return publishSync(topic, key, value, Map.of(), -1);
  }

  /** Publishes with headers and waits for the acknowledgement; throws SprawlException. */
  public PublishAck publishSync(String topic, byte[] key, byte[] value,
      Map<String, byte[]> headers) {
    return publishSync(topic, key, value, headers, -1);
  }

  /**
   * Publishes with headers to {@code partition} (< 0 picks it by key) and
   * waits for the acknowledgement; throws SprawlException.
   */
  public PublishAck publishSync(String topic, byte[] key, byte[] value,
      Map<String, byte[]> headers, int partition) {
    try {
      return publish(topic, key, value, headers, partition).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof SprawlException s) throw s;
      throw e;
    }
  }

  /**
   * Queues many messages in one call, the fast path for bulk loads: no
   * future per message; {@link #flush(Duration)} waits for their acks and
   * throws the first failure. Returns how many were queued.
   */
  public int publishMany(String topic, byte[] key, java.util.List<byte[]> values) {
    byte[][] all = values.toArray(new byte[0][]);
    for (byte[] v : all) {
      if (v == null) throw new NullPointerException("a value is null");
    }
    withHandle(h -> {
      Native.clientPublishMany(h, topic, key, all);
      return null;
    });
    return all.length;
  }

  /** Waits until everything published so far is acknowledged or failed. */
  public void flush(Duration timeout) {
    int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    withHandle(h -> {
      Native.clientFlush(h, ms);
      return null;
    });
  }

  /** A consumer of {@code topic}: in {@code group}, or by offset when group is null. */
  public Consumer subscribe(String topic, String group) {
    return subscribe(topic, group, Map.of());
  }

  /**
   * A consumer with more settings: start ("earliest", "latest", an offset),
   * partition, auto_ack, max_in_flight, max_in_flight_bytes (a group's unacked
   * bytes, or the bytes of one fetch by offset; default 8 MiB),
   * session_timeout_ms.
   */
  public Consumer subscribe(String topic, String group, Map<String, ?> settings) {
    Settings s = new Settings().put("topic", topic).put("group", group);
    settings.forEach(s::put);
    // Registered under the shared lock: close cannot snapshot the set between
    // the native open and the registration, so no consumer outlives its client.
    return withHandle(h -> {
      Consumer consumer = new Consumer(this, h, s, group != null);
      synchronized (consumers) {
        consumers.add(consumer);
      }
      return consumer;
    });
  }

  /** Called by a consumer once it is closed and freed. */
  void forget(Consumer consumer) {
    synchronized (consumers) {
      consumers.remove(consumer);
    }
  }

  /** How many consumers of this client are open. */
  int openConsumers() {
    synchronized (consumers) {
      return consumers.size();
    }
  }

  private <T> T withHandle(LongFunction<T> call) {
    lifecycle.readLock().lock();
    try {
      if (closed) throw SprawlException.closed("the client");
      return call.apply(handle);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /**
   * Closes its consumers, flushes, fails what is left with CLOSED,
   * disconnects and frees. Idempotent: a close racing another returns once
   * the client is freed. An error closing a consumer is thrown after
   * everything is freed.
   */
  @Override
  public synchronized void close() {
    List<Consumer> open;
    lifecycle.writeLock().lock();
    try {
      if (closed) return;
      closed = true;  // no call, and no subscribe, starts from here
      synchronized (consumers) {
        open = new ArrayList<>(consumers);
      }
    } finally {
      lifecycle.writeLock().unlock();
    }
    RuntimeException failure = null;
    for (Consumer c : open) {
      try {
        c.close();  // waits for a close already running on another thread
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    try {
      Native.clientClose(handle, -1);
    } catch (RuntimeException e) {
      if (failure == null) {
        failure = e;
      } else {
        failure.addSuppressed(e);
      }
    }
    Native.clientDestroy(handle);
    handle = 0;
    if (failure != null) throw failure;
  }

  /** Client options; every one has a default. */
  public static final class Builder {
    private final Settings settings = new Settings();

    public Builder address(String address) {
      settings.put("server", address);
      return this;
    }

    /** "none", "leader" or "all" (the default). */
    public Builder acks(String acks) {
      settings.put("acks", acks);
      return this;
    }

    public Builder linger(Duration linger) {
      settings.put("linger_ms", linger.toMillis());
      return this;
    }

    public Builder batchBytes(int bytes) {
      settings.put("batch_bytes", bytes);
      return this;
    }

    /**
     * Names the client's producer: a client started later with the same name fences this one,
     * whose publishes then fail with a {@link SprawlException} of code {@code PRODUCER_FENCED}.
     */
    public Builder producerName(String name) {
      settings.put("producer_name", name);
      return this;
    }

    public Builder idempotent(boolean on) {
      settings.put("idempotent", on);
      return this;
    }

    public Builder requestTimeout(Duration timeout) {
      settings.put("request_timeout_ms", timeout.toMillis());
      return this;
    }

    public Builder deliveryTimeout(Duration timeout) {
      settings.put("delivery_timeout_ms", timeout.toMillis());
      return this;
    }

    public SprawlClient build() {
      return new SprawlClient(settings);
    }
  }
}
