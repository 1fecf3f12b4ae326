"""Byte-based flow control: 1 MiB messages arrive whole and promptly with any
credits and byte budget, by group and by offset."""

from __future__ import annotations

import time

import pytest

from conftest import unique

MIB = 1 << 20
COUNT = 24


@pytest.fixture(scope="module")
def big_topic(node):
    import sprawl

    with sprawl.Client(node.address, linger=0.001) as c:
        name = unique("big")
        c.create_topic(name, partitions=2, max_message_bytes=2 * MIB)
        futures = [c.publish_async(name, b"%08d" % i + b"x" * (MIB - 8), partition=i % 2)
                   for i in range(COUNT)]
        c.flush()
        for f in futures:
            f.result()
        yield name


def receive_all(sub, ack, deadline_s=20.0):
    seen = set()
    deadline = time.monotonic() + deadline_s
    while len(seen) < COUNT and time.monotonic() < deadline:
        msg = sub.receive(timeout=0.2)
        if msg is None:
            continue
        assert len(msg.value) == MIB
        seen.add(bytes(msg.value[:8]))
        if ack:
            msg.ack()
    return seen


@pytest.mark.parametrize("credits,budget", [(1000, None), (1000, 2 * MIB), (10, 512 << 10),
                                            (1, None)])
def test_group_receives_large_messages_within_the_byte_budget(client, big_topic, credits, budget):
    group = unique("g")
    with client.subscribe(big_topic, group=group, max_in_flight=credits,
                          max_in_flight_bytes=budget) as sub:
        assert len(receive_all(sub, ack=True)) == COUNT
        [member] = client.describe_group(big_topic, group)["members"]
        assert member["max_in_flight"] == credits
        assert member["max_in_flight_bytes"] == (budget or 8 * MIB)


@pytest.mark.parametrize("budget", [None, 512 << 10, 3 * MIB])
def test_offset_reader_receives_large_messages_at_any_fetch_size(client, big_topic, budget):
    with client.subscribe(big_topic, max_in_flight_bytes=budget) as sub:
        assert len(receive_all(sub, ack=False)) == COUNT


def test_a_budget_above_the_limit_is_refused(client, big_topic):
    import sprawl

    with pytest.raises(sprawl.InvalidArgumentError):
        client.subscribe(big_topic, group=unique("g"), max_in_flight_bytes=(1 << 30) + 1)
