"""Admin calls: altering and deleting topics, listing and describing groups."""

from __future__ import annotations

import pytest
import sprawl
from conftest import unique


def test_alter_topic_grows_partitions_and_changes_settings(client):
    name = unique("altered")
    client.create_topic(name, partitions=2)
    described = client.alter_topic(name, partitions=3, retention_ms=60_000)
    assert described["name"] == name
    assert described["config"]["partitions"] == 3
    assert described["config"]["retention_ms"] == 60_000
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    assert client.describe_topic(name)["config"]["retention_ms"] == 60_000
    # The new partition takes messages.
    assert client.publish(name, b"x", partition=2).partition == 2


def test_alter_topic_refuses_bad_changes_and_changes_nothing(client):
    name = unique("kept")
    client.create_topic(name, partitions=2)
    before = client.describe_topic(name)["config"]
    with pytest.raises(sprawl.InvalidArgumentError, match="only grow"):
        client.alter_topic(name, partitions=1)
    with pytest.raises(sprawl.InvalidArgumentError):
        client.alter_topic(name, max_message_bytes=0)
    with pytest.raises(sprawl.InvalidArgumentError, match="'retention_msec'") as refused:
        client.alter_topic(name, retention_msec=1)
    assert refused.value.code == "INVALID_ARGUMENT"
    assert client.describe_topic(name)["config"] == before
    with pytest.raises(sprawl.NotFoundError):
        client.alter_topic(unique("absent"), partitions=4)


@pytest.mark.parametrize("config, field", [
    ({"partitions": -1}, "partitions"),
    ({"partitions": 0}, "partitions"),
    ({"partitions": 2**32 + 1}, "partitions"),
    ({"partitions": 2, "partitons": 2}, "partitons"),
    ({"partitions": 2, "group": "g"}, "group"),
])
def test_create_topic_refuses_bad_partitions_and_unknown_settings_and_creates_nothing(
        client, config, field):
    name = unique("refused")
    with pytest.raises(sprawl.InvalidArgumentError, match=f"'{field}'|{field} ") as refused:
        client.create_topic(name, **config)
    assert refused.value.code == "INVALID_ARGUMENT"
    assert name not in [t["name"] for t in client.list_topics()]


def test_delete_topic_removes_it_and_its_messages(client):
    name = unique("deleted")
    client.create_topic(name, partitions=2)
    client.publish(name, b"gone")
    assert name in {t["name"] for t in client.list_topics()}
    client.delete_topic(name)
    assert name not in {t["name"] for t in client.list_topics()}
    with pytest.raises(sprawl.NotFoundError):
        client.describe_topic(name)
    with pytest.raises(sprawl.NotFoundError):
        client.delete_topic(name)
    with pytest.raises(sprawl.NotFoundError):
        client.publish(name, b"x")
    # The name is free again, and the new topic starts empty.
    recreated = client.create_topic(name)
    assert [p["high_watermark"] for p in recreated["partitions"]] == [0]


def test_list_and_describe_groups(client):
    name = unique("grouped")
    client.create_topic(name, partitions=2)
    for i in range(4):
        client.publish(name, b"%d" % i, partition=0)
    assert client.list_groups(name) == []
    with client.subscribe(name, group="billing", max_in_flight=100) as sub:
        for _ in range(4):
            msg = sub.receive(timeout=5)
            assert msg is not None and msg.partition == 0
            if msg.offset < 3:
                msg.ack()  # offset 3 stays in flight
        sub.commit()
        groups = client.list_groups(name)
        assert [(g["topic"], g["group"]) for g in groups] == [(name, "billing")]
        assert (name, "billing") in {(g["topic"], g["group"]) for g in client.list_groups()}
        group = client.describe_group(name, "billing")
        assert group["topic"] == name and group["group"] == "billing"
        [member] = group["members"]
        assert sorted(member["partitions"]) == [0, 1]
        assert member["max_in_flight"] == 100
        by_partition = {p["partition"]: p for p in group["partitions"]}
        assert by_partition[0]["ack_floor"] == 3
        assert by_partition[0]["next_offset"] == 4
        assert by_partition[0]["in_flight"] == 1
        assert by_partition[1]["next_offset"] == 0
    # After the member left, the group and its progress remain.
    group = client.describe_group(name, "billing")
    assert group["members"] == []
    assert {p["partition"]: p["ack_floor"] for p in group["partitions"]}[0] == 3
    with pytest.raises(sprawl.NotFoundError):
        client.describe_group(name, "no-such-group")
