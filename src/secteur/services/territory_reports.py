"""TER-31: revenue, sales-cycle length and top performers by territory.

Computed over the deals the caller may see (the visibility condition is in the query, as for
every list), closed won within an optional closing-date range. A deal counts once in each
territory it belongs to and once in every ancestor of those (rolled up), never twice in the
same territory even when it sits in two of its sub-territories.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import tables
from secteur.domain.actor import Actor
from secteur.domain.directory import Operation
from secteur.services import access
from secteur.services.app import Tx
from secteur.services.errors import ServiceError
from secteur.services.territories import require_enabled

TOP = 10


@dataclass
class _Tally:
    amount: float = 0.0
    deals: int = 0
    cycle_days: list[int] | None = None

    def add(self, amount: float, days: int | None) -> None:
        self.amount += amount
        self.deals += 1
        if days is not None:
            if self.cycle_days is None:
                self.cycle_days = []
            self.cycle_days.append(days)

    def to_json(self) -> dict[str, Any]:
        days = self.cycle_days or []
        return {
            "closed_won_amount": round(self.amount, 2),
            "closed_won_deals": self.deals,
            "sales_cycle_days": {
                "average": round(sum(days) / len(days), 1) if days else None,
                "median": median(days) if days else None,
            },
        }


def report(tx: Tx, actor: Actor, since: date | None, until: date | None) -> dict[str, Any]:
    tree = require_enabled(tx)
    deals = tx.state.module("Deals")
    if deals is None:
        raise ServiceError("INVALID_MODULE", "the org has no Deals module")
    access.require_module(actor, deals, Operation.VIEW)
    stage, amount, closing = (deals.field(n) for n in ("Stage", "Amount", "Closing_Date"))
    assert stage is not None and amount is not None and closing is not None
    won = [p.actual_value for p in stage.picklist if p.forecast_category == "closed_won"]
    rt = tx.state.table(deals)
    table = rt.table
    rtt = tables.record_territories
    query = (
        sa.select(
            table.c.id,
            table.c.owner_id,
            table.c[amount.column],
            table.c.created_time,
            table.c[closing.column],
            rtt.c.territory_id,
        )
        .join(rtt, sa.and_(rtt.c.record_id == table.c.id, rtt.c.module == "Deals"))
        .where(table.c[stage.column].in_(won))
    )
    if since is not None:
        query = query.where(table.c[closing.column] >= since)
    if until is not None:
        query = query.where(table.c[closing.column] <= until)
    visible = access.visible(tx, actor, rt)
    if visible is not None:
        query = query.where(visible)
    deal_rows: dict[int, tuple[int, float, int | None]] = {}
    deal_territories: dict[int, set[int]] = defaultdict(set)
    for deal_id, owner, value, created, closed, territory_id in tx.conn.execute(query):
        if territory_id not in tree:
            continue
        closed_on = closed if isinstance(closed, date) else date.fromisoformat(str(closed))
        days = (closed_on - created.date()).days if created is not None else None
        deal_rows[deal_id] = (owner, float(value or 0), days)
        deal_territories[deal_id].add(territory_id)
    own: dict[int, _Tally] = defaultdict(_Tally)
    rolled: dict[int, _Tally] = defaultdict(_Tally)
    people: dict[int, _Tally] = defaultdict(_Tally)
    people_territories: dict[int, set[int]] = defaultdict(set)
    for deal_id, (owner, value, days) in deal_rows.items():
        held = deal_territories[deal_id]
        for tid in held:
            own[tid].add(value, days)
        for tid in {a for t in held for a in (t, *tree.ancestors(t))}:
            rolled[tid].add(value, days)
        people[owner].add(value, days)
        people_territories[owner] |= held
    users = tx.state.directory.users
    ranked = sorted(people.items(), key=lambda item: (-item[1].amount, item[0]))[:TOP]
    return {
        "territories": [
            {
                "territory": {"id": str(tid), "name": tree.by_id[tid].name},
                "reporting_to": (
                    {"id": str(p), "name": tree.by_id[p].name}
                    if (p := tree.by_id[tid].parent_id) is not None
                    else None
                ),
                "own": own[tid].to_json(),
                "with_sub_territories": rolled[tid].to_json(),
            }
            for tid in tree.preorder
            if tid in rolled
        ],
        "top_performers": [
            {
                "user": {
                    "id": str(user_id),
                    "name": users[user_id].full_name if user_id in users else None,
                },
                **tally.to_json(),
                "territories": [
                    {"id": str(t), "name": tree.by_id[t].name}
                    for t in tree.in_preorder(people_territories[user_id])
                ],
            }
            for user_id, tally in ranked
        ],
    }
