"""`medcurate backup` while a real worker writes, then `medcurate restore` elsewhere (SQLite, PostgreSQL).

Every item that existed when the backup began comes back with a byte-identical seed export; users,
tokens, the audit trail and the decisions come back whole. The worker is held inside its batch by
the test's HTTP server (one page answers only after the backup), so the backup provably runs while
the worker has written some of its items and not the others.
"""

from __future__ import annotations

import filecmp
import io
import json
import random
import string
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from httpserver import LocalServer, Reply, SeenRequest
from medcurate.cli import app
from medcurate.errors import Conflict, StorageError
from medcurate.jobs import IngestJob, QueueRunner
from medcurate.models import ItemState
from medcurate.ops.backup import BackupArchive, read_backup, write_backup
from medcurate.ops.restore import restore_backup
from medcurate.settings import Settings
from medcurate.store.db import open_database
from medcurate.store.repository import set_state
from medcurate.suggest.service import record_decision
from medcurate.users import Role, add_user, create_api_token, verify_api_token, verify_credentials
from opssupport import MEDCURATE, REDIS_URL, postgres_database, require_redis, site_env, wait_until
from paths import FIXTURES

ITEMS = FIXTURES / "upgrade" / "items"  # the three variants
PASSWORD = "correct horse battery"


def _article(n: int) -> bytes:
    """An article of its own words, so that no two are near-duplicates."""
    rng = random.Random(n)

    def words(count: int) -> str:
        return " ".join(
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
            for _ in range(count)
        )

    paragraphs = "".join(f"<p>{words(60).capitalize()}.</p>" for _ in range(8))
    title = f"Report {n}: {words(5)}"
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta name='description' content='{title}'></head><body><article><h1>{title}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite in the home; a new PostgreSQL database otherwise."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_database() as url:
        yield url


@pytest.fixture()
def restore_url(database_url: str | None) -> Iterator[str | None]:
    """Where the restore goes: SQLite in the new home, or a second, empty PostgreSQL database."""
    if database_url is None:
        yield None
        return
    with postgres_database() as url:
        yield url


def _export(settings: Settings, out: Path) -> None:
    result = CliRunner().invoke(
        app, ["--home", str(settings.home), "export", "--format", "seed", str(out)], env=_cli_env(settings)
    )
    assert result.exit_code == 0, result.output


def _cli_env(settings: Settings) -> dict[str, str | None]:
    return {"MEDCURATE_DATABASE_URL": settings.database_url}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.md")}


def _prepare_site(settings: Settings) -> str:
    """Import, users and a token, a decision, a published item with its site build, an image, a model."""
    runner, env = CliRunner(), _cli_env(settings)
    assert runner.invoke(app, ["--home", str(settings.home), "init"], env=env).exit_code == 0
    imported = runner.invoke(app, ["--home", str(settings.home), "import", str(ITEMS)], env=env)
    assert imported.exit_code == 0, imported.output
    database = open_database(settings.database)
    with database.session() as session:
        add_user(session, username="edna", password=PASSWORD, role=Role.EDITOR, actor="test")
        _, token = create_api_token(session, username="edna", name="scripts", actor="test")
        set_state(session, item_id=9001, state=ItemState.PUBLISHED)
    record_decision(
        database, item_id=9002, kind="topic", label="Network Security", action="add", actor="edna"
    )
    from medcurate.publish.service import publish_site

    publish_site(database, settings)
    database.dispose()
    settings.images_dir.mkdir(parents=True, exist_ok=True)
    (settings.images_dir / "22222222-2222-5222-8222-222222222222-featuredImage.jpeg").write_bytes(
        b"\xff\xd8jpeg"
    )
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    (settings.models_dir / "model.json").write_text('{"trained": true}')
    return token


def _snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Users, tokens, audit trail and decisions, as rows."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    queries = {
        "users": "SELECT id, username, password_hash, role, disabled FROM users ORDER BY id",
        "tokens": "SELECT id, user_id, name, token_hash, revoked FROM api_tokens ORDER BY id",
        "audit": "SELECT id, actor, action, entity_type, entity_id FROM audit_events ORDER BY id",
        "decisions": "SELECT id, item_id, kind, label, action, actor FROM decisions ORDER BY id",
    }
    try:
        with engine.connect() as connection:
            return {k: [tuple(r) for r in connection.execute(sa.text(q))] for k, q in queries.items()}
    finally:
        engine.dispose()


