"""The Python side of the interoperability test (see interop.c for the format)."""
import sys

import sprawl

COUNT = 20


def main() -> None:
    mode, address, topic = sys.argv[1:4]
    with sprawl.Client(address) as client:
        if mode == "produce":
            lang = sys.argv[4]
            for i in range(COUNT):
                value = bytes([i, 0, 255, i * 7 % 256]) + f"v{i}".encode()
                client.publish(topic, value, key=None if i % 5 == 0 else f"key-{i}",
                               headers={"lang": lang, "idx": str(i)}, partition=0)
        else:
            with client.subscribe(topic, start="earliest") as sub:
                for _ in range(COUNT):
                    m = sub.receive(timeout=10)
                    key = m.key.hex() if m.key is not None else "-"
                    headers = " ".join(f"{k}={v.hex()}" for k, v in sorted(m.headers.items()))
                    print(f"{m.offset} {key} {bytes(m.value).hex()} {headers}")


if __name__ == "__main__":
    main()
