"""Every error a caller can cause raises a typed SprawlError and changes nothing."""

from __future__ import annotations

import pytest
import sprawl
from conftest import unique


def test_a_missing_topic(client):
    with pytest.raises(sprawl.NotFoundError) as info:
        client.describe_topic("no-such-topic")
    err = info.value
    assert isinstance(err, sprawl.SprawlError) and isinstance(err, LookupError)
    assert err.code == "NOT_FOUND" and err.code_number == 2 and not err.retriable
    assert "no-such-topic" in str(err)


def test_a_duplicate_topic_changes_nothing(client):
    name = unique("dup")
    client.create_topic(name, partitions=3)
    with pytest.raises(sprawl.AlreadyExistsError):
        client.create_topic(name, partitions=5)
    assert len(client.describe_topic(name)["partitions"]) == 3


@pytest.mark.parametrize("bad", ["", "has space", "x" * 300, "caf\u00e9/..", "../etc"])
def test_invalid_topic_names(client, bad):
    with pytest.raises(sprawl.InvalidArgumentError):
        client.create_topic(bad)


def test_invalid_topic_settings(client):
    with pytest.raises(sprawl.InvalidArgumentError):
        client.create_topic(unique("zero"), partitions=0)
    with pytest.raises(sprawl.InvalidArgumentError, match="unknown topic setting 'retention_msec'"):
        client.create_topic(unique("typo"), retention_msec=5)


def test_publishing_to_a_missing_topic_or_partition(client, topic):
    with pytest.raises(sprawl.NotFoundError):
        client.publish("absent-topic", b"x")
    with pytest.raises(sprawl.NotFoundError):
        client.publish(topic, b"x", partition=7)


def test_a_message_over_the_topic_limit(client):
    name = unique("small")
    client.create_topic(name, max_message_bytes=1024)
    with pytest.raises(sprawl.ProducerError) as info:
        client.publish(name, b"x" * 4096)
    assert info.value.code == "MESSAGE_TOO_LARGE"
    assert client.describe_topic(name)["partitions"][0]["high_watermark"] == 0


def test_bad_argument_types(client, topic):
    with pytest.raises(TypeError):
        client.publish(topic, "not bytes")
    with pytest.raises(TypeError):
        client.publish(topic, b"x", headers={1: b"x"})
    with pytest.raises(ValueError):
        client.subscribe(topic, auto_ack=True)


def test_acking_a_message_read_by_offset(client, topic):
    client.publish(topic, b"x")
    with client.subscribe(topic, timeout=2) as sub:
        msg = sub.receive(timeout=2)
        with pytest.raises(ValueError):
            msg.ack()


def test_use_after_close_raises_closed(node):
    c = sprawl.Client(node.address)
    c.close()
    c.close()  # idempotent
    with pytest.raises(sprawl.ClosedError):
        c.list_topics()
    with pytest.raises(sprawl.ClosedError):
        c.publish("t", b"x")


def test_an_unreachable_server_times_out(node):
    with sprawl.Client("tcp://127.0.0.1:1", request_timeout=0.3) as c:
        with pytest.raises(sprawl.TimeoutError) as info:
            c.list_topics()
    assert info.value.retriable
    assert isinstance(info.value, TimeoutError)


def test_a_bad_address_is_refused():
    with pytest.raises(sprawl.InvalidArgumentError):
        sprawl.Client("not-an-address")
