"""Publishing and consuming through the package: by offset and by group."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest
import sprawl
from conftest import unique


def test_publish_returns_partition_and_offset(client, topic):
    first = client.publish(topic, b"a")
    second = client.publish(topic, b"b")
    assert isinstance(first, sprawl.PublishAck)
    assert (first.topic, first.partition) == (topic, 0)
    assert second.offset == first.offset + 1


def test_a_round_trip_keeps_key_value_and_headers(client, topic):
    client.publish(topic, b"\x00binary\xff", key="user-1", headers={"trace": "abc", "raw": b"\x01"})
    with client.subscribe(topic, start="earliest", timeout=5.0) as sub:
        msg = next(iter(sub))
    assert bytes(msg.value) == b"\x00binary\xff"
    assert isinstance(msg.value, memoryview) and msg.value.readonly
    assert msg.key == b"user-1"
    assert msg.headers == {"trace": b"abc", "raw": b"\x01"}
    assert msg.topic == topic and msg.partition == 0 and msg.offset == 0
    assert msg.timestamp_ms > 0
    assert msg.delivery_count == 0


def test_the_same_key_always_lands_on_the_same_partition(client):
    name = unique("keys")
    client.create_topic(name, partitions=16)
    partitions = {client.publish(name, b"x", key="user-1").partition for _ in range(5)}
    # The documented partitioner (xxh3 of the key mod the partition count),
    # the same in every client: "user-1" goes to partition 9 of 16.
    assert partitions == {9}


def test_async_publish_and_flush(client, topic):
    futures = [client.publish_async(topic, b"m%d" % i) for i in range(1000)]
    client.flush(timeout=30)
    offsets = [f.result(timeout=0).offset for f in futures]
    assert offsets == list(range(1000))
    with client.subscribe(topic, timeout=2.0) as sub:
        values = [bytes(m.value) for m in sub]
    assert values == [b"m%d" % i for i in range(1000)]


def test_publish_many_queues_a_bulk_load(client, topic):
    assert client.publish_many(topic, [b"%d" % i for i in range(5000)]) == 5000
    client.flush(timeout=30)
    assert client.describe_topic(topic)["partitions"][0]["high_watermark"] == 5000


def test_reading_from_an_offset_and_from_latest(client, topic):
    for i in range(10):
        client.publish(topic, b"%d" % i)
    with client.subscribe(topic, start=7, timeout=2.0) as sub:
        assert [bytes(m.value) for m in sub] == [b"7", b"8", b"9"]
    with client.subscribe(topic, start="latest", timeout=0.5) as sub:
        assert sub.receive(timeout=0.3) is None
        client.publish(topic, b"new")
        msg = sub.receive(timeout=5)
        assert msg is not None and bytes(msg.value) == b"new"


def test_a_group_splits_partitions_and_acks_settle(client):
    name = unique("grouped")
    client.create_topic(name, partitions=4)
    for i in range(200):
        client.publish(name, b"%d" % i, key=str(i))
    seen = []
    with client.subscribe(name, group="g", timeout=2.0) as sub:
        for msg in sub:
            seen.append(int(bytes(msg.value)))
            assert msg.delivery_count == 1
            msg.ack()
    assert sorted(seen) == list(range(200))
    # Everything was acked: the group's next member gets nothing.
    with client.subscribe(name, group="g", timeout=1.0) as sub:
        assert list(sub) == []


def test_a_nack_redelivers_with_a_higher_count(client, topic):
    client.publish(topic, b"retry me")
    with client.subscribe(topic, group="nackers", timeout=5.0) as sub:
        first = sub.receive(timeout=5)
        assert first.delivery_count == 1
        first.nack(delay=0.05)
        again = sub.receive(timeout=5)
        assert bytes(again.value) == b"retry me" and again.delivery_count == 2
        again.ack()


def test_unacked_messages_go_to_the_dead_letter_topic(client):
    name, dlq = unique("work"), unique("dlq")
    client.create_topic(dlq)
    client.create_topic(name, max_deliveries=2, dead_letter_topic=dlq, ack_timeout_ms=100)
    client.publish(name, b"poison", headers={"origin": "test"})
    with client.subscribe(name, group="w", timeout=5.0) as sub:
        for _ in range(2):
            msg = sub.receive(timeout=10)
            assert msg is not None
            msg.nack()
    with client.subscribe(dlq, timeout=10.0) as sub:
        dead = sub.receive(timeout=10)
    assert dead is not None and bytes(dead.value) == b"poison"
    assert dead.headers["origin"] == b"test"
    assert any("deliver" in k or "reason" in k for k in dead.headers)


def test_auto_ack(client, topic):
    client.publish(topic, b"once")
    with client.subscribe(topic, group="auto", auto_ack=True, timeout=2.0) as sub:
        assert [bytes(m.value) for m in sub] == [b"once"]
    with client.subscribe(topic, group="auto", timeout=1.0) as sub:
        assert list(sub) == []


def test_several_threads_publish_at_once(client, topic):
    def work(n: int) -> list:
        return [client.publish(topic, b"%d-%d" % (n, i)).offset for i in range(200)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        offsets = sorted(o for result in pool.map(work, range(8)) for o in result)
    assert offsets == list(range(1600))


def test_a_blocking_receive_releases_the_gil(client, topic):
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
        assert sub._native.receive(1000) is None
        waited, ticked = time.monotonic() - start, len(ticks) - before
    stop.set()
    t.join()
    assert waited >= 0.9
    assert ticked >= 50, f"another thread ran {ticked} times while receive waited {waited:.2f} s"
