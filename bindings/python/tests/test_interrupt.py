"""Ctrl-C interrupts a blocking subscribe promptly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

SCRIPT = r"""
import sys, sprawl
with sprawl.Node(storage="memory") as node, sprawl.Client(node.address) as c:
    c.create_topic("quiet")
    sub = c.subscribe("quiet", group="g")
    try:
        print("ready", flush=True)
        for msg in sub:
            pass
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sub.close()
        sys.exit(3)
"""


def test_sigint_stops_a_blocking_subscribe():
    env = dict(os.environ)
    if os.environ.get("SPRAWL_PYTHON_PATH"):
        env["PYTHONPATH"] = os.environ["SPRAWL_PYTHON_PATH"]
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline().strip() == "interrupted"
        assert time.monotonic() - sent < 2.0
        assert proc.wait(timeout=30) == 3
    finally:
        proc.kill()
        proc.wait()
