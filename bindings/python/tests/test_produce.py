"""Client.produce with on_delivery callbacks, run by poll() and flush()."""

from __future__ import annotations

import threading

import pytest
import sprawl
from conftest import unique


class Recorder:
    """An on_delivery callback that keeps what it was given and the thread."""

    def __init__(self) -> None:
        self.calls = []
        self.threads = set()

    def __call__(self, error, ack) -> None:
        self.calls.append((error, ack))
        self.threads.add(threading.get_ident())


def test_produce_reports_partition_and_offset_from_flush(client):
    name = unique("produced")
    client.create_topic(name, partitions=4)
    delivered = Recorder()
    for i in range(400):
        client.produce(name, b"%d" % i, key=str(i), on_delivery=delivered)
    pinned = Recorder()
    client.produce(name, b"pinned", partition=2, headers={"h": "v"}, on_delivery=pinned)
    client.flush(timeout=30)
    assert len(delivered.calls) == 400 and len(pinned.calls) == 1
    assert delivered.threads == {threading.get_ident()}
    assert all(error is None for error, _ in delivered.calls + pinned.calls)
    acks = [ack for _, ack in delivered.calls + pinned.calls]
    assert all(isinstance(a, sprawl.PublishAck) and a.topic == name for a in acks)
    # Each partition's offsets are 0..n-1, each once, reported in order.
    for p in range(4):
        offsets = [a.offset for a in acks if a.partition == p]
        assert offsets == list(range(len(offsets)))
    assert pinned.calls[0][1].partition == 2
    with client.subscribe(name, partition=2, start=pinned.calls[0][1].offset, timeout=5.0) as sub:
        msg = sub.receive(timeout=5)
    assert bytes(msg.value) == b"pinned" and msg.headers == {"h": b"v"}
    # A key lands where publish() puts it.
    keyed = Recorder()
    client.produce(name, b"keyed", key="user-1", on_delivery=keyed)
    client.flush(timeout=30)
    assert keyed.calls[0][1].partition == client.publish(name, b"again", key="user-1").partition


def test_callbacks_run_only_from_poll_on_the_polling_thread(client, topic):
    delivered = Recorder()
    client.produce(topic, b"a", on_delivery=delivered)
    client.produce(topic, b"b", on_delivery=delivered)
    ran = 0
    while ran < 2:
        n = client.poll(10)
        assert n > 0, "no outcome within 10 s"
        ran += n
    assert ran == 2 and len(delivered.calls) == 2
    assert [a.offset for _, a in delivered.calls] == [0, 1]
    assert delivered.threads == {threading.get_ident()}
    # Nothing is due: poll(0) returns at once, poll(t) after t.
    assert client.poll(0) == 0
    assert client.poll(0.05) == 0


def test_a_missing_topic_reaches_the_callback(client):
    delivered = Recorder()
    client.produce(unique("missing"), b"x", on_delivery=delivered)
    client.flush(timeout=30)
    [(error, ack)] = delivered.calls
    assert isinstance(error, sprawl.NotFoundError) and ack is None


def test_without_a_callback_flush_raises_the_first_failure(client, topic):
    client.produce(topic, b"fine")
    client.produce(unique("missing"), b"x")
    with pytest.raises(sprawl.NotFoundError):
        client.flush(timeout=30)
    client.produce(topic, b"fine again")
    client.flush(timeout=30)  # the failure was reported once


def test_bad_calls_raise_at_once(client, topic):
    delivered = Recorder()
    with pytest.raises(sprawl.InvalidArgumentError):
        client.produce("", b"x", on_delivery=delivered)
    with pytest.raises(TypeError):
        client.produce(topic, "a str is not bytes", on_delivery=delivered)
    with pytest.raises(TypeError):
        client.produce(topic, b"x", on_delivery="not callable")
    with pytest.raises(TypeError):
        client.produce(topic, b"x", on_delivry=delivered)
    with pytest.raises(TypeError):
        client.produce(topic)
    with pytest.raises(TypeError):
        client.produce(topic, b"x", None, None, None, delivered, "one too many")
    with pytest.raises(ValueError):
        client.produce(topic, b"x", partition=-1, on_delivery=delivered)
    with pytest.raises(TypeError):
        client.produce(topic, b"x", headers={1: b"name is not a str"}, on_delivery=delivered)
    client.flush(timeout=30)
    assert delivered.calls == []


def test_a_callback_that_raises_leaves_the_rest_for_the_next_poll(client, topic):
    order = []

    def boom(error, ack) -> None:
        order.append("boom")
        raise RuntimeError("callback failed")

    def fine(error, ack) -> None:
        order.append(ack.offset)

    client.produce(topic, b"0", on_delivery=fine)
    client.produce(topic, b"1", on_delivery=boom)
    client.produce(topic, b"2", on_delivery=fine)
    with pytest.raises(RuntimeError, match="callback failed"):
        client.flush(timeout=30)
    assert order == [0, "boom"]
    assert client.poll(0) == 1
    assert order == [0, "boom", 2]
    # The client still works.
    client.produce(topic, b"3", on_delivery=fine)
    client.flush(timeout=30)
    assert order[-1] == 3


def test_close_runs_the_callbacks_and_produce_after_close_raises(node):
    name = unique("closing")
    delivered = Recorder()
    client = sprawl.Client(node.address, linger=0.05)
    client.create_topic(name)
    for i in range(50):
        client.produce(name, b"%d" % i, on_delivery=delivered)
    client.close()
    assert len(delivered.calls) == 50
    assert all(error is None for error, _ in delivered.calls)
    with pytest.raises(sprawl.ClosedError):
        client.produce(name, b"late", on_delivery=delivered)
    assert client.poll(0) == 0


def test_arguments_by_position_and_by_keyword_alike(client, topic):
    delivered = Recorder()
    client.produce(topic, bytearray(b"a"), "k", {"h": "1"}, 0, delivered)
    client.produce(value=memoryview(b"b"), topic=topic, key=b"k", on_delivery=delivered)
    client.flush(timeout=30)
    assert [(e, a.offset) for e, a in delivered.calls] == [(None, 0), (None, 1)]
    with client.subscribe(topic, timeout=5.0) as sub:
        got = [(bytes(m.value), m.key, m.headers) for m in sub]
    assert got == [(b"a", b"k", {"h": b"1"}), (b"b", b"k", {})]


def test_acks_none_reports_no_offset(node, topic):
    delivered = Recorder()
    with sprawl.Client(node.address, acks="none", linger=0.001) as c:
        c.produce(topic, b"x", on_delivery=delivered)
        c.flush(timeout=30)
    [(error, ack)] = delivered.calls
    assert error is None and ack.offset is None and ack.partition == 0
