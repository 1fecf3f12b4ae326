"""Three real sprawl-server processes on loopback forming one cluster: a
topic replicated on all three, publishes with acks=all through a SIGKILL of
its partition's leader, and every acknowledged publish read back once, in
order. Needs SPRAWL_SERVER_BIN (ctest sets it); skipped without it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import sprawl
from conftest import unique

SERVER = os.environ.get("SPRAWL_SERVER_BIN", "")

pytestmark = pytest.mark.skipif(
    not os.access(SERVER, os.X_OK),
    reason="SPRAWL_SERVER_BIN does not name a sprawl-server program (ctest sets it)")


def wait_for(condition, timeout, what):
    """Polls `condition` until it returns a true value; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Server:
    """One sprawl-server on ports the OS picks (port 0), read back from the
    line its log prints once it listens; so tests running at once never race
    for a port."""

    LISTENING = re.compile(r"node listening .* client=(\S+) peer=tcp://(\S+) http=(\S+)")

    def __init__(self, directory, node_id, join=None):
        self.node_id = node_id
        self.log_path = os.path.join(directory, f"{node_id}.log")
        args = [SERVER, "--node-id", node_id, "--data-dir", os.path.join(directory, node_id),
                "--client-port", "0", "--http-port", "0", "--peer-port", "0"]
        if join:
            args += ["--join", join]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            self.address, self.peer, self.http = wait_for(self._listening, 15,
                                                          f"{node_id} to listen")
        except BaseException:
            self.kill()
            raise

    def _listening(self):
        with open(self.log_path) as log:
            text = log.read()
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.node_id} exited with {self.proc.returncode}: {text[-2000:]}")
        found = self.LISTENING.search(text)
        return found and found.groups()

    def get(self, path):
        """The parsed JSON of GET `path` on the HTTP port, or None."""
        try:
            with urllib.request.urlopen(self.http + path, timeout=2) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError):
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL
            self.proc.wait()


@pytest.fixture
def cluster(tmp_path):
    """Three nodes: the first forms the metadata group alone, the others join
    it and are promoted to voters. Every node is killed at the end."""
    nodes = []
    try:
        nodes.append(Server(str(tmp_path), "n0"))
        for node_id in ("n1", "n2"):
            nodes.append(Server(str(tmp_path), node_id, join=nodes[0].peer))

        def formed():
            for node in nodes:
                meta, members = node.get("/v1/meta"), node.get("/v1/cluster")
                if not (meta and meta.get("formed") and len(meta["voters"]) == 3 and members):
                    return False
                if sum(m["state"] == "alive" for m in members["members"]) != 3:
                    return False
            return True
        wait_for(formed, 20, "every node to see 3 voters and 3 live members")
        yield nodes
    finally:
        for node in nodes:
            node.kill()


def agreed_leader(nodes, topic):
    """The client address of partition 0's leader if every node names the same one."""
    views = [node.get(f"/v1/topics/{topic}/partitions") for node in nodes]
    leaders = {v["partitions"][0].get("leader") if v else None for v in views}
    return leaders.pop() if len(leaders) == 1 and None not in leaders else None


WINDOW = 100        # publishes in flight at once
WINDOWS = 10        # 1,000 publishes in all
KILL_IN_WINDOW = 4  # the leader dies while this window is in flight


def test_publishes_survive_a_sigkilled_leader_with_nothing_lost_or_repeated(cluster):
    topic = unique("replicated")
    with sprawl.Client(cluster[0].address) as admin:
        created = admin.create_topic(topic, partitions=1, replication_factor=3)
    assert created["config"]["replication_factor"] == 3
    leader = wait_for(lambda: agreed_leader(cluster, topic), 20,
                      "every node to name the same leader of partition 0")
    victim = next(node for node in cluster if node.address == leader)
    survivors = [node for node in cluster if node is not victim]

    # The client's bootstrap node must outlive the test: it starts on a
    # survivor and reaches the leader by following NOT_LEADER hints.
    acks = []
    with sprawl.Client(survivors[0].address, acks="all", linger=0.001,
                       delivery_timeout=30) as client:
        for window in range(WINDOWS):
            first = window * WINDOW
            futures = [client.publish_async(topic, str(i).encode(), partition=0)
                       for i in range(first, first + WINDOW)]
            if window == KILL_IN_WINDOW:
                victim.kill()
            # A failed publish raises here: the failover must not surface.
            for future in futures:
                ack = future.result(timeout=30)
                acks.append((ack.partition, ack.offset))

    total = WINDOWS * WINDOW
    # One producer, idempotent: each value acknowledged at its own offset, in order.
    assert acks == [(0, i) for i in range(total)]
    wait_for(lambda: agreed_leader(survivors, topic) in {node.address for node in survivors}, 20,
             "the survivors to agree on a new leader among themselves")

    with sprawl.Client(survivors[1].address) as reader:
        # Nothing stored past the acknowledged publishes (no duplicate at the end).
        def high_watermark():
            return reader.describe_topic(topic)["partitions"][0]["high_watermark"]
        wait_for(lambda: high_watermark() >= total, 20, f"the high watermark to reach {total}")
        assert high_watermark() == total
        seen = []
        with reader.subscribe(topic, start="earliest", partition=0, timeout=10) as sub:
            for message in sub:
                seen.append((message.offset, bytes(message.value).decode()))
                if len(seen) == total:
                    break
    assert seen == [(i, str(i)) for i in range(total)]
