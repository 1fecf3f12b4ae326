"""SIGKILL the server again and again while a producer publishes with
acks=all under fsync=always and a group member consumes and acks: every
acknowledged message is stored exactly once, and the group receives each at
least once."""
import threading
import unittest
import urllib.error

from cluster import Server, wait_for

ROUNDS = 4
PER_ROUND = 150


class RestartTest(unittest.TestCase):
    def test_acknowledged_messages_survive_sigkill_and_the_group_misses_none(self):
        server = Server("--fsync", "always").start()
        server.ctl("topic", "create", "ledger", "--partitions", "2", "--ack-timeout-ms", "1000")
        acked = []          # values the server acknowledged
        received = set()    # values the group member got
        stop = threading.Event()
        lock = threading.Lock()

        def consume():
            member = ""
            while not stop.is_set():
                try:
                    status, polled = server.request(
                        "GET", f"/v1/topics/ledger/groups/audit/messages?member={member}&max=100&wait_ms=200",
                        timeout=5)
                except (urllib.error.URLError, ConnectionError, OSError):
                    continue  # the server is down; try again
                if status != 200:
                    continue
                member = polled["member"]
                with lock:
                    received.update(m["value"] for m in polled["messages"])
                acks = [{"partition": m["partition"], "offset": m["offset"]} for m in polled["messages"]]
                if acks:
                    try:
                        server.request("POST", "/v1/topics/ledger/groups/audit/acks",
                                       {"member": member, "acks": acks}, timeout=5)
                    except (urllib.error.URLError, ConnectionError, OSError):
                        pass

        consumer = threading.Thread(target=consume)
        consumer.start()
        try:
            attempt = 0
            for round_ in range(ROUNDS):
                target = len(acked) + PER_ROUND
                while len(acked) < target:
                    attempt += 1
                    value = f"r{round_}-a{attempt}"
                    try:
                        status, body = server.request(
                            "POST", "/v1/topics/ledger/messages",
                            {"messages": [{"value": value}], "acks": "all"}, timeout=5)
                    except (urllib.error.URLError, ConnectionError, OSError):
                        continue  # not acknowledged: it may or may not be stored
                    if status == 200 and "offset" in body["results"][0]:
                        acked.append(value)
                server.kill()
                server.start()
        finally:
            wait_for(lambda: set(acked) <= received, timeout=60,
                     what="the group to receive every acknowledged message")
            stop.set()
            consumer.join()

        stored = server.ctl_json("subscribe", "ledger", "--timeout", "2")
        values = [m["value"] for m in stored]
        for value in acked:
            self.assertEqual(values.count(value), 1, f"{value} must be stored exactly once")
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
