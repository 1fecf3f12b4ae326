package io.sprawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real sprawl-server processes on loopback forming one cluster: a topic
 * replicated on all three, publishes with acks=all through a SIGKILL of its
 * partition's leader, and every acknowledged publish read back once, in order.
 * Needs SPRAWL_SERVER_BIN (ctest sets it); skipped without it.
 */
class ThreeNodeClusterTest {
  private static final int WINDOW = 100;  // publishes in flight at once
  private static final int WINDOWS = 10;  // 1,000 publishes in all
  private static final int KILL_IN_WINDOW = 4;  // the leader dies while this window is in flight
  private static final Pattern LISTENING =
      Pattern.compile("node listening .* client=(\\S+) peer=tcp://(\\S+) http=(\\S+)");
  private static final Pattern LEADER = Pattern.compile("\"leader\":\"([^\"]+)\"");
  private static final Pattern VOTERS = Pattern.compile("\"voters\":\\[([^\\]]*)\\]");
  private static final Pattern HIGH_WATERMARK = Pattern.compile("\"high_watermark\":(\\d+)");

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final List<Server> servers = new ArrayList<>();
  private String program;

  @TempDir Path directory;

  @BeforeEach
  void findTheServerProgram() {
    program = System.getenv("SPRAWL_SERVER_BIN");
    assumeTrue(program != null && Files.isExecutable(Path.of(program)),
        "SPRAWL_SERVER_BIN does not name a sprawl-server program (ctest sets it)");
  }

  @AfterEach
  void killTheServers() throws InterruptedException {
    for (Server server : servers) server.kill();
  }

  /**
   * One sprawl-server on ports the OS picks (port 0), read back from the line
   * its log prints once it listens; so tests running at once never race for a port.
   */
  final class Server {
    final String address;
    final String peer;
    final String httpAddress;
    private final Process process;

    Server(String nodeId, String join) throws Exception {
      Path log = directory.resolve(nodeId + ".log");
      List<String> command = new ArrayList<>(List.of(program, "--node-id", nodeId,
          "--data-dir", directory.resolve(nodeId).toString(),
          "--client-port", "0", "--http-port", "0", "--peer-port", "0"));
      if (join != null) command.addAll(List.of("--join", join));
      process = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
      servers.add(this);
      Matcher listening = waitFor(() -> {
        String text = Files.readString(log);
        if (!process.isAlive()) {
          throw new AssertionError(nodeId + " exited with " + process.exitValue() + ": " + text);
        }
        Matcher m = LISTENING.matcher(text);
        return m.find() ? m : null;
      }, Duration.ofSeconds(15), nodeId + " to listen");
      address = listening.group(1);
      peer = listening.group(2);
      httpAddress = listening.group(3);
    }

    /** The body of GET {@code route} on the HTTP port, or null. */
    String get(String route) throws InterruptedException {
      HttpRequest request = HttpRequest.newBuilder(URI.create(httpAddress + route))
          .timeout(Duration.ofSeconds(2)).build();
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        return response.statusCode() == 200 ? response.body() : null;
      } catch (IOException e) {
        return null;
      }
    }

