package io.sprawl;

/** Where a published message was stored. */
public record PublishAck(String topic, int partition, long offset) {}
