"""Three real sprawl-server processes share their topics through the
replicated metadata group: a topic created on one node appears on every
node; the group survives a SIGKILLed leader; a restarted node catches up;
a topic deleted and created again is a new topic (a new id); a node that
joins later is admitted as a learner, promoted and given every topic."""
import time
import unittest

from cluster import Server, wait_for


def meta(server):
    status, body = server.request("GET", "/v1/meta")
    return body if status == 200 else {}


def topic_ids(server):
    status, body = server.request("GET", "/v1/topics")
    if status != 200:
        return {}
    return {t["name"]: t.get("topic_id") for t in body["topics"]}


class MetaCase(unittest.TestCase):
    """Kills the servers a test started; creates topics through the group."""

    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.proc and s.proc.poll() is None:
                s.kill()

    def create(self, server, name, **config):
        """Creates `name` on `server`, retrying while the group elects; True once
        it exists (created now, or by an earlier attempt that timed out)."""
        status, body = server.request("POST", "/v1/topics", {"name": name, "config": config},
                                      timeout=15)
        if status == 201:
            return body
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        if code == "ALREADY_EXISTS":
            return {"name": name}
        self.assertIn(code, ("RETRY_AFTER", "TIMEOUT"), body)
        return None

    def agreed(self, servers, name):
        ids = [topic_ids(s).get(name) for s in servers]
        return ids[0] if ids[0] and all(i == ids[0] for i in ids) else None


class MetaGroupTest(MetaCase):
    def test_topics_live_in_the_metadata_group(self):
        nodes = [Server("--node-id", f"m{i}", "--bootstrap-expect", "3") for i in range(3)]
        # Each joins through the next: no node is special.
        for i, s in enumerate(nodes):
            s.extra += ["--join", f"127.0.0.1:{nodes[(i + 1) % 3].peer_port}"]
        self.servers += nodes
        for s in nodes:
            s.start()

        def formed():
            views = [meta(s) for s in nodes]
            leaders = {v.get("leader") for v in views}
            return (len(leaders) == 1 and "" not in leaders and None not in leaders and
                    all(sorted(v.get("voters", [])) == ["m0", "m1", "m2"] for v in views))

        wait_for(formed, timeout=30, what="the three nodes to form one metadata group")

        # Created on one node, the topic exists on all three with one id.
        created = wait_for(lambda: self.create(nodes[0], "orders", partitions=3), timeout=15,
                           what="orders to be created")
        self.assertEqual(created["config"]["replication_factor"], 3)  # min(3, live nodes)
        orders_id = wait_for(lambda: self.agreed(nodes, "orders"), timeout=10,
                             what="orders on every node")
        self.assertEqual(created["topic_id"], orders_id)
        listed = nodes[2].ctl_json("topic", "list")[0]
        self.assertIn(orders_id, [t.get("topic_id") for t in listed])

        # SIGKILL the metadata leader: a topic created on a survivor within a
        # few seconds appears on the other survivor.
        leader_id = meta(nodes[0])["leader"]
        leader = next(s for s in nodes if s.extra[1] == leader_id)
        survivors = [s for s in nodes if s is not leader]
        leader.kill()
        killed_at = time.monotonic()
        wait_for(lambda: self.create(survivors[0], "audit"), timeout=10,
                 what="a survivor to create a topic")
        took = time.monotonic() - killed_at
        wait_for(lambda: self.agreed(survivors, "audit"), timeout=10,
                 what="audit on both survivors")
        print(f"\nmetadata leader SIGKILLed: a topic created on a survivor {took:.2f} s later")
        self.assertLess(took, 8)

        # Restarted with its data, the killed node catches up.
        restarted = Server(*leader.extra, data_dir=leader.data_dir)
        restarted.client_port, restarted.http_port, restarted.peer_port = (
            leader.client_port, leader.http_port, leader.peer_port)
        self.servers.append(restarted)
        restarted.start()
        everyone = survivors + [restarted]
        wait_for(lambda: self.agreed(everyone, "audit") and
                 self.agreed(everyone, "orders") == orders_id, timeout=20,
                 what="the restarted node to catch up")

        # Deleted and created again on another node: a new topic, a new id.
        status, _ = survivors[1].request("DELETE", "/v1/topics/orders", timeout=15)
        self.assertEqual(status, 200)
        wait_for(lambda: all("orders" not in topic_ids(s) for s in everyone), timeout=10,
                 what="orders to be gone everywhere")
        wait_for(lambda: self.create(restarted, "orders", partitions=2), timeout=15,
                 what="orders to be created again")
        new_id = wait_for(lambda: self.agreed(everyone, "orders"), timeout=10,
                          what="the new orders everywhere")
        self.assertNotEqual(new_id, orders_id)

        # A node joining later, without --bootstrap-expect, is added by the
        # leader as a learner, promoted (fewer than five voters), and gets
        # every topic.
        late = Server("--node-id", "m3", "--join", f"127.0.0.1:{survivors[0].peer_port}")
        self.servers.append(late)
        late.start()
        wait_for(lambda: self.agreed(everyone + [late], "orders") == new_id and
                 self.agreed(everyone + [late], "audit"), timeout=20,
                 what="the late joiner to hold every topic")
        wait_for(lambda: "m3" in meta(everyone[0]).get("voters", []), timeout=20,
                 what="the late joiner to become a voter")


class GoneVoterTest(MetaCase):
    def test_a_gone_voter_leaves_the_group_so_two_losses_of_four_still_leave_a_majority(self):
        """Four nodes with --replace-after-ms 0 form a metadata group of four
        voters. One SIGKILLed is removed from the group once it is declared
        dead; a second SIGKILLed then still leaves two of three voters, so a
        topic can be created. (Without the removal two of four voters answer:
        no majority.)"""
        nodes = [Server("--node-id", f"v{i}", "--bootstrap-expect", "4",
                        "--replace-after-ms", "0") for i in range(4)]
        for s in nodes:
            s.extra += ["--join", ",".join(f"127.0.0.1:{o.peer_port}" for o in nodes if o is not s)]
        self.servers += nodes
        for s in nodes:
            s.start()
        ids = ["v0", "v1", "v2", "v3"]
        wait_for(lambda: all(sorted(meta(s).get("voters", [])) == ids for s in nodes), timeout=30,
                 what="four voters on every node")
        leader_id = meta(nodes[0])["leader"]
        victims = [s for s in nodes if s.extra[1] != leader_id][:2]
        survivors = [s for s in nodes if s not in victims]

        victims[0].kill()
        left = sorted(set(ids) - {victims[0].extra[1]})
        wait_for(lambda: all(sorted(meta(s).get("voters", [])) == left
                             for s in survivors + victims[1:]), timeout=30,
                 what=f"the group to drop {victims[0].extra[1]} as a voter")
        victims[1].kill()
        wait_for(lambda: self.create(survivors[0], "audit", replication_factor=2), timeout=30,
                 what="a topic to be created with two of the first four nodes down")
        wait_for(lambda: self.agreed(survivors, "audit"), timeout=10,
                 what="audit on both survivors")


if __name__ == "__main__":
    unittest.main()
