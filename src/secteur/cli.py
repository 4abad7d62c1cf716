"""The `secteur` command: thin shells over the services (core.md, CLI output contracts).

Machine-readable output goes to stdout (a bare token, or JSON); messages go to stderr; every
failure exits non-zero with a one-line reason.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from secteur.config import InsecureSettings, Settings
from secteur.services.app import Secteur
from secteur.services.errors import ServiceError

app = typer.Typer(
    help="Secteur — sales-process engine with a Zoho CRM v8 compatible API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
auth_app = typer.Typer(help="OAuth clients, grants and tokens.", no_args_is_help=True)
client_app = typer.Typer(help="OAuth clients.", no_args_is_help=True)
territories_app = typer.Typer(
    help="Territories: run rules, explain a record.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(territories_app, name="territories")
forecast_app = typer.Typer(
    help="Forecasts: the roll-up of a period, snapshots.", no_args_is_help=True
)
app.add_typer(forecast_app, name="forecast")
app.add_typer(user_app, name="user")
app.add_typer(auth_app, name="auth")
auth_app.add_typer(client_app, name="client")

err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")
DEFAULT_SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL"


class CliFailure(Exception):
    pass


def fail(message: str) -> None:
    raise CliFailure(message)


@contextmanager
def secteur(**overrides: Any) -> Iterator[Secteur]:
    settings = Settings(**overrides)
    instance = Secteur(settings)
    try:
        yield instance
    finally:
        instance.dispose()


def run(action: Callable[[], T]) -> T:
    """Run a command body; any known failure becomes one line on stderr and exit status 1."""
    try:
        return action()
    except (ServiceError, CliFailure, InsecureSettings, ValueError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else str(exc)
        err.print(f"error: {message}", markup=False, highlight=False)
        raise typer.Exit(1) from None


def _require_org(instance: Secteur) -> None:
    from secteur.services.setup import is_initialised

    if not is_initialised(instance):
        fail("the database holds no org yet: run `secteur init` (or `secteur demo`)")


@app.command()
def init(
    org: Annotated[str, typer.Option("--org", help="Organisation name")],
    admin_email: Annotated[str, typer.Option("--admin-email")],
    admin_password: Annotated[str, typer.Option("--admin-password")],
    time_zone: Annotated[str, typer.Option("--time-zone")] = "UTC",
    currency: Annotated[str, typer.Option("--currency")] = "EUR",
) -> None:
    """Create a fresh org: schema, standard modules, root role, profiles and the admin user."""
    from secteur.services.setup import init_org

    def action() -> None:
        with secteur() as instance:
            result = init_org(
                instance,
                org_name=org,
                admin_email=admin_email,
                admin_password=admin_password,
                time_zone=time_zone,
                currency=currency,
            )
        err.print(f"Initialised org {org!r} (id {result.org_id}); admin {admin_email}")

    run(action)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from secteur.services.setup import upgrade_schema

    def action() -> None:
        with secteur() as instance:
            revision = upgrade_schema(instance)
        err.print(f"Database schema at revision {revision}")

    run(action)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
    with_worker: Annotated[bool, typer.Option("--with-worker")] = False,
) -> None:
    """Serve the API (and, on SQLite or with --with-worker, the background worker)."""
    from secteur.server import serve as run_server

    def action() -> None:
        settings = Settings()
        settings.check_secure()
        with secteur() as instance:
            _require_org(instance)
        run_server(
            settings,
            host=host or settings.host,
            port=port or settings.port,
            with_worker=with_worker,
        )

    run(action)


@app.command()
def demo(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    reset: Annotated[
        bool, typer.Option("--reset", help="Start again from fresh demo data")
    ] = False,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Only create the data")] = False,
) -> None:
    """Create a demo org on embedded SQLite (first run) and serve it."""
    from secteur.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, demo_settings, prepare_demo
    from secteur.server import serve as run_server

    def action() -> None:
        settings = demo_settings(Settings(demo=True))
        if not settings.is_sqlite:
            fail("the demo runs on embedded SQLite; unset SECTEUR_DATABASE_URL")
        token = prepare_demo(settings, reset=reset, progress=err)
        base = f"http://{host}:{port}"
        err.print(f"\n[bold]Secteur demo[/bold] — open {base}/ in your browser")
        err.print(f"  sign in as  : {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")
        err.print(f"  API docs    : {base}/docs")
        err.print(f"  API token   : {token}")
        err.print(
            f"  try         : curl -H 'Authorization: Zoho-oauthtoken {token}' "
            f"{base}/crm/v8/Accounts?per_page=3"
        )
        if not no_serve:
            run_server(settings, host=host, port=port, with_worker=True)

    run(action)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option("--email")],
    last_name: Annotated[str, typer.Option("--last-name")],
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="Role name (default: the top role)")
    ] = None,
    profile: Annotated[str, typer.Option("--profile")] = "Standard",
    password: Annotated[str | None, typer.Option("--password")] = None,
) -> None:
    """Create an active user (prints its id as JSON)."""
    from secteur.services.cli_support import create_user_cli

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            user_id = create_user_cli(
                instance,
                email=email,
                last_name=last_name,
                first_name=first_name,
                role=role,
                profile=profile,
                password=password,
            )
        typer.echo(json.dumps({"id": str(user_id), "email": email}))

    run(action)


@user_app.command("set-password")
def user_set_password(
    email: Annotated[str, typer.Option("--email")],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True)],
) -> None:
    """Set a user's password (they can then sign in to the web UI)."""
    from secteur.services.users import set_password

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            with instance.write() as tx:
                set_password(tx, email, password)
        err.print(f"Password set for {email}")

    run(action)


