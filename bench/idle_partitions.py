#!/usr/bin/env python3
"""The idle cost of many replicated partitions: starts three sprawl-server
processes (release build) on loopback, creates TOPICS topics of PARTITIONS
partitions each with replication factor 3 (3,000 partitions by default, so
3,000 Raft groups on every node), waits until every partition has a leader,
lets the cluster settle, then measures each node's CPU time (utime + stime
from /proc/<pid>/stat) over SECONDS of idleness, and its resident memory.

Environment: SPRAWL_SERVER_BIN (default build/release/server/sprawl-server),
TOPICS (100), PARTITIONS (30), SECONDS (30), SETTLE (10)."""
import os
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("SPRAWL_SERVER_BIN", os.path.join(root, "build/release/server/sprawl-server"))
sys.path.insert(0, os.path.join(root, "tests/integration"))
from cluster import Server, wait_for  # noqa: E402

TOPICS = int(os.environ.get("TOPICS", "100"))
PARTITIONS = int(os.environ.get("PARTITIONS", "30"))
SECONDS = float(os.environ.get("SECONDS", "30"))
SETTLE = float(os.environ.get("SETTLE", "10"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    nodes = [Server("--node-id", f"i{i}", "--bootstrap-expect", "3", "--log-level", "warn")
             for i in range(3)]
    for i, s in enumerate(nodes):
        s.extra += ["--join", f"127.0.0.1:{nodes[(i + 1) % 3].peer_port}"]
    try:
        for s in nodes:
            s.start(timeout=60)
        wait_for(lambda: all(s.request("GET", "/v1/meta")[1].get("formed") for s in nodes),
                 timeout=60, what="the metadata group to form")
        started = time.monotonic()
        for t in range(TOPICS):
            def create(t=t):
                status, body = nodes[t % 3].request(
                    "POST", "/v1/topics",
                    {"name": f"idle{t}", "config": {"partitions": PARTITIONS}}, timeout=30)
                code = body.get("error", {}).get("code") if isinstance(body, dict) else None
                return status == 201 or code == "ALREADY_EXISTS"
            wait_for(create, timeout=120, what=f"topic idle{t} to be created")
        total = TOPICS * PARTITIONS

        def led():
            n = 0
            for t in range(TOPICS):
                status, body = nodes[0].request("GET", f"/v1/topics/idle{t}/partitions", timeout=30)
                if status != 200:
                    return False
                n += sum(1 for p in body["partitions"] if p.get("leader"))
            return n == total
        wait_for(led, timeout=600, what=f"all {total} partitions to have a leader")
        print(f"{TOPICS} topics x {PARTITIONS} partitions = {total} partitions, replication "
              f"factor 3 on 3 nodes: created and led in {time.monotonic() - started:.1f} s")
        time.sleep(SETTLE)  # a measurement window, not a wait for a condition
        before = [cpu_seconds(s.proc.pid) for s in nodes]
        t0 = time.monotonic()
        time.sleep(SECONDS)
        elapsed = time.monotonic() - t0
        after = [cpu_seconds(s.proc.pid) for s in nodes]
        for i, s in enumerate(nodes):
            share = 100 * (after[i] - before[i]) / elapsed
            print(f"node i{i}: {share:.1f}% of one core idle over {elapsed:.0f} s, "
                  f"RSS {rss_mib(s.proc.pid):.0f} MiB")
    finally:
        for s in nodes:
            if s.proc and s.proc.poll() is None:
                s.kill()


if __name__ == "__main__":
    main()
