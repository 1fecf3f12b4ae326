"""Python publish benchmark: the sprawl package against a running node.

Publishes COUNT messages of SIZE bytes with the batching async producer
(acks=leader, 256 KiB batches, 5 ms linger: the settings of `sprawlctl bench
produce`) in two ways and prints msg/s for each:
  - bulk: Client.publish_many in chunks of 10,000, then flush;
  - async: Client.publish_async per message (a future each), then flush.
Usage: python_bench.py ADDRESS TOPIC COUNT SIZE
"""

import sys
import time

import sprawl


def run(address: str, topic: str, count: int, size: int) -> None:
    payload = b"x" * size
    with sprawl.Client(address, acks="leader", linger=0.005, batch_bytes=256 << 10) as client:
        chunk = [payload] * 10_000
        start = time.perf_counter()
        sent = 0
        while sent < count:
            n = min(len(chunk), count - sent)
            client.publish_many(topic, chunk[:n] if n < len(chunk) else chunk)
            sent += n
        client.flush()
        seconds = time.perf_counter() - start
        print(f"python bulk (publish_many): {count} messages of {size} B in {seconds:.2f} s: "
              f"{int(count / seconds)} msg/s")

        async_count = count // 4
        start = time.perf_counter()
        futures = [client.publish_async(topic, payload) for _ in range(async_count)]
        client.flush()
        seconds = time.perf_counter() - start
        failed = sum(1 for f in futures if f.exception() is not None)
        print(f"python async (publish_async, a future each): {async_count} messages of {size} B "
              f"in {seconds:.2f} s: {int(async_count / seconds)} msg/s"
              + (f" ({failed} failed)" if failed else ""))


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