@pytest.mark.slow
def test_backup_while_a_worker_writes_then_restore_elsewhere(
    tmp_path: Path, database_url: str | None, restore_url: str | None
) -> None:
    require_redis()
    queue_name = f"medcurate-test-{uuid.uuid4().hex[:8]}"
    source = Settings(
        home=tmp_path / "source",
        database_url=database_url,
        queue_url=REDIS_URL,
        queue_name=queue_name,
        allowed_hosts=("127.0.0.1",),
    )
    token = _prepare_site(source)
    before, rows_before, archive = _backup_while_ingesting(source, database_url, tmp_path)
    _assert_worker_metrics(source.home / "run" / "metrics", jobs=2, links=5)
    after = tmp_path / "export-after"
    _export(source, after)
    assert len(_files(after)) > len(_files(before)), "the worker wrote nothing after the backup began"

    target = Settings(home=tmp_path / "restored", database_url=restore_url)
    restored = restore_backup(target, archive.path)
    copy = tmp_path / "export-restored"
    _export(target, copy)
    # Every item of the backup's start, byte for byte; nothing the source never had.
    assert _files(before) <= _files(copy) <= _files(after)
    _, mismatch, errors = filecmp.cmpfiles(before, copy, sorted(_files(before)), shallow=False)
    assert not mismatch and not errors
    _, mismatch, errors = filecmp.cmpfiles(after, copy, sorted(_files(copy)), shallow=False)
    assert not mismatch and not errors
    rows_restored, rows_after = _snapshot(target.database), _snapshot(source.database)
    for key in ("users", "tokens", "decisions"):
        assert rows_restored[key] == rows_before[key] == rows_after[key]
    audit = rows_restored["audit"]  # the worker audits as it goes: the restore holds a prefix of it
    assert audit[: len(rows_before["audit"])] == rows_before["audit"]
    assert audit == rows_after["audit"][: len(audit)]
    database = open_database(target.database)
    with database.session() as session:
        assert verify_credentials(session, username="edna", password=PASSWORD).role is Role.EDITOR
        assert verify_api_token(session, token=token).username == "edna"
    database.dispose()
    assert (
        target.images_dir / "22222222-2222-5222-8222-222222222222-featuredImage.jpeg"
    ).read_bytes() == b"\xff\xd8jpeg"
    assert (target.models_dir / "model.json").is_file()
    from medcurate.publish.site.state import state_path

    assert state_path(target.home / "site").is_file()  # the site build's state: a rebuild only redoes changes
    assert restored.revision is not None
    with pytest.raises(Conflict, match="--force"):
        restore_backup(target, archive.path)
    assert restore_backup(target, archive.path, force=True).revision == restored.revision


def _backup_while_ingesting(
    source: Settings, database_url: str | None, tmp_path: Path
) -> tuple[Path, dict[str, list[tuple[object, ...]]], BackupArchive]:
    """Back up while a real worker is inside its second job; the export and rows just before.

    The first job stores three articles; the second asks for a page the server answers only once
    the backup is written, and then stores it: the backup runs while the worker writes.
    """
    release = threading.Event()

    def held(_request: SeenRequest) -> Reply:
        release.wait(timeout=120)
        return Reply(body=_article(99))

    with LocalServer() as site:
        site.route("/robots.txt", Reply(body=b"", content_type="text/plain"))
        for n in range(1, 5):
            site.route(f"/news/{n}", Reply(body=_article(n)))
        site.route("/news/held", held)
        registry = open_database(source.database)
        runner = QueueRunner(source, registry)
        runner.submit(
            IngestJob(
                urls=tuple(site.url(f"/news/{n}") for n in range(1, 4)),
                actor="edna",
                batch_key="before-backup",
            )
        )
        runner.submit(
            IngestJob(
                urls=(site.url("/news/held"), site.url("/news/4")), actor="edna", batch_key="during-backup"
            )
        )
        registry.dispose()
        env = site_env(
            source.home,
            MEDCURATE_QUEUE_URL=REDIS_URL,
            MEDCURATE_QUEUE_NAME=source.queue_name,
            MEDCURATE_ALLOWED_HOSTS='["127.0.0.1"]',
            MEDCURATE_LOG_FORMAT="json",
        )
        if database_url is not None:
            env["MEDCURATE_DATABASE_URL"] = database_url
        log = tmp_path / "worker.log"
        with log.open("wb") as sink:
            worker = subprocess.Popen([*MEDCURATE, "worker", "--burst"], env=env, stdout=sink, stderr=sink)
        try:
            try:
                wait_until(
                    lambda: site.count("/news/held") == 1 or worker.poll() is not None,
                    what="the worker's second job",
                    timeout=600,  # the worker loads the embedding model first: minutes on a busy machine
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}; the worker's log:\n{log.read_text(errors='replace')}") from None
            assert worker.poll() is None, log.read_text(errors="replace")
            before = tmp_path / "export-before"
            _export(source, before)
            rows_before = _snapshot(source.database)
            archive = write_backup(source, tmp_path / "backups")
            release.set()
            assert worker.wait(timeout=300) == 0, log.read_text(errors="replace")
            _assert_job_log_lines(log.read_text(errors="replace"))
        finally:
            release.set()
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return before, rows_before, archive


