"""Plain value types the client returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

# What the core reports as the offset of a message published with acks
# "none" (SPRAWL_OFFSET_UNKNOWN in sprawl.h).
_OFFSET_UNKNOWN = 2**64 - 1


@dataclass(frozen=True)
class PublishAck:
    """Where a published message was stored. ``offset`` is None with
    ``acks="none"``: the node does not reply, so it is not known."""

    topic: str
    partition: int
    offset: Optional[int]

    @classmethod
    def _from_native(cls, topic: str, partition: int, offset: int) -> "PublishAck":
        return cls(topic, partition, None if offset == _OFFSET_UNKNOWN else offset)
