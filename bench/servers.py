"""The processes under test (bare app, intake), their databases, and what they cost in CPU."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from devstack.broker import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
EXCEPTION = re.compile(r"^[\w.]+(Error|Exception|Timeout)\b.*")
PROJECT_FRAME = re.compile(
    r'^\s*File "' + re.escape(str(ROOT)) + r'/((?:shared|services)/[^"]+)", line (\d+), in (\w+)'
)


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[11:13] are utime, stime
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, summed over all cores.

    Busy is every process's, not just ours; steal is time the hypervisor gave to other guests,
    the clearest sign of a noisy neighbour.
    """
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


@dataclass
class Server:
    """One HTTP server process under test."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """CPU seconds the server has used so far."""
        return proc_cpu_seconds(self.proc.pid)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Wait until GET /health answers 200, or raise with the log's tail."""
        try:
            wait_for_port("127.0.0.1", self.port, timeout, self.proc)
            deadline = time.monotonic() + timeout
            while httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError("not healthy")
                time.sleep(0.1)
        except (RuntimeError, TimeoutError, httpx.HTTPError) as exc:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {exc}\n{self.log_tail()}") from None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (graceful: uvicorn drains, the lifespan stops relay and group commit), then SIGKILL."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def log_problems(log_path: Path) -> list[str]:
    """Each distinct exception in a server log, with its count and the project frames it went through."""
    counts: dict[str, int] = {}
    frames: list[str] = []
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        if frame := PROJECT_FRAME.match(line):
            frames.append(f"{frame[1]}:{frame[2]} {frame[3]}")
        elif EXCEPTION.match(line):
            key = f"{line[:200]}  (via {' > '.join(dict.fromkeys(frames)) or 'library code only'})"
            counts[key] = counts.get(key, 0) + 1
            frames = []
    return [f"{n} x {key}" for key, n in counts.items()]


def _spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path, port: int) -> Server:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name=name, proc=proc, port=port, log_path=log_path)
    server.wait_healthy()
    return server


def start_bare(log_dir: Path) -> Server:
    """Start the baseline app (bench/bare.py) under uvicorn."""
    port = free_port()
    return _spawn("bare", ["-m", "bench.bare", str(port)], {**os.environ, "PYTHONUNBUFFERED": "1"}, log_dir, port)


@dataclass
class IntakeDb:
    """A migrated database with one police key, ready for an intake process."""

    label: str
    url: str
    api_key: str
    bootstrap: str

    def env(self, port: int) -> dict[str, str]:
        """The environment the intake runs with."""
        return {
            **os.environ,
            "MCN_DATABASE_URL": self.url,
            "MCN_HTTP_PORT": str(port),
            "MCN_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "MCN_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }


def prepare_database(label: str, url: str, bootstrap: str, tenant: str) -> IntakeDb:
    """Migrate the schema and create one police API key, with the project's own commands."""
    env = {**os.environ, "MCN_DATABASE_URL": url}
    migrate = [sys.executable, "-m", "alembic", "-c", "alembic.ini", "-x", f"url={url}", "upgrade", "head"]
    _run(migrate, env, f"migrating {label}")
    create = [sys.executable, "-m", "shared.auth_cli", "create", "--role", "police", "--tenant", tenant]
    out = _run([*create, "--label", "bench"], env, f"creating an API key on {label}")
    return IntakeDb(label=label, url=url, api_key=out.strip().splitlines()[-1], bootstrap=bootstrap)


def _run(cmd: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def start_intake(db: IntakeDb, log_dir: Path) -> Server:
    """Start the real intake process (python -m services.intake) on this database."""
    port = free_port()
    return _spawn(f"intake-{db.label}", ["-m", "services.intake"], db.env(port), log_dir, port)


COUNTS = {
    "episodes": "SELECT count(*) FROM intake_episodes",
    "versions": "SELECT count(*) FROM intake_episode_versions",
    "outbox": "SELECT count(*) FROM outbox WHERE service = 'intake'",
    "outbox_pending": "SELECT count(*) FROM outbox WHERE service = 'intake' AND published_at IS NULL",
}


async def count_rows(url: str, queries: dict[str, str] | None = None) -> dict[str, int]:
    """Run count queries against the database (from this process, not through the intake).

    A plain engine, not shared.db.make_engine: that one opens every SQLite transaction with
    BEGIN IMMEDIATE, which would make these reads queue for the intake's write lock.
    """
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                name: int((await conn.execute(text(sql))).scalar_one()) for name, sql in (queries or COUNTS).items()
            }
    finally:
        await engine.dispose()
