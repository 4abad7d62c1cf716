"""The save pipeline (00-product.md): steps in order, in the saving transaction; side effects
through the outbox, delivered after commit by exactly one worker."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.domain.actor import Actor, actor_for
from secteur.domain.fields import Module
from secteur.domain.records import Problem, StoredRecord
from secteur.services.app import Secteur, Tx
from secteur.services.pipeline import Change, Outcome, Stage
from secteur.services.records import Mode, write_records
from secteur.worker import Worker


@dataclass
class RecordingStep:
    """A step that records what it saw and asks for one outbox message per change."""

    stage: Stage
    seen: list[tuple[Stage, list[int]]] = field(default_factory=list)
    refuse_name: str | None = None

    def check(
        self,
        tx: Tx,
        actor: Actor,
        module: Module,
        before: StoredRecord | None,
        changes: Mapping[str, Any],
    ) -> Sequence[Problem]:
        if self.refuse_name is not None and changes.get("Account_Name") == self.refuse_name:
            return [Problem("RECORD_LOCKED", "locked for the test", {"api_name": "Account_Name"})]
        return []

    def apply(self, tx: Tx, actor: Actor, changes: Sequence[Change], outcome: Outcome) -> None:
        self.seen.append((self.stage, [c.after.id for c in changes]))
        if self.stage is Stage.SIDE_EFFECTS:
            outcome.outbox.extend(("test.notify", {"id": str(c.after.id)}) for c in changes)


def _admin(tx: Tx) -> Actor:
    user = next(
        u for u in tx.state.directory.users.values() if tx.state.directory.profile_of(u).admin
    )
    actor = actor_for(tx.state.directory, user.id)
    assert actor is not None
    return actor


def _insert(app: Secteur, names: list[str], trigger: list[str] | None = None) -> list[Any]:
    with app.write() as tx:
        module = tx.state.module("Accounts")
        assert module is not None
        return write_records(
            tx,
            _admin(tx),
            module,
            [{"Account_Name": n} for n in names],
            mode=Mode.INSERT,
            trigger=trigger,
        )


def _outbox(app: Secteur) -> list[sa.Row[Any]]:
    with app.read() as tx:
        return list(tx.conn.execute(sa.select(t.outbox).order_by(t.outbox.c.id)))


def test_steps_run_in_the_save_order_with_the_written_records(app: Secteur) -> None:
    steps = [RecordingStep(stage) for stage in reversed(Stage)]
    for step in steps:
        app.pipeline.add(step)
    results = _insert(app, ["A", "B"])
    ids = [r.record.id for r in results]
    order = [stage for step in sorted(steps, key=lambda s: s.stage) for stage, _ in step.seen]
    assert order == sorted(Stage)
    assert all(seen == [(step.stage, ids)] for step in steps for seen in [step.seen])


def test_an_empty_trigger_skips_approval_and_blueprint_steps(app: Secteur) -> None:
    steps = {stage: RecordingStep(stage) for stage in Stage}
    for step in steps.values():
        app.pipeline.add(step)
    _insert(app, ["A"], trigger=[])
    ran = {stage for stage, step in steps.items() if step.seen}
    assert ran == {Stage.TERRITORIES, Stage.CASCADE, Stage.SIDE_EFFECTS}
    _insert(app, ["B"], trigger=["approval"])
    assert steps[Stage.APPROVAL].seen and len(steps[Stage.BLUEPRINT].seen) == 0


def test_a_step_check_refuses_one_item_and_the_others_are_saved(app: Secteur) -> None:
    app.pipeline.add(RecordingStep(Stage.APPROVAL, refuse_name="Locked"))
    results = _insert(app, ["Fine", "Locked"])
    assert results[0].ok and not results[1].ok
    assert results[1].code == "RECORD_LOCKED"
    with app.read() as tx:
        names = tx.conn.execute(sa.text("SELECT f_account_name FROM accounts")).scalars().all()
    assert names == ["Fine"]


def test_side_effects_are_written_with_the_save_and_delivered_after_commit(app: Secteur) -> None:
    app.pipeline.add(RecordingStep(Stage.SIDE_EFFECTS))
    delivered: list[Mapping[str, Any]] = []
    results = _insert(app, ["A"])
    pending = _outbox(app)
    assert [row.kind for row in pending] == ["test.notify"]
    assert pending[0].delivered_at is None
    worker = Worker(app, {"test.notify": delivered.append})
    assert worker.deliver_pending() == 1
    assert delivered == [{"id": str(results[0].record.id)}]
    assert _outbox(app)[0].delivered_at is not None
    assert worker.deliver_pending() == 0


def test_a_rolled_back_save_leaves_no_side_effect(app: Secteur) -> None:
    app.pipeline.add(RecordingStep(Stage.SIDE_EFFECTS))

    class Boom(Exception):
        pass

    with pytest.raises(Boom), app.write() as tx:
        module = tx.state.module("Accounts")
        assert module is not None
        write_records(tx, _admin(tx), module, [{"Account_Name": "A"}], mode=Mode.INSERT)
        raise Boom
    assert _outbox(app) == []
    with app.read() as tx:
        assert tx.conn.execute(sa.text("SELECT count(*) FROM accounts")).scalar_one() == 0


def test_a_failed_delivery_is_kept_and_retried_later(app: Secteur, clock: Any) -> None:
    from datetime import timedelta

    app.pipeline.add(RecordingStep(Stage.SIDE_EFFECTS))
    _insert(app, ["A"])
    calls: list[int] = []

    def flaky(payload: Mapping[str, Any]) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("mail server down")

    worker = Worker(app, {"test.notify": flaky})
    assert worker.deliver_pending() == 0
    row = _outbox(app)[0]
    assert row.attempts == 1 and "mail server down" in row.last_error and row.delivered_at is None
    assert worker.deliver_pending() == 0, "not due yet: back-off"
    clock.advance(timedelta(minutes=5))
    assert worker.deliver_pending() == 1
    assert _outbox(app)[0].delivered_at is not None


def test_concurrent_workers_deliver_each_message_exactly_once(app: Secteur) -> None:
    app.pipeline.add(RecordingStep(Stage.SIDE_EFFECTS))
    _insert(app, [f"Account {i}" for i in range(60)])
    delivered: list[str] = []
    lock = threading.Lock()

    def handler(payload: Mapping[str, Any]) -> None:
        with lock:
            delivered.append(payload["id"])

    workers = [Worker(app, {"test.notify": handler}) for _ in range(3)]
    threads = [
        threading.Thread(target=lambda w=w: [w.deliver_pending() for _ in range(5)])
        for w in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(delivered) == 60 and len(set(delivered)) == 60
