"""Start the whole system as separate processes: broker, webhook receiver, SMTP sink, four services, gateway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from devstack.broker import Broker, free_base_port, free_port, spawn_logged, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "classifier", "rhi_tracker", "notifier")
OFFSETS = {"gateway": 0, "intake": 1, "classifier": 2, "rhi_tracker": 3, "notifier": 4, "receiver": 10, "smtp": 11}
SMTP_OFFSET = 12  # the sink's SMTP port; "smtp" above is its HTTP side (/mails, /health)
SINKS = ("receiver", "smtp")


@dataclass
class StackConfig:
    """Where the stack keeps its files and which ports and database it uses."""

    data_dir: Path
    policy_file: Path = ROOT / "deploy" / "policy.example.yaml"
    base_port: int = 8000
    kafka_port: int = 9092
    database_url: str | None = None
    topic_prefix: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    receiver_to_terminal: bool = False


def local_policy(receiver_port: int, path: Path, source: Path = ROOT / "deploy" / "policy.example.yaml") -> Path:
    """A policy (the example by default) with every webhook, fallbacks too, pointed at a local receiver."""
    policy: dict[str, Any] = yaml.safe_load(source.read_text())
    for recipient in policy["notifications"]["recipients"]:
        for channel in [*recipient["channels"], *([recipient["fallback"]] if recipient.get("fallback") else [])]:
            if channel.get("type", "webhook") == "webhook":
                channel["url"] = f"http://127.0.0.1:{receiver_port}/hooks/{recipient['id']}"
    path.write_text(yaml.safe_dump(policy))
    return path


class Stack:
    """The running system; every part is its own OS process."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        (config.data_dir / "logs").mkdir(exist_ok=True)
        self.database_url = config.database_url or f"sqlite+aiosqlite:///{config.data_dir.resolve()}/mcn.db"
        self.broker = Broker(config.kafka_port, log_path=config.data_dir / "logs" / "broker.log")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def port(self, name: str) -> int:
        """The HTTP port of a part."""
        return self.config.base_port + OFFSETS[name]

    def url(self, name: str = "gateway") -> str:
        """The base URL of a part; the gateway is the system's one base URL."""
        return f"http://127.0.0.1:{self.port(name)}"

    @property
    def receiver_log(self) -> Path:
        """The JSON-lines file the webhook receiver appends to."""
        return self.config.data_dir / "webhooks.jsonl"

    @property
    def mail_log(self) -> Path:
        """The JSON-lines file the SMTP sink appends every mail to."""
        return self.config.data_dir / "mails.jsonl"

    @property
    def smtp_port(self) -> int:
        """The SMTP sink's port, which the notifier's e-mail channel sends to."""
        return self.config.base_port + SMTP_OFFSET

    def env(self, name: str) -> dict[str, str]:
        """The environment a part runs with."""
        env = {
            **os.environ,
            "MCN_DATABASE_URL": self.database_url,
            "MCN_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "MCN_KAFKA_TOPIC_PREFIX": self.config.topic_prefix,
            "MCN_KAFKA_SESSION_TIMEOUT_MS": "3000",
            "MCN_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "MCN_HTTP_PORT": str(self.port(name)),
            "MCN_POLICY_FILE": str(self.config.policy_file),
            "MCN_RECEIVER_LOG": str(self.receiver_log),
            "MCN_MAIL_LOG": str(self.mail_log),
            "MCN_SMTP_PORT": str(self.smtp_port),
            "MCN_GATEWAY_UPSTREAMS": json.dumps({s: self.url(s) for s in SERVICES}),
            "PYTHONUNBUFFERED": "1",
        }
        env.update(self.config.extra_env)
        return env

    def migrate(self) -> None:
        """Upgrade the database to the latest schema."""
        cmd = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "-x", f"url={self.database_url}"]
        subprocess.run([*cmd, "upgrade", "head"], cwd=ROOT, check=True, env=self.env("gateway"))

    def create_key(self, role: str, tenant: str, label: str = "devstack") -> str:
        """Create an API key with the project's CLI and return its secret."""
        cmd = [sys.executable, "-m", "shared.auth_cli", "create", "--role", role, "--tenant", tenant, "--label", label]
        out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, env=self.env("gateway"))
        return out.stdout.strip().splitlines()[-1]

    def start(self, name: str) -> None:
        """Start one part (a service, the receiver or the gateway) as its own process."""
        module = f"services.{name}" if name in SERVICES else f"devstack.{name}"
        log_path = self.config.data_dir / "logs" / f"{name}.log"
        cmd = [sys.executable, "-m", module]
        # Each part in its own session: Ctrl-C reaches the runner only, which stops the parts in order.
        popen = {"cwd": ROOT, "env": self.env(name), "start_new_session": True}
        if name in SINKS and self.config.receiver_to_terminal:
            with open(log_path, "ab") as log:
                self.procs[name] = subprocess.Popen(cmd, stderr=log, **popen)  # type: ignore[call-overload]
        else:
            self.procs[name] = spawn_logged(cmd, log_path, **popen)

    def wait_healthy(self, name: str, timeout: float = 30) -> None:
        """Wait until a part answers /health, or raise with the tail of its log."""
        proc = self.procs[name]
        try:
            wait_for_port("127.0.0.1", self.port(name), timeout, proc)
            deadline = time.monotonic() + timeout
            while httpx.get(self.url(name) + "/health", timeout=2).status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not healthy")
                time.sleep(0.1)
        except (RuntimeError, TimeoutError, httpx.HTTPError) as exc:
            raise RuntimeError(f"{name} did not start: {exc}\n{self.log_tail(name)}") from None

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last lines of a part's log."""
        path = self.config.data_dir / "logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def start_all(self) -> None:
        """Broker, schema, receiver and SMTP sink, services, gateway; each waited for in turn."""
        self.broker.start()
        self.migrate()
        for name in (*SINKS, *SERVICES, "gateway"):
            self.start(name)
        for name in (*SINKS, *SERVICES, "gateway"):
            self.wait_healthy(name)

    def stop(self, name: str, timeout: float = 15) -> None:
        """Stop a part gracefully (SIGTERM), killing it if it will not go."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self, name: str) -> None:
        """SIGKILL a part, as a crash would."""
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def stop_all(self) -> None:
        """Stop everything, front to back, broker last."""
        for name in ("gateway", *SERVICES, *SINKS):
            self.stop(name)
        self.broker.stop()


def config_on_free_ports(
    data_dir: Path,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    policy: Callable[[int, Path], Path] = local_policy,
) -> StackConfig:
    """A stack's settings on free ports, its policy written by `policy(receiver port, path)` (the example's)."""
    base = free_base_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    return StackConfig(
        data_dir=data_dir,
        policy_file=policy(base + OFFSETS["receiver"], data_dir / "policy.yaml"),
        base_port=base,
        kafka_port=free_port(),
        database_url=database_url,
        extra_env=extra_env or {},
    )


def start_on_free_ports(
    data_dir: Path,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    policy: Callable[[int, Path], Path] = local_policy,
) -> Stack:
    """Start a stack on free ports (with the example policy by default); on failure stop what started, re-raise."""
    stack = Stack(config_on_free_ports(data_dir, database_url, extra_env, policy))
    try:
        stack.start_all()
    except BaseException:
        stack.stop_all()
        raise
    return stack
