"""Python producer and consumer benchmark: the sprawl package against a running node.

produce ADDRESS TOPIC COUNT SIZE
    Publishes COUNT messages of SIZE bytes with the batching async producer
    (acks=leader, 256 KiB batches, 5 ms linger: the settings of `sprawlctl
    bench produce`) in two ways and prints msg/s for each:
      - bulk: Client.publish_many in chunks of 10,000, then flush;
      - async: Client.publish_async per message (a future each) for COUNT/4
        messages, then flush;
      - callback: Client.produce per message with an on_delivery callback,
        client.poll(0) every 1,000 messages, for COUNT/2 messages, then
        flush (which runs the remaining callbacks).
consume ADDRESS TOPIC COUNT [MODE]
    Joins a new consumer group on TOPIC (which holds at least COUNT messages)
    and receives and acks COUNT messages from the topic's start, as `sprawlctl
    bench consume` does (1,000 messages in flight); the time runs from
    subscribing to leaving the group with every ack sent. Prints msg/s.
    MODE "each" (the default) iterates the subscription and acks each
    message with msg.ack(); "batch" takes Subscription.receive_many batches
    of up to 256 (PYBENCH_BATCH) and settles each with Subscription.ack_many.
"""

import os
import sys
import time

import sprawl

# Messages per receive_many in the batched consume row: well below the 1,000
# in flight, so acks flow back while the node still has credit to push.
BATCH = int(os.environ.get("PYBENCH_BATCH", "256"))


def produce(address: str, topic: str, count: int, size: int) -> None:
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
              f"{int(count / seconds)} msg/s", flush=True)

        async_count = max(1, count // 4)
        start = time.perf_counter()
        futures = [client.publish_async(topic, payload) for _ in range(async_count)]
        client.flush()
        seconds = time.perf_counter() - start
        failed = sum(1 for f in futures if f.exception() is not None)
        del futures  # a quarter million futures would slow the next row's garbage collections
        print(f"python async (publish_async, a future each): {async_count} messages of {size} B "
              f"in {seconds:.2f} s: {int(async_count / seconds)} msg/s"
              + (f" ({failed} failed)" if failed else ""), flush=True)
        if failed:
            sys.exit(1)

        callback_count = max(1, count // 2)
        failures = []

        def delivered(error, ack) -> None:
            if error is not None:
                failures.append(error)

        produce_one, poll = client.produce, client.poll
        start = time.perf_counter()
        for i in range(callback_count):
            produce_one(topic, payload, on_delivery=delivered)
            if i % 1000 == 999:
                poll(0)
        client.flush()
        seconds = time.perf_counter() - start
        print(f"python callback (produce + on_delivery): {callback_count} messages of {size} B "
              f"in {seconds:.2f} s: {int(callback_count / seconds)} msg/s"
              + (f" ({len(failures)} failed)" if failures else ""), flush=True)
        if failures:
            sys.exit(1)


def consume(address: str, topic: str, count: int, mode: str) -> None:
    group = f"pybench-{os.getpid()}-{time.monotonic_ns()}"
    with sprawl.Client(address) as client:
        last = None
        received = 0
        start = time.perf_counter()
        # 10 s without a message ends the run early, as in sprawlctl.
        with client.subscribe(topic, group=group, max_in_flight=1000, timeout=10.0) as sub:
            if mode == "batch":
                while received < count:
                    batch = sub.receive_many(min(BATCH, count - received), timeout=10.0)
                    if not batch:
                        break
                    sub.ack_many(batch)
                    received += len(batch)
                    last = batch[-1]
            else:
                for last in sub:
                    last.ack()
                    received += 1
                    if received == count:
                        break
        seconds = time.perf_counter() - start
        size = 0 if last is None else len(last.value)
    how = ("batches: receive_many + ack_many" if mode == "batch"
           else "per message: iteration + msg.ack()")
    print(f"python consume (group, acked, {how}): {received} messages of {size} B in "
          f"{seconds:.2f} s: {int(received / seconds)} msg/s", flush=True)
    if received < count:
        print(f"python_bench: only {received} of {count} messages came", file=sys.stderr)
        sys.exit(1)


def main(argv: list) -> None:
    if len(argv) == 5 and argv[0] == "produce":
        produce(argv[1], argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) in (4, 5) and argv[0] == "consume" and argv[4:] in ([], ["each"], ["batch"]):
        consume(argv[1], argv[2], int(argv[3]), argv[4] if len(argv) == 5 else "each")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
