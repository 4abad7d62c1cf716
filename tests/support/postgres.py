"""A throwaway PostgreSQL server for the test session.

CI starts PostgreSQL itself and passes its URL in SECTEUR_TEST_POSTGRES_URL. Locally, when
that is unset, a private server is started from the PostgreSQL binaries found on the machine
(in a temporary directory, on a free loopback port) and stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

URL_VARIABLE = "SECTEUR_TEST_POSTGRES_URL"


class PostgresUnavailable(RuntimeError):
    pass


def _find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; the Debian package creates a `postgres` user.
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresUnavailable("running as root and no runuser to drop privileges")
        return [runuser, "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def private_server() -> Iterator[str]:
    """Start a PostgreSQL server on loopback; yield an admin URL (database `postgres`)."""
    initdb, pg_ctl = _find_bin("initdb"), _find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresUnavailable("PostgreSQL binaries (initdb, pg_ctl) not found")
    root = Path(tempfile.mkdtemp(prefix="secteur-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres_user(
            [
                initdb,
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "-N",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres_user(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def server() -> Iterator[str]:
    """The server to test against: CI's when given, else a private one."""
    url = os.environ.get(URL_VARIABLE)
    if url:
        yield url
        return
    with private_server() as started:
        yield started


def create_database(admin_url: str, *, template: str | None = None) -> str:
    """A new, empty (or templated) database; returns its URL."""
    name = "t_" + uuid.uuid4().hex[:16]
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            clause = f" TEMPLATE {template}" if template else ""
            for attempt in range(20):
                try:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')
                    break
                except sa.exc.OperationalError:
                    # The template is busy while a connection to it closes; try again shortly.
                    if attempt == 19:
                        raise
                    time.sleep(0.1)
    finally:
        engine.dispose()
    return str(sa.engine.make_url(admin_url).set(database=name).render_as_string(False))


def drop_database(admin_url: str, url: str) -> None:
    name = sa.engine.make_url(url).database
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()
