#!/usr/bin/env python3
"""The resident memory of one node holding many partitions with data: starts
one sprawl-server (release build, disk storage) on loopback, creates TOPICS
topics of PARTITIONS partitions each (3,000 partitions by default), publishes
MESSAGES messages of VALUE_BYTES bytes to every partition over HTTP (one
request per partition), waits SETTLE seconds, then prints the node's resident
memory (VmRSS from /proc/<pid>/status) and what /metrics reports of the memory
tier (sprawl_storage_memory_tier_bytes and its budget, when the build has
them).

Environment: SPRAWL_SERVER_BIN (default build/release/server/sprawl-server),
TOPICS (100), PARTITIONS (30), MESSAGES (64), VALUE_BYTES (8192), SETTLE (5),
SERVER_ARGS (extra flags for the server, split on spaces)."""
import os
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("SPRAWL_SERVER_BIN", os.path.join(root, "build/release/server/sprawl-server"))
sys.path.insert(0, os.path.join(root, "tests/integration"))
from cluster import Server, wait_for  # noqa: E402

TOPICS = int(os.environ.get("TOPICS", "100"))
PARTITIONS = int(os.environ.get("PARTITIONS", "30"))
MESSAGES = int(os.environ.get("MESSAGES", "64"))
VALUE_BYTES = int(os.environ.get("VALUE_BYTES", "8192"))
SETTLE = float(os.environ.get("SETTLE", "5"))
SERVER_ARGS = os.environ.get("SERVER_ARGS", "").split()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def metric(server, name):
    status, text = server.request("GET", "/metrics", timeout=30)
    for line in str(text).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def main():
    node = Server("--log-level", "warn", *SERVER_ARGS)
    try:
        node.start(timeout=60)
        rss_empty = rss_mib(node.proc.pid)
        for t in range(TOPICS):
            status, body = node.request("POST", "/v1/topics",
                                        {"name": f"rss{t}", "config": {"partitions": PARTITIONS}},
                                        timeout=60)
            assert status == 201, body
        total = TOPICS * PARTITIONS

        def led():
            n = 0
            for t in range(TOPICS):
                status, body = node.request("GET", f"/v1/topics/rss{t}/partitions", timeout=30)
                if status != 200:
                    return False
                n += sum(1 for p in body["partitions"] if p.get("leader"))
            return n == total
        wait_for(led, timeout=600, what=f"all {total} partitions to have a leader")
        rss_created = rss_mib(node.proc.pid)
        value = "v" * VALUE_BYTES
        started = time.monotonic()
        for t in range(TOPICS):
            for p in range(PARTITIONS):
                body = {"messages": [{"value": value, "partition": p}] * MESSAGES, "acks": "all"}
                status, answer = node.request("POST", f"/v1/topics/rss{t}/messages", body,
                                              timeout=60)
                assert status == 200, answer
                errors = [r for r in answer["results"] if "error" in r]
                assert not errors, errors[:1]
        written = total * MESSAGES * VALUE_BYTES
        print(f"{TOPICS} topics x {PARTITIONS} partitions = {total} partitions; wrote "
              f"{MESSAGES} x {VALUE_BYTES} B to each ({written / 2**20:.0f} MiB of values) in "
              f"{time.monotonic() - started:.0f} s; server flags: {' '.join(SERVER_ARGS) or '-'}")
        time.sleep(SETTLE)  # a measurement point after the writes, not a wait for a condition
        tier = metric(node, "sprawl_storage_memory_tier_bytes")
        budget = metric(node, "sprawl_storage_memory_tier_budget_bytes")
        print(f"RSS: {rss_empty:.0f} MiB started, {rss_created:.0f} MiB with the partitions, "
              f"{rss_mib(node.proc.pid):.0f} MiB after the writes")
        if tier is not None:
            print(f"memory tier: {tier / 2**20:.0f} MiB held, budget {budget / 2**20:.0f} MiB")
    finally:
        if node.proc and node.proc.poll() is None:
            node.kill()


if __name__ == "__main__":
    main()
