"""Background jobs: queued in the database, run by exactly one worker (ADR 0008).

A job is claimed with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: writes are
serialised). A worker renews the lease each time it reports progress; a worker that dies
leaves a lease that expires, and the next worker to look runs the job again from the start.
Handlers are written so that running again is safe: they commit their result in one
transaction, together with the job's completion.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.services.app import Secteur, Tx

log = logging.getLogger("secteur.jobs")

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5


class Status(StrEnum):
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


PENDING = (Status.QUEUED.value, Status.IN_PROGRESS.value)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    status: Status
    payload: Mapping[str, Any]
    result: Mapping[str, Any] | None
    done: int
    total: int
    created_by: int | None
    created_time: datetime
    started_time: datetime | None
    finished_time: datetime | None
    attempts: int
    last_error: str | None


def _job(row: sa.Row[Any]) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        status=Status(row.status),
        payload=row.payload,
        result=row.result,
        done=row.progress_done,
        total=row.progress_total,
        created_by=row.created_by,
        created_time=row.created_time,
        started_time=row.started_time,
        finished_time=row.finished_time,
        attempts=row.attempts,
        last_error=row.last_error,
    )


def enqueue(tx: Tx, kind: str, payload: Mapping[str, Any], created_by: int | None) -> int:
    result = tx.conn.execute(
        t.jobs.insert().values(
            kind=kind,
            status=Status.QUEUED.value,
            payload=dict(payload),
            created_by=created_by,
            created_time=tx.now,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def get(tx: Tx, job_id: int) -> Job | None:
    row = tx.conn.execute(sa.select(t.jobs).where(t.jobs.c.id == job_id)).first()
    return None if row is None else _job(row)


def pending(tx: Tx, kinds: Sequence[str]) -> Job | None:
    """The oldest queued or running job of these kinds, if any."""
    row = tx.conn.execute(
        sa.select(t.jobs)
        .where(t.jobs.c.kind.in_(kinds), t.jobs.c.status.in_(PENDING))
        .order_by(t.jobs.c.id)
        .limit(1)
    ).first()
    return None if row is None else _job(row)


def recent(tx: Tx, kinds: Sequence[str], limit: int = 10) -> list[Job]:
    """The latest jobs of these kinds, newest first, whatever their status."""
    rows = tx.conn.execute(
        sa.select(t.jobs).where(t.jobs.c.kind.in_(kinds)).order_by(t.jobs.c.id.desc()).limit(limit)
    )
    return [_job(row) for row in rows]


def claim(app: Secteur, kinds: Sequence[str] | None = None) -> Job | None:
    """Take the next runnable job: queued, or running under an expired lease (a dead worker)."""
    jobs = t.jobs
    with app.write() as tx:
        query = (
            sa.select(jobs)
            .where(
                sa.or_(
                    jobs.c.status == Status.QUEUED.value,
                    sa.and_(
                        jobs.c.status == Status.IN_PROGRESS.value, jobs.c.locked_until < tx.now
                    ),
                )
            )
            .order_by(jobs.c.id)
            .limit(1)
        )
        if kinds is not None:
            query = query.where(jobs.c.kind.in_(kinds))
        if tx.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = tx.conn.execute(query).first()
        if row is None:
            return None
        if row.attempts >= MAX_ATTEMPTS:
            tx.conn.execute(
                jobs.update()
                .where(jobs.c.id == row.id)
                .values(
                    status=Status.FAILED.value,
                    finished_time=tx.now,
                    last_error=(row.last_error or "the job was interrupted too many times"),
                )
            )
            return None
        tx.conn.execute(
            jobs.update()
            .where(jobs.c.id == row.id)
            .values(
                status=Status.IN_PROGRESS.value,
                locked_until=tx.now + LEASE,
                attempts=jobs.c.attempts + 1,
                started_time=row.started_time or tx.now,
                progress_done=0,
            )
        )
        return _job(row)


def report_progress(app: Secteur, job_id: int, done: int, total: int) -> None:
    """Store progress and renew the lease (in its own short transaction)."""
    with app.write() as tx:
        tx.conn.execute(
            t.jobs.update()
            .where(t.jobs.c.id == job_id)
            .values(progress_done=done, progress_total=total, locked_until=tx.now + LEASE)
        )


class TakenOver(Exception):
    """The job's lease expired and another worker claimed it: this run must not commit."""


def hold(tx: Tx, job_id: int, attempt: int) -> None:
    """In the transaction that commits a job's effect: the job is still this run's.

    Locks the job's row so that no other worker can claim it before this commit.
    """
    query = sa.select(t.jobs.c.status, t.jobs.c.attempts).where(t.jobs.c.id == job_id)
    if tx.conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = tx.conn.execute(query).first()
    if row is None or row.status != Status.IN_PROGRESS.value or row.attempts != attempt:
        raise TakenOver(f"job {job_id} was claimed again by another worker")


def complete(tx: Tx, job_id: int, result: Mapping[str, Any] | None, total: int) -> None:
    """Mark the job done in the caller's transaction: with the result it commits, or not at all."""
    tx.conn.execute(
        t.jobs.update()
        .where(t.jobs.c.id == job_id)
        .values(
            status=Status.COMPLETED.value,
            result=dict(result) if result is not None else None,
            progress_done=total,
            progress_total=total,
            finished_time=tx.now,
            locked_until=None,
        )
    )


def fail(app: Secteur, job_id: int, error: str) -> None:
    with app.write() as tx:
        tx.conn.execute(
            t.jobs.update()
            .where(t.jobs.c.id == job_id)
            .values(
                status=Status.FAILED.value,
                finished_time=tx.now,
                last_error=error[:2000],
                locked_until=None,
            )
        )


def run_next(app: Secteur, kinds: Sequence[str] | None = None) -> Job | None:
    """Claim and run one job; returns it (as claimed) or None when there was none."""
    job = claim(app, kinds)
    if job is None:
        return None
    handler = app.job_handlers.get(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for jobs of kind {job.kind!r}")
        handler(app, job.id, job.payload)
    except TakenOver:  # the other worker finishes it
        log.warning("job %s (%s) was taken over by another worker", job.id, job.kind)
    except Exception as exc:  # the job fails, the worker goes on
        log.exception("job %s (%s) failed", job.id, job.kind)
        fail(app, job.id, f"{type(exc).__name__}: {exc}")
    return job


def run_pending(app: Secteur, limit: int = 10) -> int:
    ran = 0
    while ran < limit and run_next(app) is not None:
        ran += 1
    return ran
