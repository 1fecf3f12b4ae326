"""Iterating the messages of a topic, by group or by offset."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Dict, Iterator, Optional

from . import _sprawl
from ._native import call, milliseconds, wraps_native
from .errors import ClosedError
from .message import Message

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

# A blocking receive returns to Python this often, so Ctrl-C (and close()
# from another thread) is noticed promptly while the GIL is released in
# between.
_SLICE_SECONDS = 0.1


class Subscription:
    """An iterator of ``Message``s; also a context manager that leaves the
    group (or stops reading) on exit. ``receive()`` takes one message with
    a timeout. Not shared between threads: one subscription per consumer
    thread (any number per client)."""

    def __init__(self, client: "Client", config: Dict[str, str], timeout: Optional[float]) -> None:
        self._client = client
        self._timeout = timeout
        self._grouped = "group" in config
        self._native = call(_sprawl.Consumer, client._native, config)
        self._closed = False

    def receive(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next message, or None after ``timeout`` seconds (None: wait
        until one comes or the subscription closes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise ClosedError("CLOSED", 10, "the subscription is closed", False)
            wait = _SLICE_SECONDS
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            native = call(self._native.receive, milliseconds(wait))
            if native is not None:
                return Message(native, self)
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def __iter__(self) -> Iterator[Message]:
        while not self._closed:
            message = self.receive(self._timeout)
            if message is None:
                return
            yield message

    @wraps_native
    def commit(self) -> None:
        """Sends the acks given so far now instead of with the next batch."""
        self._native.commit()

    def _ack(self, message: Message) -> None:
        if not self._grouped:
            raise ValueError("messages read by offset are not acked")
        call(self._native.ack, message._native)

    def _nack(self, message: Message, delay: float) -> None:
        if not self._grouped:
            raise ValueError("messages read by offset are not nacked")
        call(self._native.nack, message._native, milliseconds(delay))

    @wraps_native
    def close(self) -> None:
        """Sends pending acks and leaves the group. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._native.close()
        self._client._forget(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
