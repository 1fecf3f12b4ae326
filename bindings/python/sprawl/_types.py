"""Plain value types the client returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishAck:
    """Where a published message was stored."""

    topic: str
    partition: int
    offset: int
