package io.sprawl;

import java.util.LinkedHashMap;
import java.util.Map;

/** String settings for the core (docs/c-api.md, "Settings"), flattened for JNI. */
final class Settings {
  private final Map<String, String> values = new LinkedHashMap<>();

  Settings put(String key, Object value) {
    if (value != null) values.put(key, String.valueOf(value));
    return this;
  }

  String[] flatten() {
    String[] out = new String[values.size() * 2];
    int i = 0;
    for (Map.Entry<String, String> e : values.entrySet()) {
      out[i++] = e.getKey();
      out[i++] = e.getValue();
    }
    return out;
  }
}
