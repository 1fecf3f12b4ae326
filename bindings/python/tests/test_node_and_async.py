"""The embedded node and the asyncio client."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest
import sprawl
from conftest import unique


def test_a_disk_node_keeps_messages_across_a_restart(tmp_path):
    data = str(tmp_path / "data")
    with sprawl.Node(data_dir=data) as node:
        assert node.address.startswith("tcp://127.0.0.1:")
        assert node.http_address.startswith("http://127.0.0.1:")
        with sprawl.Client(node.address) as c:
            c.create_topic("kept", partitions=2)
            acks = [c.publish("kept", b"v%d" % i, key=str(i)) for i in range(20)]
    with sprawl.Node(data_dir=data) as node:
        with sprawl.Client(node.address) as c:
            with c.subscribe("kept", timeout=2.0) as sub:
                got = {(m.partition, m.offset): bytes(m.value) for m in sub}
    assert got == {(a.partition, a.offset): b"v%d" % i for i, a in enumerate(acks)}


def test_node_settings_are_validated(tmp_path):
    with pytest.raises(sprawl.InvalidArgumentError):
        sprawl.Node(data_dir=str(tmp_path), storage="floppy")
    with pytest.raises(ValueError):
        sprawl.Node(storage="disk")


def test_embedded_nodes_join_into_one_cluster():
    def members(node: sprawl.Node) -> dict:
        with urllib.request.urlopen(node.http_address + "/v1/cluster", timeout=5) as r:
            return {m["id"]: m["state"] for m in json.load(r)["members"]}

    with sprawl.Node(node_id="a") as a, \
            sprawl.Node(node_id="b", join=a.peer_address, rack="r2") as b:
        assert a.peer_address.startswith("tcp://127.0.0.1:")
        both = {"a": "alive", "b": "alive"}
        deadline = time.monotonic() + 10
        while (members(a), members(b)) != (both, both) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert members(a) == both
        assert members(b) == both
        b.stop()
        deadline = time.monotonic() + 10
        while members(a).get("b") != "left" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert members(a)["b"] == "left", "a stopped embedded node leaves gracefully"


def test_bad_cluster_settings_are_refused():
    with pytest.raises(sprawl.InvalidArgumentError, match="host:port"):
        sprawl.Node(join="nowhere")
    with pytest.raises(sprawl.InvalidArgumentError, match="probe timeout"):
        sprawl.Node(gossip_probe_interval_ms=100, gossip_probe_timeout_ms=150)


def test_two_nodes_cannot_share_a_port(node):
    port = int(node.address.rsplit(":", 1)[1])
    with pytest.raises(sprawl.StorageError):
        sprawl.Node(storage="memory", client_port=port)


def test_the_async_client_round_trip(node):
    async def main() -> list:
        async with sprawl.AsyncClient(node.address) as c:
            name = unique("async")
            await c.create_topic(name, partitions=2)
            acks = await asyncio.gather(*(c.publish(name, b"a%d" % i) for i in range(100)))
            assert len({(a.partition, a.offset) for a in acks}) == 100
            got = []
            async for msg in c.subscribe(name, group="g", timeout=2.0):
                got.append(bytes(msg.value))
                await msg.ack()
            return got

    got = asyncio.run(main())
    assert sorted(got) == sorted(b"a%d" % i for i in range(100))


def test_async_errors_are_sprawl_errors(node):
    async def main() -> None:
        async with sprawl.AsyncClient(node.address) as c:
            await c.publish("missing-topic", b"x")

    with pytest.raises(sprawl.NotFoundError):
        asyncio.run(main())


def test_version():
    assert sprawl.__version__.count(".") == 2
