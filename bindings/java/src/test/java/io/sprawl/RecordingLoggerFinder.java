package io.sprawl;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.MissingResourceException;
import java.util.ResourceBundle;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;

/**
 * The tests' System.LoggerFinder (registered in META-INF/services): the
 * "io.sprawl" logger keeps what it gets, at a level the tests set, and can be
 * made to throw or to block. Other loggers discard everything.
 */
public final class RecordingLoggerFinder extends System.LoggerFinder {
  public record Entry(Level level, String message) {}

  static final List<Entry> records = new ArrayList<>();
  static volatile Level level = Level.WARNING;
  static volatile boolean throwing = false;
  static volatile CountDownLatch blockUntil = null;
  static volatile CountDownLatch entered = null;

  static synchronized List<Entry> snapshot() {
    return new ArrayList<>(records);
  }

  static synchronized void clear() {
    records.clear();
  }

  /** The first record whose message starts with {@code prefix}, waiting up to 10 s. */
  static Entry waitFor(String prefix) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    synchronized (RecordingLoggerFinder.class) {
      while (true) {
        for (Entry e : records) {
          if (e.message().startsWith(prefix)) return e;
        }
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) throw new AssertionError("no record '" + prefix + "' in " + records);
        RecordingLoggerFinder.class.wait(left);
      }
    }
  }

  @Override
  public Logger getLogger(String name, Module module) {
    return name.equals(Logging.LOGGER_NAME) ? RECORDING : DISCARDING;
  }

  private static final Logger RECORDING = new Logger() {
    @Override
    public String getName() {
      return Logging.LOGGER_NAME;
    }

    @Override
    public boolean isLoggable(Level l) {
      return l != Level.OFF && l.getSeverity() >= level.getSeverity();
    }

    @Override
    public void log(Level l, ResourceBundle bundle, String msg, Throwable thrown) {
      log(l, bundle, msg, (Object[]) null);
    }

    @Override
    public void log(Level l, ResourceBundle bundle, String format, Object... params) {
      CountDownLatch block = blockUntil;
      if (block != null) {
        CountDownLatch in = entered;
        if (in != null) in.countDown();
        try {
          block.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (throwing) throw new IllegalStateException("a broken logger");
      synchronized (RecordingLoggerFinder.class) {
        records.add(new Entry(l, format));
        RecordingLoggerFinder.class.notifyAll();
      }
    }
  };

  private static final Logger DISCARDING = new Logger() {
    @Override
    public String getName() {
      return "discarding";
    }

    @Override
    public boolean isLoggable(Level l) {
      return false;
    }

    @Override
    public void log(Level l, ResourceBundle bundle, String msg, Throwable thrown) {}

    @Override
    public void log(Level l, ResourceBundle bundle, String format, Object... params) {}
  };
}
