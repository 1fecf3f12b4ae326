"""The synchronous client: admin, publish and subscribe."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import _sprawl
from ._native import convert, milliseconds, settings, wraps_native
from ._types import PublishAck
from .errors import InvalidArgumentError, SprawlError
from .message import Message
from .subscription import _SLICE_SECONDS, Subscription

Bytes = Union[bytes, bytearray, memoryview]
HeadersArg = Optional[Mapping[str, Union[str, Bytes]]]

DEFAULT_ADDRESS = "tcp://127.0.0.1:7400"

# Topic settings: the Python keywords are the core's setting names.
_TOPIC_KEYS = {name: name for name in (
    "partitions", "retention_ms", "retention_bytes", "max_message_bytes", "ack_timeout_ms",
    "max_deliveries", "dead_letter_topic", "message_ttl_ms", "replication_factor")}


def _headers(headers: HeadersArg) -> List[Tuple[str, bytes]]:
    if not headers:
        return []
    out = []
    for name, value in headers.items():
        if not isinstance(name, str):
            raise TypeError(f"header names are str, not {type(name).__name__}")
        out.append((name, value.encode() if isinstance(value, str) else bytes(value)))
    return out


def _key(key: Union[str, Bytes, None]) -> Optional[bytes]:
    if key is None:
        return None
    return key.encode() if isinstance(key, str) else bytes(key)


# The classes the native side builds per message (produce's acks, received
# messages), and how it turns its errors into Sprawl's.
_sprawl.register_types(PublishAck, Message, convert, _headers)


def _complete(completions: "_sprawl.Completions") -> None:
    """Runs a client's delivery callbacks until the client is closed or
    collected. It holds the queue only, never the client, so a client
    dropped without close() is still collected (its destructor closes it
    and ends the queue)."""
    while completions.drain(100) >= 0:
        pass


class Client:
    """A connection to a Sprawl node.

    ``address`` is the node's client port (``node.address`` of an embedded
    node). Publishing batches in the background (``linger`` seconds, up to
    ``batch_bytes``) with idempotence on; ``acks`` is ``"none"``,
    ``"leader"`` or ``"all"``. ``producer_name`` fences: once another client
    starts with the same name, this one's publishes fail with
    ``ProducerError`` (code ``PRODUCER_FENCED``). Use it as a context manager: closing it
    flushes what was published and fails what cannot be delivered.

    Three ways to publish: ``publish()`` waits for the ack;
    ``publish_async()`` returns a future (completed by a thread of the
    client); ``produce()`` takes an ``on_delivery`` callback that runs from
    ``poll()`` or ``flush()`` on the caller's thread, the cheapest per
    message (as ``confluent_kafka.Producer.produce``)::

        def delivered(error, ack):
            if error is not None:
                print("failed:", error)
        for value in values:
            client.produce("orders", value, on_delivery=delivered)
            client.poll(0)          # run the callbacks that are due
        client.flush()              # wait for the rest and run theirs

    Thread-safe: any number of threads may publish at once.
    """

    def __init__(self, address: str = DEFAULT_ADDRESS, *, acks: str = "all",
                 linger: Optional[float] = None, batch_bytes: Optional[int] = None,
                 idempotent: bool = True, request_timeout: Optional[float] = None,
                 delivery_timeout: Optional[float] = None,
                 producer_name: Optional[str] = None) -> None:
        config = settings({
            "server": address,
            "acks": acks,
            "linger_ms": None if linger is None else milliseconds(linger),
            "batch_bytes": batch_bytes,
            "idempotent": idempotent,
            "producer_name": producer_name,
            "request_timeout_ms": None if request_timeout is None else milliseconds(request_timeout),
            "delivery_timeout_ms":
                None if delivery_timeout is None else milliseconds(delivery_timeout),
        })
        self._native = self._open(config)
        # produce() is a per-message path: the instance's produce is the
        # native builtin itself (same arguments, same exceptions), which
        # skips a Python frame and the binding layer's dispatch.
        self.produce = self._produce = _sprawl.produce_function(self._native)
        self._address = address
        self._subscriptions: "set[Subscription]" = set()
        self._lock = threading.Lock()
        self._closed = False
        self._completer: Optional[threading.Thread] = None

    @staticmethod
    @wraps_native
    def _open(config: Dict[str, str]) -> "_sprawl.Client":
        return _sprawl.Client(config)

    @property
    def address(self) -> str:
        return self._address

    # -- admin -----------------------------------------------------------------

    @wraps_native
    def create_topic(self, name: str, partitions: int = 1, **config: Any) -> Dict[str, Any]:
        """Creates a topic and returns its description. Keywords:
        ``retention_ms``, ``retention_bytes``, ``max_message_bytes``,
        ``ack_timeout_ms``, ``max_deliveries``, ``dead_letter_topic``,
        ``message_ttl_ms``."""
        return json.loads(self._native.create_topic(name, self._topic_config(partitions=partitions,
                                                                             **config)))

    @wraps_native
    def alter_topic(self, name: str, **config: Any) -> Dict[str, Any]:
        """Changes the given settings of a topic (partitions only grow)."""
        return json.loads(self._native.alter_topic(name, self._topic_config(**config)))

    @wraps_native
    def describe_topic(self, name: str) -> Dict[str, Any]:
        return json.loads(self._native.describe_topic(name))

    @wraps_native
    def list_topics(self) -> List[Dict[str, Any]]:
        return json.loads(self._native.list_topics())

    @wraps_native
    def delete_topic(self, name: str) -> None:
        self._native.delete_topic(name)

    @wraps_native
    def list_groups(self, topic: Optional[str] = None) -> List[Dict[str, Any]]:
        return json.loads(self._native.list_groups(topic or ""))

    @wraps_native
    def describe_group(self, topic: str, group: str) -> Dict[str, Any]:
        return json.loads(self._native.describe_group(topic, group))

    @staticmethod
    def _topic_config(**config: Any) -> Dict[str, str]:
        # The same error the core gives for a bad value, so one except clause
        # (InvalidArgumentError, a ValueError) covers every refused setting.
        unknown = sorted(set(config) - set(_TOPIC_KEYS))
        if unknown:
            raise InvalidArgumentError(
                "INVALID_ARGUMENT", 1,
                f"unknown topic setting '{unknown[0]}'; known: {', '.join(sorted(_TOPIC_KEYS))}",
                False)
        return settings(config, _TOPIC_KEYS)

    # -- publish ---------------------------------------------------------------

    @wraps_native
    def publish(self, topic: str, value: Bytes, *, key: Union[str, Bytes, None] = None,
                headers: HeadersArg = None, partition: Optional[int] = None,
                timeout: Optional[float] = None) -> PublishAck:
        """Publishes one message and waits for its acknowledgement (up to
        ``timeout`` seconds; None = the client's ``delivery_timeout``)."""
        p, o = self._native.publish(topic, value, _key(key), _headers(headers),
                                    -1 if partition is None else partition,
                                    milliseconds(timeout))
        return PublishAck._from_native(topic, p, o)

    def publish_async(self, topic: str, value: Bytes, *, key: Union[str, Bytes, None] = None,
                      headers: HeadersArg = None,
                      partition: Optional[int] = None) -> "concurrent.futures.Future[PublishAck]":
        """Queues one message for a batch and returns a future of its ack.

        The core queues the outcome and a thread of this client (started by
        the first call) completes the future; ``flush()`` waits for all and
        completes their futures before it returns."""
        future: "concurrent.futures.Future[PublishAck]" = concurrent.futures.Future()

        def done(error: Optional["_sprawl.NativeError"], p: int, o: int) -> None:
            if error is not None:
                future.set_exception(convert(error))
            else:
                future.set_result(PublishAck._from_native(topic, p, o))

        try:
            self._native.publish_async(topic, value, _key(key), _headers(headers),
                                       -1 if partition is None else partition, done)
        except _sprawl.NativeError as e:
            raise convert(e) from None
        if self._completer is None:
            self._start_completer()
        return future

    def _start_completer(self) -> None:
        """Starts the thread that completes futures: the core queues outcomes
        and this thread runs them in batches, taking the GIL once a batch."""
        with self._lock:
            if self._completer is not None:
                return
            self._completer = threading.Thread(target=_complete,
                                               args=(self._native.completions(),),
                                               name="sprawl-completions", daemon=True)
            self._completer.start()

    @wraps_native
    def publish_many(self, topic: str, values: Iterable[Bytes], *,
                     key: Union[str, Bytes, None] = None) -> int:
        """Queues many messages in one call (the fast path for bulk loads) and
        returns how many were queued; ``flush()`` waits for their acks and
        raises the first failure."""
        return self._native.publish_many(topic, list(values), _key(key))

    def produce(self, topic: str, value: Bytes, key: Union[str, Bytes, None] = None,
                headers: HeadersArg = None, partition: Optional[int] = None,
                on_delivery: Optional[Callable[[Optional[SprawlError], Optional[PublishAck]],
                                               Any]] = None) -> None:
        """Queues one message for a batch; the fastest way to publish one at
        a time (no future, no thread hop per message).

        ``on_delivery(error, ack)`` reports the outcome: ``error`` None and
        ``ack`` the ``PublishAck`` on success, else ``error`` the
        ``SprawlError`` (a missing topic: ``NotFoundError``; the delivery
        timeout: ``TimeoutError``; a close first: ``ClosedError``) and
        ``ack`` None. It runs only from ``poll()`` or ``flush()`` (or
        ``close()``), on the thread that calls them: call ``poll(0)`` now
        and then, or the outcomes wait in memory. Without ``on_delivery``,
        ``flush()`` raises the first failure.

        Raises at once what is wrong with the call itself
        (``InvalidArgumentError`` for a bad topic name, ``TypeError`` for
        wrong types, ``ClosedError`` on a closed client). Waits only while
        the client's buffer is full."""
        # Documents the call; instances replace it with the native builtin.
        self._produce(topic, value, key, headers, partition, on_delivery)

    def poll(self, timeout: Optional[float] = 0.0) -> int:
        """Runs the ``on_delivery`` callbacks of ``produce()`` whose outcome
        is known, on this thread, first waiting up to ``timeout`` seconds
        (None: until one is due or the client closes) for one. Returns how
        many ran. A callback that raises ends the call with its exception;
        the callbacks after it stay due for the next ``poll()``."""
        if timeout is not None and timeout <= 0:
            return self._native.poll(0)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # Slices, so that Ctrl-C is noticed while it waits.
            wait = _SLICE_SECONDS
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            ran = self._native.poll(milliseconds(wait))
            if ran or self._closed or (deadline is not None and time.monotonic() >= deadline):
                return ran

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until everything published so far is acknowledged (or has
        failed), up to ``timeout`` seconds (None = the client's
        ``delivery_timeout``), then completes the futures of
        ``publish_async()`` and runs the due ``on_delivery`` callbacks of
        ``produce()``, as ``poll()`` does. Raises the first failure of a
        message published without a callback or future (``publish_many``,
        ``produce`` without ``on_delivery``), or ``TimeoutError``."""
        try:
            self._native.flush(milliseconds(timeout))
        except _sprawl.NativeError as e:
            raise convert(e) from None
        finally:
            self._native.drain(0)
            self._native.poll(0)

    # -- subscribe -------------------------------------------------------------

    def subscribe(self, topic: str, *, group: Optional[str] = None,
                  start: Union[str, int] = "earliest", partition: Optional[int] = None,
                  timeout: Optional[float] = None, auto_ack: bool = False,
                  max_in_flight: Optional[int] = None,
                  max_in_flight_bytes: Optional[int] = None,
                  session_timeout: Optional[float] = None) -> Subscription:
        """Iterates messages of ``topic``.

        With ``group`` the node assigns partitions and pushes messages that
        must be acked (``msg.ack()``; ``auto_ack=True`` acks as they are
        received). Without it, reads ``partition`` (default all) from
        ``start``: ``"earliest"``, ``"latest"`` or an offset. The iteration
        ends after ``timeout`` seconds without a message (None: never).

        ``max_in_flight`` (group credits, default 1000) and
        ``max_in_flight_bytes`` bound what the node sends ahead of the
        application: for a group, unacked messages and their bytes (a
        message larger than the byte budget comes alone); read by offset, the
        bytes one fetch returns. The byte budget defaults to 8 MiB."""
        if group is None and auto_ack:
            raise ValueError("auto_ack needs a group: reads by offset are not acked")
        config = settings({
            "topic": topic,
            "group": group,
            "start": start,
            "partition": partition,
            "auto_ack": auto_ack if group else None,
            "max_in_flight": max_in_flight,
            "max_in_flight_bytes": max_in_flight_bytes,
            "session_timeout_ms": None if session_timeout is None else milliseconds(session_timeout),
        })
        sub = Subscription(self, config, timeout)
        with self._lock:
            self._subscriptions.add(sub)
        return sub

    def _forget(self, sub: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(sub)

    # -- lifetime --------------------------------------------------------------

    @wraps_native
    def close(self, timeout: Optional[float] = None) -> None:
        """Closes subscriptions, flushes what was published (up to
        ``timeout`` seconds; None = the client's ``delivery_timeout``, 120 s
        by default) and disconnects. Publishes still in flight then fail with
        ClosedError; their futures are complete, and the ``on_delivery``
        callbacks of ``produce()`` have run, when it returns. Idempotent.
        A client collected without close() is closed the same way, with
        the default timeout."""
        with self._lock:
            subs = list(self._subscriptions)
        for sub in subs:
            sub.close()
        try:
            self._native.close(milliseconds(timeout))
        finally:
            self._native.drain(0)  # complete the futures of what close flushed or failed
            self._closed = True
            if self._completer is not None and self._completer is not threading.current_thread():
                self._completer.join()
            # The on_delivery callbacks of what close flushed or failed (one
            # that raises leaves the rest to a later poll()).
            self._native.poll(0)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
