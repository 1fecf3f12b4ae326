"""Replicated partitions on three real sprawl-server processes: a topic with a
replication factor of 3 is a Raft group per partition; a producer publishing
with acks=all through one node keeps going when the leader of a partition is
SIGKILLed, and every write it was told was stored is read back at the offset
its acknowledgement named, exactly once. The killed node, restarted with its
data, catches up with the survivors.

Uses the Python binding (SPRAWL_PYTHON_PATH, the one CMake build's package)
as the client: it follows NOT_LEADER hints and refreshes its routes, as every
binding does through the C ABI."""
import os
import sys
import threading
import time
import unittest

from cluster import Server, wait_for

if os.environ.get("SPRAWL_PYTHON_PATH"):
    sys.path.insert(0, os.environ["SPRAWL_PYTHON_PATH"])

import sprawl  # noqa: E402

PARTITIONS = 3


def describe(server, topic):
    status, body = server.request("GET", f"/v1/topics/{topic}")
    return body if status == 200 else None


def leaders(server, topic):
    """partition -> the client port of its leader as `server` sees it (None: unknown)."""
    d = describe(server, topic)
    if d is None:
        return None
    out = {}
    for p in d["partitions"]:
        leader = p.get("leader", "")
        out[p["partition"]] = int(leader.rsplit(":", 1)[1]) if leader else None
    return out


class Publisher(threading.Thread):
    """Publishes "v<i>" with acks=all until told to stop, recording every
    acknowledged write as value -> (partition, offset) and counting failures."""

    def __init__(self, address, topic):
        super().__init__(daemon=True)
        self.address = address
        self.topic = topic
        self.acked = {}
        self.failed = 0
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def count(self):
        with self.lock:
            return len(self.acked)

    def run(self):
        with sprawl.Client(self.address, acks="all", linger=0.002,
                           delivery_timeout=60) as client:
            i = 0
            while not self.stop.is_set():
                pending = []
                for _ in range(100):
                    value = f"v{i}".encode()
                    pending.append((value, client.publish_async(self.topic, value)))
                    i += 1
                for value, future in pending:
                    try:
                        ack = future.result(timeout=120)
                    except Exception as e:  # an unacknowledged write: allowed, counted
                        with self.lock:
                            self.failed += 1
                            if len(self.errors) < 5:
                                self.errors.append(repr(e))
                        continue
                    with self.lock:
                        self.acked[value] = (ack.partition, ack.offset)


