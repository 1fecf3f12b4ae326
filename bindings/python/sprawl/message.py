"""A received message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional

from ._native import milliseconds

if TYPE_CHECKING:  # pragma: no cover
    from ._sprawl import Message as _NativeMessage
    from .subscription import Subscription


class Message:
    """One record as a subscriber receives it.

    ``value`` is a read-only ``memoryview`` over the message's own buffer (no
    copy); ``bytes(msg.value)`` copies it out. The buffer lives as long as the
    message or any view of it. ``delivery_count`` is 1 on a first group
    delivery, more on redeliveries, 0 for reads by offset.
    """

    # The native side builds messages without calling __init__ (it sets
    # these two slots): keep every attribute a slot set there.
    __slots__ = ("_native", "_subscription")

    def __init__(self, native: "_NativeMessage", subscription: "Subscription") -> None:
        self._native = native
        self._subscription = subscription

    @property
    def topic(self) -> str:
        return self._native.topic

    @property
    def partition(self) -> int:
        return self._native.partition

    @property
    def offset(self) -> int:
        return self._native.offset

    @property
    def timestamp_ms(self) -> int:
        return self._native.timestamp_ms

    @property
    def key(self) -> Optional[bytes]:
        return self._native.key

    @property
    def value(self) -> memoryview:
        return memoryview(self._native)

    @property
    def headers(self) -> Dict[str, bytes]:
        return dict(self._native.headers)

    @property
    def delivery_count(self) -> int:
        return self._native.delivery_count

    def ack(self) -> None:
        """Settles the message: its group will not deliver it again. Acks
        are sent in batches (``Subscription.ack_many`` settles many in one
        call)."""
        self._subscription._ack_native(self._native)

    def nack(self, delay: float = 0.0) -> None:
        """Hands the message back for redelivery after ``delay`` seconds (or to
        the dead-letter topic once it has used up its deliveries)."""
        self._subscription._nack_native(self._native, milliseconds(delay))

    def __repr__(self) -> str:
        return (f"Message(topic={self.topic!r}, partition={self.partition}, offset={self.offset}, "
                f"key={self.key!r}, value={bytes(self.value)[:32]!r}, "
                f"delivery_count={self.delivery_count})")
