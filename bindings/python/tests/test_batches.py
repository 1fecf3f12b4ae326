"""Consuming in batches: Subscription.receive_many, ack_many and nack_many."""

from __future__ import annotations

import threading
import time

import pytest
import sprawl
from conftest import unique


def publish_values(client, topic, values):
    for v in values:
        client.publish_async(topic, v)
    client.flush(timeout=30)


def test_receive_many_keeps_offset_order_within_each_partition(client):
    name = unique("ordered")
    client.create_topic(name, partitions=3)
    for i in range(600):
        client.publish_async(name, b"%d" % i, key=str(i))
    client.flush(timeout=30)
    got = []
    with client.subscribe(name, group="g") as sub:
        while len(got) < 600:
            batch = sub.receive_many(128, timeout=10)
            assert batch, "no message within 10 s"
            assert len(batch) <= 128
            got.extend(batch)
            sub.ack_many(batch)
    by_partition = {}
    for m in got:
        by_partition.setdefault(m.partition, []).append(m.offset)
    for partition, offsets in by_partition.items():
        assert offsets == sorted(offsets), f"partition {partition} out of order"
        assert offsets == list(range(len(offsets)))
    assert sorted(int(bytes(m.value)) for m in got) == list(range(600))


def test_receive_many_returns_a_partial_batch_and_an_empty_one_after_the_timeout(client, topic):
    publish_values(client, topic, [b"a", b"b", b"c"])
    with client.subscribe(topic, start="earliest") as sub:
        # Three are there: the batch does not wait for the other 97.
        batch = []
        while len(batch) < 3:
            more = sub.receive_many(100 - len(batch), timeout=10)
            assert more, "the published messages did not come"
            batch.extend(more)
        assert [bytes(m.value) for m in batch] == [b"a", b"b", b"c"]
        assert [m.offset for m in batch] == [0, 1, 2]
        start = time.monotonic()
        assert sub.receive_many(100, timeout=0.3) == []
        assert time.monotonic() - start >= 0.29
        with pytest.raises(ValueError):
            sub.receive_many(0, timeout=0)


def test_iteration_and_receive_share_the_messages_taken_in_a_batch(client, topic):
    publish_values(client, topic, [b"%d" % i for i in range(10)])
    with client.subscribe(topic, start="earliest", timeout=5.0) as sub:
        for first in sub:
            break  # iteration took a batch and handed out one
        second = sub.receive(timeout=5)
        rest = sub.receive_many(100, timeout=5)
    values = [bytes(first.value), bytes(second.value)] + [bytes(m.value) for m in rest]
    assert values[:2] == [b"0", b"1"] and values == [b"%d" % i for i in range(len(values))]


def test_ack_many_settles_and_nack_many_redelivers(client, topic):
    publish_values(client, topic, [b"%d" % i for i in range(20)])
    with client.subscribe(topic, group="settlers") as sub:
        got = []
        while len(got) < 20:
            got.extend(sub.receive_many(20 - len(got), timeout=10))
        acked = [m for m in got if int(bytes(m.value)) % 2 == 0]
        nacked = [m for m in got if int(bytes(m.value)) % 2 == 1]
        sub.ack_many(acked)
        sub.nack_many(nacked, delay=0.01)
        again = []
        while len(again) < len(nacked):
            batch = sub.receive_many(20, timeout=10)
            assert batch, "the nacked messages were not redelivered"
            again.extend(batch)
        assert sorted(int(bytes(m.value)) for m in again) == list(range(1, 20, 2))
        assert all(m.delivery_count == 2 for m in again)
        sub.ack_many(again)
        sub.commit()
    # Everything is settled: the group's next member gets nothing.
    with client.subscribe(topic, group="settlers") as sub:
        assert sub.receive_many(10, timeout=1.0) == []


def test_settling_a_batch_checks_its_arguments(client, topic):
    publish_values(client, topic, [b"x"])
    with client.subscribe(topic, start="earliest") as reader:
        msg = reader.receive(timeout=10)
        with pytest.raises(ValueError):
            reader.ack_many([msg])
        with pytest.raises(ValueError):
            msg.ack()
    with client.subscribe(topic, group="typed") as sub:
        with pytest.raises(TypeError):
            sub.ack_many([b"not a message"])
        # A message of another subscription is refused, as msg.ack() would.
        with pytest.raises(sprawl.InvalidArgumentError):
            sub.ack_many([msg])
        sub.ack_many([])


def test_close_from_another_thread_wakes_a_waiting_receive_many(client, topic):
    sub = client.subscribe(topic, group="waiters")
    outcome = []
    started = threading.Event()

    def wait() -> None:
        started.set()
        try:
            outcome.append(sub.receive_many(10, timeout=None))
        except sprawl.ClosedError as e:
            outcome.append(e)

    t = threading.Thread(target=wait)
    t.start()
    started.wait()
    time.sleep(0.2)  # let it enter the wait; closing earlier is also fine
    closed_at = time.monotonic()
    sub.close()
    t.join(timeout=10)
    assert not t.is_alive()
    assert time.monotonic() - closed_at < 2.0
    assert len(outcome) == 1 and isinstance(outcome[0], sprawl.ClosedError)
    with pytest.raises(sprawl.ClosedError):
        sub.receive_many(10, timeout=0)


def test_receive_many_releases_the_gil_while_it_waits(client, topic):
    ticks = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.005)

    t = threading.Thread(target=ticker, daemon=True)
    with client.subscribe(topic, start="latest") as sub:
        t.start()
        while not ticks:
            time.sleep(0.001)
        # One native call that waits a whole second without returning to
        # Python: the other thread can only tick if it released the GIL.
        before, start = len(ticks), time.monotonic()
        assert sub._native.receive_many(100, 1000, sub) == []
        waited, ticked = time.monotonic() - start, len(ticks) - before
    stop.set()
    t.join()
    assert waited >= 0.9
    assert ticked >= 50, f"another thread ran {ticked} times while receive_many waited"


def test_settling_after_close_raises_closed_error(client, topic):
    publish_values(client, topic, [b"a", b"b"])
    sub = client.subscribe(topic, group="late")
    batch = []
    while len(batch) < 2:
        batch.extend(sub.receive_many(2 - len(batch), timeout=10))
    sub.close()
    with pytest.raises(sprawl.ClosedError):
        batch[0].ack()
    with pytest.raises(sprawl.ClosedError):
        batch[0].nack()
    with pytest.raises(sprawl.ClosedError):
        sub.ack_many(batch)
    # The messages stay readable after their subscription closed.
    assert [bytes(m.value) for m in batch] == [b"a", b"b"]
