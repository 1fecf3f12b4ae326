package io.sprawl;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongFunction;

/**
 * A consumer-group member or an offset reader. One thread polls at a time;
 * acks, nacks and {@link #close()} may come from any thread, and a close ends
 * a waiting poll.
 */
public final class Consumer implements AutoCloseable, Iterable<Message> {
  private final SprawlClient client;
  private long handle;  // written only by close, under the monitor and the write lock
  private final boolean grouped;
  private volatile boolean closed;
  // Calls hold it shared; destroying the native consumer takes it exclusively,
  // so a poll, ack or nack on another thread never runs on a freed consumer.
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  // The topic String of the last message polled, which the next one reuses
  // when it spells the same topic. Written by the polling thread; a stale
  // value costs a new String, never a wrong one.
  String lastTopic;

  /** Opens the native consumer; the caller holds the client's lifecycle lock shared. */
  Consumer(SprawlClient client, long clientHandle, Settings settings, boolean grouped) {
    this.client = client;
    this.handle = Native.consumerOpen(clientHandle, settings.flatten());
    this.grouped = grouped;
  }

  /** The next message, or empty when none came within {@code timeout}. */
  public Optional<Message> poll(Duration timeout) {
    int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    long message = withHandle(h -> Native.consumerReceive(h, ms));
    return message == 0 ? Optional.empty() : Optional.of(new Message(this, message));
  }

  /**
   * Up to {@code max} messages in one call into the library: waits up to {@code timeout} for
   * the first, then adds those already received without waiting; empty when none came in time.
   * In the order they were received (offset order within a partition). A close from another
   * thread ends the wait; a batch already taken is returned, the next call throws.
   */
  public List<Message> pollMany(int max, Duration timeout) {
    if (max < 1) throw new IllegalArgumentException("max must be at least 1");
    int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    long[] handles = withHandle(h -> Native.consumerReceiveMany(h, max, ms));
    List<Message> out = new ArrayList<>(handles.length);
    try {
      for (long m : handles) out.add(new Message(this, m));
    } finally {
      // A message that failed to build, and those after it, are freed here.
      for (int j = out.size(); j < handles.length; j++) Native.messageDestroy(handles[j]);
    }
    return out;
  }

  /** Messages until one second passes without one (see {@link #iterator(Duration)}). */
  @Override
  public Iterator<Message> iterator() {
    return iterator(Duration.ofSeconds(1));
  }

  /** Messages until {@code idle} passes without one, or the consumer closes. */
  public Iterator<Message> iterator(Duration idle) {
    return new Iterator<>() {
      private Message next;

      @Override
      public boolean hasNext() {
        if (next == null && !closed) next = poll(idle).orElse(null);
        return next != null;
      }

      @Override
      public Message next() {
        if (!hasNext()) throw new NoSuchElementException();
        Message m = next;
        next = null;
        return m;
      }
    };
  }

  /**
   * Calls {@code listener} for each message on a new thread until the
   * consumer is closed; returns that thread. An exception from the listener
   * stops it.
   */
  public Thread listen(java.util.function.Consumer<Message> listener) {
    Thread t = new Thread(() -> {
      while (!closed) {
        try {
          poll(Duration.ofMillis(200)).ifPresent(listener);
        } catch (SprawlException e) {
          if (closed) return;
          throw e;
        }
      }
    }, "sprawl-listener");
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** Sends pending acks and nacks now and waits for the node. */
  public void commit() {
    withHandle(h -> {
      Native.consumerCommit(h);
      return 0L;
    });
  }

  void ack(long message) {
    if (!grouped) throw new IllegalStateException("messages read by offset are not acked");
    withHandle(h -> {
      Native.consumerAck(h, message);
      return 0L;
    });
  }

  void nack(long message, Duration delay) {
    if (!grouped) throw new IllegalStateException("messages read by offset are not nacked");
    int ms = (int) Math.min(Integer.MAX_VALUE, delay.toMillis());
    withHandle(h -> {
      Native.consumerNack(h, message, ms);
      return 0L;
    });
  }

  private <T> T withHandle(LongFunction<T> call) {
    lifecycle.readLock().lock();
    try {
      if (handle == 0 || closed) throw SprawlException.closed("the consumer");
      return call.apply(handle);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /**
   * Sends pending acks, leaves the group and frees the native consumer; ends a
   * waiting poll. Idempotent: a close racing another returns once the
   * consumer is freed. Throws the error of leaving the group, if any, after
   * freeing it all the same.
   */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;  // from here no call starts; calls in progress finish
    try {
      Native.consumerClose(handle);  // wakes a group poll waiting on another thread
    } finally {
      lifecycle.writeLock().lock();
      try {
        Native.consumerDestroy(handle);
        handle = 0;
      } finally {
        lifecycle.writeLock().unlock();
      }
      client.forget(this);
    }
  }
}
