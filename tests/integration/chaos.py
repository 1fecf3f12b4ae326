"""A nemesis against replicated partitions, with a checker that can fail.

Three sprawl-server processes; a topic of PARTITIONS partitions with a
replication factor of 3. Publisher threads (the Python binding, acks=all,
explicit partitions, a window of writes in flight each) record every write
they are told was stored: value -> (partition, offset), and when each ack
came. The nemesis, once per cycle, picks the leader of one partition and
either SIGKILLs it (then restarts it on its data) or SIGSTOPs it (then
SIGCONTs it); it measures the failover as a client sees it: from the fault
to the acknowledgement of a write sent to that partition just after it by a
probe client whose routes still name the old leader. At the end every partition is
read back and checked: every acknowledged write at the offset its ack named,
no value stored twice, no hole in any partition, and each publisher's writes
in the order it sent them within a partition.

`make chaos` runs 100 cycles (`python3 tests/integration/chaos.py --cycles
100`); tests/integration/test_replication.py runs a short one in `make test`.
Needs SPRAWL_SERVER_BIN and SPRAWL_PYTHON_PATH (the one CMake build's)."""
import argparse
import os
import signal
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if os.environ.get("SPRAWL_PYTHON_PATH"):
    sys.path.insert(0, os.environ["SPRAWL_PYTHON_PATH"])

import sprawl  # noqa: E402
from cluster import Server, wait_for  # noqa: E402

PARTITIONS = 3
TOPIC = "chaos"


def describe(server, topic):
    try:
        status, body = server.request("GET", f"/v1/topics/{topic}", timeout=5)
    except OSError:
        return None
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


def agreed_leaders(servers, topic, partitions):
    """The leaders every server names alike for every partition, or None."""
    views = [leaders(s, topic) for s in servers]
    if any(v is None or len(v) != partitions or None in v.values() for v in views):
        return None
    return views[0] if all(v == views[0] for v in views) else None


def start_cluster(prefix="c"):
    nodes = [Server("--node-id", f"{prefix}{i}", "--bootstrap-expect", "3") for i in range(3)]
    for i, s in enumerate(nodes):
        s.extra += ["--join", f"127.0.0.1:{nodes[(i + 1) % 3].peer_port}"]
    for s in nodes:
        s.start()
    return nodes


def create_topic(server, name, partitions):
    def attempt():
        status, body = server.request("POST", "/v1/topics",
                                      {"name": name, "config": {"partitions": partitions}},
                                      timeout=15)
        if status == 201:
            return body
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        if code == "ALREADY_EXISTS":
            return describe(server, name)
        if code not in ("RETRY_AFTER", "TIMEOUT"):
            raise AssertionError(f"create {name}: {body}")
        return None
    return wait_for(attempt, timeout=30, what=f"{name} to be created")


def restart(server):
    """The same node again: its data directory, id and ports."""
    again = Server(*server.extra, data_dir=server.data_dir)
    again.client_port, again.http_port, again.peer_port = (
        server.client_port, server.http_port, server.peer_port)
    again.start(timeout=120)
    return again


class Publishers:
    """`threads` publishers, each with its own client through `address`,
    writing "<thread>-<seq>" round robin over the partitions with acks=all."""

    def __init__(self, address, topic, partitions, threads=2, window=64):
        self.address = address
        self.topic = topic
        self.partitions = partitions
        self.window = window
        self.lock = threading.Lock()
        self.acked = {}  # value -> (partition, offset)
        self.failed = 0
        self.errors = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(t,), daemon=True)
                        for t in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self, timeout=180):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=timeout)
            if t.is_alive():
                raise AssertionError("a publisher did not finish")

    def count(self):
        with self.lock:
            return len(self.acked)

    def _done(self, value, partition, future):
        try:
            ack = future.result()
        except Exception as e:  # unacknowledged: allowed, counted
            with self.lock:
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(repr(e))
            return
        with self.lock:
            self.acked[value] = (ack.partition, ack.offset)

    def _run(self, thread):
        with sprawl.Client(self.address, acks="all", linger=0.002,
                           delivery_timeout=120) as client:
            seq = 0
            while not self.stop.is_set():
                pending = []
                for _ in range(self.window):
                    value = f"{thread}-{seq}".encode()
                    partition = seq % self.partitions
                    future = client.publish_async(self.topic, value, partition=partition)
                    future.add_done_callback(
                        lambda f, v=value, p=partition: self._done(v, p, f))
                    pending.append(future)
                    seq += 1
                for future in pending:
                    try:
                        future.result(timeout=300)
                    except Exception:
                        pass  # counted by _done
                # A bounded rate (at most window / 10 ms per publisher): the
                # point is faults under steady load, not the most data.
                time.sleep(0.01)


def read_all(address, topic):
    """Every record of `topic` by offset (the iteration ends 5 s after the
    last record): value -> [(partition, offset)]."""
    seen = {}
    with sprawl.Client(address) as client:
        with client.subscribe(topic, start="earliest", timeout=5) as sub:
            for m in sub:
                seen.setdefault(bytes(m.value), []).append((m.partition, m.offset))
    return seen