@user_app.command("password-link")
def user_password_link(
    email: Annotated[str, typer.Argument(help="The user's e-mail")],
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Where people open Secteur (default: host and port)"),
    ] = None,
) -> None:
    """Print a one-time link (72 hours) with which the user sets their password and signs in."""
    from secteur.domain.directory import UserStatus
    from secteur.services.sessions import PASSWORD_LINK_TTL, create_password_link

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            with instance.write() as tx:
                user = next(
                    (
                        u
                        for u in tx.state.directory.users.values()
                        if u.email.lower() == email.strip().lower()
                        and u.status is not UserStatus.DELETED
                    ),
                    None,
                )
                if user is None:
                    fail(f"no user with e-mail {email}")
                assert user is not None
                token = create_password_link(tx, user, None)
            settings = instance.settings
        base = (base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
        typer.echo(f"{base}/set-password?token={token}")
        hours = int(PASSWORD_LINK_TTL.total_seconds() // 3600)
        err.print(f"Works once, for {hours} hours; earlier links of {user.email} no longer work.")

    run(action)


@client_app.command("create")
def client_create(
    name: Annotated[str, typer.Option("--name")],
    redirect_uri: Annotated[str | None, typer.Option("--redirect-uri")] = None,
) -> None:
    """Register an OAuth client; prints JSON with its id and secret (shown only once)."""
    from secteur.services.auth import create_client

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            with instance.write() as tx:
                client = create_client(tx, name, redirect_uri)
        typer.echo(
            json.dumps(
                {
                    "client_id": client.client_id,
                    "client_secret": client.client_secret,
                    "name": client.name,
                }
            )
        )

    run(action)


@auth_app.command("grant")
def auth_grant(
    client: Annotated[str, typer.Option("--client", help="Client id")],
    user: Annotated[str, typer.Option("--user", help="User e-mail")],
    scope: Annotated[str, typer.Option("--scope")] = DEFAULT_SCOPES,
) -> None:
    """Issue an authorization (grant) code for a client and user; prints JSON."""
    from secteur.services.auth import GRANT_TTL, create_grant

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            with instance.write() as tx:
                code = create_grant(tx, client, user, scope)
        typer.echo(
            json.dumps(
                {
                    "code": code,
                    "expires_in": int(GRANT_TTL.total_seconds()),
                    "client_id": client,
                    "user": user,
                }
            )
        )

    run(action)


@auth_app.command("token")
def auth_token(
    user: Annotated[str, typer.Option("--user", help="User e-mail")],
    scope: Annotated[str, typer.Option("--scope")] = DEFAULT_SCOPES,
    expires_in: Annotated[int, typer.Option("--expires-in", help="Seconds")] = 3600,
) -> None:
    """Print a bare access token for a user (for scripts)."""
    from secteur.services.auth import issue_access_token

    def action() -> None:
        if expires_in < 60 or expires_in > 366 * 86400:
            fail("--expires-in must be between 60 seconds and a year")
        with secteur() as instance:
            _require_org(instance)
            with instance.write() as tx:
                issued = issue_access_token(tx, user, scope, timedelta(seconds=expires_in))
        typer.echo(issued.access_token)

    run(action)


@app.command("import")
def import_csv(
    module: Annotated[str, typer.Argument(help="Module API name, e.g. Accounts")],
    file: Annotated[Path, typer.Argument(help="CSV file with a header of field API names")],
    user: Annotated[
        str | None, typer.Option("--user", help="Acting user e-mail (default: an admin)")
    ] = None,
    partial: Annotated[
        bool, typer.Option("--partial", help="Import the good rows even if some are bad")
    ] = False,
) -> None:
    """Import records from CSV: all rows or none (unless --partial), with a report per bad row."""
    from secteur.services.csv_io import import_records

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            report = import_records(
                instance, module, file, user_email=user, partial=partial, console=err
            )
        for problem in report.problems[:200]:
            err.print(
                f"row {problem.row}: {problem.field or '-'}: {problem.message}",
                markup=False,
                highlight=False,
            )
        if report.problems and not partial:
            fail(
                f"{len(report.problems)} bad row(s); nothing was imported (use --partial to "
                "import the good rows)"
            )
        err.print(f"Imported {report.imported} record(s); {len(report.problems)} rejected")
        if report.problems:
            raise typer.Exit(1)

    run(action)


@app.command("export")
def export_csv(
    module: Annotated[str, typer.Argument(help="Module API name")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout)")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Acting user e-mail (default: an admin)")
    ] = None,
) -> None:
    """Export the records a user can see as CSV."""
    from secteur.services.csv_io import export_records

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            if output is None:
                count = export_records(instance, module, sys.stdout, user_email=user, console=err)
            else:
                with output.open("w", newline="", encoding="utf-8") as handle:
                    count = export_records(instance, module, handle, user_email=user, console=err)
        err.print(f"Exported {count} record(s)")

    run(action)


