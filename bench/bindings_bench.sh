#!/usr/bin/env bash
# What the bindings cost: on one release sprawl-server, the C++ client
# (`sprawlctl bench produce`), the Python package (bench/python_bench.py),
# the Node.js package (bench/node_bench.js) and the Java binding
# (bench/java/JavaBench.java), all over the C ABI, publish the same workload,
# and each binding's ratio to the C++ client is printed.
# 100-byte messages, acks=leader, 4 partitions, batching async producers.
# Environment: COUNT (default 2000000), SIZE (100), PARTITIONS (4).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build/release"
count="${COUNT:-2000000}"
size="${SIZE:-100}"
partitions="${PARTITIONS:-4}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data="$(mktemp -d /tmp/sprawl-pybench-XXXXXX)"
client_port="$(free_port)"
http_port="$(free_port)"
"$build/server/sprawl-server" --data-dir "$data/data" --client-port "$client_port" \
  --http-port "$http_port" --log-level warn >"$data/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http_port/ready" >/dev/null && break; sleep 0.1; done
address="tcp://127.0.0.1:$client_port"
echo "== one node, RocksDB, fsync interval:10, $partitions partitions, $size-byte messages, acks=leader"
"$build/server/sprawlctl" --server "$address" bench produce --topic cpp --count "$count" \
  --size "$size" --partitions "$partitions" --acks leader | tee "$data/cpp.txt"
"$build/server/sprawlctl" --server "$address" topic create py --partitions "$partitions" >/dev/null
PYTHONPATH="$build/python" python3 "$root/bench/python_bench.py" "$address" py "$count" "$size" \
  | tee "$data/py.txt"
"$build/server/sprawlctl" --server "$address" topic create js --partitions "$partitions" >/dev/null
SPRAWL_NODE_ADDON="$build/node/sprawl.node" node "$root/bench/node_bench.js" "$address" js \
  "$count" "$size" | tee -a "$data/py.txt"
# Java: the binding's classes from a Maven build against this build's libraries.
mvn -q -B -f "$root/bindings/java/pom.xml" package -DskipTests -Dsprawl.native.dir="$build/java"
javac -d "$data/java" -cp "$root/bindings/java/target/classes" "$root/bench/java/JavaBench.java"
"$build/server/sprawlctl" --server "$address" topic create jv --partitions "$partitions" >/dev/null
java -Djava.library.path="$build/java" -cp "$data/java:$root/bindings/java/target/classes" \
  JavaBench "$address" jv "$count" "$size" | tee -a "$data/py.txt"
python3 - "$data" <<'PY'
import re, sys
d = sys.argv[1]
cpp = int(re.search(r": ([0-9]+) msg/s", open(f"{d}/cpp.txt").read()).group(1))
for line in open(f"{d}/py.txt"):
    m = re.match(r"(python|node|java) (\w+) .*: ([0-9]+) msg/s", line)
    if m:
        rate = int(m.group(3))
        print(f"{m.group(1):6s} {m.group(2):5s} {rate:>9,} msg/s | C++ client {cpp:>9,} msg/s -> "
              f"x{rate / cpp:.2f} (target 0.5 for batched publish)")
PY
