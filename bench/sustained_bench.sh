#!/usr/bin/env bash
# Sustained publishing against the disk's ceiling. Measures the disk's
# sequential write bandwidth with dd in the directory the data goes to, then
# publishes VOLUME_MB of SIZE-byte messages through a release sprawl-server
# (`sprawlctl bench produce`, acks=leader, 4 partitions, fsync interval:10):
# far more than the memtables and the page cache's dirty limit hold, so the
# rate is what the disk sustains. The server's write_bytes (/proc/<pid>/io)
# over the run gives its write amplification, and the ceiling for the payload
# rate is the dd bandwidth divided by that amplification. Then NATS
# JetStream (file storage, R1) publishes the same volume. Every data
# directory is removed at the end.
# Environment: VOLUME_MB (default 8192), SIZE (1024), PARTITIONS (4),
# FSYNC (interval:10), DIR (parent of the data, default /tmp), PEERS (1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
server_bin="$root/build/release/server/sprawl-server"
ctl_bin="$root/build/release/server/sprawlctl"
volume_mb="${VOLUME_MB:-8192}"
size="${SIZE:-1024}"
partitions="${PARTITIONS:-4}"
fsync="${FSYNC:-interval:10}"
peers="${PEERS:-1}"
count=$((volume_mb * 1000000 / size))

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
write_bytes() { awk '/^write_bytes:/ {print $2}' "/proc/$1/io"; }
data="$(mktemp -d "${DIR:-/tmp}/sprawl-sustained-XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

echo "== disk: dd if=/dev/zero bs=1M count=4096 conv=fdatasync in $data (1-min load $(cut -d' ' -f1 /proc/loadavg))"
dd_out="$(dd if=/dev/zero of="$data/dd.bin" bs=1M count=4096 conv=fdatasync 2>&1 | tail -1)"
rm -f "$data/dd.bin"
echo "$dd_out"
dd_mbs="$(python3 -c 'import re,sys; m=re.search(r"(\d+) bytes.*, ([0-9.]+) s,", sys.argv[1]); print(f"{int(m.group(1))/float(m.group(2))/1e6:.1f}")' "$dd_out")"

client_port="$(free_port)"
http_port="$(free_port)"
"$server_bin" --data-dir "$data/sprawl" --client-port "$client_port" --http-port "$http_port" \
  --fsync "$fsync" --log-level warn >"$data/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$http_port/ready" >/dev/null && break
  sleep 0.1
done
echo "== Sprawl: $count messages of $size B ($volume_mb MB), acks=leader, $partitions partitions, fsync $fsync"
before="$(write_bytes "$server_pid")"
"$ctl_bin" --server "tcp://127.0.0.1:$client_port" bench produce --topic sustained \
  --count "$count" --size "$size" --partitions "$partitions" --acks leader | tee "$data/sprawl.txt"
at_end="$(write_bytes "$server_pid")"
# What RocksDB still flushes and compacts for this run, until writes stop for 3 s (at most 120 s).
settled="$at_end"
for _ in $(seq 40); do
  sleep 3
  now="$(write_bytes "$server_pid")"
  [[ "$now" == "$settled" ]] && break
  settled="$now"
done
du -sh "$data/sprawl"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
rm -rf "$data/sprawl"

nats_line=""
if [[ "$peers" == 1 ]]; then
  echo "== NATS JetStream $(nats-server --version 2>&1 | head -1): file storage, R1, async publish, same volume"
  nats_port="$(free_port)"
  nats-server -js -sd "$data/nats" -a 127.0.0.1 -p "$nats_port" >"$data/nats.log" 2>&1 &
  nats_pid=$!
  pids+=("$nats_pid")
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.1; done
  nats_before="$(write_bytes "$nats_pid")"
  "$root/build/release/bench/nats_bench" "nats://127.0.0.1:$nats_port" "$count" "$size" produce |
    tee "$data/nats.txt" || true
  nats_after="$(write_bytes "$nats_pid")"
  kill "$nats_pid"
  wait "$nats_pid" 2>/dev/null || true
  rm -rf "$data/nats"
  nats_line="$(python3 -c '
import re, sys
m = re.search(r"([0-9.]+) MB/s", open(sys.argv[1]).read())
if m:
    print(f"{m.group(1)} {(int(sys.argv[3]) - int(sys.argv[2])) / (int(sys.argv[4]) * int(sys.argv[5])):.3f}")
' "$data/nats.txt" "$nats_before" "$nats_after" "$count" "$size")"
fi

echo "== Summary ($size-byte messages, $volume_mb MB, 1-min load $(cut -d' ' -f1 /proc/loadavg) at the end)"
python3 - "$data/sprawl.txt" "$dd_mbs" "$before" "$at_end" "$settled" "$count" "$size" "$nats_line" <<'PY'
import re, sys
text, dd, before, at_end, settled, count, size, nats = sys.argv[1:9]
payload = int(count) * int(size)
rate = float(re.search(r"([0-9.]+) MB/s", open(text).read()).group(1))
amp_end = (int(at_end) - int(before)) / payload
amp_settled = (int(settled) - int(before)) / payload
ceiling = float(dd) / amp_settled
print(f"disk (dd, fdatasync)        {float(dd):8.1f} MB/s")
print(f"Sprawl amplification        {amp_end:8.3f} when the publish ended, {amp_settled:.3f} settled")
print(f"ceiling = dd / amplification {ceiling:7.1f} MB/s of payload")
print(f"Sprawl sustained publish    {rate:8.1f} MB/s of payload = {100 * rate / ceiling:.0f}% of the ceiling (target 85%)")
if nats:
    nrate, namp = nats.split()
    print(f"JetStream publish           {float(nrate):8.1f} MB/s, amplification {float(namp):.3f}"
          f" -> Sprawl x{rate / float(nrate):.2f}")
PY
