"""Submitting links and following their batches live (``/submit``, ``/jobs/{id}``, ``/batches``).

A submission is one link, many links, or any pasted text (an e-mail, a post, Markdown):
``medcurate.sources.urls_from_text`` finds the links, the job runner ingests them on a worker thread,
and the progress page polls the batch's entry rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from sqlalchemy.orm import Session

from medcurate.batches import stalled_batch_ids
from medcurate.errors import InvalidInput, NotFound
from medcurate.models import EntryStatus
from medcurate.sources import urls_from_text
from medcurate.store.models import BatchEntryRecord
from medcurate.store.queries import batch_by_key, duplicate_origins, get_batch, list_batches
from medcurate.web.deps import ContextDep, CuratorUser, CurrentPrincipal, RowId, SessionDep, ViewerUser
from medcurate.web.pages import redirect, render
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.schemas import (
    MAX_SUBMIT_CHARS,
    BatchCreate,
    BatchEntryPublic,
    BatchesPublic,
    BatchPublic,
    JobPublic,
)
from medcurate.web.submissions import Job

api = APIRouter(tags=["batches"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

MAX_LINKS = 500


def _links(text: str) -> list[str]:
    urls = urls_from_text(text)
    if not urls:
        raise InvalidInput("no http(s) link found in what was submitted")
    if len(urls) > MAX_LINKS:
        raise InvalidInput(f"{len(urls)} links; submit at most {MAX_LINKS} at a time")
    return urls


def entries_public(session: Session, entries: Sequence[BatchEntryRecord]) -> list[BatchEntryPublic]:
    """A batch's entries with their outcomes in words (a near-duplicate names the item it copies)."""
    copied = [e.item_id for e in entries if e.status == "duplicate" and e.item_id is not None]
    origins = duplicate_origins(session, item_ids=copied)
    return [
        BatchEntryPublic(
            position=e.position,
            url=e.url,
            status=e.status,
            reason=e.reason,
            item_id=e.item_id,
            duplicate_of=origins.get(e.item_id) if e.item_id is not None else None,
        )
        for e in entries
    ]


def job_public(session: Session, job: Job) -> JobPublic:
    """A job with its batch's entries as they stand."""
    batch = batch_by_key(session, key=job.batch_key)
    entries = entries_public(session, batch.entries if batch else [])
    done = sum(1 for e in entries if e.status != EntryStatus.PENDING)
    state = job.state
    if state == "finished" and batch is None:
        state = "failed"
    return JobPublic(
        id=job.id,
        state=state,
        urls=list(job.urls),
        error=job.error,
        batch_key=job.batch_key,
        done=done,
        total=max(len(entries), len(job.urls)),
        entries=entries,
    )


def _job(context: ContextDep, job_id: str) -> Job:
    job = context.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no running or recent job {job_id}; the batches page lists finished ones")
    return job


@api.post("/batches", status_code=202)
def api_submit(body: BatchCreate, context: ContextDep, session: SessionDep, user: CuratorUser) -> JobPublic:
    """Start ingesting the links found in ``text``; poll ``/api/jobs/{id}`` for progress."""
    job = context.jobs.submit(_links(body.text), actor=user.username)
    return job_public(session, job)


@api.get("/jobs/{job_id}")
def api_job(job_id: str, context: ContextDep, session: SessionDep, user: ViewerUser) -> JobPublic:
    """A submitted job's progress."""
    del user
    return job_public(session, _job(context, job_id))


@api.get("/batches")
def api_batches(
    session: SessionDep,
    user: ViewerUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> BatchesPublic:
    """Ingestion batches, newest first."""
    del user
    rows, count = list_batches(session, limit=limit, offset=offset)
    stalled = stalled_batch_ids(session, [b.id for b, _, _ in rows])
    data = [
        BatchPublic(
            id=b.id,
            key=b.key,
            description=b.description,
            state="stalled" if b.id in stalled else b.state,
            created_at=b.created_at,
            finished_at=b.finished_at,
            total=total,
            done=done,
        )
        for b, total, done in rows
    ]
    return BatchesPublic(data=data, count=count)


@pages.get("/submit")
def submit_form(request: Request, context: ContextDep, principal: CurrentPrincipal) -> Response:
    """The submit page: one link, many links or pasted text."""
    return render(request, context, "submit.html", principal=principal, error=None, text="")


@pages.post("/submit")
def submit(
    request: Request,
    context: ContextDep,
    principal: CurrentPrincipal,
    user: CuratorUser,
    text: Annotated[str, Form(max_length=MAX_SUBMIT_CHARS)],
) -> Response:
    """Start ingesting and go to the progress page."""
    try:
        urls = _links(text)
    except InvalidInput as exc:
        return render(
            request, context, "submit.html", principal=principal, error=str(exc), text=text, status=422
        )
    job = context.jobs.submit(urls, actor=user.username)
    return redirect(f"/jobs/{job.id}")


@pages.get("/jobs/{job_id}")
def job_page(
    job_id: str, request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """A job's live progress."""
    job = job_public(session, _job(context, job_id))
    return render(request, context, "job.html", principal=principal, job=job)


@pages.get("/jobs/{job_id}/progress")
def job_progress(
    job_id: str, request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The progress fragment the job page polls."""
    job = job_public(session, _job(context, job_id))
    return render(request, context, "_progress.html", principal=principal, job=job)


@pages.get("/batches")
def batches_page(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Every batch, newest first."""
    rows, count = list_batches(session, limit=50, offset=(page - 1) * 50)
    return render(
        request,
        context,
        "batches.html",
        principal=principal,
        rows=rows,
        stalled=stalled_batch_ids(session, [b.id for b, _, _ in rows]),
        count=count,
        page=page,
        pages=max(1, -(-count // 50)),
    )


@pages.get("/batches/{batch_id}")
def batch_page(
    batch_id: RowId, request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """One batch and what became of each link."""
    batch = get_batch(session, batch_id=batch_id)
    entries = entries_public(session, batch.entries)
    return render(request, context, "batch.html", principal=principal, batch=batch, entries=entries)
