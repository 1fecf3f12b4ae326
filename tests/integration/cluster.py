"""Starts real sprawl-server processes on free ports and talks to them with
sprawlctl and HTTP, for the integration tests. Standard library only."""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

SERVER = os.environ.get("SPRAWL_SERVER_BIN", "build/dev/server/sprawl-server")
CTL = os.environ.get("SPRAWLCTL_BIN", "build/dev/server/sprawlctl")

# Data directories made here, removed when the test process exits (a chaos
# run leaves gigabytes); SPRAWL_KEEP_TEST_DATA=1 keeps them, logs included.
_made_dirs = []


@atexit.register
def _remove_data_dirs():
    if os.environ.get("SPRAWL_KEEP_TEST_DATA") == "1":
        return
    for path in _made_dirs:
        shutil.rmtree(path, ignore_errors=True)


_given_ports = set()


def free_port():
    """A free port never handed out before in this process: the system may
    give a port just released again, and a server's three ports (or two
    servers' ports) must differ."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def wait_for(condition, timeout=20.0, what="condition"):
    """Polls `condition` until it returns a true value; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Server:
    """One sprawl-server process with its own data directory."""

    def __init__(self, *extra, data_dir=None):
        if data_dir is None:
            data_dir = tempfile.mkdtemp(prefix="sprawl-it-")
            _made_dirs.append(data_dir)
        self.data_dir = data_dir
        self.client_port = free_port()
        self.http_port = free_port()
        self.peer_port = free_port()
        self.extra = list(extra)
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    @property
    def endpoint(self):
        return f"tcp://127.0.0.1:{self.client_port}"

    @property
    def http(self):
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout=20.0):
        """Starts the process and waits up to `timeout` s for /ready (a node
        recovering a large store under load may need more than the default)."""
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [SERVER, "--data-dir", os.path.join(self.data_dir, "data"),
                 "--client-port", str(self.client_port), "--http-port", str(self.http_port),
                 "--peer-port", str(self.peer_port)]
                + self.extra, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.ready, timeout=timeout, what="the server to be ready")
        return self

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"sprawl-server exited with {self.proc.returncode}: "
                                 + open(self.log_path).read()[-2000:])
        try:
            with urllib.request.urlopen(self.http + "/ready", timeout=1) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        return self.proc.returncode

    def ctl(self, *args, input=None, check=True, timeout=60):
        """Runs sprawlctl against this server; returns the completed process."""
        result = subprocess.run([CTL, "--server", self.endpoint, "--http", self.http] + list(args),
                                input=input, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"sprawlctl {' '.join(args)} failed ({result.returncode}): "
                                 f"{result.stderr}")
        return result

    def ctl_json(self, *args, **kwargs):
        out = self.ctl("--json", *args, **kwargs).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def request(self, method, path, body=None, timeout=10):
        """An HTTP request; returns (status, parsed JSON or text)."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.http + path, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text
