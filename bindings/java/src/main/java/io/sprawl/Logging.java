package io.sprawl;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;

/**
 * The library's log records in the application's logging, through {@code
 * System.getLogger("io.sprawl")}: route it to SLF4J, Log4j or
 * java.util.logging as the application already does (a {@code
 * System.LoggerFinder}, or the JDK's default, java.util.logging).
 *
 * <p>Each record becomes one message, {@code "<component>: <message>
 * key=value ..."}, at the matching level (the core's trace, debug, info,
 * warn and error are TRACE, DEBUG, INFO, WARNING and ERROR), with the fields
 * the core knows: node, topic, partition, group, error, trace_id. The core
 * drops records below the lowest level the logger takes where they are
 * written, so they never reach the JVM; that level is read when the library
 * loads and again by {@link #refreshLevel()} (call it after changing the
 * logging configuration), or set outright by {@link #setLevel}.
 *
 * <p>Records reach the logger on one library thread ("sprawl-core", a daemon),
 * never on the threads that do the work: a logger that is slow, blocks or
 * throws loses records (counted by {@link #dropped()}), never slows the core.
 */
public final class Logging {
  /** The logger every record goes to. */
  public static final String LOGGER_NAME = "io.sprawl";

  private static final Level[] LEVELS = {
    Level.TRACE, Level.DEBUG, Level.INFO, Level.WARNING, Level.ERROR
  };
  private static final int OFF = 5;

  private Logging() {}

  /** Routes the records to System.Logger (done when the library loads). */
  static void install() {
    Native.logInstall(0);
    refreshLevel();
  }

  /** As install, with at most {@code capacity} records waiting for the logger. */
  static void install(int capacity) {
    Native.logInstall(capacity);
    refreshLevel();
  }

  /**
   * Sets the core's level to the lowest level {@code System.getLogger("io.sprawl")}
   * is loggable at (OFF when none is).
   */
  public static void refreshLevel() {
    Logger logger = System.getLogger(LOGGER_NAME);
    int level = OFF;
    for (int i = 0; i < LEVELS.length; i++) {
      if (logger.isLoggable(LEVELS[i])) {
        level = i;
        break;
      }
    }
    Native.logSetLevel(level);
  }

  /**
   * Drops records below {@code level} in the core, whatever the logger takes
   * (ALL is TRACE, OFF drops everything). Lasts until the next {@link #refreshLevel()}.
   */
  public static void setLevel(Level level) {
    switch (level) {
      case ALL, TRACE -> Native.logSetLevel(0);
      case DEBUG -> Native.logSetLevel(1);
      case INFO -> Native.logSetLevel(2);
      case WARNING -> Native.logSetLevel(3);
      case ERROR -> Native.logSetLevel(4);
      case OFF -> Native.logSetLevel(OFF);
      default -> throw new IllegalArgumentException("unknown level " + level);
    }
  }

  /** The level below which the core drops records (OFF: all of them). */
  public static Level level() {
    int level = Native.logGetLevel();
    return level >= 0 && level < LEVELS.length ? LEVELS[level] : Level.OFF;
  }

  /** How many records were dropped because the logger did not keep up. */
  public static long dropped() {
    return Native.logDropped();
  }

  /** Called by the library on its log delivery thread. Never throws. */
  static void deliver(int level, String component, String message, long timestampMs,
      String[] fields) {
    try {
      Level mapped = level >= 0 && level < LEVELS.length ? LEVELS[level] : Level.ERROR;
      Logger logger = System.getLogger(LOGGER_NAME);
      if (!logger.isLoggable(mapped)) return;
      StringBuilder text = new StringBuilder(component.length() + message.length() + 16 * fields.length);
      text.append(component).append(": ").append(message);
      for (int i = 0; i + 1 < fields.length; i += 2) {
        text.append(' ').append(fields[i]).append('=').append(fields[i + 1]);
      }
      logger.log(mapped, text.toString());
    } catch (Throwable t) {
      // A logger that throws loses this record; the library's delivery goes on.
    }
  }
}
