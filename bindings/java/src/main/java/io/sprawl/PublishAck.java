package io.sprawl;

import java.util.OptionalLong;

/**
 * Where a published message was stored. With acks "none" the node does not reply, so the offset
 * is not known: {@link #offset()} is then {@link #UNKNOWN_OFFSET} and {@link #knownOffset()} empty.
 */
public record PublishAck(String topic, int partition, long offset) {
  /** The offset of a message published with acks "none" (SPRAWL_OFFSET_UNKNOWN in sprawl.h). */
  public static final long UNKNOWN_OFFSET = -1L;

  /** Whether the node said where the message went (false with acks "none"). */
  public boolean hasOffset() {
    return offset != UNKNOWN_OFFSET;
  }

  /** The offset, or empty with acks "none". */
  public OptionalLong knownOffset() {
    return hasOffset() ? OptionalLong.of(offset) : OptionalLong.empty();
  }
}