@territories_app.command("run-rules")
def territories_run_rules(
    module: Annotated[str, typer.Argument(help="Accounts, Leads or Deals")],
    preview: Annotated[
        bool, typer.Option("--preview", help="Compute what would change; change nothing")
    ] = False,
    user: Annotated[
        str | None, typer.Option("--user", help="Acting user e-mail (default: an admin)")
    ] = None,
) -> None:
    """Re-evaluate every record of MODULE against the territory rules, with a progress bar.

    The job's result is printed as JSON on stdout.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from secteur.services.territory_cli import follow, start_run

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            job_id = start_run(instance, module, preview=preview, user_email=user)
            columns = (
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=err, transient=False) as bar:
                task = bar.add_task("Preview" if preview else "Run rules", total=None)

                def show(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total or None)

                job = follow(instance, job_id, show)
        if job.status.value == "FAILED":
            fail(f"the run failed: {job.last_error}")
        print(json.dumps({"job_id": str(job.id), "status": job.status.value, **(job.result or {})}))

    run(action)


@territories_app.command("explain")
def territories_explain(
    module: Annotated[str, typer.Argument(help="Module API name")],
    record_id: Annotated[int, typer.Argument(help="Record id")],
    as_json: Annotated[bool, typer.Option("--json", help="The API's JSON instead of text")] = False,
    user: Annotated[
        str | None, typer.Option("--user", help="Acting user e-mail (default: an admin)")
    ] = None,
) -> None:
    """Why a record has the territories it has: the rules visited, values seen, results."""
    from secteur.services.territory_cli import explain

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            explanation = explain(instance, module, record_id, user)
        if as_json:
            print(json.dumps({"explanation": explanation}, indent=2))
            return
        for line in explanation_lines(explanation):
            print(line)

    run(action)


def explanation_lines(explanation: dict[str, Any]) -> list[str]:
    """The TER-27 trace as indented text a person can read in a terminal."""

    def names(items: list[dict[str, Any]]) -> str:
        return ", ".join(f"{i['name']} ({i['id']})" for i in items) or "none"

    lines = [
        f"Assigned by rules: {names(explanation['assigned'])}",
        f"Assigned by hand:  {names(explanation['manual'])}",
    ]
    lines += [f"Note: {note}" for note in explanation.get("notes", [])]
    lines.append("Trace:")
    for entry in explanation["trace"]:
        territory = entry["territory"]
        if entry["skipped"] == "parent_not_matched":
            verdict = "skipped (its parent did not match)"
        elif entry["rule"] is None and entry["matched"] is None:
            verdict = "no rule: records pass through"
        else:
            verdict = "matched" if entry["matched"] else "did not match"
        if entry.get("assigned"):
            verdict += " → ASSIGNED"
        elif entry["skipped"] == "cap":
            verdict += " → dropped: the module's limit was reached"
        lines.append(f"  {territory['name']} ({territory['id']}): {verdict}")
        for condition in entry["conditions"]:
            mark = "✓" if condition["result"] else "✗"
            lines.append(
                f"      {mark} {condition['field']} {condition['comparator']} "
                f"{json.dumps(condition['value'])} — record has "
                f"{json.dumps(condition['record_value'])}"
            )
    return lines


PeriodOption = Annotated[
    str | None,
    typer.Option("--period", help="2027-Q1 or 2027-03, as the settings' period (default: now)"),
]
UserOption = Annotated[
    str | None, typer.Option("--user", help="Acting user e-mail (default: an admin)")
]


@forecast_app.command("show")
def forecast_show(
    period: PeriodOption = None,
    territory: Annotated[
        str | None,
        typer.Option("--territory", help="Start from this territory (or role, with --by role)"),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="role or territory (default: the current hierarchy, FC-2)"),
    ] = None,
    user: UserOption = None,
) -> None:
    """The forecast's roll-up as a tree: target, achieved, pipeline, weighted, achieved %."""
    from rich.text import Text
    from rich.tree import Tree

    from secteur.services.forecast_cli import show

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            view = show(instance, period=period, node_name=territory, by=by, user_email=user)
        title = f"{view.kind.value.title()} forecast {view.period.key} — {view.period.label()}"
        if view.forecast_id is None:
            title += " (no forecast saved: no targets)"
        tree = Tree(Text(title))
        stack = [(tree, view.root)]
        while stack:
            branch, line = stack.pop(0)
            # Text, not markup: names and the flags' brackets are printed as they are.
            node = branch.add(Text(forecast_line(line.row, line.row["node_name"])))
            for member in line.members:
                node.add(Text(forecast_line(member, f"👤 {member['user_name']}")))
            stack.extend((node, child) for child in line.children)
        # Piped into a file or another program, lines are not cut at 80 columns.
        Console(width=None if sys.stdout.isatty() else 1000).print(tree)

    run(action)