def check(acked, seen, partitions):
    """The violations of what the cluster promised, as readable lines."""
    problems = []
    missing = [v for v, where in acked.items() if where not in seen.get(v, [])]
    if missing:
        problems.append(f"{len(missing)} acknowledged writes missing or moved, e.g. "
                        f"{[(v, acked[v], seen.get(v)) for v in missing[:3]]}")
    twice = [v for v, where in seen.items() if len(where) > 1]
    if twice:
        problems.append(f"{len(twice)} values stored twice, e.g. "
                        f"{[(v, seen[v]) for v in twice[:3]]}")
    strangers = [v for v in seen if b"-" not in v]
    if strangers:
        problems.append(f"{len(strangers)} records nobody published")
    per_partition = {p: [] for p in range(partitions)}
    for v, where in seen.items():
        for p, o in where:
            per_partition[p].append((o, v))
    for p, records in per_partition.items():
        offsets = sorted(o for o, _ in records)
        if offsets and offsets != list(range(offsets[0], offsets[0] + len(offsets))):
            problems.append(f"partition {p} has holes")
        # Each publisher's writes in the order it sent them.
        last = {}
        for o, v in sorted(records):
            thread, seq = v.decode().split("-")
            if int(seq) < last.get(thread, -1):
                problems.append(f"partition {p}: publisher {thread}'s {v!r} at offset {o} "
                                f"after its sequence {last[thread]}")
                break
            last[thread] = int(seq)
    return problems


def run(cycles, log=print):
    """Runs `cycles` fault cycles; returns (tally dict, problems list)."""
    nodes = start_cluster()
    try:
        create_topic(nodes[0], TOPIC, PARTITIONS)
        wait_for(lambda: agreed_leaders(nodes, TOPIC, PARTITIONS), timeout=30,
                 what="every partition to have a leader every node knows")
        # The publishers go through one node the nemesis spares the longest;
        # the client follows leaders to the others.
        publishers = Publishers(nodes[0].endpoint, TOPIC, PARTITIONS)
        publishers.start()
        wait_for(lambda: publishers.count() >= 2000, timeout=60,
                 what="2,000 acknowledged writes before the first fault")
        # The probe: one write at a time, its routes learned before the faults.
        probe = sprawl.Client(nodes[1].endpoint, acks="all", linger=0, delivery_timeout=120)
        probes = 0

        def send_probe(partition):
            nonlocal probes
            value = f"probe-{probes}".encode()
            probes += 1
            ack = probe.publish(TOPIC, value, partition=partition, timeout=120)
            with publishers.lock:
                publishers.acked[value] = (ack.partition, ack.offset)

        for p in range(PARTITIONS):
            send_probe(p)
        failovers = {"kill": [], "stop": []}
        problems = []
        for cycle in range(cycles):
            partition = cycle % PARTITIONS
            led = wait_for(lambda: agreed_leaders(nodes, TOPIC, PARTITIONS), timeout=60,
                           what="the nodes to agree on every leader")
            index = next(i for i, s in enumerate(nodes) if s.client_port == led[partition])
            victim = nodes[index]
            mode = "stop" if cycle % 4 == 3 else "kill"
            faulted_at = time.monotonic()
            if mode == "kill":
                victim.kill()
            else:
                victim.proc.send_signal(signal.SIGSTOP)
            try:
                send_probe(partition)
                failovers[mode].append(time.monotonic() - faulted_at)
            except Exception as e:  # a write the client gave up on: the failover failed
                problems.append(f"cycle {cycle}: the probe write after the {mode} failed: {e!r}")
            if mode == "kill":
                nodes[index] = restart(victim)
            else:
                victim.proc.send_signal(signal.SIGCONT)
            log(f"cycle {cycle + 1}/{cycles}: {mode} of the leader of partition {partition}, "
                f"next write acknowledged after "
                f"{failovers[mode][-1] if failovers[mode] else float('nan'):.2f} s; "
                f"{publishers.count()} acknowledged")
        publishers.finish()
        probe.close()
        wait_for(lambda: agreed_leaders(nodes, TOPIC, PARTITIONS), timeout=60,
                 what="the nodes to agree on every leader at the end")
        acked = dict(publishers.acked)
        seen = read_all(nodes[1].endpoint, TOPIC)
        problems += check(acked, seen, PARTITIONS)
        every = sorted(failovers["kill"] + failovers["stop"])

        def pct(values, q):
            return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

        tally = {
            "cycles": cycles,
            "kills": len(failovers["kill"]),
            "stops": len(failovers["stop"]),
            "acknowledged": len(acked),
            "unacknowledged": publishers.failed,
            "errors": publishers.errors,
            "read_back": sum(len(w) for w in seen.values()),
            "failover_p50_s": statistics.median(every) if every else float("nan"),
            "failover_p99_s": pct(every, 0.99),
            "failover_max_s": every[-1] if every else float("nan"),
            "kill_p50_s": statistics.median(failovers["kill"]) if failovers["kill"] else None,
            "stop_p50_s": statistics.median(failovers["stop"]) if failovers["stop"] else None,
        }
        return tally, problems
    finally:
        for s in nodes:
            if s.proc and s.proc.poll() is None:
                try:
                    s.proc.send_signal(signal.SIGCONT)
                except ProcessLookupError:
                    pass
                s.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    args = parser.parse_args()
    started = time.monotonic()
    tally, problems = run(args.cycles)
    print(f"\nchaos: {args.cycles} cycles in {time.monotonic() - started:.0f} s "
          f"(3 nodes, {PARTITIONS} partitions, replication factor 3, acks=all, "
          f"2 publishers with 64 writes in flight each)")
    for k, v in tally.items():
        print(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}")
    for p in problems:
        print(f"VIOLATION: {p}")
    print("chaos: " + ("FAILED" if problems else "ok: no acknowledged write lost, none stored "
                       "twice, no hole, order kept"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
