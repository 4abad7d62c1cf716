"""Deterministic accounts for benchmarks: ~10 fields with realistic skew."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from secteur.adapters.db import records_repo
from secteur.domain.catalog import ACCOUNT_TYPES, INDUSTRIES, RATINGS
from secteur.services.app import Secteur

COUNTRIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("United States", ("California", "Texas", "New York", "Florida", "Illinois", "Washington")),
    ("Germany", ("Bayern", "Berlin", "Hessen", "Hamburg")),
    ("France", ("Île-de-France", "Occitanie", "Bretagne", "Grand Est")),
    ("United Kingdom", ("England", "Scotland", "Wales")),
    ("Canada", ("Ontario", "Quebec", "British Columbia")),
    ("Japan", ("Tokyo", "Osaka", "Aichi")),
    ("India", ("Maharashtra", "Karnataka", "Delhi")),
    ("Brazil", ("São Paulo", "Rio de Janeiro", "Minas Gerais")),
    ("Spain", ("Madrid", "Cataluña", "Andalucía")),
    ("Italy", ("Lombardia", "Lazio", "Piemonte")),
    ("Australia", ("New South Wales", "Victoria", "Queensland")),
    ("Netherlands", ("Noord-Holland", "Zuid-Holland", "Utrecht")),
)
WEIGHTS = (30, 10, 8, 8, 6, 6, 6, 5, 5, 5, 5, 6)
WORDS = (
    "Alpine",
    "Blue",
    "Cedar",
    "Delta",
    "Ever",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Lumen",
    "Meridian",
    "North",
    "Orion",
    "Pioneer",
    "Quantum",
    "River",
    "Summit",
    "Titan",
    "Vertex",
)
KINDS = ("Systems", "Logistics", "Foods", "Energy", "Health", "Labs", "Motors", "Media", "Works")


def accounts(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    countries = rng.choices(range(len(COUNTRIES)), WEIGHTS, k=n)
    for i in range(n):
        country, states = COUNTRIES[countries[i]]
        yield {
            "Account_Name": f"{rng.choice(WORDS)} {rng.choice(KINDS)} {i}",
            "Billing_Country": country,
            "Billing_State": rng.choice(states),
            "Billing_City": f"City {rng.randrange(400)}",
            "Billing_Code": f"{rng.randrange(10000, 99999)}",
            "Industry": rng.choice(INDUSTRIES),
            "Annual_Revenue": float(rng.lognormvariate(15, 2) // 1000 * 1000),
            "Employees": int(rng.lognormvariate(4, 1.5)) + 1,
            "Account_Type": rng.choice(ACCOUNT_TYPES),
            "Rating": rng.choice(RATINGS),
            "Phone": f"+1 555 {rng.randrange(1000000, 9999999)}",
        }


def load_accounts(app: Secteur, n: int, *, chunk: int = 10_000, seed: int = 1) -> None:
    """Bulk-load `n` accounts straight through the repository (set-up, not measured)."""
    now = datetime.now(UTC)
    with app.write() as tx:
        module = tx.state.module("Accounts")
        assert module is not None
        rt = tx.state.table(module)
        owner = next(iter(tx.state.directory.users))
        batch: list[dict[str, Any]] = []
        for values in accounts(n, seed):
            batch.append(values)
            if len(batch) == chunk:
                records_repo.insert(tx.conn, rt, batch, [owner] * len(batch), owner, now)
                batch = []
        if batch:
            records_repo.insert(tx.conn, rt, batch, [owner] * len(batch), owner, now)
        if tx.conn.dialect.name == "postgresql":
            tx.conn.exec_driver_sql(f"ANALYZE {rt.table.name}")
        else:
            tx.conn.exec_driver_sql("ANALYZE")


# Columns of the CSV files the import benchmark writes.
FIELDS_FOR_CSV = [
    "Account_Name",
    "Billing_Country",
    "Billing_State",
    "Billing_City",
    "Billing_Code",
    "Industry",
    "Annual_Revenue",
    "Employees",
    "Account_Type",
    "Rating",
    "Phone",
]