class ReplicatedPartitionsTest(unittest.TestCase):
    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.proc and s.proc.poll() is None:
                s.kill()

    def start_cluster(self):
        nodes = [Server("--node-id", f"r{i}", "--bootstrap-expect", "3") for i in range(3)]
        for i, s in enumerate(nodes):
            s.extra += ["--join", f"127.0.0.1:{nodes[(i + 1) % 3].peer_port}"]
        self.servers += nodes
        for s in nodes:
            s.start()
        return nodes

    def create(self, server, name):
        status, body = server.request("POST", "/v1/topics",
                                      {"name": name, "config": {"partitions": PARTITIONS}},
                                      timeout=15)
        if status == 201:
            return body
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        if code == "ALREADY_EXISTS":
            return describe(server, name)
        self.assertIn(code, ("RETRY_AFTER", "TIMEOUT"), body)
        return None

    def all_led(self, nodes, topic):
        """Every node names the same leader for every partition."""
        views = [leaders(s, topic) for s in nodes]
        if any(v is None or len(v) != PARTITIONS or None in v.values() for v in views):
            return None
        return views[0] if all(v == views[0] for v in views) else None

    def read_all(self, address, topic):
        """Every record of `topic` by offset, through `address` (the iteration
        ends 5 s after the last record): value -> [(partition, offset)]."""
        seen = {}
        with sprawl.Client(address) as client:
            with client.subscribe(topic, start="earliest", timeout=5) as sub:
                for m in sub:
                    seen.setdefault(bytes(m.value), []).append((m.partition, m.offset))
        return seen

    def test_a_killed_leader_loses_no_acknowledged_write(self):
        nodes = self.start_cluster()
        created = wait_for(lambda: self.create(nodes[0], "orders"), timeout=30,
                           what="orders to be created")
        self.assertEqual(created["config"]["replication_factor"], 3)
        led = wait_for(lambda: self.all_led(nodes, "orders"), timeout=30,
                       what="every partition of orders to have a leader every node knows")
        for p in describe(nodes[0], "orders")["partitions"]:
            self.assertEqual(sorted(p["replicas"]), ["r0", "r1", "r2"])
            self.assertGreater(p["term"], 0)
        # sprawlctl and the partitions route show the same.
        described = nodes[1].ctl_json("topic", "describe", "orders")[0]
        self.assertEqual([p["leader"].rsplit(":", 1)[1] for p in described["partitions"]],
                         [str(led[p]) for p in range(PARTITIONS)])
        table = nodes[1].ctl("topic", "describe", "orders").stdout
        self.assertIn("LEADER", table)
        status, parts = nodes[2].request("GET", "/v1/topics/orders/partitions")
        self.assertEqual(status, 200)
        self.assertEqual([sorted(p["replicas"]) for p in parts["partitions"]],
                         [["r0", "r1", "r2"]] * PARTITIONS)

        # The victim leads partition 0; the producer talks to another node.
        victim = next(s for s in nodes if s.client_port == led[0])
        survivors = [s for s in nodes if s is not victim]
        publisher = Publisher(survivors[0].endpoint, "orders")
        publisher.start()
        wait_for(lambda: publisher.count() >= 3000, timeout=60,
                 what="3,000 acknowledged writes before the kill")

        victim.kill()
        killed_at = time.monotonic()
        before = publisher.count()
        wait_for(lambda: publisher.count() >= before + 3000, timeout=60,
                 what="3,000 more acknowledged writes after the leader was killed")
        resumed = time.monotonic() - killed_at
        publisher.stop.set()
        publisher.join(timeout=180)
        self.assertFalse(publisher.is_alive(), "the publisher did not finish")
        acked = dict(publisher.acked)
        print(f"\n{len(acked)} writes acknowledged, {publisher.failed} failed "
              f"{publisher.errors}; 3,000 more acknowledged {resumed:.2f} s after the kill")

        # Partition 0 has a new leader among the survivors, both agreeing.
        new_led = wait_for(lambda: self.all_led(survivors, "orders"), timeout=30,
                           what="the survivors to agree on every leader")
        self.assertIn(new_led[0], [s.client_port for s in survivors])

        # Every acknowledged write is read back at its offset, exactly once;
        # no record is read that nobody published.
        seen = self.read_all(survivors[1].endpoint, "orders")
        missing = [v for v, where in acked.items() if where not in seen.get(v, [])]
        self.assertEqual(missing[:10], [], f"{len(missing)} acknowledged writes missing")
        duplicated = [v for v, where in seen.items() if len(where) > 1]
        self.assertEqual(duplicated[:10], [], f"{len(duplicated)} values stored twice")
        for v in seen:
            self.assertTrue(v.startswith(b"v"), v)

        # Offsets are dense per partition: the log has no hole.
        for p in range(PARTITIONS):
            offsets = sorted(o for where in seen.values() for (q, o) in where if q == p)
            self.assertEqual(offsets, list(range(offsets[0], offsets[0] + len(offsets))) if
                             offsets else [], f"partition {p} has holes")

        # Restarted with its data, the killed node catches up: the same
        # committed end on every partition as the survivors.
        restarted = Server(*victim.extra, data_dir=victim.data_dir)
        restarted.client_port, restarted.http_port, restarted.peer_port = (
            victim.client_port, victim.http_port, victim.peer_port)
        self.servers.append(restarted)
        restarted.start()

        def ends(server):
            d = describe(server, "orders")
            return None if d is None else [p["high_watermark"] for p in d["partitions"]]

        want = ends(survivors[0])
        wait_for(lambda: ends(restarted) == want, timeout=60,
                 what=f"the restarted node to reach the survivors' ends {want}")


class ShortChaosTest(unittest.TestCase):
    def test_four_leader_faults_lose_nothing(self):
        """Four cycles of chaos.py (three SIGKILLs with restarts, one
        SIGSTOP/SIGCONT): `make chaos` runs a hundred."""
        import chaos
        tally, problems = chaos.run(4, log=lambda line: print(line, flush=True))
        print(f"\n{tally}")
        self.assertEqual(problems, [])
        self.assertEqual((tally["kills"], tally["stops"]), (3, 1))
        self.assertGreater(tally["acknowledged"], 2000)


if __name__ == "__main__":
    unittest.main()
