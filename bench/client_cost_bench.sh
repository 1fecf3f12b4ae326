#!/usr/bin/env bash
# Client CPU per published message beside the server's: the cost of the
# client library's throughput path. For each ack level it starts a fresh
# release sprawl-server with the memory store on free ports, runs
# `sprawlctl bench produce` (one producer, 100-byte messages, 4 partitions,
# 256 KiB batches, 5 ms linger) under /usr/bin/time, reads the server's CPU
# from /proc/<pid>/stat around it, and prints one row per run:
#   rate | client user + sys | server CPU | per message: client / server
# CPU time per message is the figure to compare across runs: it moves far
# less than the rate when other work shares the machine.
# With CALLGRIND=N (e.g. 200000) the client also runs N messages under
# valgrind's callgrind and the instructions it executed per message are
# printed (all of its threads; independent of machine load).
# Environment: COUNT (3000000), SIZE (100), PARTITIONS (4), ACKS ("leader none"),
# BIN (build/release/server: where sprawl-server and sprawlctl are), CALLGRIND (0).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${BIN:-$root/build/release/server}"
count="${COUNT:-3000000}"
size="${SIZE:-100}"
partitions="${PARTITIONS:-4}"
acks_levels="${ACKS:-leader none}"
callgrind="${CALLGRIND:-0}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data="$(mktemp -d /tmp/sprawl-client-cost-XXXXXX)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
start_server() {
  client_port="$(free_port)"
  http_port="$(free_port)"
  "$bin/sprawl-server" --storage memory --data-dir "$data/data" --client-port "$client_port" \
    --http-port "$http_port" --peer-port 0 --log-level warn >>"$data/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$http_port/ready" >/dev/null && break
    sleep 0.1
  done
}
stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
# utime + stime of a process, in clock ticks (fields 14 and 15 of stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_sec="$(getconf CLK_TCK)"

echo "== client CPU per message: 1 producer, memory store, $partitions partitions, $size-byte messages, $count messages, $(nproc) cores (load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-8s | %14s | %-26s | %10s | %s\n' acks rate "client CPU (user + sys)" "server CPU" \
  "per message: client / server"
for acks in $acks_levels; do
  start_server
  before="$(cpu_ticks "$server_pid")"
  /usr/bin/time -f '%U %S' -o "$data/time.txt" "$bin/sprawlctl" --server \
    "tcp://127.0.0.1:$client_port" bench produce --topic cost --count "$count" --size "$size" \
    --partitions "$partitions" --acks "$acks" >"$data/produce.txt"
  after="$(cpu_ticks "$server_pid")"
  stop_server
  python3 - "$acks" "$count" "$ticks_per_sec" "$before" "$after" "$data/time.txt" \
    "$data/produce.txt" <<'PY'
import re, sys
acks, count, hz, before, after, time_file, produce_file = sys.argv[1:]
count, hz = int(count), int(hz)
user, system = map(float, open(time_file).read().split()[-2:])
server = (int(after) - int(before)) / hz
rate = int(re.search(r"([0-9]+) msg/s", open(produce_file).read()).group(1))
client_us = (user + system) / count * 1e6
server_us = server / count * 1e6
print(f"{acks:8s} | {rate:>9,} msg/s | {user:5.2f} s user + {system:5.2f} s sys | "
      f"{server:8.2f} s | {client_us:.3f} us / {server_us:.3f} us")
PY
done

if [[ "$callgrind" != 0 ]]; then
  for acks in $acks_levels; do
    start_server
    valgrind --tool=callgrind --callgrind-out-file="$data/callgrind.out" \
      "$bin/sprawlctl" --server "tcp://127.0.0.1:$client_port" bench produce --topic cost \
      --count "$callgrind" --size "$size" --partitions "$partitions" --acks "$acks" \
      >"$data/callgrind.txt" 2>&1
    stop_server
    ir="$(awk '/^summary:|^totals:/ {print $2; exit}' "$data/callgrind.out")"
    python3 -c 'import sys; a, ir, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]); print(f"callgrind {a:8s}: {ir / n:,.0f} client instructions per message ({n:,} messages, all client threads)")' \
      "$acks" "$ir" "$callgrind"
  done
fi
