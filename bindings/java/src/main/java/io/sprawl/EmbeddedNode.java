package io.sprawl;

import java.nio.file.Path;

/**
 * A full Sprawl node inside this JVM. Memory storage on free ports by
 * default; {@code dataDir} switches to RocksDB on disk.
 *
 * <pre>{@code
 * try (EmbeddedNode node = EmbeddedNode.builder().dataDir(dir).start()) { ... node.address() ... }
 * }</pre>
 */
public final class EmbeddedNode implements AutoCloseable {
  private long handle;
  private final String address;
  private final String httpAddress;
  private final String peerAddress;

  private EmbeddedNode(long handle) {
    this.handle = handle;
    this.address = Native.nodeClientAddress(handle);
    this.httpAddress = Native.nodeHttpAddress(handle);
    this.peerAddress = Native.nodePeerAddress(handle);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A memory node on free ports. */
  public static EmbeddedNode start() {
    return builder().start();
  }

  /** The client port, e.g. "tcp://127.0.0.1:41234". */
  public String address() {
    return address;
  }

  /** The HTTP admin API, e.g. "http://127.0.0.1:41235". */
  public String httpAddress() {
    return httpAddress;
  }

  /**
   * The peer port, e.g. "tcp://127.0.0.1:41236": another node built with {@code join} of it forms a
   * cluster with this one.
   */
  public String peerAddress() {
    return peerAddress;
  }

  /** Stops the node (requests in progress are answered, storage flushed) and frees it. */
  @Override
  public synchronized void close() {
    if (handle == 0) return;
    Native.nodeStop(handle);
    Native.nodeDestroy(handle);
    handle = 0;
  }

  /** Options of an embedded node. */
  public static final class Builder {
    private final Settings settings = new Settings();

    public Builder dataDir(Path dir) {
      settings.put("data_dir", dir.toString());
      return this;
    }

    public Builder storage(String memoryOrDisk) {
      settings.put("storage", memoryOrDisk);
      return this;
    }

    public Builder nodeId(String id) {
      settings.put("node_id", id);
      return this;
    }

    public Builder clientPort(int port) {
      settings.put("client_port", port);
      return this;
    }

    public Builder httpPort(int port) {
      settings.put("http_port", port);
      return this;
    }

    /**
     * The node's memory-tier budget, shared by all its partitions (default 1 GiB, at least
     * 1 MiB): memory storage drops the node's oldest batches beyond it; disk storage evicts the
     * oldest batches already on disk.
     */
    public Builder memoryTierBytes(long bytes) {
      settings.put("memory_tier_bytes", bytes);
      return this;
    }

    /**
     * An optional cap per partition inside the node's memory-tier budget (default 0: none;
     * otherwise at least 64 KiB), so that one busy partition cannot take the whole budget.
     */
    public Builder memoryBytesPerPartition(long bytes) {
      settings.put("memory_bytes_per_partition", bytes);
      return this;
    }

    public Builder fsync(String policy) {
      settings.put("fsync", policy);
      return this;
    }

    /** Peer addresses of nodes to join through ("host:port" or "tcp://host:port"). */
    public Builder join(String... peers) {
      settings.put("join", String.join(",", peers));
      return this;
    }

    /** Rack or zone, for rack-aware placement. */
    public Builder rack(String rack) {
      settings.put("rack", rack);
      return this;
    }

    public EmbeddedNode start() {
      return new EmbeddedNode(Native.nodeStart(settings.flatten()));
    }
  }
}
