package io.sprawl;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CompletableFuture;

/**
 * The JNI entry points (src/main/native/sprawl_jni.cc). Handles are native
 * pointers owned by the Java objects that hold them; every method checks for
 * a zero handle and throws instead of crashing.
 */
final class Native {
  static {
    load();
    // The library's records go to System.Logger from the start, not to stderr.
    Logging.install();
  }

  private Native() {}

  /** From java.library.path, or else extracted from the jar (/native/linux-x86_64). */
  private static void load() {
    try {
      System.loadLibrary("sprawl_jni");
    } catch (UnsatisfiedLinkError notOnPath) {
      try {
        Path dir = Files.createTempDirectory("sprawl-native");
        for (String name : new String[] {"libsprawl.so", "libsprawl_jni.so"}) {
          try (InputStream in = Native.class.getResourceAsStream("/native/linux-x86_64/" + name)) {
            if (in == null) throw notOnPath;
            Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
          }
          dir.resolve(name).toFile().deleteOnExit();
        }
        System.load(dir.resolve("libsprawl_jni.so").toString());
      } catch (IOException e) {
        throw new UnsatisfiedLinkError("cannot extract the native library: " + e);
      }
    }
  }

  static native String version();

  static native long nodeStart(String[] settings);

  static native String nodeClientAddress(long node);

  static native String nodeHttpAddress(long node);

  static native String nodePeerAddress(long node);

  static native void nodeStop(long node);

  static native void nodeDestroy(long node);

  static native long clientOpen(String[] settings);

  /** op: createTopic, alterTopic, describeTopic, listTopics, deleteTopic, listGroups, describeGroup. */
  static native String clientAdmin(long client, String op, String a, String b, String[] settings);

  static native void clientPublish(long client, String topic, int partition, byte[] key,
      byte[] value, String[] headerNames, byte[][] headerValues, CompletableFuture<PublishAck> done);

  /** Queues every value without a future each; flush reports the first failure. */
  static native void clientPublishMany(long client, String topic, byte[] key, byte[][] values);

  static native void clientFlush(long client, int timeoutMs);

  static native void clientClose(long client, int timeoutMs);

  static native void clientDestroy(long client);

  static native long consumerOpen(long client, String[] settings);

  /** The next message's native handle, or 0 after timeoutMs. */
  static native long consumerReceive(long consumer, int timeoutMs);

  /**
   * Up to max native message handles: the first waits up to timeoutMs, the rest were already
   * received. Empty after timeoutMs.
   */
  static native long[] consumerReceiveMany(long consumer, int max, int timeoutMs);

  static native void consumerAck(long consumer, long message);

  static native void consumerNack(long consumer, long message, int delayMs);

  static native void consumerCommit(long consumer);

  static native void consumerClose(long consumer);

  static native void consumerDestroy(long consumer);

  /**
   * [topic, key (byte[] or null), value, header names (null: none), header values,
   * long[] {partition, offset, timestamp, delivery count}]. The topic is {@code knownTopic}
   * itself when it spells the message's topic (may be null).
   */
  static native Object[] messageFields(long message, String knownTopic);

  static native void messageDestroy(long message);

  // ---- logging (Logging) ----

  /** Sends records to Logging.deliver; capacity > 0 also sets the queue's bound. */
  static native void logInstall(int capacity);

  static native void logUninstall();

  /** sprawl_log_level_t: 0 trace .. 4 error, 5 off. */
  static native void logSetLevel(int level);

  static native int logGetLevel();

  static native long logDropped();

  static native void logWrite(int level, String component, String message);

  /** Records that reached Java, per level (trace .. error). */
  static native long[] logCrossed();
}
