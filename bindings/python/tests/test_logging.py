"""The library's log records in Python's `logging`: each level under the
"sprawl" logger's component children, nothing below the effective level
crossing into Python, nothing on stderr, and handlers that raise or block
not breaking the core."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import sprawl
from sprawl import _sprawl

# sprawl_log_level_t numbers.
TRACE, DEBUG, INFO, WARN, ERROR = range(5)


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.records: list[logging.LogRecord] = []
        self.cv = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.cv:
            self.records.append(record)
            self.cv.notify_all()

    def wait_for(self, message: str, timeout: float = 10.0) -> logging.LogRecord:
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for r in self.records:
                    if r.getMessage().split(" ")[0:len(message.split(" "))] == message.split(" "):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no record {message!r}; got "
                                         f"{[r.getMessage() for r in self.records]}")
                self.cv.wait(left)


@pytest.fixture
def captured():
    """A handler on the "sprawl" logger at `level` (set by the test); the
    logger's level and the core's are restored afterwards."""
    logger = logging.getLogger("sprawl")
    handler = ListHandler()
    logger.addHandler(handler)
    before = logger.level
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(before)


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def test_each_level_arrives_under_its_component(captured):
    logging.getLogger("sprawl").setLevel(sprawl.TRACE)
    assert _sprawl.log_get_level() == TRACE  # follows the logger at once
    expected = {TRACE: sprawl.TRACE, DEBUG: logging.DEBUG, INFO: logging.INFO,
                WARN: logging.WARNING, ERROR: logging.ERROR}
    for level in expected:
        _sprawl.log_write(level, "app", f"record at {level}")
    for level, py_level in expected.items():
        record = captured.wait_for(f"record at {level}")
        assert record.levelno == py_level
        assert record.name == "sprawl.app"
        assert record.sprawl_component == "app"


def test_core_records_carry_component_and_fields(captured):
    logging.getLogger("sprawl").setLevel(logging.INFO)
    with sprawl.Node(storage="memory", node_id="py-log-node") as node:
        with sprawl.Client(node.address) as client:
            client.create_topic("py-logged", partitions=2)
            created = captured.wait_for("topic created")
    assert created.name == "sprawl.broker"
    assert created.levelno == logging.INFO
    assert created.sprawl_fields["topic"] == "py-logged"
    assert created.sprawl_fields["partitions"] == "2"
    assert created.sprawl_fields["node"] == "py-log-node"
    assert "topic=py-logged" in created.getMessage()
    listening = captured.wait_for("node listening")
    assert listening.name == "sprawl.node"
    assert captured.wait_for("store opened").name == "sprawl.storage"


def test_below_the_level_never_crosses_into_python(captured):
    logging.getLogger("sprawl").setLevel(logging.WARNING)
    assert _sprawl.log_get_level() == WARN
    before = _sprawl.log_crossed()
    _sprawl.log_write(INFO, "app", "below the level")
    _sprawl.log_write(DEBUG, "app", "far below the level")
    with sprawl.Node(storage="memory"):  # logs at info
        pass
    _sprawl.log_write(WARN, "app", "the marker")
    captured.wait_for("the marker")
    after = _sprawl.log_crossed()
    for level in (TRACE, DEBUG, INFO):
        assert after[level] == before[level], "a record below the level took the GIL"
    assert not any(r.getMessage() == "below the level" for r in captured.records)


def test_a_child_logger_lowers_the_core_level(captured):
    logging.getLogger("sprawl").setLevel(logging.WARNING)
    child = logging.getLogger("sprawl.broker")
    try:
        child.setLevel(logging.DEBUG)
        assert _sprawl.log_get_level() == DEBUG
        _sprawl.log_write(DEBUG, "broker", "broker detail")
        _sprawl.log_write(DEBUG, "storage", "storage detail")
        _sprawl.log_write(WARN, "app", "child marker")
        captured.wait_for("child marker")
        captured.wait_for("broker detail")
        assert not any(r.getMessage() == "storage detail" for r in captured.records)
    finally:
        child.setLevel(logging.NOTSET)
    assert _sprawl.log_get_level() == WARN


def test_logging_disable_raises_the_core_level(captured):
    logging.getLogger("sprawl").setLevel(logging.DEBUG)
    try:
        logging.disable(logging.INFO)
        assert _sprawl.log_get_level() == WARN
    finally:
        logging.disable(logging.NOTSET)
    assert _sprawl.log_get_level() == DEBUG


def test_a_raising_filter_does_not_stop_delivery(captured):
    logging.getLogger("sprawl").setLevel(logging.INFO)

    class Raising(logging.Filter):
        def filter(self, record):
            raise RuntimeError("broken filter")

    broken = Raising()
    logger = logging.getLogger("sprawl.app")
    unraisable = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    logger.addFilter(broken)
    try:
        _sprawl.log_write(WARN, "app", "into the broken filter")
        wait_until(lambda: unraisable)
    finally:
        logger.removeFilter(broken)
        sys.unraisablehook = old_hook
    assert isinstance(unraisable[0].exc_value, RuntimeError)
    _sprawl.log_write(WARN, "app", "after the broken filter")
    captured.wait_for("after the broken filter")
    with sprawl.Node(storage="memory") as node, sprawl.Client(node.address) as client:
        client.create_topic("after-broken", partitions=1)


def test_a_blocking_handler_drops_records_but_not_the_core(captured):
    logging.getLogger("sprawl").setLevel(logging.INFO)
    release = threading.Event()
    entered = threading.Event()

    class Blocking(logging.Handler):
        def emit(self, record):
            entered.set()
            release.wait(30)

    blocking = Blocking()
    logger = logging.getLogger("sprawl")
    _sprawl.log_set_queue_capacity(8)
    sprawl._logging.install()  # the capacity applies to a new callback
    logger.addHandler(blocking)
    try:
        dropped = sprawl.log_dropped()
        _sprawl.log_write(WARN, "app", "first")
        assert entered.wait(10)
        started = time.monotonic()
        for _ in range(200):
            _sprawl.log_write(WARN, "app", "flood")
        with sprawl.Node(storage="memory") as node, sprawl.Client(node.address) as client:
            client.create_topic("while-blocked", partitions=1)
            client.publish("while-blocked", b"v")
        assert time.monotonic() - started < 20
        assert sprawl.log_dropped() - dropped >= 200 - 8
    finally:
        release.set()
        logger.removeHandler(blocking)
        _sprawl.log_set_queue_capacity(8192)
        sprawl._logging.install()


def test_nothing_on_stderr(tmp_path):
    """A program that embeds a node prints nothing of the library's on
    stderr: not by default (info records stay below `logging`'s last-resort
    WARNING), and not with logging configured (they go to its file)."""
    script = textwrap.dedent("""
        import logging, sys
        if sys.argv[1] == "configured":
            logging.basicConfig(filename=sys.argv[2], level=logging.DEBUG)
        import sprawl
        with sprawl.Node(storage="memory") as node, sprawl.Client(node.address) as client:
            client.create_topic("quiet", partitions=1)
            client.publish("quiet", b"v")
        print("done")
    """)
    env = dict(os.environ)
    if os.environ.get("SPRAWL_PYTHON_PATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (os.environ["SPRAWL_PYTHON_PATH"], env.get("PYTHONPATH")) if p)
    for mode in ("default", "configured"):
        log_file = tmp_path / f"{mode}.log"
        out = subprocess.run([sys.executable, "-c", script, mode, str(log_file)], env=env,
                             capture_output=True, text=True, timeout=120,
                             cwd=os.path.dirname(os.path.abspath(__file__)))
        assert out.returncode == 0, out.stderr
        assert out.stdout == "done\n"
        assert out.stderr == ""
        if mode == "configured":
            text = log_file.read_text()
            assert "INFO:sprawl.broker:topic created node=node-1 topic=quiet" in text
