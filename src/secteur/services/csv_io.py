"""CSV import and export of records, through the same checks and save pipeline as the API.

Import is all-or-nothing by default: every row is checked first, and one transaction writes
them all, so an import either lands whole or leaves no trace.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from secteur.adapters.db import records_repo
from secteur.domain.actor import Actor, actor_for
from secteur.domain.directory import Operation
from secteur.domain.fields import DataType, Field, Kind, Module
from secteur.services import access
from secteur.services.app import Secteur, Tx
from secteur.services.cli_support import admin_actor_user
from secteur.services.errors import ServiceError
from secteur.services.records import Mode, module_or_error, write_records

CHUNK = 2000
csv.field_size_limit(10 * 1024 * 1024)


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str | None
    message: str


@dataclass
class ImportReport:
    imported: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def _columns(module: Module, header: list[str]) -> list[Field | None]:
    """The field of each CSV column, by api name or label (case-insensitive); None = ignored."""
    by_label = {f.label.lower(): f for f in module.fields}
    columns: list[Field | None] = []
    unknown = []
    for name in header:
        key = name.strip()
        f = module.field(key) or by_label.get(key.lower())
        if f is None and key.lower() != "id":
            unknown.append(key)
        columns.append(f)
    if unknown:
        raise ServiceError(
            "INVALID_DATA", f"unknown column(s) for {module.api_name}: " + ", ".join(unknown[:10])
        )
    return columns


def _actor(tx: Tx, email: str | None, source: str) -> Actor:
    actor = actor_for(tx.state.directory, admin_actor_user(tx, email).id, source=source)
    assert actor is not None
    return actor


def _rows(path: Path) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        yield from csv.reader(handle)


def _owner(tx: Tx, value: str) -> Any:
    """Owner as an e-mail (as exported) or an id."""
    if "@" in value:
        user = next(
            (
                u
                for u in tx.state.directory.users.values()
                if u.email.lower() == value.strip().lower()
            ),
            None,
        )
        return {"id": user.id} if user else {"id": "0"}
    return {"id": value}


def _item(tx: Tx, columns: list[Field | None], row: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for f, value in zip(columns, row, strict=False):
        if f is None or value == "":
            continue
        if f.api_name == "Owner":
            item["Owner"] = _owner(tx, value)
        elif f.kind is Kind.REFERENCE:
            item[f.api_name] = {"id": value}
        else:
            item[f.api_name] = value
    return item


class _RollBack(Exception):
    """Raised inside the import transaction to undo it when a row was bad."""


def import_records(
    app: Secteur,
    module_name: str,
    path: Path,
    *,
    user_email: str | None,
    partial: bool,
    console: Console | None = None,
) -> ImportReport:
    if not path.is_file():
        raise ServiceError("INVALID_DATA", f"no such file: {path}")
    total = max(sum(1 for _ in _rows(path)) - 1, 0)
    report = ImportReport()
    try:
        with app.write() as tx, progress(console, "Importing", total) as advance:
            module = module_or_error(tx, module_name)
            actor = _actor(tx, user_email, "import")
            rows = _rows(path)
            header = next(rows, None)
            if header is None:
                raise ServiceError("INVALID_DATA", "the file is empty")
            columns = _columns(module, header)
            chunk: list[tuple[int, dict[str, Any]]] = []
            for number, row in enumerate(rows, start=2):
                if len(row) != len(header):
                    report.problems.append(
                        RowProblem(number, None, f"expected {len(header)} values, found {len(row)}")
                    )
                    continue
                chunk.append((number, _item(tx, columns, row)))
                if len(chunk) >= CHUNK:
                    _write_chunk(tx, actor, module, chunk, report)
                    advance(len(chunk))
                    chunk = []
            _write_chunk(tx, actor, module, chunk, report)
            advance(len(chunk))
            if report.problems and not partial:
                raise _RollBack
    except _RollBack:
        report.imported = 0
    return report


def _write_chunk(
    tx: Tx,
    actor: Actor,
    module: Module,
    chunk: list[tuple[int, dict[str, Any]]],
    report: ImportReport,
) -> None:
    """Write a chunk; bad rows are reported (an all-or-nothing import is undone at the end)."""
    if not chunk:
        return
    results = write_records(
        tx, actor, module, [item for _, item in chunk], mode=Mode.INSERT, max_batch=None
    )
    for (number, _), result in zip(chunk, results, strict=True):
        if result.ok:
            report.imported += 1
        else:
            report.problems.append(
                RowProblem(number, result.details.get("api_name"), result.message)
            )


@contextmanager
def progress(console: Console | None, label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on the console (stderr), or nothing."""
    if console is None:
        yield lambda n: None
        return
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total or None)
        yield lambda n: bar.advance(task, n)


def _csv_value(tx: Tx, f: Field, value: Any) -> str:
    if value is None or value == ():
        return ""
    if f.api_name in ("Owner", "Created_By", "Modified_By"):
        user = tx.state.directory.users.get(value)
        return user.email if user else str(value)
    if f.kind is Kind.MULTISELECT:
        return ";".join(value)
    if f.kind in (Kind.DATE, Kind.DATETIME):
        return str(value.isoformat())
    if f.kind is Kind.BOOLEAN:
        return "true" if value else "false"
    if f.data_type in (DataType.DOUBLE, DataType.CURRENCY, DataType.PERCENT):
        return repr(float(value))
    return str(value)


def export_records(
    app: Secteur,
    module_name: str,
    out: IO[str],
    *,
    user_email: str | None,
    console: Console | None = None,
) -> int:
    """Write the records the user can see as CSV (keyset-paged, constant memory)."""
    with app.read() as tx:
        module = module_or_error(tx, module_name)
        actor = _actor(tx, user_email, "cli")
        access.require_module(actor, module, Operation.VIEW)
        rt = tx.state.table(module)
        visible = access.visible(tx, actor, rt)
        fields = [f for f in module.fields if f.kind is not Kind.TERRITORIES]
        writer = csv.writer(out)
        writer.writerow(["id", *[f.api_name for f in fields]])
        count_query = sa.select(sa.func.count()).select_from(rt.table)
        if visible is not None:
            count_query = count_query.where(visible)
        total = int(tx.conn.execute(count_query).scalar_one())
        last_id, written = 0, 0
        with progress(console, "Exporting", total) as advance:
            while True:
                query = records_repo.select_records(rt).where(rt.table.c.id > last_id)
                if visible is not None:
                    query = query.where(visible)
                page = records_repo.fetch_page(
                    tx.conn, rt, query.order_by(rt.table.c.id).limit(CHUNK)
                )
                if not page:
                    break
                for record in page:
                    values = record.field_values()
                    writer.writerow(
                        [
                            str(record.id),
                            *[_csv_value(tx, f, values.get(f.api_name)) for f in fields],
                        ]
                    )
                written += len(page)
                last_id = page[-1].id
                advance(len(page))
        return written
