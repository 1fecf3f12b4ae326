import io.sprawl.Consumer;
import io.sprawl.Message;
import io.sprawl.PublishAck;
import io.sprawl.SprawlClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Java publish benchmark (bench/bindings_bench.sh): COUNT messages of SIZE
 * bytes through the batching producer (acks=leader, 256 KiB batches, 5 ms
 * linger) in two ways, printing msg/s for each:
 *   - bulk: SprawlClient.publishMany in chunks of 10,000, then flush;
 *   - future: publish per message (a CompletableFuture each, up to 50,000
 *     outstanding), COUNT/4 messages.
 * Usage: java JavaBench ADDRESS TOPIC COUNT SIZE
 *
 * With "consume" first, joins a new consumer group on TOPIC (which holds at
 * least COUNT messages) and receives and acks COUNT messages from its start
 * with Consumer.poll and Message.ack (1,000 in flight, as `sprawlctl bench
 * consume`), freeing each message after its ack; the time runs from
 * subscribing to leaving the group with every ack sent.
 * With "batch" after COUNT, takes Consumer.pollMany batches of up to 256
 * instead, acking and freeing each message.
 * Usage: java JavaBench consume ADDRESS TOPIC COUNT [batch]
 */
public class JavaBench {
  public static void main(String[] args) {
    if (args[0].equals("consume")) {
      consume(args[1], args[2], Integer.parseInt(args[3]),
          args.length > 4 && args[4].equals("batch"));
      return;
    }
    String address = args[0];
    String topic = args[1];
    int count = Integer.parseInt(args[2]);
    byte[] payload = new byte[Integer.parseInt(args[3])];
    try (SprawlClient client = SprawlClient.builder().address(address).acks("leader")
        .linger(Duration.ofMillis(5)).batchBytes(256 << 10).build()) {
      List<byte[]> chunk = Collections.nCopies(10_000, payload);
      long start = System.nanoTime();
      for (int sent = 0; sent < count; sent += chunk.size()) {
        client.publishMany(topic, null, count - sent < chunk.size() ? chunk.subList(0, count - sent) : chunk);
      }
      client.flush(Duration.ofMinutes(2));
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf("java bulk (publishMany): %d messages of %d B in %.2f s: %d msg/s%n", count,
          payload.length, seconds, (long) (count / seconds));

      int futures = count / 4;
      int window = 50_000;
      start = System.nanoTime();
      List<CompletableFuture<PublishAck>> inFlight = new ArrayList<>(window);
      for (int i = 0; i < futures; i++) {
        inFlight.add(client.publish(topic, null, payload));
        if (inFlight.size() == window) {
          inFlight.forEach(CompletableFuture::join);
          inFlight.clear();
        }
      }
      inFlight.forEach(CompletableFuture::join);
      seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf("java future (publish, a CompletableFuture each, %d outstanding): %d messages"
          + " of %d B in %.2f s: %d msg/s%n", window, futures, payload.length, seconds,
          (long) (futures / seconds));
    }
  }

  static void consume(String address, String topic, int count, boolean batched) {
    String group = "javabench-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    int received = 0;
    int size = 0;
    double seconds;
    try (SprawlClient client = SprawlClient.builder().address(address).build()) {
      long start = System.nanoTime();
      try (Consumer consumer = client.subscribe(topic, group, Map.of("max_in_flight", 1000))) {
        // 10 s without a message ends the run early, as in sprawlctl.
        while (received < count && !batched) {
          Optional<Message> next = consumer.poll(Duration.ofSeconds(10));
          if (next.isEmpty()) break;
          try (Message m = next.get()) {
            m.ack();
            size = m.value().length;
          }
          received++;
        }
        while (received < count && batched) {
          List<Message> batch = consumer.pollMany(Math.min(256, count - received),
              Duration.ofSeconds(10));
          if (batch.isEmpty()) break;
          for (Message m : batch) {
            try (m) {
              m.ack();
              size = m.value().length;
            }
          }
          received += batch.size();
        }
      }
      seconds = (System.nanoTime() - start) / 1e9;
    }
    System.out.printf("java consume (group, acked, %s): %d messages of %d B in %.2f s: %d msg/s%n",
        batched ? "Consumer.pollMany(256) + ack" : "Consumer.poll + ack", received, size, seconds,
        (long) (received / seconds));
    if (received < count) {
      System.err.printf("JavaBench: only %d of %d messages came%n", received, count);
      System.exit(1);
    }
  }
}
