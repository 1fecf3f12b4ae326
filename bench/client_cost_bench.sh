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
# With CONSUME=1 (the default) each publish run is followed, on the same
# server, by `sprawlctl bench consume` under /usr/bin/time: one group member
# (1000 credits) reads everything just published through a new group and
# acks every message; its row gives the client CPU per consumed message.
# Environment: COUNT (3000000), SIZE (100), PARTITIONS (4), ACKS ("leader none"),
# BIN (build/release/server: where sprawl-server and sprawlctl are), CALLGRIND (0),
# CONSUME (1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${BIN:-$root/build/release/server}"
count="${COUNT:-3000000}"
size="${SIZE:-100}"
partitions="${PARTITIONS:-4}"
acks_levels="${ACKS:-leader none}"
callgrind="${CALLGRIND:-0}"
consume="${CONSUME:-1}"

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

# One row: label, messages, server ticks before and after, the time output
# of the client and its bench output.
row() {
  python3 - "$1" "$2" "$ticks_per_sec" "$3" "$4" "$5" "$6" <<'PY'
import re, sys
label, count, hz, before, after, time_file, bench_file = sys.argv[1:]
count, hz = int(count), int(hz)
user, system = map(float, open(time_file).read().split()[-2:])
server = (int(after) - int(before)) / hz
text = open(bench_file).read()
rate = int(re.search(r"([0-9]+) msg/s", text).group(1))
messages = int(re.search(r": ([0-9]+) messages", text).group(1))
client_us = (user + system) / messages * 1e6
server_us = server / messages * 1e6
print(f"{label:16s} | {rate:>9,} msg/s | {user:5.2f} s user + {system:5.2f} s sys | "
      f"{server:8.2f} s | {client_us:.3f} us / {server_us:.3f} us")
PY
}

echo "== client CPU per message: 1 producer, memory store, $partitions partitions, $size-byte messages, $count messages, $(nproc) cores (load average $(cut -d' ' -f1-3 /proc/loadavg))"
[[ "$consume" == 1 ]] && echo "   after each publish, one group member consumes what was published, acking every message (1000 credits)"
printf '%-16s | %14s | %-26s | %10s | %s\n' run rate "client CPU (user + sys)" "server CPU" \
  "per message: client / server"
for acks in $acks_levels; do
  start_server
  before="$(cpu_ticks "$server_pid")"
  /usr/bin/time -f '%U %S' -o "$data/time.txt" "$bin/sprawlctl" --server \
    "tcp://127.0.0.1:$client_port" bench produce --topic cost --count "$count" --size "$size" \
    --partitions "$partitions" --acks "$acks" >"$data/produce.txt"
  after="$(cpu_ticks "$server_pid")"
  row "publish $acks" "$count" "$before" "$after" "$data/time.txt" "$data/produce.txt"
  if [[ "$consume" == 1 ]]; then
    before="$(cpu_ticks "$server_pid")"
    /usr/bin/time -f '%U %S' -o "$data/time.txt" "$bin/sprawlctl" --server \
      "tcp://127.0.0.1:$client_port" bench consume --topic cost --count "$count" \
      --max-in-flight 1000 >"$data/consume.txt"
    after="$(cpu_ticks "$server_pid")"
    row "consume (acked)" "$count" "$before" "$after" "$data/time.txt" "$data/consume.txt"
  fi
  stop_server
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
