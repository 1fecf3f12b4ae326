package io.sprawl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
  void messagesOfOneConsumerShareTheTopicStringAndKeepTheirOwnFields() {
    String topic = unique("fields");
    client.createTopic(topic, Map.of("partitions", 2));
    client.publish(topic, null, bytes("plain"), Map.of(), 1).join();
    client.publish(topic, bytes("k"), bytes("headed"), Map.of("h", bytes("v")), 1).join();
    client.publish(topic, null, bytes("other"), Map.of(), 0).join();
    try (Consumer reader = client.subscribe(topic, null, Map.of("partition", 1))) {
      Message plain = reader.poll(Duration.ofSeconds(10)).orElseThrow();
      Message headed = reader.poll(Duration.ofSeconds(10)).orElseThrow();
      assertEquals(topic, plain.topic());
      assertSame(plain.topic(), headed.topic(), "one String for the consumer's topic");
      assertEquals(List.of(1, 1), List.of(plain.partition(), headed.partition()));
      assertEquals(List.of(0L, 1L), List.of(plain.offset(), headed.offset()));
      assertNull(plain.key());
      assertEquals("k", text(headed.key()));
      assertEquals(Map.of(), plain.headers());
      assertEquals(Set.of("h"), headed.headers().keySet());
      assertEquals("v", text(headed.headers().get("h")));
      assertTrue(headed.timestampMs() >= plain.timestampMs() && plain.timestampMs() > 0);
    }
    try (Consumer group = client.subscribe(topic, "g")) {
      int seen = 0;
      while (seen < 3) {
        Message m = group.poll(Duration.ofSeconds(10)).orElseThrow();
        assertEquals(topic, m.topic());
        assertEquals(1, m.deliveryCount());
        m.ack();
        seen++;
      }
    }
  }

  @Test
  void pollManyTakesBatchesInOrderAndTheirAcksSettle() {
    String topic = unique("batches");
    client.createTopic(topic, Map.of("partitions", 1));
    for (int i = 0; i < 10; i++) client.publishSync(topic, null, bytes("" + i));
    try (Consumer group = client.subscribe(topic, "g")) {
      List<Message> got = new ArrayList<>();
      while (got.size() < 10) {
        List<Message> batch = group.pollMany(4, Duration.ofSeconds(10));
        assertFalse(batch.isEmpty(), "no message within 10 s");
        assertTrue(batch.size() <= 4);
        got.addAll(batch);
      }
      for (int i = 0; i < 10; i++) {
        assertEquals(i, got.get(i).offset());
        assertEquals("" + i, text(got.get(i).value()));
        got.get(i).ack();
      }
      long start = System.nanoTime();
      assertTrue(group.pollMany(4, Duration.ofMillis(300)).isEmpty());
      assertTrue(System.nanoTime() - start >= 290_000_000L, "an empty batch waits the timeout");
      assertThrows(IllegalArgumentException.class, () -> group.pollMany(0, Duration.ZERO));
      group.commit();
    }
    // Every message was acked: the group's next member gets nothing.
    try (Consumer again = client.subscribe(topic, "g")) {
      assertTrue(again.pollMany(10, Duration.ofSeconds(1)).isEmpty());
    }
  }

  @Test
  void closeEndsAPollManyWaitingOnAnotherThread() throws Exception {
    String topic = unique("pollmany-close");
    client.createTopic(topic, Map.of("partitions", 1));
    Consumer group = client.subscribe(topic, "g");
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      CountDownLatch started = new CountDownLatch(1);
      Future<?> waiting = pool.submit(() -> {
        started.countDown();
        return group.pollMany(10, Duration.ofMinutes(1));
      });
      started.await();
      group.close();
      java.util.concurrent.ExecutionException e = assertThrows(
          java.util.concurrent.ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof SprawlException, e.getCause().toString());
    } finally {
      pool.shutdownNow();
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
  void messagesNeverAckedAreRedeliveredAfterTheAckTimeoutThenDeadLettered() {
    String topic = unique("slow");
    String dlq = unique("slowdlq");
    client.createTopic(dlq);
    client.createTopic(topic, Map.of("partitions", 1, "max_deliveries", 2, "dead_letter_topic", dlq,
        "ack_timeout_ms", 200));
    for (int i = 0; i < 3; i++) {
      client.publishSync(topic, null, bytes("m" + i), Map.of("n", bytes("" + i)));
    }
    Map<String, List<Integer>> deliveries = new HashMap<>();
    try (Consumer member = client.subscribe(topic, "never-acks")) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      int received = 0;
      while (received < 6 && System.nanoTime() < deadline) {
        Optional<Message> got = member.poll(Duration.ofMillis(500));
        if (got.isEmpty()) continue;
        try (Message m = got.get()) {  // closed, never acked nor nacked
          deliveries.computeIfAbsent(text(m.value()), v -> new ArrayList<>()).add(m.deliveryCount());
          received++;
        }
      }
      assertEquals(Map.of("m0", List.of(1, 2), "m1", List.of(1, 2), "m2", List.of(1, 2)), deliveries,
          "each message is delivered again after the ack timeout, up to max_deliveries");

      // The member is still in the group: the ack timeout, not its leaving, dead-letters them.
      Map<String, Message> dead = new HashMap<>();
      try (Consumer reader = client.subscribe(dlq, null)) {
        while (dead.size() < 3 && System.nanoTime() < deadline) {
          reader.poll(Duration.ofMillis(500)).ifPresent(m -> dead.put(text(m.value()), m));
        }
      }
      assertEquals(Set.of("m0", "m1", "m2"), dead.keySet());
      for (int i = 0; i < 3; i++) {
        Message m = dead.get("m" + i);
        assertEquals("" + i, text(m.headers().get("n")), "the original headers travel along");
        assertEquals("2", text(m.headers().get("sprawl-deliveries")));
        assertEquals(topic, text(m.headers().get("sprawl-source-topic")));
        assertTrue(text(m.headers().get("sprawl-dead-letter-reason"))
            .startsWith("not acknowledged within 200 ms"), text(m.headers().get("sprawl-dead-letter-reason")));
      }
      assertTrue(member.poll(Duration.ofMillis(600)).isEmpty(), "a dead letter is not delivered again");
    }
  }

  @Test
  void publishSyncTakesHeadersAndAPartition() {
    String topic = unique("sync");
    client.createTopic(topic, Map.of("partitions", 4));
    PublishAck byKey = client.publishSync(topic, bytes("user-1"), bytes("by key"),
        Map.of("trace", bytes("t1")));
    assertEquals(client.publishSync(topic, bytes("user-1"), bytes("again")).partition(),
        byKey.partition(), "with headers the key still picks the partition");
    PublishAck chosen = client.publishSync(topic, bytes("user-1"), bytes("chosen"),
        Map.of("trace", bytes("t2"), "kind", bytes("pinned")), 3);
    assertEquals(3, chosen.partition());
    Map<String, Message> read = new HashMap<>();
    try (Consumer reader = client.subscribe(topic, null)) {
      for (Message m : reader) read.put(text(m.value()), m);
    }
    assertEquals(Set.of("by key", "again", "chosen"), read.keySet());
    assertEquals("t1", text(read.get("by key").headers().get("trace")));
    assertEquals(byKey.offset(), read.get("by key").offset());
    Message pinned = read.get("chosen");
    assertEquals(3, pinned.partition());
    assertEquals(chosen.offset(), pinned.offset());
    assertEquals(Set.of("trace", "kind"), pinned.headers().keySet());
    assertEquals("pinned", text(pinned.headers().get("kind")));
    SprawlException missing = assertThrows(SprawlException.class,
        () -> client.publishSync(topic, null, bytes("x"), Map.of(), 4));
    assertEquals("NOT_FOUND", missing.code());
    assertTrue(missing.getMessage().contains("no partition 4"), missing.getMessage());
  }

  @Test
  void textOutsideTheBasicPlaneCrossesAsUtf8() {
    String topic = unique("utf");
    client.createTopic(topic, Map.of("partitions", 1));
    String rocket = "caf\u00e9 \uD83D\uDE80";  // é and U+1F680, a surrogate pair in Java
    String name = "label-\uD83C\uDF89";  // U+1F389
    byte[] key = bytes("key-" + rocket);
    client.publishSync(topic, key, bytes(rocket), Map.of(name, bytes("value-" + rocket)));
    try (Consumer reader = client.subscribe(topic, null)) {
      Message m = reader.poll(Duration.ofSeconds(10)).orElseThrow();
      assertArrayEquals(key, m.key());
      assertEquals(rocket, text(m.value()));
      assertEquals(Set.of(name), m.headers().keySet());
      assertEquals("value-" + rocket, text(m.headers().get(name)));
      assertEquals(topic, m.topic());
    }
    // Topic names are letters, digits, '.', '_' and '-' (the core's rule, as
    // through the C ABI): creating one is refused and publishing finds none;
    // both errors name the topic intact.
    String emojiTopic = "orders-\uD83D\uDE80";
    SprawlException refused =
        assertThrows(SprawlException.class, () -> client.createTopic(emojiTopic));
    assertEquals("INVALID_ARGUMENT", refused.code());
    assertTrue(refused.getMessage().contains("'" + emojiTopic + "'"), refused.getMessage());
    SprawlException missing =
        assertThrows(SprawlException.class, () -> client.publishSync(emojiTopic, null, bytes("x")));
    assertEquals("NOT_FOUND", missing.code());
    assertTrue(missing.getMessage().contains("'" + emojiTopic + "'"), missing.getMessage());
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
  void aBadPartitionCountOrUnknownTopicOptionIsInvalidArgumentNamingItAndCreatesNothing() {
    List<Map<String, ?>> options = List.of(Map.of("partitions", -1), Map.of("partitions", 0),
        Map.of("partitions", 4294967297L), Map.of("partitions", 2, "partitons", 2));
    List<String> fields = List.of("partitions", "partitions", "partitions", "partitons");
    for (int i = 0; i < options.size(); i++) {
      String name = unique("refused");
      Map<String, ?> asked = options.get(i);
      SprawlException refused =
          assertThrows(SprawlException.class, () -> client.createTopic(name, asked));
      assertEquals("INVALID_ARGUMENT", refused.code(), refused.getMessage());
      assertTrue(refused.getMessage().contains(fields.get(i)), refused.getMessage());
      assertFalse(client.listTopics().contains("\"" + name + "\""), asked + " created " + name);
    }
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
  void aConsumerClosedOnItsOwnLeavesItsClient() {
    String topic = unique("churn");
    client.createTopic(topic);
    int before = client.openConsumers();
    Consumer kept = client.subscribe(topic, null);
    for (int i = 0; i < 50; i++) {
      try (Consumer c = client.subscribe(topic, i % 2 == 0 ? null : "churn")) {
        assertEquals(before + 2, client.openConsumers());
      }
    }
    assertEquals(before + 1, client.openConsumers(), "closed consumers are not kept");
    kept.close();
    kept.close();
    assertEquals(before, client.openConsumers());
  }

  @Test
  void noConsumerOutlivesAClientClosedWhileItOpens() throws Exception {
    for (int attempt = 0; attempt < 20; attempt++) {
      SprawlClient c = SprawlClient.builder().address(node.address()).build();
      String topic = unique("race");
      c.createTopic(topic);
      ExecutorService pool = Executors.newFixedThreadPool(4);
      CountDownLatch eachOpenedOne = new CountDownLatch(4);
      List<Future<Consumer>> opened = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        opened.add(pool.submit(() -> {
          Consumer last = c.subscribe(topic, null);
          eachOpenedOne.countDown();
          try {
            while (true) last = c.subscribe(topic, null);  // until the client is closed
          } catch (SprawlException e) {
            assertEquals("CLOSED", e.code());
          }
          return last;
        }));
      }
      assertTrue(eachOpenedOne.await(30, TimeUnit.SECONDS));
      c.close();
      for (Future<Consumer> f : opened) {
        Consumer last = f.get(30, TimeUnit.SECONDS);
        assertEquals("CLOSED",
            assertThrows(SprawlException.class, () -> last.poll(Duration.ZERO)).code(),
            "the client closed every consumer it opened");
      }
      pool.shutdown();
      assertEquals(0, c.openConsumers());
    }
  }

  @Test
  void settlingRacesClosingWithoutCrashing() throws Exception {
    String topic = unique("settle");
    client.createTopic(topic);
    for (int i = 0; i < 200; i++) client.publish(topic, null, bytes("" + i));
    client.flush(Duration.ofSeconds(30));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    Consumer member = client.subscribe(topic, "racer");
    try {
      List<Message> held = new ArrayList<>();
      for (int i = 0; i < 200; i++) held.add(member.poll(Duration.ofSeconds(10)).orElseThrow());
      // A message closed while another thread acks it: the ack either lands or is CLOSED.
      for (Message m : held.subList(0, 100)) {
        CountDownLatch go = new CountDownLatch(1);
        Future<String> ack = pool.submit(() -> {
          go.await();
          try {
            if (m.offset() % 2 == 0) {
              m.ack();
            } else {
              m.nack(Duration.ofSeconds(60));
            }
            return "settled";
          } catch (SprawlException e) {
            return e.code();
          }
        });
        go.countDown();
        m.close();
        assertTrue(Set.of("settled", "CLOSED").contains(ack.get(10, TimeUnit.SECONDS)));
        assertEquals("CLOSED", assertThrows(SprawlException.class, m::ack).code());
        assertEquals("CLOSED",
            assertThrows(SprawlException.class, () -> m.nack(Duration.ZERO)).code());
      }
      // The consumer closed while another thread acks its messages.
      CountDownLatch go = new CountDownLatch(1);
      Future<List<String>> acks = pool.submit(() -> {
        go.await();
        List<String> outcomes = new ArrayList<>();
        for (Message m : held.subList(100, 200)) {
          try {
            m.ack();
            outcomes.add("settled");
          } catch (SprawlException e) {
            outcomes.add(e.code());
          }
        }
        return outcomes;
      });
      go.countDown();
      member.close();
      List<String> outcomes = acks.get(30, TimeUnit.SECONDS);
      assertEquals(100, outcomes.size());
      assertTrue(Set.of("settled", "CLOSED").containsAll(outcomes), outcomes.toString());
      assertEquals("CLOSED", assertThrows(SprawlException.class, held.get(150)::ack).code());
    } finally {
      pool.shutdown();
      member.close();
    }
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
  void acksNoneReportsNoOffset() {
    String topic = unique("none");
    client.createTopic(topic);
    try (SprawlClient c = SprawlClient.builder().address(node.address()).acks("none")
        .linger(Duration.ofMillis(1)).build()) {
      PublishAck ack = c.publishSync(topic, null, bytes("x"));
      assertEquals(PublishAck.UNKNOWN_OFFSET, ack.offset());
      assertFalse(ack.hasOffset());
      assertTrue(ack.knownOffset().isEmpty());
      assertFalse(c.publish(topic, null, bytes("y")).join().hasOffset());
    }
    assertTrue(client.publishSync(topic, null, bytes("z")).knownOffset().isPresent());
  }

  /** The node's count of write-ahead log syncs, from /metrics. */
  static double fsyncs(EmbeddedNode n) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest get = HttpRequest.newBuilder(URI.create(n.httpAddress() + "/metrics"))
        .timeout(Duration.ofSeconds(5)).build();
    for (String line : http.send(get, HttpResponse.BodyHandlers.ofString()).body().split("\n")) {
      if (line.startsWith("sprawl_storage_fsyncs_total")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new AssertionError("/metrics has no sprawl_storage_fsyncs_total");
  }

  @Test
  void theDefaultAckLevelIsAllAPublishWaitsForASync() throws Exception {
    // Under a lazy fsync policy only `all` syncs before it acknowledges; the
    // interval is long enough that no timed sync falls inside the publish.
    Path dir = Files.createTempDirectory("sprawl-java-acks");
    try (EmbeddedNode n = EmbeddedNode.builder().dataDir(dir).fsync("interval:60000").start();
        SprawlClient c = SprawlClient.builder().address(n.address()).build()) {
      c.createTopic("durable");
      double before = fsyncs(n);
      c.publishSync("durable", null, bytes("x"));
      assertTrue(fsyncs(n) > before);
    }
  }

  /** The sum of the partitions' high watermarks in a topic description. */
  static long storedMessages(String description) {
    Matcher m = Pattern.compile("\"high_watermark\":(\\d+)").matcher(description);
    long sum = 0;
    while (m.find()) sum += Long.parseLong(m.group(1));
    return sum;
  }

  /** This process's resident set (VmRSS), heap and native memory alike. */
  static long residentBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) << 10;
    }
    throw new IllegalStateException("/proc/self/status has no VmRSS line");
  }

  static long heapUsed() {
    Runtime rt = Runtime.getRuntime();
    return rt.totalMemory() - rt.freeMemory();
  }

  /** Publishes 100,000 messages and waits for every future; keeps no reference to them. */
  static void publishWindow(SprawlClient c, String topic, byte[] payload) {
    List<CompletableFuture<PublishAck>> window = new ArrayList<>(100_000);
    for (int i = 0; i < 100_000; i++) window.add(c.publish(topic, null, payload));
    window.forEach(CompletableFuture::join);
  }

  @Test
  void aMillionPublishesKeepMemoryFlat() throws Exception {
    // A node of its own that keeps at most 1 MiB per partition, so the
    // broker's storage in this process stays bounded and the resident set
    // measures what the client and the binding hold per message.
    try (EmbeddedNode n = EmbeddedNode.builder().memoryBytesPerPartition(1 << 20).start();
        SprawlClient c = SprawlClient.builder().address(n.address()).linger(Duration.ofMillis(1))
            .build()) {
      String topic = unique("million");
      c.createTopic(topic, Map.of("partitions", 2));
      byte[] payload = new byte[100];
      long heapBefore = 0;
      long rssBefore = 0;
      for (int round = 0; round < 10; round++) {
        publishWindow(c, topic, payload);
        if (round == 4) {  // after a warm-up of 500,000, with every window unreachable
          System.gc();
          heapBefore = heapUsed();
          rssBefore = residentBytes();
        }
      }
      System.gc();
      long heapGrownMiB = (heapUsed() - heapBefore) >> 20;
      long rssGrownMiB = (residentBytes() - rssBefore) >> 20;
      // The second half published 500,000 x 100 B (about 48 MiB of payload).
      assertTrue(heapGrownMiB < 8, "the Java heap grew by " + heapGrownMiB + " MiB");
      assertTrue(rssGrownMiB < 16, "the resident set grew by " + rssGrownMiB + " MiB");
      assertEquals(1_000_000, storedMessages(c.describeTopic(topic)));
    }
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

  /** The members of a GET /v1/cluster answer: id -> state. */
  static Map<String, String> memberStates(String cluster) {
    Map<String, String> states = new HashMap<>();
    String members = cluster.substring(cluster.indexOf("\"members\":"));
    Matcher member = Pattern.compile("\\{[^{}]*\\}").matcher(members);
    while (member.find()) {
      Matcher id = Pattern.compile("\"id\":\"([^\"]*)\"").matcher(member.group());
      Matcher state = Pattern.compile("\"state\":\"([^\"]*)\"").matcher(member.group());
      if (id.find() && state.find()) states.put(id.group(1), state.group(1));
    }
    return states;
  }

  @Test
  void twoEmbeddedNodesJoinIntoOneCluster() throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try (EmbeddedNode a = EmbeddedNode.builder().nodeId("java-a").rack("rack-a").start();
        EmbeddedNode b = EmbeddedNode.builder().nodeId("java-b").rack("rack-b")
            .join(a.peerAddress()).start()) {
      assertTrue(a.peerAddress().startsWith("tcp://127.0.0.1:"), a.peerAddress());
      Map<String, String> bothAlive = Map.of("java-a", "alive", "java-b", "alive");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      for (EmbeddedNode n : List.of(a, b)) {
        HttpRequest get = HttpRequest.newBuilder(URI.create(n.httpAddress() + "/v1/cluster"))
            .timeout(Duration.ofSeconds(5)).build();
        String body = http.send(get, HttpResponse.BodyHandlers.ofString()).body();
        while (!memberStates(body).equals(bothAlive) && System.nanoTime() < deadline) {
          Thread.sleep(50);  // gossip converges in the background
          body = http.send(get, HttpResponse.BodyHandlers.ofString()).body();
        }
        assertEquals(bothAlive, memberStates(body), n.httpAddress() + " sees " + body);
      }
    }
    SprawlException bad = assertThrows(SprawlException.class,
        () -> EmbeddedNode.builder().join("no-port-here").start());
    assertEquals("INVALID_ARGUMENT", bad.code());
    assertTrue(bad.getMessage().contains("no-port-here"), bad.getMessage());
  }

  @Test
  void versionIsSemantic() {
    assertTrue(Native.version().matches("\\d+\\.\\d+\\.\\d+"));
    assertNotNull(node.address());
  }
}