def _stored_ids(settings: Settings) -> list[int]:
    database = open_database(settings.database, run_migrations=False)
    try:
        with database.session() as session:
            return list(session.scalars(sa.text("SELECT id FROM items")))
    finally:
        database.dispose()


def test_a_damaged_archive_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    import tarfile

    source = Settings(home=tmp_path / "source")
    _prepare_site(source)
    archive = write_backup(source, tmp_path / "site.tar.gz").path
    assert read_backup(archive, tmp_path / "check").files
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as original, tarfile.open(damaged, "w:gz") as copy:
        for member in original.getmembers():
            data = original.extractfile(member)
            assert data is not None
            body = data.read()
            if member.name == "config/medcurate.toml":
                body += b"# changed\n"
                member.size = len(body)
            copy.addfile(member, io.BytesIO(body))
    target = Settings(home=tmp_path / "restored")
    with pytest.raises(StorageError, match="checksum"):
        restore_backup(target, damaged)
    assert not (target.home / "medcurate.db").exists()


def _assert_worker_metrics(directory: Path, *, jobs: int, links: int) -> None:
    """The worker's job and link counts reached the site's shared metrics directory."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector
    from prometheus_client.parser import text_string_to_metric_families

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    samples = [
        sample
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
    ]
    outcomes = {s.labels["outcome"]: s.value for s in samples if s.name == "medcurate_jobs_total"}
    assert outcomes == {"finished": float(jobs)}
    assert sum(s.value for s in samples if s.name == "medcurate_links_total") == links


def _assert_job_log_lines(output: str) -> None:
    """The worker logged JSON lines; each link's line carries its job's id, and the item's when stored."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    links = [line for line in lines if line["message"].startswith("link ")]
    assert len(links) == 5, output
    assert all(line.get("job_id") for line in links)
    assert len({line["job_id"] for line in links}) == 2
    assert sum(1 for line in links if line.get("item_id")) >= 4


def test_backup_and_restore_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    source, target = tmp_path / "source", tmp_path / "target"
    assert runner.invoke(app, ["--home", str(source), "init"]).exit_code == 0
    assert runner.invoke(app, ["--home", str(source), "import", str(ITEMS)]).exit_code == 0
    written = runner.invoke(app, ["--home", str(source), "backup", str(tmp_path / "backups")])
    assert written.exit_code == 0, written.output
    (archive,) = (tmp_path / "backups").glob("medcurate-backup-*.tar.gz")
    restored = runner.invoke(app, ["--home", str(target), "restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    refused = runner.invoke(app, ["--home", str(target), "restore", str(archive)])
    assert refused.exit_code == 1 and "--force" in refused.output
    assert runner.invoke(app, ["--home", str(target), "restore", "--force", str(archive)]).exit_code == 0
    for home in (source, target):
        assert (
            runner.invoke(
                app, ["--home", str(home), "export", "--format", "seed", str(home / "out")]
            ).exit_code
            == 0
        )
    assert _files(source / "out") == _files(target / "out") and len(_files(source / "out")) == 3
