"""Where a database stands against the code's migrations: at head, behind, ahead, or new.

``medcurate db check`` reports it, ``medcurate db upgrade`` brings the database to the code's head,
and ``serve`` and ``worker`` refuse a database behind the code (``require_current``) rather than
migrate it under a running site: several processes start at once in a deployment, and a migration is
a step an operator takes (after a backup), once. Alembic's own script directory says which revisions
the code has, so every revision added later is covered without a list kept here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from medcurate.errors import SchemaOutOfDate, StorageError

UPGRADE_COMMAND = "medcurate db upgrade"


class SchemaState(StrEnum):
    """How a database's revision compares with the code's."""

    CURRENT = "current"
    BEHIND = "behind"
    AHEAD = "ahead"
    EMPTY = "empty"


@dataclass(frozen=True, kw_only=True)
class SchemaStatus:
    """A database's revision, the code's head, and what that means."""

    revision: str | None
    head: str
    state: SchemaState
    pending: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """One line for a person, with the command to run when there is one."""
        if self.state is SchemaState.CURRENT:
            return f"the database is at the code's revision {self.head}"
        if self.state is SchemaState.EMPTY:
            return f"the database has no schema yet; run `{UPGRADE_COMMAND}` (or `medcurate init`)"
        if self.state is SchemaState.BEHIND:
            steps = ", ".join(self.pending)
            return (
                f"the database is at revision {self.revision}, behind the code's {self.head} "
                f"(to apply: {steps}); back it up (`medcurate backup`), then run `{UPGRADE_COMMAND}`"
            )
        return (
            f"the database is at revision {self.revision}, which this code does not know (its head is "
            f"{self.head}): it was upgraded by a newer medcurate; run that version"
        )


@cache
def code_head() -> str:
    """The newest revision among the migrations shipped with the code."""
    from alembic.script import ScriptDirectory

    from medcurate.store.db import alembic_config

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise StorageError(f"the migrations have {len(heads)} heads ({', '.join(heads)}); they need one")
    return str(heads[0])


def _pending(revision: str | None, head: str) -> tuple[str, ...] | None:
    """The revisions from ``revision`` (exclusive) to ``head``, oldest first; None if unknown."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from medcurate.store.db import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        steps = list(scripts.iterate_revisions(head, revision or "base"))
    except CommandError:
        return None
    return tuple(reversed([str(step.revision) for step in steps if step.revision != revision]))


def schema_status(url: str) -> SchemaStatus:
    """Where the database at ``url`` stands; ``StorageError`` when it cannot be reached."""
    from medcurate.store.db import create_db_engine, schema_revision

    engine = create_db_engine(url)
    try:
        with engine.connect():
            pass  # reachable at all: the revision query below treats every error as "no table"
        revision = schema_revision(engine)
    except Exception as exc:
        raise StorageError(f"cannot reach the database: {type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()
    return status_of(revision)


def status_of(revision: str | None) -> SchemaStatus:
    """The status of a database at ``revision`` against the code's migrations."""
    head = code_head()
    if revision == head:
        return SchemaStatus(revision=revision, head=head, state=SchemaState.CURRENT)
    pending = _pending(revision, head)
    if pending is None:
        return SchemaStatus(revision=revision, head=head, state=SchemaState.AHEAD)
    state = SchemaState.EMPTY if revision is None else SchemaState.BEHIND
    return SchemaStatus(revision=revision, head=head, state=state, pending=pending)


def require_current(url: str) -> SchemaStatus:
    """The status of a database that is at the code's head; ``SchemaOutOfDate`` otherwise.

    An empty database is taken: a new site's first ``serve`` creates its schema, as ``init`` does.
    """
    status = schema_status(url)
    if status.state in {SchemaState.BEHIND, SchemaState.AHEAD}:
        raise SchemaOutOfDate(status.message)
    return status


def upgrade(url: str) -> tuple[SchemaStatus, SchemaStatus]:
    """Bring the database at ``url`` to the code's head; its status before and after."""
    from medcurate.store.db import open_database

    before = schema_status(url)
    if before.state is SchemaState.AHEAD:
        raise SchemaOutOfDate(before.message)
    open_database(url).dispose()
    return before, schema_status(url)
