"""Lifetimes: closing with publishes in flight, handles dropped without
close(), the GIL while native destructors block, interpreter exit, and
open/close cycles that must not leak."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
import weakref
from typing import Callable, Tuple

import pytest
import sprawl
from conftest import unique

# Short timeouts for clients of a node that is stopped on purpose: close()
# without a timeout flushes for up to the delivery timeout.
_DOOMED = {"linger": 0.001, "delivery_timeout": 1.0, "request_timeout": 0.5}


class Ticker:
    """A Python thread that counts while the test blocks in a native call: it
    can only count while that call has released the GIL."""

    def __init__(self) -> None:
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.count += 1
            time.sleep(0.005)

    def __enter__(self) -> "Ticker":
        self._thread.start()
        deadline = time.monotonic() + 5
        while self.count == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _assert_failed_clearly(futures: list) -> None:
    for f in futures:
        assert f.done(), "every future is complete"
        err = f.exception(timeout=0)
        assert isinstance(err, (sprawl.ClosedError, sprawl.TimeoutError)), repr(err)
        assert err.code in ("CLOSED", "TIMEOUT") and err.message


def _python(script: str, timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if os.environ.get("SPRAWL_PYTHON_PATH"):
        env["PYTHONPATH"] = os.environ["SPRAWL_PYTHON_PATH"]
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_closing_with_publishes_in_flight_flushes_them(node):
    name = unique("inflight")
    with sprawl.Client(node.address) as c:
        c.create_topic(name)
        futures = [c.publish_async(name, b"x") for _ in range(500)]
    # close() flushed: every future is complete, and all succeeded.
    assert all(f.done() for f in futures)
    assert [f.result().offset for f in futures] == list(range(500))


def test_closing_with_publishes_that_cannot_complete_fails_their_futures():
    node = sprawl.Node()
    client = sprawl.Client(node.address, **_DOOMED)
    name = unique("doomed")
    client.create_topic(name)
    client.publish(name, b"delivered")
    node.stop()
    futures = [client.publish_async(name, b"x") for _ in range(50)]
    outcome: list = []

    def close() -> None:
        try:
            client.close(timeout=0.2)
            outcome.append(None)
        except sprawl.SprawlError as e:
            outcome.append(e)

    closer = threading.Thread(target=close, daemon=True)
    start = time.monotonic()
    closer.start()
    closer.join(timeout=30)
    assert not closer.is_alive(), "close() returned"
    assert time.monotonic() - start < 2, "close keeps to its timeout"
    # The flush did not finish in time: close says so, and is closed anyway.
    assert isinstance(outcome[0], sprawl.TimeoutError), outcome
    _assert_failed_clearly(futures)
    with pytest.raises(sprawl.ClosedError):
        client.publish_async(name, b"late")


def test_a_client_dropped_without_close_flushes_and_completes_its_futures(node):
    client = sprawl.Client(node.address, linger=0.05)
    name = unique("dropped")
    client.create_topic(name)
    futures = [client.publish_async(name, b"%d" % i) for i in range(200)]
    gone = weakref.ref(client)
    del client  # the last reference: the destructor closes the client
    assert gone() is None, "the completer thread does not keep the client alive"
    assert [f.result(timeout=0).offset for f in futures] == list(range(200))


def test_a_client_dropped_without_close_blocks_without_the_gil():
    node = sprawl.Node()
    client = sprawl.Client(node.address, **_DOOMED)
    name = unique("stuck")
    client.create_topic(name)
    client.publish_async(name, b"before the stop").result(timeout=10)
    completer = client._completer
    assert completer is not None and completer.is_alive()
    node.stop()
    futures = [client.publish_async(name, b"x") for _ in range(20)]
    gone = weakref.ref(client)
    with Ticker() as ticker:
        before, start = ticker.count, time.monotonic()
        del client  # closes: waits out the delivery timeout
        blocked, ticked = time.monotonic() - start, ticker.count - before
    assert gone() is None
    assert blocked >= 0.5, "the destructor waited for the publishes in flight"
    assert ticked >= 20, f"another thread ran {ticked} times in {blocked:.2f} s"
    _assert_failed_clearly(futures)
    completer.join(timeout=5)
    assert not completer.is_alive(), "the completer thread ends with its client"


def test_a_subscription_dropped_without_close_leaves_without_the_gil():
    node = sprawl.Node()
    client = sprawl.Client(node.address, request_timeout=30.0)
    name = unique("left")
    client.create_topic(name)
    sub = client.subscribe(name, group="g")
    assert sub.receive(timeout=0.2) is None
    node.stop()
    gone = weakref.ref(sub)
    with Ticker() as ticker:
        before, start = ticker.count, time.monotonic()
        del client, sub
        gc.collect()  # the client and its subscriptions reference each other
        blocked, ticked = time.monotonic() - start, ticker.count - before
    assert gone() is None
    # The leave fails as soon as the stopped node refuses a reconnect (within
    # the reconnect backoff, at most 2 s), not after the 30 s request timeout;
    # while it waits, other Python threads run (a quarter of the ticks a free
    # ticker would make, to allow for a loaded machine).
    assert blocked < 10, f"leaving the group waited {blocked:.2f} s for the stopped node"
    assert ticked >= int(blocked / 0.005 / 4), f"another thread ran {ticked} times in {blocked:.2f} s"


def test_a_node_dropped_without_stop_stops_and_frees_its_port():
    n = sprawl.Node()
    port = int(n.address.rsplit(":", 1)[1])
    gone = weakref.ref(n)
    del n
    assert gone() is None
    with sprawl.Node(client_port=port) as again:
        assert again.address.endswith(f":{port}")


def test_a_done_callback_may_flush_the_client():
    script = r"""
