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

        # SIGKILL two of five: the survivors must declare both dead in 5 s.
        killed, survivors = nodes[3:], nodes[:3]
        for s in killed:
            s.kill()
        started = time.monotonic()
        wait_for(lambda: self.views_agree(survivors, ["n3", "n4"]), timeout=5,
                 what="the survivors to declare n3 and n4 dead")
        detected = time.monotonic() - started
        print(f"\n2 of 5 nodes SIGKILLed: every survivor knew within {detected:.2f} s")
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
