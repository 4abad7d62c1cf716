"""The background worker: delivers the outbox after commit (00-product.md, step 7), runs
background jobs (`secteur.services.jobs`: run rules, previews) and takes the scheduled forecast
snapshots (FC-12).

Several workers may run against PostgreSQL: a message is claimed with a lease (row lock,
SKIP LOCKED) so exactly one worker delivers it; a worker that dies mid-delivery leaves a
lease that expires, and another worker picks the message up again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.services import forecasts, jobs
from secteur.services.app import Secteur

log = logging.getLogger("secteur.worker")

Handler = Callable[[Mapping[str, Any]], None]
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BATCH = 50
# Scheduled snapshots are counted in days: looking for due ones once a minute is plenty.
SNAPSHOT_CHECK = timedelta(minutes=1)


class Worker:
    def __init__(
        self, app: Secteur, handlers: Mapping[str, Handler] | None = None, poll_seconds: float = 1.0
    ) -> None:
        self.app = app
        self.handlers = dict(handlers or app.outbox_handlers)
        self.poll_seconds = poll_seconds
        self._next_snapshot_check: datetime | None = None

    def _claim(self) -> list[tuple[int, str, Mapping[str, Any], int]]:
        outbox = t.outbox
        with self.app.write() as tx:
            now = tx.now
            query = (
                sa.select(outbox.c.id, outbox.c.kind, outbox.c.payload, outbox.c.attempts)
                .where(
                    outbox.c.delivered_at.is_(None),
                    outbox.c.deliver_after <= now,
                    outbox.c.attempts < MAX_ATTEMPTS,
                    sa.or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < now),
                )
                .order_by(outbox.c.id)
                .limit(BATCH)
            )
            if tx.conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = tx.conn.execute(query).all()
            if rows:
                tx.conn.execute(
                    outbox.update()
                    .where(outbox.c.id.in_([r.id for r in rows]))
                    .values(locked_until=now + LEASE)
                )
        return [(r.id, r.kind, r.payload, r.attempts) for r in rows]

    def deliver_pending(self) -> int:
        """Deliver what is due; returns how many messages were delivered."""
        delivered = 0
        for message_id, kind, payload, attempts in self._claim():
            handler = self.handlers.get(kind)
            error: str | None = None
            try:
                if handler is None:
                    raise LookupError(f"no handler for outbox messages of kind {kind!r}")
                handler(payload)
            except Exception as exc:  # a failed delivery is retried later, never lost
                error = f"{type(exc).__name__}: {exc}"[:2000]
                log.warning("outbox message %s (%s) failed: %s", message_id, kind, error)
            self._finish(message_id, attempts, error)
            delivered += error is None
        return delivered

    def _finish(self, message_id: int, attempts: int, error: str | None) -> None:
        outbox = t.outbox
        with self.app.write() as tx:
            if error is None:
                values: dict[str, Any] = {"delivered_at": tx.now, "locked_until": None}
            else:
                backoff = timedelta(seconds=min(3600, 5 * 2**attempts))
                values = {
                    "attempts": attempts + 1,
                    "last_error": error,
                    "locked_until": None,
                    "deliver_after": tx.now + backoff,
                }
            tx.conn.execute(outbox.update().where(outbox.c.id == message_id).values(**values))

    def take_due_snapshots(self) -> list[int]:
        """The forecast snapshots due by the settings' schedule, at most once a minute."""
        now = self.app.clock()
        if self._next_snapshot_check is not None and now < self._next_snapshot_check:
            return []
        self._next_snapshot_check = now + SNAPSHOT_CHECK
        return forecasts.due_snapshots(self.app)

    def run(self, stop: threading.Event) -> None:
        log.info("worker started")
        while not stop.is_set():
            try:
                self.deliver_pending()
                jobs.run_pending(self.app)
                self.take_due_snapshots()
                forecasts.fold_branch_deltas(self.app)
            except Exception:  # the loop must survive a database hiccup
                log.exception("worker cycle failed")
            stop.wait(self.poll_seconds)


def run_forever(app: Secteur) -> None:
    stop = threading.Event()
    try:
        Worker(app).run(stop)
    except KeyboardInterrupt:
        stop.set()
