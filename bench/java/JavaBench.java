import io.sprawl.PublishAck;
import io.sprawl.SprawlClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Java publish benchmark (bench/bindings_bench.sh): COUNT messages of SIZE
 * bytes through the batching producer (acks=leader, 256 KiB batches, 5 ms
 * linger) in two ways, printing msg/s for each:
 *   - bulk: SprawlClient.publishMany in chunks of 10,000, then flush;
 *   - future: publish per message (a CompletableFuture each, up to 50,000
 *     outstanding), COUNT/4 messages.
 * Usage: java JavaBench ADDRESS TOPIC COUNT SIZE
 */
public class JavaBench {
  public static void main(String[] args) {
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
}
