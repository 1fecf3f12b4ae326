"""Iterating the messages of a topic, by group or by offset."""

from __future__ import annotations

import builtins  # receive_many's parameter `max` shadows the builtin
import collections
import time
from typing import TYPE_CHECKING, Any, Deque, Dict, Iterable, Iterator, List, Optional

from . import _sprawl
from ._native import convert, milliseconds, wraps_native
from .errors import ClosedError
from .message import Message

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

# A blocking receive returns to Python this often, so Ctrl-C (and close()
# from another thread) is noticed promptly while the GIL is released in
# between.
_SLICE_SECONDS = 0.1

# How many messages iteration takes from the core per release of the GIL.
# They wait in the subscription (receive() and receive_many() take them
# first), so nothing is skipped when a loop breaks early.
_ITER_BATCH = 256


def _offset_read(*_: Any) -> None:
    raise ValueError("messages read by offset are not acked or nacked")


class Subscription:
    """An iterator of ``Message``s; also a context manager that leaves the
    group (or stops reading) on exit. ``receive()`` takes one message with
    a timeout, ``receive_many()`` a batch; ``ack_many()`` and
    ``nack_many()`` settle a batch. Not shared between threads: one
    subscription per consumer thread (any number per client), though
    ``close()`` may come from any thread.

    Iteration takes messages from the core in batches (one release of the
    GIL each) and hands them out one at a time; messages it took but did not
    hand out yet are what the next ``receive()`` or ``receive_many()``
    returns first. With ``auto_ack`` it takes one at a time, since the core
    acks a message as it takes it."""

    def __init__(self, client: "Client", config: Dict[str, str], timeout: Optional[float]) -> None:
        self._client = client
        self._timeout = timeout
        self._grouped = "group" in config
        self._iter_batch = 1 if config.get("auto_ack") == "true" else _ITER_BATCH
        try:
            self._native = _sprawl.Consumer(client._native, config)
        except _sprawl.NativeError as e:
            raise convert(e) from None
        # What Message.ack()/nack() call: native builtins bound to this
        # consumer, which raise Sprawl's exceptions themselves, so the
        # per-message path is one call.
        if self._grouped:
            self._ack_native, self._nack_native = _sprawl.settle_functions(self._native)
        else:
            self._ack_native = self._nack_native = _offset_read
        self._pending: Deque[Message] = collections.deque()
        self._closed = False

    def receive(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next message, or None after ``timeout`` seconds (None: wait
        until one comes or the subscription closes)."""
        if self._pending:
            return self._pending.popleft()
        batch = self.receive_many(1, timeout)
        return batch[0] if batch else None

    def receive_many(self, max: int = 1000, timeout: Optional[float] = None) -> List[Message]:
        """Up to ``max`` messages, in the order they were received (which
        within a partition is offset order): waits up to ``timeout`` seconds
        (None: until one comes or the subscription closes) for the first,
        then adds those already received, without waiting. An empty list
        after ``timeout``. The GIL is released once per batch. Raises
        ClosedError once the subscription or its client is closed, also
        from a wait in progress when another thread closes it (a batch
        already taken is returned first)."""
        if max < 1:
            raise ValueError("max must be at least 1")
        if self._pending:
            out = [self._pending.popleft() for _ in range(min(max, len(self._pending)))]
            if len(out) < max and not self._closed:
                out.extend(self._take(max - len(out), 0))
            return out
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                raise ClosedError("CLOSED", 10, "the subscription is closed", False)
            wait = _SLICE_SECONDS
            if deadline is not None:
                wait = min(wait, builtins.max(0.0, deadline - time.monotonic()))
            batch = self._take(max, milliseconds(wait))
            if batch:
                return batch
            if deadline is not None and time.monotonic() >= deadline:
                return batch

    def _take(self, max: int, timeout_ms: int) -> List[Message]:
        try:
            return self._native.receive_many(max, timeout_ms, self)
        except _sprawl.NativeError as e:
            raise convert(e) from None

    def __iter__(self) -> Iterator[Message]:
        pending = self._pending
        while not self._closed:
            if not pending:
                batch = self.receive_many(self._iter_batch, self._timeout)
                if not batch:
                    return
                pending.extend(batch)
            yield pending.popleft()

    @wraps_native
    def commit(self) -> None:
        """Sends the acks given so far now instead of with the next batch."""
        self._native.commit()

    def ack_many(self, messages: Iterable[Message]) -> None:
        """Acks every message of ``messages`` (received from this
        subscription) in one call, releasing the GIL once: none of them is
        delivered again. Stops at the first message that cannot be acked
        (one of another subscription: InvalidArgumentError; a closed
        subscription: ClosedError), those before it settled."""
        if not self._grouped:
            _offset_read()
        try:
            self._native.settle_many(messages, False, 0)
        except _sprawl.NativeError as e:
            raise convert(e) from None

    def nack_many(self, messages: Iterable[Message], delay: float = 0.0) -> None:
        """Hands every message of ``messages`` back for redelivery after
        ``delay`` seconds (or to the dead-letter topic once a message has
        used up its deliveries), in one call as ``ack_many``."""
        if not self._grouped:
            _offset_read()
        try:
            self._native.settle_many(messages, True, milliseconds(delay))
        except _sprawl.NativeError as e:
            raise convert(e) from None

    @wraps_native
    def close(self) -> None:
        """Sends pending acks and leaves the group. Idempotent; any thread
        (a receive waiting on another thread raises ClosedError)."""
        if self._closed:
            return
        self._closed = True
        self._pending.clear()
        self._native.close()
        self._client._forget(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

