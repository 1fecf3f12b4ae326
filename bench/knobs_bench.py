#!/usr/bin/env python3
"""The tuning knobs, measured: each knob's settings side by side on one machine.

For every case a fresh release sprawl-server starts on free ports with a
fresh RocksDB data directory, `sprawlctl bench` runs against it with --json,
and the node's /metrics are read before it stops. The settings of one knob
run interleaved (A B C A B C ...) REPEAT times and the median is printed, so
a change in the machine's load hits every setting alike; compare the
settings of one knob with each other, not with another run.

Environment: BUILD (default build/release), COUNT (messages per throughput
run, default 300000), SIZE (100), REPEAT (3), KNOBS (comma-separated subset
of: fsync, acks, batch, linger, partitions, credits, memory, pending).
Beside rates and latencies it reports the CPU microseconds per message of
the server and of sprawlctl during the run, which a loaded machine distorts
far less than rates. Output: one table per knob, and the conditions (cores,
load) first.
Python 3 standard library only.
"""

import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("BUILD", ROOT / "build" / "release"))
SERVER = BUILD / "server" / "sprawl-server"
CTL = BUILD / "server" / "sprawlctl"
COUNT = int(os.environ.get("COUNT", "300000"))
SIZE = int(os.environ.get("SIZE", "100"))
REPEAT = int(os.environ.get("REPEAT", "3"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, args):
        self.dir = tempfile.mkdtemp(prefix="sprawl-knobs-")
        self.client, self.http = free_port(), free_port()
        self.proc = subprocess.Popen(
            [str(SERVER), "--data-dir", f"{self.dir}/data", "--client-port", str(self.client),
             "--http-port", str(self.http), "--peer-port", "0", "--log-level", "warn",
             *map(str, args)],
            stdout=subprocess.DEVNULL, stderr=open(f"{self.dir}/server.log", "w"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.http}/ready", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sprawl-server did not become ready")

    def cpu_seconds(self):
        """User + system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def bench(self, *args):
        """sprawlctl bench's JSON, plus the CPU microseconds per message that the
        server and the client spent in it: unlike rates, CPU time barely moves
        with the machine's load."""
        server_before = self.cpu_seconds()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([str(CTL), "--server", f"tcp://127.0.0.1:{self.client}", "--json",
                              "bench", *map(str, args)], capture_output=True, text=True,
                             timeout=600)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if out.returncode != 0:
            raise RuntimeError(f"sprawlctl bench {' '.join(map(str, args))}: {out.stderr}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        messages = max(1, r["messages"])
        client = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
        r["server_us"] = 1e6 * (self.cpu_seconds() - server_before) / messages
        r["client_us"] = 1e6 * client / messages
        return r

    def metric(self, name, labels=""):
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics").read().decode()
        m = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
        return float(m.group(1)) if m else 0.0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        subprocess.run(["rm", "-rf", self.dir])


def produce(node, *extra, acks="leader", partitions=4):
    return node.bench("produce", "--count", COUNT, "--size", SIZE, "--partitions", partitions,
                      "--acks", acks, *extra)


def case_fsync(setting):
    node = Node(["--fsync", setting])
    try:
        r = produce(node)
        return {"msg/s": r["msgs_per_sec"], "p50 ack ms": r["latency"]["p50_ms"],
                "p99 ack ms": r["latency"]["p99_ms"],
                "fsyncs": node.metric("sprawl_storage_fsyncs_total"),
                "server CPU us/msg": r["server_us"]}
    finally:
        node.stop()


def case_acks(setting):
    node = Node([])
    try:
        r = produce(node, acks=setting)
        return {"msg/s": r["msgs_per_sec"], "p50 ack ms": r["latency"]["p50_ms"],
                "p99 ack ms": r["latency"]["p99_ms"], "fsyncs": node.metric("sprawl_storage_fsyncs_total"),
                "server CPU us/msg": r["server_us"], "client CPU us/msg": r["client_us"]}
    finally:
        node.stop()


def case_batch(setting):
    node = Node([])
    try:
        r = produce(node, "--batch-bytes", setting)
        return {"msg/s": r["msgs_per_sec"], "p99 ack ms": r["latency"]["p99_ms"],
                "batches": node.metric("sprawl_broker_published_batches_total"),
                "server CPU us/msg": r["server_us"], "client CPU us/msg": r["client_us"]}
    finally:
        node.stop()


def case_linger(setting):
    node = Node([])
    try:
        r = node.bench("e2e", "--count", min(COUNT, 60000), "--rate", 20000, "--size", SIZE,
                       "--linger-ms", setting)
        return {"p50 ms": r["latency"]["p50_ms"], "p99 ms": r["latency"]["p99_ms"],
                "batches": node.metric("sprawl_broker_published_batches_total"),
                "server CPU us/msg": r["server_us"]}
    finally:
        node.stop()


def case_partitions(setting):
    node = Node([])
    try:
        p = produce(node, partitions=setting)
        c = node.bench("consume", "--count", COUNT)
        return {"publish msg/s": p["msgs_per_sec"], "consume msg/s": c["msgs_per_sec"],
                "publish server CPU us/msg": p["server_us"],
                "consume server CPU us/msg": c["server_us"],
                "consume client CPU us/msg": c["client_us"]}
    finally:
        node.stop()


def case_credits(setting):
    node = Node([])
    try:
        produce(node)
        c = node.bench("consume", "--count", COUNT, "--max-in-flight", setting)
        return {"consume msg/s": c["msgs_per_sec"],
                "messages sent": node.metric("sprawl_transport_messages_sent_total",
                                             '{port="client"}'),
                "server CPU us/msg": c["server_us"], "client CPU us/msg": c["client_us"]}
    finally:
        node.stop()


def case_memory(setting):
    node = Node(["--memory-per-partition", setting])
    try:
        produce(node)
        c = node.bench("consume", "--count", COUNT)
        memory = node.metric("sprawl_storage_read_records_total", '{tier="memory"}')
        disk = node.metric("sprawl_storage_read_records_total", '{tier="disk"}')
        return {"consume msg/s": c["msgs_per_sec"],
                "read from memory %": 100.0 * memory / max(1.0, memory + disk),
                "server CPU us/msg": c["server_us"]}
    finally:
        node.stop()


def case_pending(setting):
    node = Node(["--max-pending-publish-bytes", setting])
    try:
        r = node.bench("produce", "--count", COUNT, "--size", SIZE, "--acks", "all",
                       "--producers", 2)
        return {"msg/s": r["msgs_per_sec"], "p99 ack ms": r["latency"]["p99_ms"],
                "RETRY_AFTER": node.metric("sprawl_broker_publish_retry_after_total"),
                "server CPU us/msg": r["server_us"]}
    finally:
        node.stop()


KNOBS = {
    "fsync": ("--fsync (acks=leader)", case_fsync, ["always", "interval:10", "never"]),
    "acks": ("--acks (fsync interval:10)", case_acks, ["none", "leader", "all"]),
    "batch": ("--batch-bytes (linger 5 ms, acks=leader)", case_batch, [16384, 65536, 262144]),
    "linger": ("--linger-ms (e2e at 20,000 msg/s, acks=all)", case_linger, [0, 1, 5]),
    "partitions": ("--partitions (acks=leader; consume: one member, 1000 credits)",
                   case_partitions, [1, 4]),
    "credits": ("--max-in-flight (one member)", case_credits, [10, 100, 1000]),
    "memory": ("--memory-per-partition (consume from the start after publishing)", case_memory,
               [65536, 67108864]),
    "pending": ("--max-pending-publish-bytes (2 producers, acks=all)", case_pending,
                [65536, 33554432]),
}


def main():
    for binary in (SERVER, CTL):
        if not binary.exists():
            sys.exit(f"{binary} is missing: make release (or set BUILD)")
    chosen = os.environ.get("KNOBS", ",".join(KNOBS)).split(",")
    load = os.getloadavg()[0]
    print(f"# {os.cpu_count()} cores, load average {load:.2f} before the run, {BUILD.name} "
          f"build, {COUNT} messages of {SIZE} B, median of {REPEAT} interleaved runs")
    for key in chosen:
        title, run, settings = KNOBS[key]
        results = {s: [] for s in settings}
        for _ in range(REPEAT):
            for s in settings:
                results[s].append(run(s))
        columns = list(results[settings[0]][0])
        print(f"\n## {title}")
        print("| setting | " + " | ".join(columns) + " |")
        print("|---|" + "---|" * len(columns))
        for s in settings:
            cells = []
            for c in columns:
                v = statistics.median(r[c] for r in results[s])
                cells.append(f"{v:,.0f}" if v >= 100 else f"{v:.2f}" if v >= 1 or v == 0
                             else f"{v:.3f}")
            print(f"| {s} | " + " | ".join(cells) + " |")
        sys.stdout.flush()
    print(f"\n# load average {os.getloadavg()[0]:.2f} after the run")


if __name__ == "__main__":
    main()
