"""Shared helpers of the benchmarks: the machine, medians, percentiles, throwaway orgs."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from secteur.config import Settings
from secteur.services.app import Secteur
from secteur.services.setup import init_org

ADMIN = "bench@secteur.example"
SECRET = "benchmark-secret-key-0123456789-abcdefghij"
OUT = Path(__file__).parent / "out"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "sqlite": sa.__version__ and __import__("sqlite3").sqlite_version,
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database for a benchmark: BENCH_POSTGRES_URL, or a private server."""
    from tests.support import postgres

    given = os.environ.get("BENCH_POSTGRES_URL")
    if given:
        url = postgres.create_database(given)
        try:
            yield url
        finally:
            postgres.drop_database(given, url)
        return
    with postgres.private_server() as admin:
        url = postgres.create_database(admin)
        yield url


@contextlib.contextmanager
def org(backend: str) -> Iterator[Secteur]:
    """A fresh org on `backend` ("sqlite" or "postgresql")."""
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="secteur-bench-"))
            url = f"sqlite:///{directory}/bench.db"
        else:
            url = stack.enter_context(postgres_url())
        app = Secteur(Settings(database_url=url, secret_key=SECRET))
        stack.callback(app.dispose)
        init_org(app, org_name="Bench", admin_email=ADMIN, admin_password="bench-password")
        yield app


def save(name: str, result: dict[str, Any]) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2, default=str))
    return path


def git_revision() -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
    return "unknown"
