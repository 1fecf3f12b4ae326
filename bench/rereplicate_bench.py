#!/usr/bin/env python3
"""Time to re-replicate a partition after a node loss: starts four
sprawl-server processes (release build) on loopback with
--replace-after-ms 0, writes SIZE_MB megabytes of MESSAGE_BYTES-byte
messages into a topic of one partition with replication factor 3
(`sprawlctl bench produce`, acks=all), waits until every replica holds it,
then SIGKILLs one follower of the partition and measures:
  - detect: until the metadata names a new replica set without the victim
    (the membership declaring it dead, then the replacement proposed);
  - copy: from then until the new replica is a voter within 64 entries of
    the commit index with the partition's whole log (it starts from the
    leader's image and copies the records with FETCH);
and prints the partition's bytes and the copy rate.

Environment: SPRAWL_SERVER_BIN and SPRAWLCTL_BIN (default build/release/server),
SIZE_MB (1024), MESSAGE_BYTES (1024)."""
import json
import os
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("SPRAWL_SERVER_BIN", os.path.join(root, "build/release/server/sprawl-server"))
os.environ.setdefault("SPRAWLCTL_BIN", os.path.join(root, "build/release/server/sprawlctl"))
sys.path.insert(0, os.path.join(root, "tests/integration"))
from cluster import Server, wait_for  # noqa: E402

SIZE_MB = int(os.environ.get("SIZE_MB", "1024"))
MESSAGE_BYTES = int(os.environ.get("MESSAGE_BYTES", "1024"))


def partition(server):
    status, body = server.request("GET", "/v1/topics/big", timeout=10)
    return body["partitions"][0] if status == 200 else None


def caught_up(leader_view, replicas):
    followers = leader_view.get("raft", {}).get("followers", [])
    return (sorted([f["member_id"] for f in followers] + [leader_view["leader_id"]])
            == sorted(replicas) and all(not f["learner"] and f["lag"] <= 64 for f in followers))


def leader_view(nodes, by_port):
    for s in nodes:
        p = partition(s)
        if p and "followers" in p.get("raft", {}):
            p["leader_id"] = by_port[s.client_port]
            return p
    return None


def main():
    nodes = [Server("--node-id", f"r{i}", "--bootstrap-expect", "4", "--replace-after-ms", "0",
                    "--log-level", "warn") for i in range(4)]
    for s in nodes:
        s.extra += ["--join", ",".join(f"127.0.0.1:{o.peer_port}" for o in nodes if o is not s)]
    by_port = {s.client_port: f"r{i}" for i, s in enumerate(nodes)}
    by_id = {f"r{i}": s for i, s in enumerate(nodes)}
    try:
        for s in nodes:
            s.start(timeout=60)
        wait_for(lambda: all(len(s.request("GET", "/v1/meta")[1].get("voters", [])) == 4
                             for s in nodes), timeout=60, what="the metadata group to form")
        count = SIZE_MB * 1024 * 1024 // MESSAGE_BYTES
        print(f"== 4 nodes, one partition with replication factor 3, {count} messages of "
              f"{MESSAGE_BYTES} B ({SIZE_MB} MiB), acks=all, fsync interval:10")
        produce = subprocess.run(
            [os.environ["SPRAWLCTL_BIN"], "--server", nodes[0].endpoint, "bench", "produce",
             "--topic", "big", "--count", str(count), "--size", str(MESSAGE_BYTES),
             "--partitions", "1", "--acks", "all"], capture_output=True, text=True, check=True)
        print(produce.stdout.strip().splitlines()[-1] if produce.stdout.strip() else "")
        replicas = partition(nodes[0])["replicas"]
        wait_for(lambda: (v := leader_view(nodes, by_port)) is not None and caught_up(v, replicas),
                 timeout=300, what="every replica to hold the partition")
        view = leader_view(nodes, by_port)
        victim_id = next(r for r in replicas if r != view["leader_id"])
        victim = by_id[victim_id]
        survivors = [s for s in nodes if s is not victim]
        print(f"replicas {replicas}, leader {view['leader_id']}, log start index "
              f"{view['raft']['log_start']}; SIGKILL {victim_id}")
        killed = time.monotonic()
        victim.kill()
        moved = wait_for(lambda: (p := partition(survivors[0])) and victim_id not in p["replicas"]
                         and p["replicas"], timeout=120, what="a new replica set")
        detected = time.monotonic()
        wait_for(lambda: (v := leader_view(survivors, by_port)) is not None and
                 caught_up(v, moved), timeout=1800, what="the new replica to catch up")
        done = time.monotonic()
        end = partition(survivors[0])["high_watermark"]
        megabytes = count * MESSAGE_BYTES / (1024 * 1024)
        print(json.dumps({"replicas_after": moved, "records": end,
                          "detect_s": round(detected - killed, 2),
                          "copy_s": round(done - detected, 2),
                          "total_s": round(done - killed, 2),
                          "copy_mib_per_s": round(megabytes / max(done - detected, 1e-9), 1)}))
    finally:
        for s in nodes:
            if s.proc and s.proc.poll() is None:
                s.kill()


if __name__ == "__main__":
    main()
