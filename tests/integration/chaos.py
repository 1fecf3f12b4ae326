"""A nemesis against replicated partitions, with a checker that can fail.

Three sprawl-server processes (--nodes 5 for five); a topic of PARTITIONS
partitions with a replication factor of 3. Publisher threads (the Python
binding, acks=all, explicit partitions, a window of writes in flight each)
record every write they are told was stored: value -> (partition, offset),
and when each ack came. The nemesis, once per cycle, picks the leader of
one partition and faults it, the kind by turns (FAULTS):

  kill  SIGKILL, then a restart on its data;
  stop  SIGSTOP, then SIGCONT;
  cut   a network partition: the node is cut off from every peer (Raft,
        gossip) while its client and HTTP ports keep answering, for
        CUT_SECONDS at least, then healed; the nemesis waits until it is
        back in every node's membership.

It measures the failover as a client sees it: from the fault to the
acknowledgement of a write sent to that partition just after it by a probe
client whose routes still name the old leader. At the end every partition is
read back and checked: every acknowledged write at the offset its ack named,
no value stored twice, no hole in any partition, and each publisher's writes
in the order it sent them within a partition.

`make chaos` runs 100 cycles (`python3 tests/integration/chaos.py --cycles
100`); tests/integration/test_replication.py runs short ones in `make test`.
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
# The fault of each cycle, by turns: every fourth a stop, as before, and a
# cut in place of one kill in three.
FAULTS = ("kill", "cut", "kill", "stop")
# How long a cut lasts at least: longer than an election timeout (1 to 2 s)
# and than the membership takes to declare the node dead (about 2 s), so the
# cut-off leader steps down and the node must rejoin when healed.
CUT_SECONDS = 4.0


def describe(server, topic):
    try:
        status, body = server.request("GET", f"/v1/topics/{topic}", timeout=5)
    except OSError:
        return None
    return body if status == 200 else None


def node_id(server):
    return server.extra[server.extra.index("--node-id") + 1]


def leaders(server, topic):
    """partition -> (the client port of its leader as `server` sees it or
    None, its replicas' ids)."""
    d = describe(server, topic)
    if d is None:
        return None
    out = {}
    for p in d["partitions"]:
        leader = p.get("leader", "")
        out[p["partition"]] = (int(leader.rsplit(":", 1)[1]) if leader else None,
                               p.get("replicas", []))
    return out


def agreed_leaders(servers, topic, partitions):
    """partition -> the client port of the leader that every one of
    `servers` holding a replica of it names alike, or None. (A node without
    a replica of a partition, on a cluster of more nodes than the
    replication factor, does not follow its leader.)"""
    views = {}
    for s in servers:
        view = leaders(s, topic)
        if view is None or len(view) != partitions:
            return None
        views[node_id(s)] = view
    out = {}
    for p in range(partitions):
        replicas = next(iter(views.values()))[p][1]
        named = {views[r][p][0] for r in replicas if r in views}
        if len(named) != 1 or None in named:
            return None
        out[p] = named.pop()
    return out


def start_cluster(prefix="c", count=3, faults=False, options=()):
    """`count` nodes, each given every other one to join through. `faults`:
    with --fault-injection, so `cut` works on them; `options`: more flags
    for every node."""
    extra = (["--fault-injection"] if faults else []) + list(options)
    nodes = [Server("--node-id", f"{prefix}{i}", "--bootstrap-expect", str(count), *extra)
             for i in range(count)]
    # Every other node as a seed, not only the next: a node asks its seeds
    # again only while it knows no member, so five nodes each joining the
    # next as they start one by one can form two clusters ({0, 1, 4} and
    # {2, 3}) that never meet.
    for s in nodes:
        s.extra += ["--join", ",".join(f"127.0.0.1:{o.peer_port}" for o in nodes if o is not s)]
    for s in nodes:
        s.start()
    return nodes


def cut(server, cut_off=True):
    """Cuts `server` off from every peer (True) or heals it (False), through
    its fault-injection route: its client and HTTP ports keep working."""
    status, body = server.request("POST" if cut_off else "DELETE", "/v1/faults/partition")
    if status != 200 or body.get("cut_off") is not cut_off:
        raise AssertionError(f"{'cut' if cut_off else 'heal'} {server.http}: {status} {body}")


def all_alive(servers):
    """Whether every server's membership shows every one of them alive."""
    for s in servers:
        try:
            status, body = s.request("GET", "/v1/cluster", timeout=5)
        except OSError:
            return False
        if status != 200:
            return False
        states = [m["state"] for m in body["members"]]
        if len(states) < len(servers) or any(state != "alive" for state in states):
            return False
    return True


def create_topic(server, name, partitions, replication_factor=None):
    config = {"partitions": partitions}
    if replication_factor is not None:
        config["replication_factor"] = replication_factor

    def attempt():
        status, body = server.request("POST", "/v1/topics", {"name": name, "config": config},
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


def percentiles(values):
    """n, p50, p90, p99 (nearest rank) and max of `values`, in seconds."""
    values = sorted(values)
    if not values:
        return {"n": 0}

    def rank(q):
        return values[min(len(values) - 1, int(q * len(values)))]
    return {"n": len(values), "p50": statistics.median(values), "p90": rank(0.9),
            "p99": rank(0.99), "max": values[-1]}


def run(cycles, log=print, nodes_count=3, replication_factor=3, faults=FAULTS):
    """Runs `cycles` fault cycles, the kind of cycle i being faults[i %
    len(faults)]; returns (tally dict, problems list)."""
    nodes = start_cluster(count=nodes_count, faults=True)
    cut_off = None  # the node a cut left cut off, if the run stops on the way
    try:
        # An explicit replication factor is checked against the live members
        # the creating node knows of: wait until it knows them all.
        wait_for(lambda: all_alive(nodes), timeout=30, what="every node to see every other alive")
        create_topic(nodes[0], TOPIC, PARTITIONS, replication_factor)
        wait_for(lambda: agreed_leaders(nodes, TOPIC, PARTITIONS), timeout=30,
                 what="every partition to have a leader every node knows")
        replica_sets = [sorted(p["replicas"]) for p in describe(nodes[0], TOPIC)["partitions"]]
        # The publishers go through one node, the probe through another; the
        # nemesis faults them too when they lead, and the clients follow
        # leaders to the others.
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
        failovers = {kind: [] for kind in ("kill", "stop", "cut")}
        rejoins = []
        problems = []
        for cycle in range(cycles):
            partition = cycle % PARTITIONS
            led = wait_for(lambda: agreed_leaders(nodes, TOPIC, PARTITIONS), timeout=60,
                           what="the nodes to agree on every leader")
            index = next(i for i, s in enumerate(nodes) if s.client_port == led[partition])
            victim = nodes[index]
            mode = faults[cycle % len(faults)]
            faulted_at = time.monotonic()
            if mode == "kill":
                victim.kill()
            elif mode == "stop":
                victim.proc.send_signal(signal.SIGSTOP)
            else:
                cut(victim)
                cut_off = victim
            failover = float("nan")
            try:
                send_probe(partition)
                failover = time.monotonic() - faulted_at
                failovers[mode].append(failover)
            except Exception as e:  # a write the client gave up on: the failover failed
                problems.append(f"cycle {cycle}: the probe write after the {mode} of "
                                f"{victim.http} failed: {e!r}")
            rejoined = ""
            if mode == "kill":
                nodes[index] = restart(victim)
            elif mode == "stop":
                victim.proc.send_signal(signal.SIGCONT)
            else:
                # A fault of a fixed length, not a wait for a condition.
                time.sleep(max(0.0, faulted_at + CUT_SECONDS - time.monotonic()))
                cut(victim, False)
                healed_at = time.monotonic()
                cut_off = None
                wait_for(lambda: all_alive(nodes), timeout=60,
                         what=f"the healed node {victim.http} to rejoin every membership")
                rejoins.append(time.monotonic() - healed_at)
                rejoined = f", rejoined {rejoins[-1]:.2f} s after the heal"
            log(f"cycle {cycle + 1}/{cycles}: {mode} of the leader of partition {partition}, "
                f"next write acknowledged after {failover:.2f} s{rejoined}; "
                f"{publishers.count()} acknowledged")
        publishers.finish()
        probe.close()
        wait_for(lambda: agreed_leaders(nodes, TOPIC, PARTITIONS), timeout=60,
                 what="the nodes to agree on every leader at the end")
        acked = dict(publishers.acked)
        seen = read_all(nodes[1].endpoint, TOPIC)
        problems += check(acked, seen, PARTITIONS)
        every = percentiles(failovers["kill"] + failovers["stop"] + failovers["cut"])
        tally = {
            "cycles": cycles,
            "nodes": nodes_count,
            "kills": len(failovers["kill"]),
            "stops": len(failovers["stop"]),
            "cuts": len(failovers["cut"]),
            "replica_sets": replica_sets,
            "acknowledged": len(acked),
            "unacknowledged": publishers.failed,
            "errors": publishers.errors,
            "read_back": sum(len(w) for w in seen.values()),
            "failover_p50_s": every.get("p50", float("nan")),
            "failover_p99_s": every.get("p99", float("nan")),
            "failover_max_s": every.get("max", float("nan")),
            # Per kind: {"n", "p50", "p90", "p99", "max"} in seconds.
            "failover_s": {kind: percentiles(v) for kind, v in failovers.items()},
            "rejoin_after_heal_s": percentiles(rejoins),
        }
        return tally, problems
    finally:
        if cut_off is not None and cut_off.proc.poll() is None:
            try:
                cut(cut_off, False)  # a healed node stops cleanly below
            except (OSError, AssertionError):
                pass
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
    parser.add_argument("--nodes", type=int, default=3,
                        help="nodes in the cluster (the topic keeps a replication factor of 3)")
    parser.add_argument("--replication-factor", type=int, default=3)
    parser.add_argument("--faults", default=",".join(FAULTS),
                        help="the fault kinds (kill, stop, cut) the cycles take by turns")
    args = parser.parse_args()
    faults = tuple(args.faults.split(","))
    if not faults or any(f not in ("kill", "stop", "cut") for f in faults):
        parser.error(f"--faults: kill, stop or cut, not {args.faults!r}")
    started = time.monotonic()
    tally, problems = run(args.cycles, nodes_count=args.nodes,
                          replication_factor=args.replication_factor, faults=faults)
    print(f"\nchaos: {args.cycles} cycles in {time.monotonic() - started:.0f} s "
          f"({args.nodes} nodes, {PARTITIONS} partitions, replication factor "
          f"{args.replication_factor}, acks=all, 2 publishers with 64 writes in flight each; "
          f"faults by turns: {','.join(faults)})")
    for k, v in tally.items():
        if k in ("failover_s", "rejoin_after_heal_s"):
            continue
        print(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}")
    for kind, stats in tally["failover_s"].items():
        if stats["n"]:
            print(f"  failover after a {kind} ({stats['n']}): p50 {stats['p50']:.2f} s, "
                  f"p90 {stats['p90']:.2f} s, p99 {stats['p99']:.2f} s, max {stats['max']:.2f} s")
    stats = tally["rejoin_after_heal_s"]
    if stats["n"]:
        print(f"  rejoin after a heal ({stats['n']}): p50 {stats['p50']:.2f} s, "
              f"p99 {stats['p99']:.2f} s, max {stats['max']:.2f} s")
    for p in problems:
        print(f"VIOLATION: {p}")
    print("chaos: " + ("FAILED" if problems else "ok: no acknowledged write lost, none stored "
                       "twice, no hole, order kept"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
