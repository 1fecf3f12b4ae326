#!/usr/bin/env bash
# The replicated benchmark: three release sprawl-server processes on
# loopback (one RocksDB data directory each, fsync interval:10), a topic of
# PARTITIONS partitions with replication factor 3, then sprawlctl bench:
#   1. publish throughput: 100-byte messages, batched async producer,
#      acks=all (each batch committed by a majority of the three);
#   2. consumer-group delivery with per-message acks of those messages (the
#      group's coordinator is partition 0's leader; the client is sent there).
# Then, in the same run, a three-server NATS JetStream cluster (file storage,
# a stream with 3 replicas; async publish; durable pull consumer acking each
# message; bench/peers/nats_bench.c) doing the same, and Sprawl's ratio.
# All six processes share this machine's cores with the clients.
# Environment: COUNT (default 1000000), SIZE (100), PARTITIONS (4),
# FSYNC (interval:10), PEERS (1; 0 skips JetStream).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server_bin="$root/build/release/server/sprawl-server"
ctl_bin="$root/build/release/server/sprawlctl"
count="${COUNT:-1000000}"
size="${SIZE:-100}"
partitions="${PARTITIONS:-4}"
fsync="${FSYNC:-interval:10}"
peers="${PEERS:-1}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data="$(mktemp -d /tmp/sprawl-rbench-XXXXXX)"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

client_ports=() http_ports=() peer_ports=()
for i in 0 1 2; do
  client_ports+=("$(free_port)") http_ports+=("$(free_port)") peer_ports+=("$(free_port)")
done
for i in 0 1 2; do
  "$server_bin" --node-id "n$i" --data-dir "$data/n$i" --client-port "${client_ports[$i]}" \
    --http-port "${http_ports[$i]}" --peer-port "${peer_ports[$i]}" --bootstrap-expect 3 \
    --join "127.0.0.1:${peer_ports[$(((i + 1) % 3))]}" --fsync "$fsync" --log-level warn \
    >>"$data/n$i.log" 2>&1 &
  pids+=($!)
done
# Ready, and the metadata group formed on every node (topics can be created).
for i in 0 1 2; do
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:${http_ports[$i]}/v1/meta" | grep -q '"formed":true' && break
    sleep 0.1
  done
done
ctl=("$ctl_bin" --server "tcp://127.0.0.1:${client_ports[0]}")
echo "== Sprawl: 3 nodes, replication factor 3, RocksDB, fsync $fsync, $partitions partitions, $size-byte messages, acks=all"
"${ctl[@]}" bench produce --topic rbench --count "$count" --size "$size" \
  --partitions "$partitions" --acks all | tee "$data/sprawl.txt"
"${ctl[@]}" bench consume --topic rbench --count "$count" --max-in-flight 1000 |
  tee -a "$data/sprawl.txt"
curl -s "http://127.0.0.1:${http_ports[0]}/v1/topics/rbench/partitions" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["partitions"]:
    print("partition", p["partition"], "replicas", p.get("replicas"), "leader", p.get("leader"),
          "high watermark", p["high_watermark"])'
kill "${pids[@]}"
wait "${pids[@]}" 2>/dev/null || true
pids=()
[[ "$peers" == 1 ]] || exit 0

echo "== NATS JetStream $(nats-server --version 2>&1 | head -1): 3 servers, file storage, R3, async publish, pull consumer acking each message"
nats_ports=() route_ports=()
for i in 0 1 2; do nats_ports+=("$(free_port)") route_ports+=("$(free_port)"); done
routes="nats://127.0.0.1:${route_ports[0]},nats://127.0.0.1:${route_ports[1]},nats://127.0.0.1:${route_ports[2]}"
for i in 0 1 2; do
  nats-server -js -sd "$data/nats$i" -a 127.0.0.1 -p "${nats_ports[$i]}" --server_name "s$i" \
    --cluster_name bench --cluster "nats://127.0.0.1:${route_ports[$i]}" --routes "$routes" \
    >"$data/nats$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/${nats_ports[$i]}") 2>/dev/null && break; sleep 0.1; done
done
# A stream with 3 replicas needs the JetStream meta group's leader: retry the
# run until the cluster has elected one.
for _ in $(seq 30); do
  if NATS_REPLICAS=3 "$root/build/release/bench/nats_bench" "nats://127.0.0.1:${nats_ports[0]}" \
    "$count" "$size" >"$data/nats.txt" 2>"$data/nats.err"; then
    break
  fi
  sleep 1
done
cat "$data/nats.txt"

echo "== Ratios (Sprawl / JetStream R3, same run, $size-byte messages, 3 nodes each)"
python3 - "$data" <<'PY'
import re, sys
d = sys.argv[1]
def rates(name):
    out = {}
    for line in open(f"{d}/{name}.txt"):
        m = re.match(r"(produce|consume)\S*.*: ([0-9]+) msg/s", line)
        if m: out[m.group(1)] = int(m.group(2))
    return out
s, n = rates("sprawl"), rates("nats")
for kind in ("produce", "consume"):
    if kind in n:
        print(f"{kind:8s} sprawl {s[kind]:>9,} msg/s | JetStream R3 {n[kind]:>9,} msg/s -> x{s[kind]/n[kind]:.2f} (target 2)")
    else:
        print(f"{kind:8s} sprawl {s[kind]:>9,} msg/s | JetStream R3: no figure (see its errors above)")
PY
