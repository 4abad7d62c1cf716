"""What `secteur territories …` does: start a run and follow it, explain a record."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from secteur.domain.actor import actor_for
from secteur.services import jobs, records, territory_assignment, territory_runs
from secteur.services.app import Secteur
from secteur.services.cli_support import admin_actor_user
from secteur.services.errors import ServiceError
from secteur.services.territories import require_enabled

Progress = Callable[[int, int], None]


def start_run(app: Secteur, module: str, *, preview: bool, user_email: str | None) -> int:
    """Schedule a run (or a preview) as the named user (default: an administrator)."""
    with app.write() as tx:
        user = admin_actor_user(tx, user_email)
        actor = actor_for(tx.state.directory, user.id, source="cli")
        assert actor is not None
        return territory_runs.schedule(
            tx, actor, {"run_rules": {"module": {"api_name": module}}}, preview=preview
        )


def follow(app: Secteur, job_id: int, on_progress: Progress, poll_seconds: float = 0.2) -> jobs.Job:
    """Follow a job to its end, running it here unless another worker claimed it first;
    progress comes from the job's row, as any client would read it."""
    with app.read() as tx:
        job = jobs.get(tx, job_id)
    assert job is not None
    runner = threading.Thread(target=jobs.run_next, args=(app, [job.kind]), daemon=True)
    runner.start()
    while True:
        with app.read() as tx:
            job = jobs.get(tx, job_id)
        assert job is not None
        on_progress(job.done, job.total)
        if job.status in (jobs.Status.COMPLETED, jobs.Status.FAILED):
            runner.join(timeout=5)
            return job
        time.sleep(poll_seconds)


def explain(
    app: Secteur, module_name: str, record_id: int, user_email: str | None
) -> dict[str, Any]:
    with app.read() as tx:
        require_enabled(tx)
        user = admin_actor_user(tx, user_email)
        actor = actor_for(tx.state.directory, user.id, source="cli")
        assert actor is not None
        module = records.module_or_error(tx, module_name)
        if module.api_name not in ("Accounts", "Contacts", "Deals", "Leads"):
            raise ServiceError("INVALID_MODULE", f"{module.api_name} records have no territories")
        record = records.get_record(tx, actor, module, record_id)
        return territory_assignment.explain_record(tx, module, record)
