"""Replicated partitions on three real sprawl-server processes: a topic with a
replication factor of 3 is a Raft group per partition; a producer publishing
with acks=all through one node keeps going when the leader of a partition is
SIGKILLed, and every write it was told was stored is read back at the offset
its acknowledgement named, exactly once. The killed node, restarted with its
data, catches up with the survivors.

Uses the Python binding (SPRAWL_PYTHON_PATH, the one CMake build's package)
as the client: it follows NOT_LEADER hints and refreshes its routes, as every
binding does through the C ABI. The cluster, publishers and checker are
chaos.py's, which `make chaos` runs for a hundred fault cycles."""
import os
import subprocess
import time
import unittest

import chaos
import sprawl
from chaos import PARTITIONS, agreed_leaders, describe
from cluster import SERVER, wait_for


def ends(server, topic="orders"):
    """Each partition's high watermark on `server`, or None if it does not answer."""
    d = describe(server, topic)
    return None if d is None else [p["high_watermark"] for p in d["partitions"]]


def metric(server, name):
    """The value of the metric line `name` (with its labels) on `server`, 0 if absent."""
    _, text = server.request("GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


class ClusterCase(unittest.TestCase):
    """Kills whatever server a test started and left running."""

    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.proc and s.proc.poll() is None:
                s.kill()

    def start_with_topic(self, prefix, topic):
        """Three nodes named prefix0..2 and `topic` of PARTITIONS partitions
        with the default factor 3; returns (nodes, the topic's description,
        partition -> its leader's client port, agreed by every node)."""
        nodes = chaos.start_cluster(prefix=prefix)
        self.servers += nodes
        created = chaos.create_topic(nodes[0], topic, PARTITIONS)
        led = wait_for(lambda: agreed_leaders(nodes, topic, PARTITIONS), timeout=30,
                       what=f"every partition of {topic} to have a leader every node knows")
        return nodes, created, led


class ReplicatedPartitionsTest(ClusterCase):
    def test_a_killed_leader_loses_no_acknowledged_write(self):
        nodes, created, led = self.start_with_topic("r", "orders")
        self.assertEqual(created["config"]["replication_factor"], 3)
        for p in describe(nodes[0], "orders")["partitions"]:
            self.assertEqual(sorted(p["replicas"]), ["r0", "r1", "r2"])
            self.assertGreater(p["term"], 0)
        # sprawlctl and the partitions route show the same.
        described = nodes[1].ctl_json("topic", "describe", "orders")[0]
        self.assertEqual([p["leader"].rsplit(":", 1)[1] for p in described["partitions"]],
                         [str(led[p]) for p in range(PARTITIONS)])
        self.assertIn("LEADER", nodes[1].ctl("topic", "describe", "orders").stdout)
        status, parts = nodes[2].request("GET", "/v1/topics/orders/partitions")
        self.assertEqual(status, 200)
        self.assertEqual([sorted(p["replicas"]) for p in parts["partitions"]],
                         [["r0", "r1", "r2"]] * PARTITIONS)
        # Started without --fault-injection, a node injects no fault.
        status, body = nodes[0].request("POST", "/v1/faults/partition")
        self.assertEqual((status, body["error"]["code"]), (404, "NOT_FOUND"))
        self.assertIn("--fault-injection", body["error"]["message"])

        # The victim leads partition 0; the producer talks to another node.
        victim = next(s for s in nodes if s.client_port == led[0])
        survivors = [s for s in nodes if s is not victim]
        publishers = chaos.Publishers(survivors[0].endpoint, "orders", PARTITIONS, threads=1)
        publishers.start()
        wait_for(lambda: publishers.count() >= 3000, timeout=60,
                 what="3,000 acknowledged writes before the kill")

        victim.kill()
        killed_at = time.monotonic()
        before = publishers.count()
        wait_for(lambda: publishers.count() >= before + 3000, timeout=60,
                 what="3,000 more acknowledged writes after the leader was killed")
        resumed = time.monotonic() - killed_at
        publishers.finish()
        acked = dict(publishers.acked)
        print(f"\n{len(acked)} writes acknowledged, {publishers.failed} failed "
              f"{publishers.errors}; 3,000 more acknowledged {resumed:.2f} s after the kill")

        # Partition 0 has a new leader among the survivors, both agreeing.
        new_led = wait_for(lambda: agreed_leaders(survivors, "orders", PARTITIONS), timeout=30,
                           what="the survivors to agree on every leader")
        self.assertIn(new_led[0], [s.client_port for s in survivors])

        # Every acknowledged write is read back at its offset, exactly once,
        # with no hole and in the order it was sent.
        seen = chaos.read_all(survivors[1].endpoint, "orders")
        self.assertEqual(chaos.check(acked, seen, PARTITIONS), [])

        # Restarted with its data, the killed node catches up: the same
        # committed end on every partition as the survivors.
        restarted = chaos.restart(victim)
        self.servers.append(restarted)


        want = ends(survivors[0])
        wait_for(lambda: ends(restarted) == want, timeout=60,
                 what=f"the restarted node to reach the survivors' ends {want}")

        # Once every replica stored the log, the leaders have every replica
        # drop it: what is left of each group's Raft log is at most the
        # compaction's own entry and a no-op.
        everyone = survivors + [restarted]

        def compacted():
            for s in everyone:
                d = describe(s, "orders")
                if d is None:
                    return False
                for p in d["partitions"]:
                    raft = p.get("raft", {})
                    if raft.get("log_start", 0) <= 1 or raft["log_end"] - raft["log_start"] > 4:
                        return False
            return True
        wait_for(compacted, timeout=60, what="every replica's Raft log to be compacted")

        def follower_lags():
            """partition -> the lags its leader reports for its two followers."""
            lags = {}
            for s in everyone:
                for p in describe(s, "orders")["partitions"]:
                    if "followers" in p.get("raft", {}):
                        lags[p["partition"]] = sorted(f["lag"] for f in p["raft"]["followers"])
            return lags
        wait_for(lambda: follower_lags() == {p: [0, 0] for p in range(PARTITIONS)}, timeout=30,
                 what="every leader to report both followers caught up")

        # A replica restarted on its compacted log starts from its image and
        # still holds every acknowledged write.
        survivors[1].kill()
        again = chaos.restart(survivors[1])
        self.servers.append(again)
        wait_for(lambda: ends(again) == want, timeout=60,
                 what=f"the node restarted on a compacted log to reach {want}")
        self.assertEqual(chaos.check(acked, chaos.read_all(again.endpoint, "orders"), PARTITIONS),
                         [])


class GracefulStopTest(ClusterCase):
    def test_a_stopped_leader_hands_its_partitions_over_first(self):
        """SIGTERM makes a node hand each partition it leads, and the
        metadata group, to a caught-up replica before it leaves: the
        survivors name the new leaders, and a producer writing throughout
        loses nothing."""
        nodes, _, led = self.start_with_topic("t", "orders")
        # The victim leads the metadata group and partition 0 (moved to it).
        meta_leader = wait_for(lambda: nodes[0].request("GET", "/v1/meta")[1].get("leader"),
                               timeout=30, what="the metadata group to have a leader")
        victim = nodes[int(meta_leader[1:])]
        if led[0] != victim.client_port:
            victim.ctl("partition", "transfer-leader", "orders", "0", meta_leader)
        survivors = [s for s in nodes if s is not victim]
        publishers = chaos.Publishers(survivors[0].endpoint, "orders", PARTITIONS, threads=1)
        publishers.start()
        wait_for(lambda: publishers.count() >= 2000, timeout=60, what="2,000 writes")
        stopping = time.monotonic()
        self.assertEqual(victim.stop(), 0)
        stopped = time.monotonic() - stopping
        with open(victim.log_path) as log:
            handed = [line for line in log if "leadership handed over before stopping" in line]
        self.assertEqual(len(handed), 1, "the stopped node logs its hand-over once")
        self.assertIn("still_led=0", handed[0])
        new_led = wait_for(lambda: agreed_leaders(survivors, "orders", PARTITIONS), timeout=30,
                           what="the survivors to agree on every leader")
        self.assertNotIn(victim.client_port, new_led.values())
        meta_leaders = {s.request("GET", "/v1/meta")[1]["leader"] for s in survivors}
        self.assertEqual(len(meta_leaders), 1, "the survivors name one metadata leader")
        self.assertIn(meta_leaders.pop(), {f"t{i}" for i in range(3)} - {meta_leader})
        before = publishers.count()
        wait_for(lambda: publishers.count() >= before + 2000, timeout=60,
                 what="2,000 more writes after the stop")
        publishers.finish()
        print(f"\nstop took {stopped:.2f} s; {handed[0].strip()}")
        seen = chaos.read_all(survivors[1].endpoint, "orders")
        self.assertEqual(chaos.check(dict(publishers.acked), seen, PARTITIONS), [])


class TransferLeaderTest(ClusterCase):
    def test_sprawlctl_hands_a_partition_to_the_replica_it_names(self):
        """`sprawlctl partition transfer-leader` asked of any node moves the
        leadership to the named replica while a producer writes; requests it
        cannot honour fail with a clear message and change nothing."""
        nodes, _, led = self.start_with_topic("x", "orders")
        ids = {s.client_port: f"x{i}" for i, s in enumerate(nodes)}
        publishers = chaos.Publishers(nodes[0].endpoint, "orders", PARTITIONS, threads=1)
        publishers.start()
        wait_for(lambda: publishers.count() >= 1000, timeout=60, what="1,000 writes")

        leader = ids[led[1]]
        target = next(i for i in ids.values() if i != leader)
        # Asked of a node that does not lead the partition: the request
        # follows the NOT_LEADER hint to the leader.
        asked = next(s for s in nodes if s.client_port != led[1])
        out = asked.ctl("partition", "transfer-leader", "orders", "1", target).stdout
        self.assertEqual(out.strip(), f"{target} now leads partition 1 of orders")
        moved = wait_for(lambda: agreed_leaders(nodes, "orders", PARTITIONS), timeout=30,
                         what="every node to name the new leader")
        self.assertEqual(ids[moved[1]], target)
        self.assertEqual({p: moved[p] for p in moved if p != 1},
                         {p: led[p] for p in led if p != 1})
        again = asked.ctl_json("partition", "transfer-leader", "orders", "1", target)[0]
        self.assertTrue(again["already"])

        for args, message in [
            (("orders", "1", "nobody"), "node 'nobody' holds no replica of partition 1"),
            (("orders", str(PARTITIONS), target), "NOT_FOUND"),
            (("missing", "0", target), "topic 'missing' does not exist"),
        ]:
            failed = asked.ctl("partition", "transfer-leader", *args, check=False)
            self.assertEqual(failed.returncode, 1, failed.stderr)
            self.assertIn(message, failed.stderr)
        self.assertEqual(agreed_leaders(nodes, "orders", PARTITIONS), moved)

        before = publishers.count()
        wait_for(lambda: publishers.count() >= before + 1000, timeout=60,
                 what="1,000 more writes after the transfer")
        publishers.finish()
        seen = chaos.read_all(nodes[2].endpoint, "orders")
        self.assertEqual(chaos.check(dict(publishers.acked), seen, PARTITIONS), [])


class CatchUpTest(ClusterCase):
    def test_a_replica_down_while_its_groups_compacted_copies_the_records_it_missed(self):
        """A replica down for longer than the leaders wait stops holding
        their Raft logs back: they compact past it. Restarted, it gets each
        leader's image, copies the records the image covers from the leader,
        and then holds every acknowledged write itself."""
        nodes, _, led = self.start_with_topic("c", "orders")
        ids = {s.client_port: f"c{i}" for i, s in enumerate(nodes)}
        victim = next(s for s in nodes if s.client_port != led[0])
        survivors = [s for s in nodes if s is not victim]
        publishers = chaos.Publishers(survivors[0].endpoint, "orders", PARTITIONS, threads=1)
        publishers.start()
        wait_for(lambda: publishers.count() >= 2000, timeout=60, what="2,000 writes")
        victim.kill()

        def log_ends(server):
            d = describe(server, "orders")
            return {p["partition"]: p.get("raft", {}).get("log_end", 0) for p in d["partitions"]}
        at_kill = {p: max(log_ends(s)[p] for s in survivors) for p in range(PARTITIONS)}

        def compacted_past_victim():
            for s in survivors:
                d = describe(s, "orders")
                if d is None:
                    return False
                for p in d["partitions"]:
                    # The log starts after the image: past every entry the
                    # victim can have stored.
                    if p.get("raft", {}).get("log_start", 0) <= at_kill[p["partition"]] + 1:
                        return False
            return True
        wait_for(compacted_past_victim, timeout=60,
                 what="every survivor's Raft log to be compacted past what the victim stored")
        publishers.finish()
        acked = dict(publishers.acked)

        restarted = chaos.restart(victim)
        self.servers.append(restarted)
        done = 'sprawl_replica_catch_ups_total{outcome="done"}'
        wait_for(lambda: metric(restarted, done) >= PARTITIONS, timeout=60,
                 what="the restarted node to copy the records of every partition")
        self.assertGreater(metric(restarted, "sprawl_replica_catch_up_bytes_total"), 0)

        want = ends(survivors[0])
        wait_for(lambda: ends(restarted) == want, timeout=60,
                 what=f"the restarted node to reach the survivors' ends {want}")

        # Led by the restarted node alone, every partition still serves
        # every acknowledged write: its log holds them all.
        everyone = survivors + [restarted]
        for p in range(PARTITIONS):
            restarted.ctl("partition", "transfer-leader", "orders", str(p), ids[victim.client_port])
        wait_for(lambda: agreed_leaders(everyone, "orders", PARTITIONS)
                 == {p: restarted.client_port for p in range(PARTITIONS)},
                 timeout=30, what="the restarted node to lead every partition")
        self.assertEqual(chaos.check(acked, chaos.read_all(restarted.endpoint, "orders"),
                                     PARTITIONS), [])


class ReplicationFactorTest(ClusterCase):
    def test_a_new_factor_adds_and_removes_replicas_under_load_and_loses_nothing(self):
        """`topic alter --replication-factor` changes each partition's
        replica set: raised, every partition's leader adds the new member as
        a learner, which catches up and becomes a voter (and can then lead
        with every acknowledged write); lowered, the extra member hands over
        its leadership, is removed and closes its replica. A producer writes
        throughout; requests that cannot work fail and change nothing."""
        nodes = chaos.start_cluster(prefix="f")
        self.servers += nodes
        ids = {s.client_port: chaos.node_id(s) for s in nodes}
        by_id = {chaos.node_id(s): s for s in nodes}
        wait_for(lambda: chaos.all_alive(nodes), timeout=30, what="every node to see the others")
        chaos.create_topic(nodes[0], "orders", PARTITIONS, replication_factor=2)
        wait_for(lambda: agreed_leaders(nodes, "orders", PARTITIONS), timeout=30,
                 what="every partition of orders to have a leader")
        before = {p["partition"]: p["replicas"] for p in describe(nodes[0], "orders")["partitions"]}
        self.assertTrue(all(len(r) == 2 for r in before.values()), before)
        publishers = chaos.Publishers(nodes[0].endpoint, "orders", PARTITIONS, threads=1)
        publishers.start()
        wait_for(lambda: publishers.count() >= 2000, timeout=60, what="2,000 writes")

        for factor, message in [("1", "fixed when the topic is created"),
                                ("4", "needs 4 live members")]:
            failed = nodes[1].ctl("topic", "alter", "orders", "--replication-factor", factor,
                                  check=False)
            self.assertEqual(failed.returncode, 1, failed.stderr)
            self.assertIn(message, failed.stderr)
        self.assertEqual(describe(nodes[2], "orders")["config"]["replication_factor"], 2)

        # Once the groups compacted their logs, a new replica can only start
        # from the leader's image and copy the records it covers.
        def compacted():
            for s in nodes:
                d = describe(s, "orders")
                if d is None or any(p.get("raft", {}).get("log_start", 2) <= 1
                                    for p in d["partitions"]):
                    return False
            return True
        wait_for(compacted, timeout=60, what="every group's Raft log to be compacted")
        nodes[1].ctl("topic", "alter", "orders", "--replication-factor", "3")

        def voters(partition_replicas):
            """True once every partition has `partition_replicas` replicas
            on every node and its leader reports the others as caught-up
            voters."""
            for s in nodes:
                d = describe(s, "orders")
                if d is None:
                    return False
                for p in d["partitions"]:
                    if len(p["replicas"]) != partition_replicas:
                        return False
                    followers = p.get("raft", {}).get("followers")
                    if followers is None:
                        continue
                    if len(followers) != partition_replicas - 1 or any(
                            f["learner"] or f["lag"] > 64 for f in followers):
                        return False
            led = agreed_leaders(nodes, "orders", PARTITIONS)
            return led is not None
        wait_for(lambda: voters(3), timeout=60,
                 what="every partition to have three caught-up voters")
        added = {}
        for p in describe(nodes[0], "orders")["partitions"]:
            self.assertEqual(p["replicas"][:2], before[p["partition"]])
            added[p["partition"]] = p["replicas"][2]
        copied = sum(metric(s, 'sprawl_replica_catch_ups_total{outcome="done"}') for s in nodes)
        self.assertGreaterEqual(copied, PARTITIONS)
        count = publishers.count()
        wait_for(lambda: publishers.count() >= count + 2000, timeout=60,
                 what="2,000 more writes after the factor was raised")

        # Led by the replica each partition gained, every acknowledged
        # write is still served: the new replicas hold them all.
        for p, member in added.items():
            nodes[0].ctl("partition", "transfer-leader", "orders", str(p), member)
        wait_for(lambda: agreed_leaders(nodes, "orders", PARTITIONS)
                 == {p: by_id[m].client_port for p, m in added.items()},
                 timeout=30, what="the added replicas to lead their partitions")
        count = publishers.count()
        wait_for(lambda: publishers.count() >= count + 2000, timeout=60,
                 what="2,000 more writes led by the added replicas")

        # Lowered again: the replica each partition gained (its leader now)
        # hands over and leaves; its group closes on its node.
        nodes[2].ctl("topic", "alter", "orders", "--replication-factor", "2")
        wait_for(lambda: voters(2), timeout=60,
                 what="every partition to be back to two voters")

        def closed():
            for p, member in added.items():
                d = describe(by_id[member], "orders")
                if d is None or "raft" in d["partitions"][p]:
                    return False
            return True
        wait_for(closed, timeout=60, what="each removed replica to close its group")
        led = agreed_leaders(nodes, "orders", PARTITIONS)
        for p in range(PARTITIONS):
            self.assertIn(ids[led[p]], before[p])
        count = publishers.count()
        wait_for(lambda: publishers.count() >= count + 2000, timeout=60,
                 what="2,000 more writes after the factor was lowered")
        publishers.finish()
        seen = chaos.read_all(nodes[1].endpoint, "orders")
        self.assertEqual(chaos.check(dict(publishers.acked), seen, PARTITIONS), [])


class RemovedWhileDownTest(ClusterCase):
    def test_a_replica_removed_while_its_node_was_down_drops_its_data_when_it_returns(self):
        """A node down while a topic's factor is lowered loses its replica
        (it was last in the partition's set); the group's leader removes it.
        Restarted, the node drops that partition's records and its group's
        Raft state (its data directory holds none of them, and a second
        restart opens no group for it), and keeps the replicas of another
        topic."""
        nodes, _, _ = self.start_with_topic("d", "orders")
        solo = chaos.create_topic(nodes[0], "solo", 1)
        wait_for(lambda: agreed_leaders(nodes, "solo", 1), timeout=30,
                 what="solo to have a leader every node knows")
        victim_id = solo["partitions"][0]["replicas"][2]
        victim = next(s for s in nodes if chaos.node_id(s) == victim_id)
        survivors = [s for s in nodes if s is not victim]
        writers = [chaos.Publishers(survivors[0].endpoint, "orders", PARTITIONS, threads=1),
                   chaos.Publishers(survivors[0].endpoint, "solo", 1, threads=1)]
        for w in writers:
            w.start()
        wait_for(lambda: all(w.count() >= 500 for w in writers), timeout=60,
                 what="500 writes to each topic")
        for w in writers:
            w.finish()
        want = {"orders": ends(survivors[0]), "solo": ends(survivors[0], "solo")}
        wait_for(lambda: all(ends(victim, t) == e for t, e in want.items()), timeout=60,
                 what=f"the victim to hold every partition's records {want}")
        self.assertGreater(want["solo"][0], 0)
        victim.kill()

        survivors[0].ctl("topic", "alter", "solo", "--replication-factor", "2")

        def removed():
            followers = []
            for s in survivors:
                d = describe(s, "solo")
                if d is None or len(d["partitions"][0]["replicas"]) != 2:
                    return False
                followers.append(d["partitions"][0].get("raft", {}).get("followers"))
            return [len(f) for f in followers if f is not None] == [1]
        wait_for(removed, timeout=60, what="solo's group to drop to two members")

        log_size = os.path.getsize(victim.log_path)
        restarted = chaos.restart(victim)
        self.servers.append(restarted)

        def log_since(offset):
            with open(restarted.log_path) as f:
                f.seek(offset)
                return f.read()

        def dropped():
            d = describe(restarted, "solo")
            if d is None or "raft" in d["partitions"][0]:
                return False
            return any("records of a partition this node no longer replicates dropped" in line
                       and "topic=solo partition=0" in line
                       for line in log_since(log_size).splitlines())
        wait_for(dropped, timeout=60, what="the restarted node to drop its replica of solo")
        restarted.stop()

        inspect = subprocess.run(
            [os.path.join(os.path.dirname(SERVER), "sprawl-log"), "--data-dir",
             os.path.join(restarted.data_dir, "data"), "inspect"],
            capture_output=True, text=True, timeout=60, check=True).stdout
        next_offsets = {}
        for line in inspect.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 2:
                next_offsets[fields[0]] = int(fields[2])
        self.assertEqual(next_offsets.get("solo/0"), 0, inspect)
        for p in range(PARTITIONS):
            self.assertEqual(next_offsets.get(f"orders/{p}"), want["orders"][p], inspect)

        # Its group's Raft state went too: it does not open again.
        log_size = os.path.getsize(restarted.log_path)
        again = chaos.restart(restarted)
        self.servers.append(again)

        def opened():
            d = describe(again, "orders")
            return d is not None and all("raft" in p for p in d["partitions"])
        wait_for(opened, timeout=60, what="the node's replicas of orders to open")
        wait_for(lambda: ends(again) == want["orders"], timeout=60,
                 what="the node to serve its replicas of orders whole")
        text = log_since(log_size)
        self.assertNotRegex(text, r"partition replica open [^\n]*topic=solo ")
        self.assertNotIn("opens until its leader confirms", text)
        self.assertEqual(ends(again, "solo"), [0])


class ReplaceGoneReplicaTest(ClusterCase):
    def test_the_replicas_of_a_dead_node_move_to_a_live_one_and_lose_nothing(self):
        """Four nodes started with --replace-after-ms 0, a topic of factor 3:
        when a node is killed, the metadata group's leader gives each of its
        replicas to the fourth node, which catches up and becomes a voter
        while a producer writes; the dead node is out of every replica set,
        and led by the new replicas every acknowledged write is read back."""
        nodes = chaos.start_cluster(prefix="g", count=4, options=["--replace-after-ms", "0"])
        self.servers += nodes
        by_id = {chaos.node_id(s): s for s in nodes}
        wait_for(lambda: chaos.all_alive(nodes), timeout=30, what="every node to see the others")
        chaos.create_topic(nodes[0], "orders", PARTITIONS, replication_factor=3)
        wait_for(lambda: agreed_leaders(nodes, "orders", PARTITIONS), timeout=30,
                 what="every partition of orders to have a leader")
        before = {p["partition"]: p["replicas"] for p in describe(nodes[0], "orders")["partitions"]}
        victim_id = before[0][1]
        victim = by_id[victim_id]
        survivors = [s for s in nodes if s is not victim]
        publishers = chaos.Publishers(survivors[0].endpoint, "orders", PARTITIONS, threads=1)
        publishers.start()
        wait_for(lambda: publishers.count() >= 2000, timeout=60, what="2,000 writes")
        victim.kill()

        def replaced():
            for s in survivors:
                d = describe(s, "orders")
                if d is None:
                    return False
                for p in d["partitions"]:
                    if victim_id in p["replicas"] or len(p["replicas"]) != 3:
                        return False
                    followers = p.get("raft", {}).get("followers")
                    if followers is not None and (len(followers) != 2 or any(
                            f["learner"] or f["lag"] > 64 for f in followers)):
                        return False
            return agreed_leaders(survivors, "orders", PARTITIONS) is not None
        wait_for(replaced, timeout=90,
                 what=f"every replica of {victim_id} to be replaced by a caught-up voter")
        after = {p["partition"]: p["replicas"] for p in describe(survivors[1], "orders")["partitions"]}
        gained = {}
        for p, replicas in before.items():
            if victim_id in replicas:
                new = [m for m in after[p] if m not in replicas]
                self.assertEqual(len(new), 1, after[p])
                self.assertEqual(after[p], [new[0] if m == victim_id else m for m in replicas])
                gained[p] = new[0]
            else:
                self.assertEqual(after[p], replicas)
        self.assertIn(0, gained)
        count = publishers.count()
        wait_for(lambda: publishers.count() >= count + 2000, timeout=60,
                 what="2,000 more writes after the replacement")

        for p, member in gained.items():
            survivors[0].ctl("partition", "transfer-leader", "orders", str(p), member)
        wait_for(lambda: all((agreed_leaders(survivors, "orders", PARTITIONS) or {}).get(p)
                             == by_id[m].client_port for p, m in gained.items()),
                 timeout=30, what="the new replicas to lead their partitions")
        publishers.finish()
        seen = chaos.read_all(survivors[1].endpoint, "orders")
        self.assertEqual(chaos.check(dict(publishers.acked), seen, PARTITIONS), [])


class LeaderBalanceTest(ClusterCase):
    def test_a_restarted_preferred_replica_leads_its_partition_again(self):
        """With --leader-balance-after-ms 1000, the preferred replica of a
        partition (the first of its set) that was killed and restarted gets
        its partition's leadership back by a transfer, under load, once it
        has caught up; nothing acknowledged is lost."""
        nodes = chaos.start_cluster(prefix="b", options=["--leader-balance-after-ms", "1000"])
        self.servers += nodes
        by_id = {chaos.node_id(s): s for s in nodes}
        chaos.create_topic(nodes[0], "orders", PARTITIONS)
        preferred = {p["partition"]: p["replicas"][0]
                     for p in describe(nodes[0], "orders")["partitions"]}
        everyone_preferred = {p: by_id[m].client_port for p, m in preferred.items()}
        wait_for(lambda: agreed_leaders(nodes, "orders", PARTITIONS) == everyone_preferred,
                 timeout=30, what="every partition to be led by its preferred replica")
        victim = by_id[preferred[0]]
        survivors = [s for s in nodes if s is not victim]
        publishers = chaos.Publishers(survivors[0].endpoint, "orders", PARTITIONS, threads=1)
        publishers.start()
        wait_for(lambda: publishers.count() >= 2000, timeout=60, what="2,000 writes")
        victim.kill()
        led = wait_for(lambda: agreed_leaders(survivors, "orders", PARTITIONS), timeout=30,
                       what="the survivors to elect a leader for every partition")
        self.assertNotEqual(led[0], victim.client_port)
        count = publishers.count()
        wait_for(lambda: publishers.count() >= count + 2000, timeout=60,
                 what="2,000 more writes while the preferred replica is down")

        restarted = chaos.restart(victim)
        self.servers.append(restarted)
        everyone = survivors + [restarted]
        wait_for(lambda: agreed_leaders(everyone, "orders", PARTITIONS) == everyone_preferred,
                 timeout=60, what="every partition to be led by its preferred replica again")
        logs = ""
        for s in survivors:
            with open(s.log_path) as log:
                logs += log.read()
        self.assertIn("leadership handed back to its preferred replica", logs)
        count = publishers.count()
        wait_for(lambda: publishers.count() >= count + 2000, timeout=60,
                 what="2,000 more writes after the hand-back")
        publishers.finish()
        seen = chaos.read_all(survivors[1].endpoint, "orders")
        self.assertEqual(chaos.check(dict(publishers.acked), seen, PARTITIONS), [])


class FencingTest(ClusterCase):
    def test_a_named_producer_stays_fenced_across_a_failover(self):
        """A second client with the same producer name fences the first
        across the cluster, and the fence survives the SIGKILL of a leader: the new
        leader refuses the zombie too (its metadata and the producer table
        its replica applied both know the newer epoch)."""
        nodes, _, led = self.start_with_topic("f", "orders")
        zombie = sprawl.Client(nodes[0].endpoint, linger=0.001, producer_name="billing")
        successor = None
        try:
            for p in range(PARTITIONS):
                zombie.publish("orders", f"zombie-{p}".encode(), partition=p)
            successor = sprawl.Client(nodes[1].endpoint, linger=0.001, producer_name="billing")
            for p in range(PARTITIONS):
                successor.publish("orders", f"successor-{p}".encode(), partition=p)
            victim = next(s for s in nodes if s.client_port == led[0])
            victim.kill()
            survivors = [s for s in nodes if s is not victim]
            wait_for(lambda: agreed_leaders(survivors, "orders", PARTITIONS), timeout=30,
                     what="the survivors to agree on every leader")
            # The zombie's first write since it was fenced goes to the new
            # leader of partition 0, which refuses it; the client then
            # refuses every later write itself.
            for p in [0] + list(range(PARTITIONS)):
                with self.assertRaises(sprawl.ProducerError) as fenced:
                    zombie.publish("orders", b"late", partition=p)
                self.assertEqual(fenced.exception.code, "PRODUCER_FENCED")
            successor.publish("orders", b"successor-after", partition=0)

            seen = chaos.read_all(survivors[0].endpoint, "orders")
            values = sorted(v for v, where in seen.items() for _ in where)
            self.assertEqual(values, sorted(
                [f"zombie-{p}".encode() for p in range(PARTITIONS)]
                + [f"successor-{p}".encode() for p in range(PARTITIONS)]
                + [b"successor-after"]))
        finally:
            zombie.close()
            if successor:
                successor.close()


class ReplicatedGroupTest(ClusterCase):
    """A consumer group's cursors are checkpointed through the Raft group of
    partition 0, whose leader coordinates the group: SIGKILL that leader and
    the group resumes on its successor from the replicated cursors, so what
    was acked before is not delivered again."""

    def test_a_group_resumes_from_its_replicated_cursors_when_its_coordinator_dies(self):
        nodes, _, led = self.start_with_topic("g", "jobs")
        publishers = chaos.Publishers(nodes[0].endpoint, "jobs", PARTITIONS, threads=1)
        publishers.start()
        wait_for(lambda: publishers.count() >= 3000, timeout=60, what="3,000 writes")
        publishers.finish()
        total = len(publishers.acked)

        coordinator = next(s for s in nodes if s.client_port == led[0])
        others = [s for s in nodes if s is not coordinator]
        received = {}  # (partition, offset) -> deliveries seen
        with sprawl.Client(others[0].endpoint) as client:
            with client.subscribe("jobs", group="workers", max_in_flight=50,
                                  session_timeout=3, timeout=60) as sub:
                messages = iter(sub)
                acked = set()
                while len(acked) < total // 2:
                    m = next(messages)
                    where = (m.partition, m.offset)
                    received[where] = received.get(where, 0) + 1
                    m.ack()
                    acked.add(where)

                # Paused: the acks reach the coordinator, which checkpoints
                # them through partition 0's log to the other replicas; each
                # describes the group from its own copy.
                def stored_floor(server):
                    status, body = server.request("GET", "/v1/topics/jobs/groups/workers")
                    if status != 200:
                        return None
                    return sum(p["ack_floor"] for p in body["partitions"])
                for s in others:
                    wait_for(lambda s=s: stored_floor(s) == len(acked), timeout=30,
                             what=f"{s.http} to store the group's {len(acked)} acks")

                coordinator.kill()
                while len(received) < total:
                    m = next(messages, None)
                    self.assertIsNotNone(m, f"deliveries stopped at {len(received)} of {total}")
                    where = (m.partition, m.offset)
                    received[where] = received.get(where, 0) + 1
                    m.ack()
        again = sorted(w for w in acked if received[w] > 1)
        print(f"\n{total} messages, {len(acked)} acked before the coordinator was killed; "
              f"{len(again)} of those delivered again")
        self.assertEqual(again, [])
        # The survivors' leader of partition 0 coordinates the group now.
        new_led = wait_for(lambda: agreed_leaders(others, "jobs", PARTITIONS), timeout=30,
                           what="the survivors to agree on every leader")
        self.assertIn(new_led[0], [s.client_port for s in others])


class ShortChaosTest(unittest.TestCase):
    def test_four_leader_faults_lose_nothing(self):
        """Four cycles of chaos.py (two SIGKILLs with restarts, a network
        partition healed after a few seconds, a SIGSTOP/SIGCONT): `make
        chaos` runs a hundred."""
        tally, problems = chaos.run(4, log=lambda line: print(line, flush=True))
        print(f"\n{tally}")
        self.assertEqual(problems, [])
        self.assertEqual((tally["kills"], tally["cuts"], tally["stops"]), (2, 1, 1))
        self.assertGreater(tally["acknowledged"], 2000)


class FiveNodeChaosTest(unittest.TestCase):
    def test_three_leader_faults_on_five_nodes_lose_nothing(self):
        """chaos.py on five nodes, the topic's partitions on three of them
        each (replication factor 3): a network partition, a SIGKILL with a
        restart and a SIGSTOP of a partition leader."""
        tally, problems = chaos.run(3, log=lambda line: print(line, flush=True), nodes_count=5,
                                    faults=("cut", "kill", "stop"))
        print(f"\n{tally}")
        self.assertEqual(problems, [])
        self.assertEqual((tally["cuts"], tally["kills"], tally["stops"]), (1, 1, 1))
        self.assertEqual([len(r) for r in tally["replica_sets"]], [3] * PARTITIONS)
        # Placement spreads the partitions over more than three of the nodes.
        self.assertGreater(len(set().union(*tally["replica_sets"])), 3)
        self.assertGreater(tally["acknowledged"], 2000)


if __name__ == "__main__":
    unittest.main()