def forecast_line(row: dict[str, Any], name: str) -> str:
    """One node or member of `forecast show`: figures, achieved %, flags."""

    def amount(value: float | None) -> str:
        if value is None:
            return "—"
        return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"

    flags = []
    if row["achieved_pct"] is not None and row["achieved_pct"] >= 100:
        flags.append("★ star")
    if row["target_mismatch"]:
        flags.append("⚠ targets below differ")
    if row["target_not_set"]:
        flags.append("no target")
    pct = "—" if row["achieved_pct"] is None else f"{row['achieved_pct']:.2f} %"
    return (
        f"{name}  target {amount(row['target'])} · achieved {amount(row['achieved'])} · "
        f"pipeline {amount(row['pipeline'])} · weighted {amount(row['weighted_pipeline'])} · "
        f"{pct}" + (f"  [{', '.join(flags)}]" if flags else "")
    )


@forecast_app.command("snapshot")
def forecast_snapshot(period: PeriodOption = None, user: UserOption = None) -> None:
    """Keep the figures of the current hierarchy's forecast of the period (FC-12); prints JSON."""
    from secteur.services.forecast_cli import snapshot

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            forecast_id, snapshot_id = snapshot(instance, period=period, user_email=user)
        print(json.dumps({"forecast_id": str(forecast_id), "snapshot_id": str(snapshot_id)}))

    run(action)


@app.command()
def worker() -> None:
    """Run the background worker (outbox deliveries, scheduled jobs)."""
    from secteur.worker import run_forever

    def action() -> None:
        with secteur() as instance:
            _require_org(instance)
            run_forever(instance)

    run(action)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
