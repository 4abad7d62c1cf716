"""CSV import (`secteur import`) throughput at several sizes.

python -m bench.csv_import --sizes 10000 100000 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import median, org, save
from bench.datagen import FIELDS_FOR_CSV, accounts
from secteur.services.csv_io import import_records


def write_csv(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS_FOR_CSV)
        writer.writeheader()
        for row in accounts(n, seed=3):
            writer.writerow({k: row[k] for k in FIELDS_FOR_CSV})


def run(sizes: list[int], runs: int, backends: list[str]) -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for n in sizes:
            path = Path(directory) / f"accounts-{n}.csv"
            write_csv(path, n)
            for backend in backends:
                rates = []
                for _ in range(runs):
                    with org(backend) as app:
                        start = time.perf_counter()
                        report = import_records(
                            app, "Accounts", path, user_email=None, partial=False
                        )
                        elapsed = time.perf_counter() - start
                        assert report.imported == n and not report.problems
                        rates.append(n / elapsed)
                row = {
                    "backend": backend,
                    "rows": n,
                    "runs": runs,
                    "median_records_per_s": round(median(rates)),
                    "all_runs": [round(r) for r in rates],
                }
                print(json.dumps(row), flush=True)
                results.append(row)
    return {"benchmark": "csv_import", "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(save("csv_import", run(args.sizes, args.runs, args.backends)))


if __name__ == "__main__":
    main()
