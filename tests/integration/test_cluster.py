"""Five real sprawl-server processes on loopback form one cluster through
--join; SIGKILLed nodes are declared dead by the survivors, restarted ones
rejoin, and a graceful stop is seen as a leave."""
import re
import time
import unittest

from cluster import Server, wait_for


def states(server):
    status, body = server.request("GET", "/v1/cluster")
    if status != 200:
        return {}
    return {m["id"]: m["state"] for m in body["members"]}


class ClusterTest(unittest.TestCase):
    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.proc and s.proc.poll() is None:
                s.kill()

    def start(self, node_id, join=None, like=None):
        extra = ["--node-id", node_id, "--storage", "memory"]
        if join:
            extra += ["--join", f"127.0.0.1:{join.peer_port}"]
        server = Server(*extra)
        if like is not None:  # a restart: the same id and ports
            server.client_port, server.http_port, server.peer_port = (
                like.client_port, like.http_port, like.peer_port)
        self.servers.append(server)
        return server.start()

    def load_seen(self, server, member):
        status, body = server.request("GET", "/v1/cluster")
        loads = {m["id"]: m["load"] for m in body.get("members", [])} if status == 200 else {}
        return loads.get(member)

    def views_agree(self, up, down=(), down_states=("dead",)):
        ids = {s.extra[1] for s in up}
        for s in up:
            seen = states(s)
            if any(seen.get(i) != "alive" for i in ids):
                return False
            if any(seen.get(d, "dead") not in down_states for d in down):
                return False
        return True

    def test_join_failure_detection_rejoin_and_leave(self):
        first = self.start("n0")
        nodes = [first] + [self.start(f"n{i}", join=first) for i in range(1, 5)]
        wait_for(lambda: self.views_agree(nodes), timeout=20, what="five nodes to see each other")
        status, placement = first.request("GET", "/v1/placement")
        self.assertEqual(status, 200)
        self.assertEqual(placement["nodes"], 5)
        listed = first.ctl_json("cluster", "status")[0]
        self.assertEqual(sorted(m["id"] for m in listed["members"]), [f"n{i}" for i in range(5)])
        first.ctl("topic", "create", "orders", "--partitions", "8")
        table = first.ctl("cluster", "placement").stdout
        self.assertIn("5 live nodes", table)
        self.assertEqual(table.count("orders"), 8)
        # n0's load (the partitions it serves) reaches the others by gossip,
        # and its placement gauges cover the new topic.
        wait_for(lambda: self.load_seen(nodes[4], "n0") == 8, timeout=10,
                 what="n4 to learn n0's load")
        wait_for(lambda: "sprawl_placement_partitions 8" in first.request("GET", "/metrics")[1],
                 timeout=5, what="the placement gauges to cover the topic")
        self.assertRegex(first.request("GET", "/metrics")[1],
                         r"(?m)^sprawl_placement_imbalance_permille \d{4,}$")

        # SIGKILL two of five: the survivors must declare both dead in 5 s.
        killed, survivors = nodes[3:], nodes[:3]
        for s in killed:
            s.kill()
        started = time.monotonic()
        knew = {}  # (survivor, victim) -> seconds until the survivor saw it dead

        def everyone_knows():
            for s in survivors:
                seen = states(s)
                for victim in ("n3", "n4"):
                    if (s, victim) not in knew and seen.get(victim, "dead") == "dead":
                        knew[(s, victim)] = time.monotonic() - started
            return len(knew) == 2 * len(survivors)

        wait_for(everyone_knows, timeout=5, what="the survivors to declare n3 and n4 dead")
        self.assertTrue(self.views_agree(survivors, ["n3", "n4"]))
        for victim in ("n3", "n4"):
            times = [t for (s, v), t in knew.items() if v == victim]
            print(f"\n{victim} SIGKILLed (2 of 5): first declared dead after {min(times):.2f} s, "
                  f"known to every survivor after {max(times):.2f} s "
                  f"({max(times) - min(times):.2f} s later)")
        # Each death was timed by at least one survivor (the others may have
        # learned it by gossip), and every survivor counts two dead members.
        timed = 0
        for s in survivors:
            status, metrics = s.request("GET", "/metrics")
            self.assertIn('sprawl_membership_members{state="dead"} 2', metrics)
            timed += int(re.search(r"^sprawl_membership_detection_seconds_count (\d+)$", metrics,
                                   re.M).group(1))
        self.assertGreaterEqual(timed, 2)
        status, placement = first.request("GET", "/v1/placement")
        self.assertEqual(placement["nodes"], 3, "placement is over the live members only")

        # Restarted with the same ids and ports, they rejoin.
        restarted = [self.start(s.extra[1], join=first, like=s) for s in killed]
        wait_for(lambda: self.views_agree(survivors + restarted), timeout=20,
                 what="the restarted nodes to rejoin")

        # A graceful stop is a leave, not a failure.
        leaver = restarted[0]
        self.assertEqual(leaver.stop(), 0)
        wait_for(lambda: self.views_agree(survivors + restarted[1:], ["n3"], ("left",)),
                 timeout=10, what="a graceful stop to be seen as a leave")


if __name__ == "__main__":
    unittest.main()
