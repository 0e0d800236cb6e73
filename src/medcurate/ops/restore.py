"""A site back from a backup archive: into an empty home and database, or over one with ``force``.

Nothing is written before the whole archive is unpacked and every checksum is right. The archive's
database must go to the same kind of database (SQLite to SQLite, PostgreSQL to PostgreSQL): moving
between them is a migration, not a restore. A backup from an older release restores as it was;
``medcurate db upgrade`` then brings it to the code's schema.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from medcurate.errors import Conflict, StorageError
from medcurate.ops.backup import (
    CONFIG_MEMBER,
    POSTGRES_MEMBER,
    SITE_MANIFEST_MEMBER,
    SQLITE_MEMBER,
    TREES,
    Restored,
    libpq_target,
    read_backup,
    run_tool,
    tree_dirs,
)
from medcurate.settings import Settings
from medcurate.store.db import sqlite_path

FORCE_HINT = "restore into an empty home and database, or pass --force to replace what is there"


def _home_holds_a_site(settings: Settings) -> list[str]:
    """What in the home (and its SQLite database) shows a site is already there."""
    found = [str(p) for p in (settings.config_path,) if p.is_file()]
    found += [str(d) for d in tree_dirs(settings) if d.is_dir() and any(d.iterdir())]
    path = sqlite_path(settings.database)
    if path is not None and os.path.isfile(path) and os.path.getsize(path) > 0:
        found.append(path)
    return found


def _postgres_tables(url: str) -> list[str]:
    from sqlalchemy import inspect

    from medcurate.store.db import create_db_engine

    engine = create_db_engine(url)
    try:
        return list(inspect(engine).get_table_names())
    except Exception as exc:
        raise StorageError(f"cannot reach the database to restore into: {exc}") from exc
    finally:
        engine.dispose()


def _restore_database(settings: Settings, unpacked: Path, member: str, *, force: bool) -> None:
    url = settings.database
    path = sqlite_path(url)
    if member == SQLITE_MEMBER:
        if path is None:
            raise StorageError(
                "the archive holds a SQLite database; unset MEDCURATE_DATABASE_URL to restore it"
            )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):  # a stale log beside the new file would be replayed into it
            Path(path + suffix).unlink(missing_ok=True)
        partial = Path(path + ".restoring")
        shutil.copyfile(unpacked / member, partial)
        os.replace(partial, path)
        return
    if member != POSTGRES_MEMBER or path is not None:
        raise StorageError("the archive holds a PostgreSQL dump; set MEDCURATE_DATABASE_URL to restore it")
    conninfo, env = libpq_target(url)
    command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={conninfo}"]
    if force:
        command += ["--clean", "--if-exists"]
    run_tool([*command, str(unpacked / member)], env)


def _restore_files(settings: Settings, unpacked: Path) -> list[str]:
    restored = []
    if (unpacked / CONFIG_MEMBER).is_file():
        settings.config_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(unpacked / CONFIG_MEMBER, settings.config_path)
        restored.append(CONFIG_MEMBER)
    for name, target in zip(TREES, tree_dirs(settings), strict=True):
        if (unpacked / name).is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(unpacked / name, target)
            restored.append(name)
    if (unpacked / SITE_MANIFEST_MEMBER).is_file():
        from medcurate.ops.health import site_output_dir
        from medcurate.publish.site.state import state_path

        out = site_output_dir(settings)  # after the configuration: it names the folder
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(unpacked / SITE_MANIFEST_MEMBER, state_path(out))
        restored.append(SITE_MANIFEST_MEMBER)
    return restored


def restore_backup(settings: Settings, archive: Path, *, force: bool = False) -> Restored:
    """Restore the site in ``archive`` into the home and database ``settings`` name.

    Args:
        settings: where to restore (``MEDCURATE_HOME``, ``MEDCURATE_DATABASE_URL``).
        archive: a ``medcurate backup`` archive.
        force: replace a site that is already there.

    Returns:
        What was restored, and the schema revision of the restored database.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".medcurate-restore-", dir=settings.home) as scratch:
        unpacked = Path(scratch)
        backup = read_backup(archive, unpacked)
        member = str(backup.manifest["database"]["file"])
        if not force:
            occupied = _home_holds_a_site(settings)
            if sqlite_path(settings.database) is None:
                occupied += [f"table {t}" for t in _postgres_tables(settings.database)]
            if occupied:
                raise Conflict(f"a site is already there ({', '.join(occupied[:4])}); {FORCE_HINT}")
        _restore_database(settings, unpacked, member, force=force)
        files = _restore_files(settings, unpacked)
    return Restored(home=settings.home, files=(member, *files), revision=backup.manifest.get("revision"))
