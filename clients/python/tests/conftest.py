"""Fixtures that run the real cachemgrd: a temp dir, the daemon spawned on a socket in it,
a wait for a handshake, SIGTERM at the end.

The binary is looked for in $CACHEMGR_BIN_DIR, else <repo>/target/debug. A missing binary
fails the tests (never skips them): build it with `cargo build --workspace --bins`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

import cachemgr

REPO = Path(__file__).resolve().parents[3]

# The tests' daemon: an ephemeral master key (no keyring), no pressure monitor (it could
# evict the tests' keys on a busy machine), a tiny namespace for the size limit and a small
# one (used by one test only) for evictions, one with a default TTL.
BASE_CONFIG = """\
[keys]
source = "ephemeral"

[pressure]
enabled = false

[namespaces.tiny]
max_bytes = "4KiB"

[namespaces.evicting]
max_bytes = "8KiB"

[namespaces.hourly]
default_ttl = "1h"
"""


def daemon_binary() -> Path:
    bin_dir = Path(os.environ.get("CACHEMGR_BIN_DIR") or REPO / "target" / "debug")
    binary = bin_dir / "cachemgrd"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(
            "cachemgrd not found at %s: build it (cargo build --workspace --bins) or set "
            "CACHEMGR_BIN_DIR to the folder holding it" % binary,
            pytrace=False,
        )
    return binary


class Daemon:
    """One cachemgrd process in ``root`` (socket in root/run, state in root/state)."""

    def __init__(self, root: Path, config: str):
        self.root = root
        self.socket = str(root / "run" / "cachemgrd.sock")
        self.config = root / "config.toml"
        self.config.write_text(config)
        self.log_path = root / "cachemgrd.log"
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 30.0) -> "Daemon":
        binary = daemon_binary()
        (self.root / "run").mkdir(exist_ok=True)
        # the daemon reads CACHEMGR_* variables as config overrides: give it none of ours
        env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEMGR_")}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(binary), "--socket", self.socket, "--state-dir", str(self.root / "state"),
             "--config", str(self.config), "--log-level", "debug"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail("cachemgrd exited with %s at start:\n%s"
                            % (self.proc.returncode, self.log_tail()), pytrace=False)
            try:
                with cachemgr.Client(self.socket, timeout=2.0) as probe:
                    probe.ping()
                return self
            except cachemgr.CacheError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("cachemgrd did not answer a handshake within %s s:\n%s"
                                % (timeout, self.log_tail()), pytrace=False)
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def client(self, **kwargs) -> cachemgr.Client:
        return cachemgr.Client(self.socket, client_name="pytest", **kwargs)


@pytest.fixture(scope="session")
def daemon(tmp_path_factory) -> Iterator[Daemon]:
    """One daemon shared by the tests; each test uses namespaces of its own (``ns``)."""
    d = Daemon(tmp_path_factory.mktemp("daemon"), BASE_CONFIG).start()
    yield d
    d.stop()


@pytest.fixture
def make_daemon(tmp_path_factory) -> Iterator[Callable[..., Daemon]]:
    """Starts extra daemons (``make_daemon(top_level_config="")``), stopped after the test."""
    started = []

    def make(top_level: str = "") -> Daemon:
        # top-level keys must come before the tables of BASE_CONFIG
        d = Daemon(tmp_path_factory.mktemp("daemon"), top_level + BASE_CONFIG).start()
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop()


@pytest.fixture
def client(daemon) -> Iterator[cachemgr.Client]:
    with daemon.client() as c:
        yield c


@pytest.fixture
def ns(request) -> str:
    """A namespace name of the test's own (names: 1-128 of A-Z a-z 0-9 _ . : -)."""
    return ("t." + re.sub(r"[^A-Za-z0-9_.:-]", "-", request.node.name))[:128]


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition"):
    """Polls ``predicate`` until it returns something truthy (returned), failing after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail("timed out after %s s waiting for %s" % (timeout, what))
        time.sleep(0.02)
