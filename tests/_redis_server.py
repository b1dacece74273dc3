"""A real redis-server for the tests, on 127.0.0.1 and a free port, in memory only.

Debian's package (``apt-get install redis-server``; ``.ci/run`` installs it).
Nothing is written to disk (no RDB snapshots, no AOF), and the server binds
the loopback address only.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``redis-server`` started in a temporary directory; ``url`` reaches it."""

    def __init__(self, executable=None):
        self.executable = executable or shutil.which("redis-server")
        self.process = None
        self.port = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, attempts=5):
        if self.executable is None:
            raise FileNotFoundError("redis-server is not installed")
        self._dir = tempfile.TemporaryDirectory(prefix="kura-redis-")
        for _ in range(attempts):  # the free port may be taken meanwhile
            self.port = _free_port()
            self.process = subprocess.Popen(
                [
                    self.executable,
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self._dir.name,
                    "--protected-mode",
                    "yes",
                ],  # fmt: skip
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_ready():
                return self
            self.process.kill()
            self.process.wait()
        raise RuntimeError("redis-server did not start")

    def _wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def flush(self):
        with socket.create_connection(("127.0.0.1", self.port), 5) as s:
            s.sendall(b"FLUSHALL\r\n")
            assert s.recv(16).startswith(b"+OK")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_dir", None) is not None:
            self._dir.cleanup()


def redis_required():
    """True when the environment demands the Redis tests (CI sets it)."""
    return os.environ.get("KURA_SKLEARN_REQUIRE_REDIS") == "1"
