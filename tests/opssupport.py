"""Real servers for the operations tests: `medcurate serve` processes, a throwaway PostgreSQL and Redis.

The throwaway servers belong to the test that starts them, on free ports in temporary directories:
stopping them never touches the machine's own PostgreSQL (5432) or Redis (6379). PostgreSQL's
``initdb`` refuses to run as root, so as root the servers run as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from dbsupport import POSTGRES_ADMIN_URL

MEDCURATE = [sys.executable, "-m", "medcurate"]
REDIS_URL = os.environ.get("MEDCURATE_TEST_REDIS", "redis://127.0.0.1:6379/15")
STARTUP_TIMEOUT = 120.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: object, *, timeout: float = STARTUP_TIMEOUT, what: str = "the condition") -> None:
    """Poll ``check`` until it is true; a start-up wait, never what a test asserts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if callable(check) and check():
                return
        except AssertionError:
            raise
        except Exception:  # not up yet: connection refused, a 5xx, a half-started server
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def site_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a medcurate process for the site in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDCURATE_", "PROMETHEUS_"))}
    env.update({"MEDCURATE_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    env.update(extra)
    return env


class ServeProcess:
    """A real ``medcurate serve`` on a free port, its output kept in a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.port = free_port()
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [*MEDCURATE, "serve", "--port", str(self.port), *args],
            env=env,
            stdout=self._log,
            stderr=self._log,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_up(self) -> ServeProcess:
        """Wait until ``/healthz`` answers (or the process died)."""

        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"medcurate serve exited:\n{self.output()}")
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200

        wait_until(up, what=f"medcurate serve on {self.port}")
        return self

    def output(self) -> str:
        """What the process printed so far."""
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop the process and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@contextmanager
def serving(env: dict[str, str], log: Path, *args: str) -> Iterator[ServeProcess]:
    """A started ``medcurate serve``, stopped at the end."""
    server = ServeProcess(env, log, *args)
    try:
        yield server.wait_up()
    finally:
        server.stop()


def _as_postgres_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without runuser: cannot start a throwaway PostgreSQL")
    return [runuser, "-u", "postgres", "--"]


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.skip(f"Debian's PostgreSQL server binaries ({name}) are not installed")
    return found[-1]


class ThrowawayPostgres:
    """A PostgreSQL server of our own: initdb in a temporary directory, a free port, trust auth."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="medcurate-pg-"))
        self.data = self.directory / "data"
        self.prefix = _as_postgres_user()
        if self.prefix:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.prefix, *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{command[0]} failed: {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        """Start (or start again) and wait until it takes connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _postgres_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """Stop it fast (clients are cut off)."""
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def cleanup(self) -> None:
        """Stop if running and remove its directory."""
        subprocess.run(
            [*self.prefix, _postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


class ThrowawayRedis:
    """A redis-server of our own on a free port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        from redis import Redis

        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: Redis.from_url(self.url).ping(), what="redis-server")

    def stop(self) -> None:
        """Stop it and wait for the process to end."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the machine's PostgreSQL (dropped at the end); skip when unreachable."""
    name = f"medcurate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {exc}")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def require_redis(url: str = REDIS_URL) -> str:
    """The machine's Redis URL, or a skip when it does not answer (a failure on CI)."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        Redis.from_url(url).ping()
    except RedisConnectionError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    return url
