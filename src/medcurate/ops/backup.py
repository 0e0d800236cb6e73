"""One archive of a site, and the site back from it: ``medcurate backup OUT``, ``medcurate restore ARCHIVE``.

The archive is a ``.tar.gz`` holding::

    MANIFEST.json          format, medcurate version, schema revision, database kind, SHA-256 of every file
    database/medcurate.db  SQLite, copied with its online backup API (a consistent snapshot while
                           the app and workers write), or
    database/medcurate.dump  PostgreSQL, ``pg_dump --format=custom`` (one consistent snapshot too)
    config/medcurate.toml  the site configuration, when there is one
    templates/ images/ models/   the user's templates, featured images, trained suggestion models
    site/.medcurate-manifest.json   the static site's manifest, so the next build stays incremental

Restoring checks every checksum before it touches anything, and refuses a home or a database that
already holds a site unless ``force`` is given. The PostgreSQL tools come from the operating system
(Debian's ``postgresql-client``), at least as new as the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medcurate import __version__
from medcurate.errors import ConfigError, StorageError
from medcurate.settings import Settings
from medcurate.store.db import postgres_conninfo, sqlite_path

ARCHIVE_FORMAT = 1
MANIFEST = "MANIFEST.json"
SQLITE_MEMBER = "database/medcurate.db"
POSTGRES_MEMBER = "database/medcurate.dump"
CONFIG_MEMBER = "config/medcurate.toml"
SITE_MANIFEST_MEMBER = "site/medcurate-state.sqlite"  # the site build's state (publish.site.state)
TREES = ("templates", "images", "models")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BackupArchive:
    """An archive written or read: where it is and the files it holds (with their SHA-256)."""

    path: Path
    files: dict[str, str]
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Restored:
    """What a restore put back."""

    home: Path
    files: tuple[str, ...]
    revision: str | None


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URI without its password, and the environment that carries the password instead."""
    from sqlalchemy.engine import make_url

    conninfo = postgres_conninfo(url)
    if conninfo is None:
        raise ConfigError(f"backup takes SQLite or PostgreSQL databases; not {make_url(url).drivername}")
    parsed = make_url(conninfo)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), env


def run_tool(command: list[str], env: dict[str, str]) -> None:
    try:
        finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise StorageError(f"{command[0]} is not installed; install postgresql-client") from None
    if finished.returncode != 0:
        raise StorageError(f"{command[0]} failed: {finished.stderr.strip()[-2000:]}")


def _dump_database(url: str, staging: Path) -> tuple[str, str | None]:
    """The database into ``staging``: its member name and its schema revision."""
    path = sqlite_path(url)
    if path is not None:
        if not os.path.isfile(path):
            raise StorageError(f"no database at {path}; nothing to back up")
        target = staging / SQLITE_MEMBER
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(path, timeout=30)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # online: pages are copied while writers keep writing
            revision = _sqlite_revision(copy)
        finally:
            copy.close()
            source.close()
        return SQLITE_MEMBER, revision
    conninfo, env = libpq_target(url)
    target = staging / POSTGRES_MEMBER
    target.parent.mkdir(parents=True, exist_ok=True)
    run_tool(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", conninfo], env
    )
    from medcurate.ops.schema import schema_status

    return POSTGRES_MEMBER, schema_status(url).revision


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _copy_files(settings: Settings, staging: Path) -> None:
    if settings.config_path.is_file():
        (staging / CONFIG_MEMBER).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(settings.config_path, staging / CONFIG_MEMBER)
    for name, source in zip(TREES, tree_dirs(settings), strict=True):
        if source.is_dir():
            shutil.copytree(source, staging / name, ignore=shutil.ignore_patterns(".*.tmp", "*.tmp"))
    from medcurate.ops.health import site_output_dir
    from medcurate.publish.site.state import state_path

    site_state = state_path(site_output_dir(settings))
    if site_state.is_file():
        (staging / SITE_MANIFEST_MEMBER).parent.mkdir(parents=True, exist_ok=True)
        state = sqlite3.connect(site_state, timeout=30)
        state_copy = sqlite3.connect(staging / SITE_MANIFEST_MEMBER)
        try:
            state.backup(state_copy)  # online, as the database: a build may be writing it
        finally:
            state_copy.close()
            state.close()


def tree_dirs(settings: Settings) -> tuple[Path, Path, Path]:
    return settings.home / "templates", settings.images_dir, settings.models_dir


def _archive_path(out: Path) -> Path:
    if out.is_dir() or not out.name.endswith((".tar.gz", ".tgz")):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return (out if out.is_dir() else out.parent / out.name) / f"medcurate-backup-{stamp}.tar.gz"
    return out


def write_backup(settings: Settings, out: Path) -> BackupArchive:
    """Write one archive of the site at ``settings`` to ``out`` (a file, or a directory to put it in)."""
    target = _archive_path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".medcurate-backup-", dir=target.parent) as scratch:
        staging = Path(scratch) / "site"
        staging.mkdir()
        member, revision = _dump_database(settings.database, staging)
        _copy_files(settings, staging)
        files = {
            path.relative_to(staging).as_posix(): sha256_of(path)
            for path in sorted(staging.rglob("*"))
            if path.is_file()
        }
        manifest = {
            "format": ARCHIVE_FORMAT,
            "medcurate": __version__,
            "created_at": datetime.now(UTC).isoformat(),
            "database": {"kind": "sqlite" if member == SQLITE_MEMBER else "postgresql", "file": member},
            "revision": revision,
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        partial = Path(scratch) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            for path in sorted(staging.rglob("*")):
                if path.is_file():
                    archive.add(path, arcname=path.relative_to(staging).as_posix(), recursive=False)
        os.replace(partial, target)  # the archive appears whole, or not at all
    return BackupArchive(path=target, files=files, manifest=manifest)


def read_backup(archive: Path, into: Path) -> BackupArchive:
    """Unpack ``archive`` into ``into`` and check every file against the manifest."""
    try:
        with tarfile.open(archive, "r:gz") as opened:
            opened.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise StorageError(f"{archive} is not a readable medcurate backup: {exc}") from exc
    try:
        manifest = json.loads((into / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StorageError(f"{archive} has no readable {MANIFEST}: {exc}") from exc
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise StorageError(f"{archive} is in backup format {manifest.get('format')}; this medcurate reads 1")
    files: dict[str, str] = manifest["files"]
    found = {p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file()} - {MANIFEST}
    if found != set(files):
        raise StorageError(
            f"{archive} does not hold the files its manifest lists: {sorted(found ^ set(files))}"
        )
    for name, digest in files.items():
        if sha256_of(into / name) != digest:
            raise StorageError(f"{archive} is damaged: {name} does not match its checksum")
    return BackupArchive(path=archive, files=files, manifest=manifest)
