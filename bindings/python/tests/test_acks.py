"""Ack levels: the default (``all``) and what ``acks="none"`` reports."""

from __future__ import annotations

import urllib.request

import sprawl


def fsyncs(node: sprawl.Node) -> float:
    """The node's count of write-ahead log syncs, from /metrics."""
    with urllib.request.urlopen(node.http_address + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("sprawl_storage_fsyncs_total"):
                return float(line.split()[-1])
    raise AssertionError("/metrics has no sprawl_storage_fsyncs_total")


def test_acks_none_reports_no_offset(node, topic):
    with sprawl.Client(node.address, acks="none", linger=0.001) as c:
        ack = c.publish(topic, b"x")
        assert (ack.partition, ack.offset) == (0, None)
        assert c.publish_async(topic, b"y").result(timeout=10).offset is None
        c.flush()
    with sprawl.Client(node.address, acks="leader", linger=0.001) as c:
        assert c.publish(topic, b"z").offset is not None


def test_the_default_ack_level_is_all_a_publish_waits_for_a_sync(tmp_path):
    # Under a lazy fsync policy only `all` syncs before it acknowledges; the
    # interval is long enough that no timed sync falls inside the publish.
    with sprawl.Node(str(tmp_path), storage="disk", fsync="interval:60000") as node:
        with sprawl.Client(node.address, linger=0.001) as c:
            c.create_topic("durable")
            before = fsyncs(node)
            c.publish("durable", b"x")
            assert fsyncs(node) > before
