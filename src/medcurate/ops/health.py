"""Readiness checks (``/readyz``, ``medcurate doctor``) and the configuration checks ``doctor`` adds.

Each check is a small function that answers a ``Check``: its name, whether it passed, what it found
(never a secret: URLs are shown without their passwords), how long it took, and what to do when it
failed. The suggestion model is checked by its files, not by loading it: loading MiniLM takes
seconds and hundreds of megabytes, and a readiness probe runs every few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medcurate.config import PLACEHOLDER_BASE_URL
from medcurate.errors import MedcurateError
from medcurate.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

DEFAULT_REDIS_TIMEOUT = 2.0
FAILING_SOURCE_DAYS = 3.0


@dataclass(frozen=True, kw_only=True)
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The check as JSON: state, detail, time, and what to do when it failed."""
        answer: dict[str, Any] = {
            "state": "ok" if self.ok else "fail",
            "detail": self.detail,
            "seconds": round(self.seconds, 4),
        }
        if not self.ok and self.fix:
            answer["fix"] = self.fix
        return answer


@dataclass(frozen=True)
class HealthReport:
    """Every check's outcome, and when they ran."""

    checks: tuple[Check, ...]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "status": "ready" if self.ok else "not ready",
            "at": self.at.isoformat(),
            "checks": {check.name: check.as_dict() for check in self.checks},
        }


def timed(name: str, probe: Callable[[], tuple[bool, str, str]]) -> Check:
    """Run ``probe`` (ok, detail, fix) and time it; an exception is a failed check, not a crash."""
    started = time.perf_counter()
    try:
        ok, detail, fix = probe()
    except Exception as exc:  # a probe must never take the endpoint down with it
        ok, detail, fix = False, str(exc).strip().splitlines()[0] if str(exc).strip() else "failed", ""
    return Check(name=name, ok=ok, detail=detail, seconds=time.perf_counter() - started, fix=fix)


def redact_url(url: str) -> str:
    """A URL without its password, for reports."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def database_probe(engine: Engine, head: str) -> Callable[[], tuple[bool, str, str]]:
    """Reachable, and at the code's revision."""

    def probe() -> tuple[bool, str, str]:
        from sqlalchemy import text

        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if revision != head:
            return False, f"at revision {revision}, the code is at {head}", "run `medcurate db upgrade`"
        return True, f"reachable, at revision {revision}", ""

    return probe


def redis_probe(url: str, *, timeout: float = DEFAULT_REDIS_TIMEOUT) -> Callable[[], tuple[bool, str, str]]:
    """Redis answers a PING."""

    def probe() -> tuple[bool, str, str]:
        from redis import Redis
        from redis.exceptions import RedisError

        client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        except RedisError as exc:
            return False, f"{redact_url(url)}: {exc}", "start Redis, or check MEDCURATE_QUEUE_URL"
        finally:
            client.close()
        return True, f"{redact_url(url)} answers", ""

    return probe


def model_probe(settings: Settings) -> Callable[[], tuple[bool, str, str]]:
    """The configured embedding model's files are installed and readable."""

    def probe() -> tuple[bool, str, str]:
        if settings.embedding == "static":
            from medcurate.suggest.static import default_static_dir, read_stamp

            directory = default_static_dir()
            if read_stamp(directory) is None:
                return False, f"no static model in {directory}", "run `medcurate topics train` once online"
            return True, f"static model in {directory}", ""
        from medcurate.suggest.embedding import model_path

        path = model_path()
        weights = [p for p in path.glob("*") if p.suffix in {".safetensors", ".bin"}]
        if not (path / "config.json").is_file() or not weights:
            return False, f"MiniLM files missing in {path}", "reinstall medcurate (`make install`)"
        with weights[0].open("rb") as handle:
            handle.read(1)
        return True, f"MiniLM installed in {path}", ""

    return probe


def output_probe(directory: Path) -> Callable[[], tuple[bool, str, str]]:
    """The site's output folder exists (or can be made) and takes a file."""

    def probe() -> tuple[bool, str, str]:
        import tempfile

        try:
            directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".medcurate-probe-"):
                pass
        except OSError as exc:
            return False, f"{directory} is not writable: {exc.strerror}", "fix the folder's owner or mode"
        return True, f"{directory} is writable", ""

    return probe


def site_output_dir(settings: Settings) -> Path:
    """The folder ``site build`` and publishing write to."""
    from medcurate.publish.service import site_dir

    return site_dir(settings)


def readiness(settings: Settings, engine: Engine, *, head: str, output: Path | None = None) -> HealthReport:
    """The checks ``/readyz`` runs: database, queue (when configured), model, output folder."""
    checks = [timed("database", database_probe(engine, head))]
    if settings.queue_url:
        checks.append(timed("redis", redis_probe(settings.queue_url)))
    checks.append(timed("model", model_probe(settings)))
    checks.append(timed("output", output_probe(output or site_output_dir(settings))))
    return HealthReport(tuple(checks))


def configuration_checks(settings: Settings, engine: Engine) -> list[Check]:
    """What ``doctor`` adds: the base URL, an account that can publish, feeds failing for days."""
    from sqlalchemy.orm import Session

    from medcurate.store.ops import count_publishers, failing_sources

    def base_url() -> tuple[bool, str, str]:
        url = settings.load_site_config().site.base_url
        if not url or url == PLACEHOLDER_BASE_URL:
            return (
                False,
                f"the site's base URL is {url!r}",
                f"set [site] base_url in {settings.config_path}, or MEDCURATE_BASE_URL",
            )
        return True, url, ""

    def publishers() -> tuple[bool, str, str]:
        with Session(engine) as session:
            count = count_publishers(session)
        if count == 0:
            return False, "no enabled editor or admin", "run `medcurate users add NAME --role editor`"
        return True, f"{count} enabled editors and admins", ""

    def sources() -> tuple[bool, str, str]:
        with Session(engine) as session:
            failing = failing_sources(session, days=FAILING_SOURCE_DAYS)
        if failing:
            names = "; ".join(f"{s.location} ({s.last_error})" for s in failing[:5])
            return (
                False,
                f"{len(failing)} sources failing for days: {names}",
                "fix or remove them on /sources",
            )
        return True, "no source failing for days", ""

    return [timed("base_url", base_url), timed("editors", publishers), timed("sources", sources)]


def doctor_report(settings: Settings, *, extra: Sequence[Check] = ()) -> HealthReport:
    """Every readiness check and every configuration check, on a fresh connection."""
    from medcurate.ops.schema import code_head
    from medcurate.store.db import create_db_engine, sqlite_path

    path = sqlite_path(settings.database)
    if path is not None and not Path(path).is_file():  # opening it would create an empty database
        missing = Check(
            name="database", ok=False, detail=f"no database at {path}", fix="run `medcurate init`"
        )
        return HealthReport((missing, *extra))
    engine = create_db_engine(settings.database)
    try:
        try:
            head = code_head()
            output = site_output_dir(settings)
        except MedcurateError as exc:
            config = Check(name="configuration", ok=False, detail=str(exc), fix="fix the configuration file")
            return HealthReport((config, *extra))
        ready = readiness(settings, engine, head=head, output=output)
        config_checks = configuration_checks(settings, engine) if ready.checks[0].ok else []
        return HealthReport((*ready.checks, *config_checks, *extra))
    finally:
        engine.dispose()