    void kill() throws InterruptedException {
      process.destroyForcibly();  // SIGKILL
      process.waitFor();
    }
  }

  /** Polls {@code condition} until it returns a value other than null or false. */
  static <T> T waitFor(Callable<T> condition, Duration timeout, String what) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (;;) {
      T value = condition.call();
      if (value != null && !Boolean.FALSE.equals(value)) return value;
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  /**
   * Three nodes: the first forms the metadata group alone, the others join it
   * and are promoted to voters; returns once every node sees three voters and
   * three live members.
   */
  List<Server> startThreeNodes() throws Exception {
    Server first = new Server("n0", null);
    List<Server> nodes = List.of(first, new Server("n1", first.peer), new Server("n2", first.peer));
    waitFor(() -> {
      for (Server node : nodes) {
        String meta = node.get("/v1/meta");
        String members = node.get("/v1/cluster");
        if (meta == null || members == null || !meta.contains("\"formed\":true")) return false;
        Matcher voters = VOTERS.matcher(meta);
        if (!voters.find() || voters.group(1).split(",").length != 3) return false;
        if (members.split("\"state\":\"alive\"", -1).length - 1 != 3) return false;
      }
      return true;
    }, Duration.ofSeconds(20), "every node to see 3 voters and 3 live members");
    return nodes;
  }

  /** The client address of partition 0's leader if every node names the same one, or null. */
  static String agreedLeader(List<Server> nodes, String topic) throws InterruptedException {
    String agreed = null;
    for (Server node : nodes) {
      String partitions = node.get("/v1/topics/" + topic + "/partitions");
      Matcher leader = partitions == null ? null : LEADER.matcher(partitions);
      if (leader == null || !leader.find()) return null;
      if (agreed != null && !agreed.equals(leader.group(1))) return null;
      agreed = leader.group(1);
    }
    return agreed;
  }

  @Test
  void publishesSurviveASigkilledLeaderWithNothingLostOrRepeated() throws Exception {
    List<Server> nodes = startThreeNodes();
    String topic = "replicated";
    try (SprawlClient admin = SprawlClient.builder().address(nodes.get(0).address).build()) {
      String created = admin.createTopic(topic, Map.of("partitions", 1, "replication_factor", 3));
      assertTrue(created.contains("\"replication_factor\":3"), created);
    }
    String leader = waitFor(() -> agreedLeader(nodes, topic), Duration.ofSeconds(20),
        "every node to name the same leader of partition 0");
    Server victim = nodes.stream().filter(n -> n.address.equals(leader)).findFirst().orElseThrow();
    List<Server> survivors = nodes.stream().filter(n -> n != victim).toList();

    // The client's bootstrap node must outlive the test: it starts on a
    // survivor and reaches the leader by following NOT_LEADER hints.
    List<String> acks = new ArrayList<>();
    try (SprawlClient client = SprawlClient.builder().address(survivors.get(0).address)
        .acks("all").linger(Duration.ofMillis(1)).deliveryTimeout(Duration.ofSeconds(30))
        .build()) {
      for (int window = 0; window < WINDOWS; window++) {
        List<CompletableFuture<PublishAck>> published = new ArrayList<>();
        for (int i = window * WINDOW; i < (window + 1) * WINDOW; i++) {
          published.add(client.publish(topic, null, bytes(String.valueOf(i)), Map.of(), 0));
        }
        if (window == KILL_IN_WINDOW) victim.kill();
        // A failed publish throws here: the failover must not surface.
        for (CompletableFuture<PublishAck> future : published) {
          PublishAck ack = future.get(30, TimeUnit.SECONDS);
          acks.add(ack.partition() + "@" + ack.offset());
        }
      }
    }

    int total = WINDOWS * WINDOW;
    // One producer, idempotent: each value acknowledged at its own offset, in order.
    List<String> expectedAcks = new ArrayList<>();
    for (int i = 0; i < total; i++) expectedAcks.add("0@" + i);
    assertEquals(expectedAcks, acks);
    waitFor(() -> {
      String newLeader = agreedLeader(survivors, topic);
      return survivors.stream().anyMatch(n -> n.address.equals(newLeader));
    }, Duration.ofSeconds(20), "the survivors to agree on a new leader among themselves");

    try (SprawlClient reader = SprawlClient.builder().address(survivors.get(1).address).build()) {
      // Nothing stored past the acknowledged publishes (no duplicate at the end).
      Callable<Long> highWatermark = () -> {
        Matcher m = HIGH_WATERMARK.matcher(reader.describeTopic(topic));
        return m.find() ? Long.parseLong(m.group(1)) : -1;
      };
      waitFor(() -> highWatermark.call() >= total, Duration.ofSeconds(20),
          "the high watermark to reach " + total);
      assertEquals((long) total, highWatermark.call());
      List<String> seen = new ArrayList<>();
      try (Consumer consumer = reader.subscribe(topic, null,
          Map.of("start", "earliest", "partition", 0))) {
        while (seen.size() < total) {
          try (Message m = consumer.poll(Duration.ofSeconds(10)).orElseThrow(
              () -> new AssertionError("no message within 10 s after " + seen.size()))) {
            seen.add(m.offset() + ":" + new String(m.value(), StandardCharsets.UTF_8));
          }
        }
      }
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < total; i++) expected.add(i + ":" + i);
      assertEquals(expected, seen);
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
