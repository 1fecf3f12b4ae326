package io.sprawl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SprawlClientTest {
  private static EmbeddedNode node;
  private static SprawlClient client;
  private static final AtomicInteger names = new AtomicInteger();

  @BeforeAll
  static void start() {
    node = EmbeddedNode.start();
    client = SprawlClient.builder().address(node.address()).linger(Duration.ofMillis(1)).build();
  }

  @AfterAll
  static void stop() {
    client.close();
    node.close();
  }

  static String unique(String prefix) {
    return prefix + names.incrementAndGet();
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void roundTripKeepsKeyValueAndHeaders() {
    String topic = unique("rt");
    client.createTopic(topic, Map.of("partitions", 1));
    PublishAck ack = client.publish(topic, bytes("user-1"), new byte[] {0, 1, (byte) 255},
        Map.of("trace", bytes("abc")), -1).join();
    assertEquals(new PublishAck(topic, 0, 0), ack);
    try (Consumer reader = client.subscribe(topic, null)) {
      Message m = reader.poll(Duration.ofSeconds(10)).orElseThrow();
      assertArrayEquals(new byte[] {0, 1, (byte) 255}, m.value());
      assertEquals("user-1", text(m.key()));
      assertEquals("abc", text(m.headers().get("trace")));
      assertEquals(0, m.deliveryCount());
      assertTrue(m.timestampMs() > 0);
      assertEquals(3, m.valueBuffer().remaining());
      assertThrows(IllegalStateException.class, m::ack, "reads by offset are not acked");
      assertTrue(reader.poll(Duration.ofMillis(200)).isEmpty());
    }
  }

  @Test
  void theSameKeyLandsOnTheDocumentedPartition() {
    String topic = unique("keys");
    client.createTopic(topic, Map.of("partitions", 16));
    for (int i = 0; i < 3; i++) {
      assertEquals(9, client.publishSync(topic, bytes("user-1"), bytes("x")).partition());
    }
  }

  @Test
  void aGroupDeliversEverythingAndANackRedelivers() {
    String topic = unique("group");
    client.createTopic(topic, Map.of("partitions", 3));
    List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
    for (int i = 0; i < 300; i++) acks.add(client.publish(topic, bytes("k" + i), bytes("" + i)));
    acks.forEach(CompletableFuture::join);
    Set<String> seen = new HashSet<>();
    String nacked = null;
    try (Consumer member = client.subscribe(topic, "g")) {
      for (Message m : member) {
        if (nacked == null) {
          nacked = text(m.value());
          m.nack(Duration.ofMillis(10));
          continue;
        }
        if (text(m.value()).equals(nacked)) assertEquals(2, m.deliveryCount());
        seen.add(text(m.value()));
        m.ack();
      }
    }
    assertEquals(300, seen.size());
    try (Consumer again = client.subscribe(topic, "g")) {
      assertTrue(again.poll(Duration.ofMillis(500)).isEmpty(), "everything was acked");
    }
  }

  @Test
  void unackedMessagesGoToTheDeadLetterTopic() {
    String topic = unique("work");
    String dlq = unique("dlq");
    client.createTopic(dlq);
    client.createTopic(topic, Map.of("max_deliveries", 2, "dead_letter_topic", dlq, "ack_timeout_ms", 100));
    client.publish(topic, null, bytes("poison"), Map.of("origin", bytes("java")), -1).join();
    try (Consumer member = client.subscribe(topic, "w")) {
      for (int i = 0; i < 2; i++) member.poll(Duration.ofSeconds(10)).orElseThrow().nack(Duration.ZERO);
    }
    try (Consumer reader = client.subscribe(dlq, null)) {
      Message dead = reader.poll(Duration.ofSeconds(10)).orElseThrow();
      assertEquals("poison", text(dead.value()));
      assertEquals("java", text(dead.headers().get("origin")));
    }
  }

  @Test
  void aListenerReceivesOnItsOwnThread() throws Exception {
    String topic = unique("listen");
    client.createTopic(topic);
    CountDownLatch got = new CountDownLatch(10);
    try (Consumer member = client.subscribe(topic, "l")) {
      member.listen(m -> {
        m.ack();
        got.countDown();
      });
      for (int i = 0; i < 10; i++) client.publish(topic, null, bytes("" + i));
      assertTrue(got.await(20, TimeUnit.SECONDS));
    }
  }

  @Test
  void errorsAreTypedAndChangeNothing() {
    SprawlException missing = assertThrows(SprawlException.class, () -> client.describeTopic("missing"));
    assertEquals("NOT_FOUND", missing.code());
    assertEquals(2, missing.codeNumber());
    assertFalse(missing.isRetriable());
    String topic = unique("dup");
    client.createTopic(topic, Map.of("partitions", 2));
    assertEquals("ALREADY_EXISTS",
        assertThrows(SprawlException.class, () -> client.createTopic(topic, Map.of("partitions", 5))).code());
    assertTrue(client.describeTopic(topic).contains("\"partition\":1"));
    assertFalse(client.describeTopic(topic).contains("\"partition\":2"));
    assertEquals("INVALID_ARGUMENT",
        assertThrows(SprawlException.class, () -> client.createTopic("bad name")).code());
    assertEquals("INVALID_ARGUMENT",
        assertThrows(SprawlException.class, () -> client.createTopic(unique("t"), Map.of("no_such", 1))).code());
    assertEquals("NOT_FOUND",
        assertThrows(SprawlException.class, () -> client.publishSync("missing", null, bytes("x"))).code());
    assertThrows(NullPointerException.class, () -> client.publish(topic, null, null));
  }

  @Test
  void useAfterCloseThrowsAndNeverCrashes() {
    SprawlClient c = SprawlClient.builder().address(node.address()).build();
    String topic = unique("closing");
    c.createTopic(topic);
    Consumer consumer = c.subscribe(topic, "g");
    c.close();
    c.close();
    assertEquals("CLOSED", assertThrows(SprawlException.class, c::listTopics).code());
    assertEquals("CLOSED", assertThrows(SprawlException.class, () -> c.publish(topic, null, bytes("x"))).code());
    assertEquals("CLOSED", assertThrows(SprawlException.class, () -> consumer.poll(Duration.ZERO)).code());
    consumer.close();
  }

  @Test
  void severalThreadsPublishAtOnce() throws Exception {
    String topic = unique("threads");
    client.createTopic(topic);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<List<Long>>> results = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      int id = t;
      results.add(pool.submit(() -> {
        List<Long> offsets = new ArrayList<>();
        for (int i = 0; i < 200; i++) offsets.add(client.publishSync(topic, null, bytes(id + "-" + i)).offset());
        return offsets;
      }));
    }
    Set<Long> all = new HashSet<>();
    for (Future<List<Long>> r : results) all.addAll(r.get(60, TimeUnit.SECONDS));
    pool.shutdown();
    assertEquals(1600, all.size());
    assertTrue(all.contains(0L) && all.contains(1599L));
  }

  @Test
  void aDiskNodeKeepsMessagesAcrossARestart() throws Exception {
    Path dir = Files.createTempDirectory("sprawl-java");
    List<PublishAck> acks = new ArrayList<>();
    try (EmbeddedNode n = EmbeddedNode.builder().dataDir(dir).start();
        SprawlClient c = SprawlClient.builder().address(n.address()).build()) {
      assertTrue(n.httpAddress().startsWith("http://127.0.0.1:"));
      c.createTopic("kept", Map.of("partitions", 2));
      for (int i = 0; i < 20; i++) acks.add(c.publishSync("kept", bytes("" + i), bytes("v" + i)));
    }
    try (EmbeddedNode n = EmbeddedNode.builder().dataDir(dir).start();
        SprawlClient c = SprawlClient.builder().address(n.address()).build();
        Consumer reader = c.subscribe("kept", null)) {
      int count = 0;
      for (Message m : reader) {
        int i = acks.indexOf(new PublishAck("kept", m.partition(), m.offset()));
        assertEquals("v" + i, text(m.value()));
        count++;
      }
      assertEquals(20, count);
    }
  }

  @Test
  void aMillionPublishesKeepMemoryFlat() {
    String topic = unique("million");
    client.createTopic(topic, Map.of("partitions", 2));
    byte[] payload = new byte[100];
    Runtime rt = Runtime.getRuntime();
    long before = 0;
    for (int round = 0; round < 10; round++) {
      List<CompletableFuture<PublishAck>> window = new ArrayList<>(100_000);
      for (int i = 0; i < 100_000; i++) window.add(client.publish(topic, null, payload));
      window.forEach(CompletableFuture::join);
      if (round == 1) {
        System.gc();
        before = rt.totalMemory() - rt.freeMemory();
      }
    }
    System.gc();
    long grownMiB = (rt.totalMemory() - rt.freeMemory() - before) >> 20;
    assertTrue(grownMiB < 32, "the Java heap grew by " + grownMiB + " MiB over 1,000,000 messages");
    assertTrue(client.describeTopic(topic).contains("\"high_watermark\":"));
  }

  @Test
  void publishManyQueuesABulkLoadThatFlushCompletes() {
    String topic = unique("bulk");
    client.createTopic(topic);
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < 5000; i++) values.add(bytes("" + i));
    assertEquals(5000, client.publishMany(topic, null, values));
    client.flush(Duration.ofSeconds(30));
    assertTrue(client.describeTopic(topic).contains("\"high_watermark\":5000"));
    List<byte[]> withNull = new ArrayList<>();
    withNull.add(null);
    assertThrows(NullPointerException.class, () -> client.publishMany(topic, null, withNull));
  }

  @Test
  void versionIsSemantic() {
    assertTrue(Native.version().matches("\\d+\\.\\d+\\.\\d+"));
    assertNotNull(node.address());
  }
}
