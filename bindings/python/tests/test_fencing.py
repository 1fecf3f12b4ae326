"""Named producers: a client started with the ``producer_name`` of a running
one fences it; the fenced client's publishes fail with ``PRODUCER_FENCED``
and change nothing, the new one goes on."""

from __future__ import annotations

import pytest

import sprawl
from conftest import unique


def values(client: sprawl.Client, topic: str) -> list:
    with client.subscribe(topic, start="earliest", timeout=2.0) as sub:
        return [bytes(m.value) for m in sub]


def test_a_later_producer_with_the_same_name_fences_the_earlier_one(node, topic):
    name = unique("billing-")
    with sprawl.Client(node.address, linger=0.001, producer_name=name) as first:
        assert first.publish(topic, b"a").offset == 0
        with sprawl.Client(node.address, linger=0.001, producer_name=name) as second:
            assert second.publish(topic, b"b").offset == 1
            for attempt in (b"c", b"d"):  # fenced for good, not once
                with pytest.raises(sprawl.ProducerError) as fenced:
                    first.publish(topic, attempt)
                assert fenced.value.code == "PRODUCER_FENCED"
                assert not fenced.value.retriable
            assert second.publish(topic, b"e").offset == 2
            assert values(second, topic) == [b"a", b"b", b"e"]


def test_other_names_and_anonymous_producers_are_not_fenced(node, topic):
    name = unique("audit-")
    with sprawl.Client(node.address, linger=0.001, producer_name=name) as named, \
            sprawl.Client(node.address, linger=0.001, producer_name=name + "-other") as other, \
            sprawl.Client(node.address, linger=0.001) as anonymous:
        assert named.publish(topic, b"1").offset == 0
        assert other.publish(topic, b"2").offset == 1
        assert anonymous.publish(topic, b"3").offset == 2
        assert named.publish(topic, b"4").offset == 3


@pytest.mark.parametrize("settings, message", [
    ({"producer_name": ""}, "producer_name"),
    ({"producer_name": "x" * 256}, "1 to 255 bytes"),
    ({"producer_name": "p", "idempotent": False}, "needs 'idempotent'"),
])
def test_a_bad_producer_name_is_refused(node, settings, message):
    with pytest.raises(sprawl.InvalidArgumentError) as refused:
        sprawl.Client(node.address, **settings)
    assert message in str(refused.value)
