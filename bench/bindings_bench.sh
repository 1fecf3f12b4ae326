#!/usr/bin/env bash
# What the bindings cost: on one sprawl-server, the C++ client
# (`sprawlctl bench produce`), the Python package (bench/python_bench.py),
# the Node.js package (bench/node_bench.js) and the Java binding
# (bench/java/JavaBench.java), all over the C ABI, publish the same workload;
# then the C++ client (`sprawlctl bench consume`), the Python package (per
# message, and in batches with receive_many + ack_many), the Java binding
# (per message, and in batches with pollMany) and the Node.js package (for
# await, 'message' events, and in batches with receiveMany + ackMany) each
# consume the C++ client's messages through a new consumer group,
# acking every message. Each binding's ratio to the C++ client is printed,
# with whether it meets the 0.5 target.
# 100-byte messages, acks=leader, 4 partitions, batching async producers.
# Environment: COUNT (default 2000000), SIZE (100), PARTITIONS (4), BUILD
# (the build tree, default build/release; relative to the checkout).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD:-build/release}"
[[ "$build" = /* ]] || build="$root/$build"
count="${COUNT:-2000000}"
size="${SIZE:-100}"
partitions="${PARTITIONS:-4}"
for f in server/sprawl-server server/sprawlctl python/sprawl/__init__.py node/sprawl.node java; do
  if [[ ! -e "$build/$f" ]]; then
    echo "bindings_bench: $build/$f is missing: build the tree first (make release)" >&2
    exit 1
  fi
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
data="$(mktemp -d /tmp/sprawl-pybench-XXXXXX)"
client_port="$(free_port)"
http_port="$(free_port)"
"$build/server/sprawl-server" --data-dir "$data/data" --client-port "$client_port" \
  --http-port "$http_port" --peer-port 0 --log-level warn >"$data/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http_port/ready" >/dev/null && break; sleep 0.1; done
address="tcp://127.0.0.1:$client_port"
ctl() { "$build/server/sprawlctl" --server "$address" "$@"; }
echo "== one node, RocksDB, fsync interval:10, $partitions partitions, $size-byte messages, acks=leader"
echo "-- publish"
ctl bench produce --topic cpp --count "$count" --size "$size" --partitions "$partitions" \
  --acks leader | tee "$data/cpp.txt"
ctl topic create py --partitions "$partitions" >/dev/null
PYTHONPATH="$build/python" python3 "$root/bench/python_bench.py" produce "$address" py "$count" \
  "$size" | tee "$data/bindings.txt"
ctl topic create js --partitions "$partitions" >/dev/null
SPRAWL_NODE_ADDON="$build/node/sprawl.node" node "$root/bench/node_bench.js" "$address" js \
  "$count" "$size" | tee -a "$data/bindings.txt"
# Java: the binding's classes from a Maven build against this build's libraries.
mvn -q -B -f "$root/bindings/java/pom.xml" package -DskipTests -Dsprawl.native.dir="$build/java"
javac -d "$data/java" -cp "$root/bindings/java/target/classes" "$root/bench/java/JavaBench.java"
ctl topic create jv --partitions "$partitions" >/dev/null
java -Djava.library.path="$build/java" -cp "$data/java:$root/bindings/java/target/classes" \
  JavaBench "$address" jv "$count" "$size" | tee -a "$data/bindings.txt"
echo "-- consume: the $count messages of topic cpp, a new group each, every message acked"
ctl bench consume --topic cpp --count "$count" --max-in-flight 1000 | tee "$data/cpp_consume.txt"
# -- consume rows: Python (per message, then batched) and Java
PYTHONPATH="$build/python" python3 "$root/bench/python_bench.py" consume "$address" cpp "$count" \
  each | tee -a "$data/bindings.txt"
PYTHONPATH="$build/python" python3 "$root/bench/python_bench.py" consume "$address" cpp "$count" \
  batch | tee -a "$data/bindings.txt"
java -Djava.library.path="$build/java" -cp "$data/java:$root/bindings/java/target/classes" \
  JavaBench consume "$address" cpp "$count" | tee -a "$data/bindings.txt"
java -Djava.library.path="$build/java" -cp "$data/java:$root/bindings/java/target/classes" \
  JavaBench consume "$address" cpp "$count" batch | tee -a "$data/bindings.txt"
# -- end of the Python and Java consume rows
for mode in iterate events batch; do
  SPRAWL_NODE_ADDON="$build/node/sprawl.node" node "$root/bench/node_bench.js" consume "$address" cpp \
    "$count" "$mode" | tee -a "$data/bindings.txt"
done
echo "-- ratios to the C++ client"
python3 - "$data" <<'PY'
import re, sys
d = sys.argv[1]
def rate(path: str) -> int:
    return int(re.search(r": ([0-9]+) msg/s", open(path).read()).group(1))
cpp = {"publish": rate(f"{d}/cpp.txt"), "consume": rate(f"{d}/cpp_consume.txt")}
for kind, rate_ in cpp.items():
    print(f"c++    {kind:7s} {rate_:>9,} msg/s | the reference")
# Rows whose target is a rate of their own rather than the ratio.
absolute = {("python", "callback"): 300_000}
for line in open(f"{d}/bindings.txt"):
    m = re.match(r"(python|node|java) (\w+) .*: ([0-9]+) msg/s", line)
    if not m:
        continue
    kind = "consume" if m.group(2) == "consume" else "publish"
    rate_ = int(m.group(3))
    ratio = rate_ / cpp[kind]
    verdict = "meets" if ratio >= 0.5 else "below"
    floor = absolute.get((m.group(1), m.group(2)))
    if floor is not None:
        print(f"{m.group(1):6s} {m.group(2):7s} {rate_:>9,} msg/s | "
              f"{'meets' if rate_ >= floor else 'below'} the {floor:,} msg/s target")
    # The row's own words (in parentheses) tell apart the rows of one kind.
    how = re.search(r"\((.*?)\): ", line)
    print(f"{m.group(1):6s} {m.group(2):7s} {rate_:>9,} msg/s | C++ {kind:7s} {cpp[kind]:>9,} msg/s "
          f"-> x{ratio:.2f} ({verdict} the 0.5 target)" + (f"  [{how.group(1)}]" if how else ""))
PY
