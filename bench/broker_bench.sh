#!/usr/bin/env bash
# The broker benchmark: starts a release sprawl-server on free ports with a
# fresh RocksDB data directory, then runs sprawlctl bench against it:
#   1. publish throughput: 100-byte messages, batched async producer,
#      acks=leader, 4 partitions, fsync interval:10;
#   2. consumer-group delivery with per-message acks of those messages;
#   3. a catch-up read: the server is restarted (its memory tier is then
#      empty) and a new group reads every message from RocksDB, with acks;
#   4. end-to-end latency (publish to delivery) at a fixed 50,000 msg/s;
#   5. 200 messages of 1,000,000 bytes: publish, then acked group delivery at
#      1000, 100 and 10 credits.
# The server's write_bytes (/proc/<pid>/io) over the publish gives its write
# amplification: bytes written to disk per payload byte.
#   6. synchronous publishing (`bench produce --sync`): 1 and 8 producers,
#      each waiting for every ack (acks=leader), with the mean and p99 round
#      trip.
# Each Sprawl throughput row is followed by the CPU it cost per message: the
# client's (sprawlctl under /usr/bin/time, user + sys) and the server's
# (/proc/<pid>/stat around the run).
# Then, in the same run, the same publish and acked-consume workload against
# NATS JetStream (nats-server, file storage, R1; async publish; durable pull
# consumer acking each message; bench/peers/nats_bench.c on libnats) and
# Redis Streams (redis-server with AOF everysec; pipelined XADD, XREADGROUP
# and XACK; bench/peers/redis_bench.c on hiredis), the synchronous runs with
# JetStream's js_Publish and Redis's XADD one at a time, and prints Sprawl's
# ratio to each. JetStream is restarted for a catch-up read too. PEERS=0 skips the
# peers.
# Environment: COUNT (default 2000000), RATE (50000), E2E_COUNT (250000),
# SIZE (100), PARTITIONS (4), FSYNC (interval:10), PRODUCERS (1), PEERS (1),
# SYNC_COUNT (20000: messages per synchronous run), SYNC_PRODUCERS ("1 8").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server_bin="$root/build/release/server/sprawl-server"
ctl_bin="$root/build/release/server/sprawlctl"
count="${COUNT:-2000000}"
rate="${RATE:-50000}"
e2e_count="${E2E_COUNT:-250000}"
size="${SIZE:-100}"
partitions="${PARTITIONS:-4}"
fsync="${FSYNC:-interval:10}"
producers="${PRODUCERS:-1}"
peers="${PEERS:-1}"
sync_count="${SYNC_COUNT:-20000}"
sync_producers="${SYNC_PRODUCERS:-1 8}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data="$(mktemp -d /tmp/sprawl-bench-XXXXXX)"
client_port="$(free_port)"
http_port="$(free_port)"
server_pid=""
peer_pids=()
cleanup() {
  kill $server_pid "${peer_pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
start_server() {
  "$server_bin" --data-dir "$data/data" --client-port "$client_port" --http-port "$http_port" \
    --fsync "$fsync" --log-level warn >>"$data/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$http_port/ready" >/dev/null && break
    sleep 0.1
  done
}
write_bytes() { awk '/^write_bytes:/ {print $2}' "/proc/$1/io"; }
# utime + stime of a process, in clock ticks (fields 14 and 15 of stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_sec="$(getconf CLK_TCK)"
# Runs sprawlctl with the given arguments under /usr/bin/time, prints its
# output and then the client's and the server's CPU per message it reported.
timed_ctl() {
  local before after
  before="$(cpu_ticks "$server_pid")"
  /usr/bin/time -f '%U %S' -o "$data/time.txt" "${ctl[@]}" "$@" >"$data/run.txt"
  after="$(cpu_ticks "$server_pid")"
  cat "$data/run.txt"
  python3 - "$ticks_per_sec" "$before" "$after" "$data/time.txt" "$data/run.txt" <<'PY'
import re, sys
hz, before, after, time_file, run_file = sys.argv[1:]
user, system = map(float, open(time_file).read().split()[-2:])
server = (int(after) - int(before)) / int(hz)
m = re.search(r": ([0-9]+) messages", open(run_file).read())
n = int(m.group(1)) if m else 0
if n:
    print(f"  cpu per message: client {(user + system) / n * 1e6:.3f} us "
          f"({user:.2f} s user + {system:.2f} s sys), server {server / n * 1e6:.3f} us ({server:.2f} s)")
PY
}
start_server
ctl=("$ctl_bin" --server "tcp://127.0.0.1:$client_port" "$@")
echo "== Sprawl: 1 node, RocksDB, fsync $fsync, $partitions partitions, $size-byte messages, acks=leader ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
written_before="$(write_bytes "$server_pid")"
timed_ctl bench produce --topic bench --count "$count" --size "$size" \
  --partitions "$partitions" --acks leader --producers "$producers" | tee "$data/sprawl.txt"
written_after="$(write_bytes "$server_pid")"
python3 -c 'import sys; b, a, n = map(int, sys.argv[1:]); print(f"write amplification: {(a - b) / n:.3f} bytes written to disk per payload byte (server write_bytes while publishing)")' \
  "$written_before" "$written_after" "$((count * size))" | tee -a "$data/sprawl.txt"
timed_ctl bench consume --topic bench --count "$count" --max-in-flight 1000 | tee -a "$data/sprawl.txt"
echo "== Sprawl catch-up: server restarted (memory tier empty), a new group reads everything, acked"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
start_server
timed_ctl bench consume --topic bench --count "$count" --max-in-flight 1000 |
  sed 's/^consume/catchup consume/' | tee -a "$data/sprawl.txt"
"${ctl[@]}" bench e2e --topic e2e --count "$e2e_count" --rate "$rate" --size "$size" \
  --partitions "$partitions" --linger-ms 1
# Large messages: 200 of 1,000,000 bytes, consumed at several credit settings;
# the byte budget (max_in_flight_bytes, 8 MiB by default) keeps every run short.
echo "== Sprawl: 200 messages of 1,000,000 bytes, $partitions partitions, group consume at 1000, 100 and 10 credits"
"${ctl[@]}" bench produce --topic large --count 200 --size 1000000 --partitions "$partitions" \
  --acks leader
for credits in 1000 100 10; do
  "${ctl[@]}" bench consume --topic large --count 200 --max-in-flight "$credits"
done
echo "== Sprawl: synchronous publish, $sync_count messages per run, acks=leader, each producer waits for every ack"
for n in $sync_producers; do
  "${ctl[@]}" bench produce --sync --topic "sync$n" --count "$sync_count" --size "$size" \
    --partitions "$partitions" --acks leader --producers "$n" |
    sed "s/^produce (sync)/produce (sync, $n producers)/" | tee -a "$data/sprawl.txt"
done
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
[[ "$peers" == 1 ]] || exit 0

echo "== NATS JetStream $(nats-server --version 2>&1 | head -1): file storage, R1, async publish, pull consumer acking each message"
nats_port="$(free_port)"
nats-server -js -sd "$data/nats" -a 127.0.0.1 -p "$nats_port" >"$data/nats.log" 2>&1 &
peer_pids+=($!)
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.1; done
"$root/build/release/bench/nats_bench" "nats://127.0.0.1:$nats_port" "$count" "$size" | tee "$data/nats.txt"
echo "== NATS JetStream catch-up: nats-server restarted, a new durable consumer reads everything, acked"
kill "${peer_pids[-1]}"
wait "${peer_pids[-1]}" 2>/dev/null || true
nats-server -js -sd "$data/nats" -a 127.0.0.1 -p "$nats_port" >>"$data/nats.log" 2>&1 &
peer_pids+=($!)
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.1; done
"$root/build/release/bench/nats_bench" "nats://127.0.0.1:$nats_port" "$count" "$size" consume |
  sed 's/^consume/catchup consume/' | tee -a "$data/nats.txt"
echo "== NATS JetStream: synchronous js_Publish, $sync_count messages per run, each producer waits for every ack"
for n in $sync_producers; do
  "$root/build/release/bench/nats_bench" "nats://127.0.0.1:$nats_port" "$sync_count" "$size" \
    sync "$n" | tee -a "$data/nats.txt"
done

echo "== Redis Streams $(redis-server --version | awk '{print $3}'): AOF everysec, pipelined XADD, XREADGROUP + XACK"
redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data" --appendonly yes \
  --appendfsync everysec --save "" >"$data/redis.log" 2>&1 &
peer_pids+=($!)
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.1; done
"$root/build/release/bench/redis_bench" "$redis_port" "$count" "$size" | tee "$data/redis.txt"
echo "== Redis Streams: unpipelined XADD, $sync_count messages per run, each producer waits for every reply"
for n in $sync_producers; do
  "$root/build/release/bench/redis_bench" "$redis_port" "$sync_count" "$size" sync "$n" |
    tee -a "$data/redis.txt"
done

echo "== Ratios (Sprawl / peer, same run, $size-byte messages)"
python3 - "$data" <<'PY'
import re, sys
d = sys.argv[1]
def rates(name):
    out = {}
    for line in open(f"{d}/{name}.txt"):
        m = re.match(r"produce \(sync, ([0-9]+) producers\):.* ([0-9]+) msg/s", line)
        if m:
            last = out[f"sync{m.group(1)}"] = {"rate": int(m.group(2))}
            continue
        m = re.match(r"\s+round trip \(mean ([0-9]+) us\) latency:.* p99 ([0-9.]+) ms", line)
        if m:
            last.update(mean=int(m.group(1)), p99=float(m.group(2)))
            continue
        m = re.match(r"(produce|consume|catchup consume)\S*.*: ([0-9]+) msg/s", line)
        if m: out[m.group(1).split()[0]] = int(m.group(2))
        m = re.match(r"write amplification: ([0-9.]+)", line)
        if m: out["amp"] = float(m.group(1))
    return out
s, n, r = rates("sprawl"), rates("nats"), rates("redis")
for kind in ("produce", "consume"):
    print(f"{kind:8s} sprawl {s[kind]:>9,} msg/s | JetStream {n[kind]:>9,} -> x{s[kind]/n[kind]:.2f}"
          f" (target 3) | Redis {r[kind]:>9,} -> x{s[kind]/r[kind]:.2f} (target 2)")
kind = "catchup"
print(f"{kind:8s} sprawl {s[kind]:>9,} msg/s = {100 * s[kind] / s['consume']:.0f}% of warm (target 80)"
      f" | JetStream {n[kind]:>9,} -> x{s[kind]/n[kind]:.2f} (target 3 at 100 B, 1.5 at 1 KiB)")
print(f"write amplification {s['amp']:.3f} bytes written per payload byte (target 2.1 at 1 KiB)")
for key in sorted((k for k in s if k.startswith("sync")), key=lambda k: int(k[4:])):
    a, j, x = s[key], n.get(key), r.get(key)
    line = (f"sync x{key[4:]:<2s} sprawl {a['rate']:>6,} msg/s (mean {a['mean']} us, p99 {a['p99']:.2f} ms)")
    if j: line += f" | JetStream {j['rate']:>6,} (mean {j['mean']} us) -> x{a['rate']/j['rate']:.2f} (target 1.5)"
    if x: line += f" | Redis {x['rate']:>6,} (mean {x['mean']} us) -> x{a['rate']/x['rate']:.2f}"
    if x and key == "sync1": line += " (target 1)"
    if key != "sync1": line += " | p99 target < 2 ms"
    print(line)
PY
