#!/usr/bin/env bash
# The broker benchmark: starts a release sprawl-server on free ports with a
# fresh RocksDB data directory, then runs sprawlctl bench against it:
#   1. publish throughput: 100-byte messages, batched async producer,
#      acks=leader, 4 partitions, fsync interval:10;
#   2. consumer-group delivery with per-message acks of those messages;
#   3. end-to-end latency (publish to delivery) at a fixed 50,000 msg/s.
# Environment: COUNT (default 2000000), RATE (50000), E2E_COUNT (250000),
# SIZE (100), PARTITIONS (4), FSYNC (interval:10), PRODUCERS (1).
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data="$(mktemp -d /tmp/sprawl-bench-XXXXXX)"
client_port="$(free_port)"
http_port="$(free_port)"
"$server_bin" --data-dir "$data/data" --client-port "$client_port" --http-port "$http_port" \
  --fsync "$fsync" --log-level warn >"$data/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$http_port/ready" >/dev/null && break
  sleep 0.1
done
ctl=("$ctl_bin" --server "tcp://127.0.0.1:$client_port" "$@")
echo "== Sprawl: 1 node, RocksDB, fsync $fsync, $partitions partitions, $size-byte messages"
"${ctl[@]}" bench produce --topic bench --count "$count" --size "$size" \
  --partitions "$partitions" --acks leader --producers "$producers"
"${ctl[@]}" bench consume --topic bench --count "$count" --max-in-flight 1000
"${ctl[@]}" bench e2e --topic e2e --count "$e2e_count" --rate "$rate" --size "$size" \
  --partitions "$partitions" --linger-ms 1