import threading, sprawl
with sprawl.Node() as node, sprawl.Client(node.address, linger=0.001) as c:
    c.create_topic("t")
    flushed = threading.Event()
    def then_flush(_future):
        c.flush(timeout=10)  # runs on the completer thread, inside its drain
        flushed.set()
    c.publish_async("t", b"x").add_done_callback(then_flush)
    assert flushed.wait(timeout=10), "the flush inside the callback returned"
    assert c.publish_async("t", b"y").result(timeout=10).offset == 1
print("ok", flush=True)
"""
    result = _python(script, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_interpreter_exits_cleanly_with_handles_left_open():
    # Python ends daemon threads blocked in native calls as it exits: the
    # completer thread of a client left open and a consumer thread in
    # receive() must end without aborting the process.
    script = r"""
import threading, sprawl
node = sprawl.Node()
client = sprawl.Client(node.address, linger=0.05, delivery_timeout=2.0, request_timeout=1.0)
client.create_topic("t")
futures = [client.publish_async("t", b"x") for _ in range(1000)]
receiving = threading.Event()
def consume():
    sub = client.subscribe("t", group="g")
    receiving.set()
    for msg in sub:
        msg.ack()
threading.Thread(target=consume, daemon=True).start()
assert receiving.wait(timeout=10)
print("exiting", flush=True)
"""
    start = time.monotonic()
    result = _python(script, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exiting"
    assert "terminate" not in result.stderr and "Fatal" not in result.stderr, result.stderr
    assert time.monotonic() - start < 30


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _growth(cycle: Callable[[], None], cycles: int = 200) -> Tuple[int, int]:
    """Open file descriptors and resident bytes gained over `cycles` runs of
    `cycle`, after a warm-up (allocator arenas, ZeroMQ's own threads)."""
    for _ in range(50):
        cycle()
    gc.collect()
    fds, rss = _open_fds(), _rss_bytes()
    for _ in range(cycles):
        cycle()
    gc.collect()
    return _open_fds() - fds, _rss_bytes() - rss


# An open client that leaks holds about 130 KiB, a running node about
# 190 KiB, a subscription about 16 KiB: 200 cycles leaking any of them grow
# past these bounds many times over.
def test_client_open_close_cycles_do_not_leak(node):
    def cycle() -> None:
        with sprawl.Client(node.address) as c:
            c.list_topics()

    fds, rss = _growth(cycle)
    assert fds <= 2, f"{fds} file descriptors more after 200 client cycles"
    assert rss < 2 << 20, f"resident memory grew by {rss >> 10} KiB over 200 client cycles"


def test_node_start_stop_cycles_do_not_leak():
    def cycle() -> None:
        with sprawl.Node() as n:
            assert n.address

    fds, rss = _growth(cycle)
    assert fds <= 2, f"{fds} file descriptors more after 200 node cycles"
    assert rss < 2 << 20, f"resident memory grew by {rss >> 10} KiB over 200 node cycles"


def test_subscribe_close_cycles_do_not_leak(node):
    with sprawl.Client(node.address, linger=0.001) as client:
        name = unique("cycles")
        client.create_topic(name)
        client.publish(name, b"the one message")
        groups = iter(range(1 << 30))

        def cycle() -> None:
            with client.subscribe(name) as reader:
                msg = reader.receive(timeout=5)
                assert msg is not None and bytes(msg.value) == b"the one message"
            with client.subscribe(name, group=f"g{next(groups) % 4}") as member:
                member.receive(timeout=0)

        fds, rss = _growth(cycle)
    assert fds <= 2, f"{fds} file descriptors more after 200 subscribe cycles"
    assert rss < 1 << 20, f"resident memory grew by {rss >> 10} KiB over 200 subscribe cycles"
