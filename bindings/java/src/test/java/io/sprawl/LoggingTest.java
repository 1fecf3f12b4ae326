package io.sprawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The library's log records through System.Logger: each level with its
 * component, nothing below the logger's level reaching the JVM, nothing on
 * stderr, and loggers that throw or block not breaking the core.
 */
class LoggingTest {
  private static final String[] NAMES = {"trace", "debug", "info", "warn", "error"};
  private static final Level[] LEVELS = {
    Level.TRACE, Level.DEBUG, Level.INFO, Level.WARNING, Level.ERROR
  };

  @BeforeEach
  void reset() {
    Native.version();  // loads the library, which installs the bridge
    RecordingLoggerFinder.clear();
    RecordingLoggerFinder.throwing = false;
    RecordingLoggerFinder.blockUntil = null;
  }

  @AfterEach
  void restore() {
    RecordingLoggerFinder.throwing = false;
    RecordingLoggerFinder.level = Level.WARNING;
    Logging.refreshLevel();
  }

  @Test
  void everyLevelArrivesWithItsComponent() throws InterruptedException {
    RecordingLoggerFinder.level = Level.TRACE;
    Logging.refreshLevel();
    assertEquals(Level.TRACE, Logging.level());
    for (int i = 0; i < 5; i++) Native.logWrite(i, "app", "at " + NAMES[i]);
    for (int i = 0; i < 5; i++) {
      RecordingLoggerFinder.Entry e = RecordingLoggerFinder.waitFor("app: at " + NAMES[i]);
      assertEquals(LEVELS[i], e.level());
    }
  }

  @Test
  void coreRecordsCarryComponentAndFields() throws InterruptedException {
    RecordingLoggerFinder.level = Level.INFO;
    Logging.refreshLevel();
    try (EmbeddedNode node = EmbeddedNode.builder().nodeId("java-log-node").start();
        SprawlClient client = SprawlClient.builder().address(node.address()).build()) {
      client.createTopic("java-logged");
      RecordingLoggerFinder.Entry created = RecordingLoggerFinder.waitFor("broker: topic created");
      assertEquals(Level.INFO, created.level());
      assertTrue(created.message().contains("topic=java-logged"), created.message());
      assertTrue(created.message().contains("node=java-log-node"), created.message());
      assertEquals(Level.INFO, RecordingLoggerFinder.waitFor("node: node listening").level());
    }
  }

  @Test
  void belowTheLevelNeverReachesTheJvm() throws InterruptedException {
    RecordingLoggerFinder.level = Level.WARNING;
    Logging.refreshLevel();
    assertEquals(Level.WARNING, Logging.level());
    long[] before = Native.logCrossed();
    Native.logWrite(2, "app", "below the level");
    Native.logWrite(1, "app", "far below the level");
    try (EmbeddedNode node = EmbeddedNode.start()) {
      // starting logs at info
    }
    Native.logWrite(3, "app", "the marker");
    RecordingLoggerFinder.waitFor("app: the marker");
    long[] after = Native.logCrossed();
    for (int i = 0; i < 3; i++) assertEquals(before[i], after[i], "level " + NAMES[i]);
  }

  @Test
  void aThrowingLoggerBreaksNothing() throws InterruptedException {
    RecordingLoggerFinder.level = Level.INFO;
    Logging.refreshLevel();
    RecordingLoggerFinder.throwing = true;
    try (EmbeddedNode node = EmbeddedNode.start();
        SprawlClient client = SprawlClient.builder().address(node.address()).build()) {
      client.createTopic("java-throwing");
      client.publishSync("java-throwing", null, "v".getBytes(StandardCharsets.UTF_8));
    }
    RecordingLoggerFinder.throwing = false;
    Native.logWrite(3, "app", "after the broken logger");
    RecordingLoggerFinder.waitFor("app: after the broken logger");
  }

  @Test
  void aBlockingLoggerDropsRecordsButNotTheCore() throws InterruptedException {
    RecordingLoggerFinder.level = Level.INFO;
    Logging.install(8);
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch entered = new CountDownLatch(1);
    RecordingLoggerFinder.entered = entered;
    RecordingLoggerFinder.blockUntil = release;
    try {
      long dropped = Logging.dropped();
      Native.logWrite(3, "app", "first");
      assertTrue(entered.await(10, TimeUnit.SECONDS));
      long started = System.nanoTime();
      for (int i = 0; i < 200; i++) Native.logWrite(3, "app", "flood");
      try (EmbeddedNode node = EmbeddedNode.start();
          SprawlClient client = SprawlClient.builder().address(node.address()).build()) {
        client.createTopic("java-blocked");
        client.publishSync("java-blocked", null, "v".getBytes(StandardCharsets.UTF_8));
      }
      assertTrue(System.nanoTime() - started < 20_000_000_000L);
      assertTrue(Logging.dropped() - dropped >= 200 - 8, "dropped " + (Logging.dropped() - dropped));
    } finally {
      RecordingLoggerFinder.blockUntil = null;
      release.countDown();
      Logging.install(8192);
    }
  }

  /** A JVM that embeds a node writes nothing of the library's on stderr. */
  @Test
  void nothingOnStderr() throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java,
        "-Djava.library.path=" + System.getProperty("java.library.path"),
        "-cp", System.getProperty("java.class.path"), QuietMain.class.getName()));
    Process p = new ProcessBuilder(command).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), err);
    assertEquals("done\n", out);
    assertEquals("", err);
  }

  /** Embeds a node and logs everything (to the recording logger): nothing for stderr. */
  public static final class QuietMain {
    public static void main(String[] args) {
      RecordingLoggerFinder.level = Level.TRACE;
      Native.version();
      Logging.refreshLevel();
      try (EmbeddedNode node = EmbeddedNode.start();
          SprawlClient client = SprawlClient.builder().address(node.address()).build()) {
        client.createTopic("quiet");
        client.publishSync("quiet", null, "v".getBytes(StandardCharsets.UTF_8));
      }
      System.out.println("done");
    }
  }
}
