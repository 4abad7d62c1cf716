"""Territory pages over HTTP: turning territory management on and off (TER-1 … TER-3) and running
rules or previewing them with live progress and a summary per territory (TER-24 … TER-26) —
through the same services as the API, so a page never does what the API would refuse."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from secteur.adapters.db import territory_repo
from secteur.services import jobs, profiles, sessions
from secteur.services import territories as service
from secteur.services import territory_runs as runs
from secteur.services.app import Secteur
from tests.support import territories as ts
from tests.support.records_api import insert_fast, make_role, make_user, profile_id, root_role
from tests.support.web import browser_client, csrf_of

SETTINGS = "/territories/settings"
RUN = "/territories/run"
KINDS = (runs.RUN_RULES, runs.PREVIEW)
PAIRS = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def user_with_password(app: Secteur, email: str, profile: str = "Standard") -> None:
    user = make_user(app, email, root_role(app), profile)
    with app.write() as tx:
        token = sessions.create_password_link(tx, tx.state.directory.users[user], None)
    with app.write() as tx:
        sessions.use_password_link(tx, token, "user-password-1")


def territory_manager_profile(app: Secteur) -> str:
    """A copy of Standard that may manage territories (not an administrator)."""
    with app.write() as tx:
        new = profiles.clone_profile(
            tx, ts.admin(tx), profile_id(app, "Standard"), {"name": "Territory managers"}
        )
    with app.write() as tx:
        profiles.update_profile(
            tx,
            ts.admin(tx),
            new,
            {"permissions_details": [{"name": "manage_territories", "enabled": True}]},
            None,
        )
    return "Territory managers"


def names_of_tree(app: Secteur) -> dict[str, str | None]:
    """Every territory kept in the database (whether management is on or off): name → parent."""
    with app.read() as tx:
        kept = territory_repo.load_territories(tx.conn)
    by_id = {t.id: t.name for t in kept}
    return {t.name: by_id.get(t.parent_id) if t.parent_id is not None else None for t in kept}


def enabled(app: Secteur) -> bool:
    with app.read() as tx:
        return service.settings(tx).enabled


def post(client: httpx.Client, url: str, page: str, **fields: Any) -> httpx.Response:
    return client.post(url, data={"csrf_token": csrf_of(page), **fields})


def job_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/territories/jobs/(\d+)", response.headers["location"])
    assert found is not None, response.headers["location"]
    return found.group(1)


def paris_with_a_late_rule(app: Secteur) -> tuple[int, list[int]]:
    """Six accounts, then a rule for Paris: only a run gives the three Parisian ones Paris."""
    root = ts.enable(app)
    paris = ts.create(app, "Paris", root)
    ids = insert_fast(
        app,
        "Accounts",
        [
            {"Account_Name": f"Account {i}", "Billing_City": "Paris" if i % 2 else "Lyon"}
            for i in range(6)
        ],
    )
    with app.write() as tx:
        service.update_territory(
            tx,
            ts.admin(tx),
            paris,
            0,
            {"account_rule_criteria": ts.rule("Billing_City", "equal", "Paris")},
        )
    assert all(ts.held(app, i) == {} for i in ids)
    return paris, ids


# --- settings (TER-1 … TER-3) -----------------------------------------------------------------


def test_TER_2_enabling_from_scratch_on_the_settings_page_builds_only_the_root(
    app: Secteur, base_url: str
) -> None:
    with browser_client(base_url) as client:
        page = client.get(SETTINGS)
        assert page.status_code == 200
        assert "Off" in page.text and "Start from scratch" in page.text
        assert "Copy the role hierarchy" in page.text
        response = post(client, SETTINGS, page.text, action="enable", start_from="scratch")
        assert response.status_code == 303
        assert response.headers["location"] == f"{SETTINGS}?saved=enabled"
        after = client.get(response.headers["location"])
        assert "Territory management is on." in after.text
        assert "Turn territory management off" in after.text
    assert enabled(app)
    assert names_of_tree(app) == {"Acme": None}


def test_TER_2_enabling_from_roles_copies_the_role_hierarchy_with_its_members(
    app: Secteur, base_url: str
) -> None:
    sales = make_role(app, "Sales", root_role(app))
    make_role(app, "Sales France", sales)
    with app.read() as tx:
        top_role = tx.state.directory.roles.root
        assert top_role is not None
        top_name = top_role.name
    with browser_client(base_url) as client:
        page = client.get(SETTINGS)
        response = post(client, SETTINGS, page.text, action="enable", start_from="roles")
        assert response.status_code == 303
    assert names_of_tree(app) == {top_name: None, "Sales": top_name, "Sales France": "Sales"}
    with app.read() as tx:
        tree = tx.state.territory.tree
        assert tree is not None and tx.state.territory.settings.start_from == "roles"
        members = territory_repo.member_counts(tx.conn)
    assert members.get(tree.root_id) == 1  # the administrator, in the top role


def test_TER_3_turning_off_and_on_again_on_the_page_keeps_the_tree_members_and_assignments(
    app: Secteur, base_url: str
) -> None:
    root = ts.enable(app)
    paris = ts.create(app, "Paris", root, accounts=ts.rule("Billing_City", "equal", "Paris"))
    (account,) = insert_fast(app, "Accounts", [{"Account_Name": "Louvre", "Billing_City": "Paris"}])
    assert ts.held(app, account) == {paris: False}
    before = names_of_tree(app)
    with browser_client(base_url) as client:
        page = client.get(SETTINGS)
        assert "Nothing is deleted." in page.text
        off = post(client, SETTINGS, page.text, action="disable")
        assert off.headers["location"] == f"{SETTINGS}?saved=disabled"
        assert not enabled(app)
        page = client.get(off.headers["location"])
        assert "Off" in page.text
        # No choice of a starting point any more: the kept tree comes back as it was.
        assert "Start from scratch" not in page.text
        assert "restores them, their rules and every record" in page.text
        assert "2 territories" in page.text
        assert names_of_tree(app) == before and ts.held(app, account) == {paris: False}
        run_page = client.get(RUN)
        assert "Territory management is off" in run_page.text
        assert "Preview changes" not in run_page.text
        on = post(client, SETTINGS, page.text, action="enable", start_from="roles")
        assert on.headers["location"] == f"{SETTINGS}?saved=enabled"
    assert enabled(app)
    assert names_of_tree(app) == before
    assert ts.held(app, account) == {paris: False}
    with app.read() as tx:
        assert tx.state.territory.settings.start_from == "scratch"


def test_TER_8_the_options_and_limits_are_saved_and_a_bad_limit_is_shown_beside_its_field(
    app: Secteur, base_url: str
) -> None:
    ts.enable(app)
    with browser_client(base_url) as client:
        page = client.get(SETTINGS)
        limits = {
            "limit_Accounts": "3",
            "limit_Contacts": "4",
            "limit_Leads": "5",
            "limit_Deals": "1",
            "limit_users_per_territory": "50",
        }
        saved = post(client, SETTINGS, page.text, action="options", deal_rule="1", **limits)
        assert saved.headers["location"] == f"{SETTINGS}?saved=options"
        with app.read() as tx:
            current = service.settings(tx)
        assert current.deal_rule and not current.cascade
        assert current.limits.to_json() == {
            "Accounts": 3,
            "Contacts": 4,
            "Leads": 5,
            "Deals": 1,
            "users_per_territory": 50,
        }
        bad = post(
            client,
            SETTINGS,
            page.text,
            action="options",
            cascade="1",
            **limits | {"limit_Leads": "0"},
        )
        assert bad.status_code == 400
        assert 'id="limit-Leads-error"' in bad.text and 'value="0"' in bad.text
    with app.read() as tx:
        assert service.settings(tx) == current


def test_TER_1_only_administrators_open_or_change_territory_settings(
    app: Secteur, base_url: str
) -> None:
    user_with_password(app, "manager@acme.test", territory_manager_profile(app))
    with browser_client(base_url) as admin:
        token = csrf_of(admin.get(SETTINGS).text)
    with browser_client(base_url, "manager@acme.test", "user-password-1") as client:
        assert client.get(SETTINGS).status_code == 403
        own = csrf_of(client.get("/").text)
        for csrf in (own, token):
            refused = client.post(
                SETTINGS, data={"csrf_token": csrf, "action": "enable", "start_from": "scratch"}
            )
            assert refused.status_code == 403
        # A territory manager may run rules, once an administrator has turned territories on.
        assert client.get(RUN).status_code == 200
    assert not enabled(app) and names_of_tree(app) == {}


def test_people_who_may_not_manage_territories_cannot_run_rules_or_see_runs(
    app: Secteur, base_url: str
) -> None:
    ts.enable(app)
    with app.write() as tx:
        job = runs.schedule(
            tx, ts.admin(tx), {"run_rules": {"module": {"api_name": "Accounts"}}}, preview=True
        )
    user_with_password(app, "rep@acme.test")
    with browser_client(base_url, "rep@acme.test", "user-password-1") as client:
        for url in (RUN, f"/territories/jobs/{job}", f"/territories/jobs/{job}/progress"):
            assert client.get(url).status_code == 403, url
        csrf = csrf_of(client.get("/").text)
        refused = client.post(RUN, data={"csrf_token": csrf, "module": "Accounts", "action": "run"})
        assert refused.status_code == 403
    with app.read() as tx:
        assert [j.id for j in jobs.recent(tx, KINDS)] == [job]


# --- run rules and preview (TER-24 … TER-26) --------------------------------------------------


def test_TER_26_a_preview_shows_progress_then_gains_and_losses_per_territory_with_links(
    app: Secteur, base_url: str
) -> None:
    paris, ids = paris_with_a_late_rule(app)
    with browser_client(base_url) as client:
        form = client.get(RUN)
        assert form.status_code == 200
        assert "Contacts follow their accounts" in form.text
        job = job_of(post(client, RUN, form.text, module="Accounts", scope="all", action="preview"))
        page = client.get(f"/territories/jobs/{job}")
        assert page.status_code == 200 and "Preview of Accounts rules" in page.text
        poll = f'hx-get="/territories/jobs/{job}/progress" hx-trigger="every 1s"'
        assert poll in page.text and "Waiting for a worker" in page.text
        assert poll in client.get(f"/territories/jobs/{job}/progress").text

        assert ts.run_jobs(app) == 1
        done = client.get(f"/territories/jobs/{job}/progress")
        assert done.status_code == 200
        assert "hx-trigger" not in done.text.split('id="job-body"')[1].split(">")[0]
        assert "Completed" in done.text and "6</strong> of 6 records · 100%" in done.text
        assert "Paris" in done.text and "+3" in done.text
        assert "Run these rules now" in done.text
        opener = re.search(r'hx-get="(/territories/jobs/\d+/records\?[^"]+gained)"', done.text)
        assert opener is not None
        records_url = html.unescape(opener.group(1))
        listed = client.get(records_url)
        assert listed.status_code == 200
        links = re.findall(r'<a href="/m/Accounts/(\d+)">([^<]+)</a>', listed.text)
        assert links == [(str(i), f"Account {n}") for n, i in enumerate(ids) if n % 2]
        # A preview changes nothing.
        assert all(ts.held(app, i) == {} for i in ids)

        # "Run these rules now" schedules the same run.
        fields = dict(PAIRS.findall(done.text.split('action="/territories/run"')[1]))
        again = client.post(RUN, data={**fields, "action": "run"})
        run_job = job_of(again)
        assert run_job != job
        running = client.get(f"/territories/jobs/{run_job}")
        assert "Run of Accounts rules" in running.text and "every 1s" in running.text
        assert ts.run_jobs(app) == 1
        finished = client.get(f"/territories/jobs/{run_job}")
        assert "every 1s" not in finished.text
        assert "The run is finished" in finished.text and "Run these rules now" not in finished.text
        listing = client.get(RUN)
        assert f"/territories/jobs/{run_job}" in listing.text
        assert f"/territories/jobs/{job}" in listing.text
        assert "3 gained · 0 lost" in listing.text
    assert [i for i in ids if ts.held(app, i) == {paris: False}] == ids[1::2]


def test_TER_24_a_second_run_while_one_is_queued_is_already_scheduled_and_links_to_it(
    app: Secteur, base_url: str
) -> None:
    ts.enable(app)
    with browser_client(base_url) as client:
        form = client.get(RUN)
        first = job_of(post(client, RUN, form.text, module="Leads", scope="all", action="run"))
        second = post(client, RUN, form.text, module="Accounts", scope="all", action="run")
        assert second.status_code == 409
        assert "ALREADY_SCHEDULED" in second.text
        assert f'href="/territories/jobs/{first}"' in second.text
        # A preview is a job of its own kind: it may start meanwhile.
        job_of(post(client, RUN, form.text, module="Accounts", scope="all", action="preview"))
    with app.read() as tx:
        scheduled = jobs.recent(tx, KINDS)
    assert [j.kind for j in scheduled] == [runs.PREVIEW, runs.RUN_RULES]


def test_TER_24_the_scope_of_a_run_is_checked_by_the_service_and_a_bad_one_schedules_nothing(
    app: Secteur, base_url: str
) -> None:
    root = ts.enable(app)
    paris = ts.create(app, "Paris", root)
    with browser_client(base_url) as client:
        form = client.get(RUN)
        assert f'<option value="{paris}"' in form.text
        for fields, problem in (
            ({"scope": "criteria", "criteria": "{oops"}, "The criteria are not valid JSON"),
            (
                {"scope": "criteria", "criteria": '{"field": {"api_name": "Nope"}}'},
                "Criteria: ",
            ),
            ({"scope": "territories"}, "Choose at least one territory."),
            ({"scope": "territories", "territories": "999"}, "Territories: invalid territory id"),
        ):
            refused = post(client, RUN, form.text, module="Accounts", action="preview", **fields)
            assert refused.status_code == 400, fields
            assert problem in html.unescape(refused.text), (fields, refused.text)
        with app.read() as tx:
            assert jobs.recent(tx, KINDS) == []
        criteria = (
            '{"field": {"api_name": "Billing_City"}, "comparator": "equal", "value": "Paris"}'
        )
        by_criteria = job_of(
            post(
                client,
                RUN,
                form.text,
                module="Accounts",
                scope="criteria",
                criteria=criteria,
                action="preview",
            )
        )
        by_territory = job_of(
            post(
                client,
                RUN,
                form.text,
                module="Deals",
                scope="territories",
                territories=str(paris),
                include_child="1",
                action="run",
            )
        )
        assert "Records matching criteria" in client.get(f"/territories/jobs/{by_criteria}").text
        assert "In Paris and below" in client.get(f"/territories/jobs/{by_territory}").text
    with app.read() as tx:
        payloads = {str(j.id): dict(j.payload) for j in jobs.recent(tx, KINDS)}
    assert payloads[by_criteria]["criteria"]["value"] == "Paris"
    assert payloads[by_criteria]["record_ids"] is True
    assert payloads[by_territory] == {
        "module": "Deals",
        "based_on": "territories",
        "criteria": None,
        "territories": [str(paris)],
        "include_child": True,
        "record_ids": False,
    }


def test_a_failed_job_shows_its_error_and_changed_nothing(app: Secteur, base_url: str) -> None:
    ts.enable(app)
    with browser_client(base_url) as client:
        form = client.get(RUN)
        job = job_of(post(client, RUN, form.text, module="Accounts", scope="all", action="run"))
        with app.write() as tx:
            service.update_settings(tx, ts.admin(tx), {"enabled": False})
        ts.run_jobs(app)
        page = client.get(f"/territories/jobs/{job}")
        assert page.status_code == 200
        assert "Failed" in page.text and "The job failed." in page.text
        assert "territory management was turned off before the job ran" in page.text
        assert "every 1s" not in page.text
        assert client.get("/territories/jobs/12345").status_code == 404
        assert client.get("/territories/jobs/nope").status_code == 404


def test_forms_without_the_csrf_token_change_nothing(app: Secteur, base_url: str) -> None:
    with browser_client(base_url) as client:
        for data in ({"action": "enable"}, {"action": "enable", "csrf_token": "forged"}):
            refused = client.post(SETTINGS, data=data)
            assert refused.status_code == 403 and "This form has expired" in refused.text
        assert not enabled(app) and names_of_tree(app) == {}
        ts.enable(app)
        for data in (
            {"module": "Accounts", "action": "run"},
            {"module": "Accounts", "action": "preview", "csrf_token": "forged"},
        ):
            assert client.post(RUN, data=data).status_code == 403
        assert client.post(SETTINGS, data={"action": "disable"}).status_code == 403
    assert enabled(app)
    with app.read() as tx:
        assert jobs.recent(tx, KINDS) == []
