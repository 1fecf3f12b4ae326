import io.sprawl.Consumer;
import io.sprawl.Message;
import io.sprawl.SprawlClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** The Java side of the interoperability test (see interop.c for the format). */
public class Interop {
  static final int COUNT = 20;

  static String hex(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x & 0xff));
    return s.toString();
  }

  public static void main(String[] args) {
    String mode = args[0];
    String topic = args[2];
    try (SprawlClient client = SprawlClient.builder().address(args[1]).build()) {
      if (mode.equals("produce")) {
        for (int i = 0; i < COUNT; i++) {
          byte[] text = ("v" + i).getBytes(StandardCharsets.UTF_8);
          byte[] value = new byte[4 + text.length];
          value[0] = (byte) i;
          value[1] = 0;
          value[2] = (byte) 255;
          value[3] = (byte) (i * 7 % 256);
          System.arraycopy(text, 0, value, 4, text.length);
          Map<String, byte[]> headers = new LinkedHashMap<>();
          headers.put("lang", args[3].getBytes(StandardCharsets.UTF_8));
          headers.put("idx", String.valueOf(i).getBytes(StandardCharsets.UTF_8));
          byte[] key = i % 5 == 0 ? null : ("key-" + i).getBytes(StandardCharsets.UTF_8);
          client.publish(topic, key, value, headers, 0).join();
        }
      } else {
        try (Consumer reader = client.subscribe(topic, null)) {
          for (int i = 0; i < COUNT; i++) {
            Message m = reader.poll(Duration.ofSeconds(10)).orElseThrow();
            StringBuilder line = new StringBuilder();
            line.append(m.offset()).append(' ').append(m.key() == null ? "-" : hex(m.key()));
            line.append(' ').append(hex(m.value()));
            for (Map.Entry<String, byte[]> h : new TreeMap<>(m.headers()).entrySet()) {
              line.append(' ').append(h.getKey()).append('=').append(hex(h.getValue()));
            }
            System.out.println(line);
          }
        }
      }
    }
  }
}
