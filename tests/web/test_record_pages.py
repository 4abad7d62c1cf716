"""Module pages over HTTP: lists, filters, forms and visibility through the same services as
the API — a page never shows or accepts what the API would not."""

from __future__ import annotations

import html
import re

import httpx

from secteur.services import sessions
from secteur.services.app import Secteur
from tests.support.records_api import (
    assert_zoho_error,
    audit_events,
    create,
    make_role,
    make_user,
    root_role,
    snapshot,
)
from tests.support.web import browser_client, csrf_of


def rep_with_password(app: Secteur, email: str, role: int) -> None:
    rep = make_user(app, email, role)
    with app.write() as tx:
        token = sessions.create_password_link(tx, tx.state.directory.users[rep], None)
    with app.write() as tx:
        sessions.use_password_link(tx, token, "rep-password-1")


def record_ids(html: str, module: str) -> set[str]:
    return set(re.findall(rf'href="/m/{module}/(\d+)" class="record-link"', html))


def test_every_page_carries_a_strict_content_security_policy(base_url: str) -> None:
    with browser_client(base_url) as client, httpx.Client(base_url=base_url) as anonymous:
        for response in (client.get("/"), client.get("/m/Accounts"), anonymous.get("/login")):
            policy = response.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
            assert response.headers["x-frame-options"] == "DENY"


def test_an_unknown_page_is_an_html_404_and_an_unknown_api_path_stays_zoho_json(
    base_url: str, api: httpx.Client
) -> None:
    with browser_client(base_url) as client:
        page = client.get("/no/such/page")
        assert page.status_code == 404 and "text/html" in page.headers["content-type"]
        assert "Not found" in page.text
        record = client.get("/m/Accounts/123456789")
        assert record.status_code == 404 and "text/html" in record.headers["content-type"]
        module = client.get("/m/Nope")
        assert module.status_code == 404
    assert_zoho_error(api.get("/crm/v8/no-such-thing/1/2/3/4"), 404, "INVALID_URL_PATTERN")


def test_lists_and_record_pages_show_only_what_the_api_shows_the_same_user(
    app: Secteur, api: httpx.Client, base_url: str
) -> None:
    boss_role = make_role(app, "Boss", root_role(app))
    rep_role = make_role(app, "Rep", boss_role)
    rep_with_password(app, "rep@acme.test", rep_role)
    rep_id = str(api.get("/crm/v8/users", params={"type": "AllUsers"}).json()["users"][-1]["id"])
    mine = create(api, "Accounts", {"Account_Name": "Rep's own", "Owner": {"id": rep_id}})[0]
    hidden = create(api, "Accounts", {"Account_Name": "Admin's secret"})[0]
    with browser_client(base_url, "rep@acme.test", "rep-password-1") as client:
        listing = client.get("/m/Accounts")
        assert record_ids(listing.text, "Accounts") == {mine}
        assert "Admin&#39;s secret" not in listing.text and "Admin's secret" not in listing.text
        assert client.get(f"/m/Accounts/{hidden}").status_code == 404
        assert client.get(f"/m/Accounts/{hidden}/edit").status_code == 404
        assert client.get(f"/m/Accounts/{mine}").status_code == 200
        options = client.get("/m/Accounts/lookup", params={"q": "s"})
        assert "Rep&#39;s own" in options.text and "secret" not in options.text
        count = client.get(
            "/m/Accounts/count", params={"f0": "Account_Name", "o0": "contains", "v0": "s"}
        )
        assert 'data-count="1"' in count.text


def test_the_filter_builder_counts_and_lists_the_matching_records(
    api: httpx.Client, base_url: str
) -> None:
    create(
        api,
        "Accounts",
        {"Account_Name": "Paris SA", "Billing_Country": "France", "Annual_Revenue": 5_000_000},
        {"Account_Name": "Lyon SARL", "Billing_Country": "France", "Annual_Revenue": 200_000},
        {"Account_Name": "Berlin GmbH", "Billing_Country": "Germany", "Annual_Revenue": 9_000_000},
    )
    query = {
        "f0": "Billing_Country",
        "o0": "is",
        "v0": "france",
        "f1": "Annual_Revenue",
        "o1": "gt",
        "v1": "1000000",
        "match": "all",
    }
    with browser_client(base_url) as client:
        count = client.get("/m/Accounts/count", params=query)
        assert 'data-count="1"' in count.text
        listing = client.get("/m/Accounts", params=query)
        assert "Paris SA" in listing.text and "Lyon SARL" not in listing.text
        assert "Berlin GmbH" not in listing.text
        assert '"group_operator": "AND"' in html.unescape(listing.text), "the tree is shown"
        either = client.get("/m/Accounts/count", params={**query, "match": "any"})
        assert 'data-count="3"' in either.text
        wrong = client.get("/m/Accounts", params={**query, "v1": "lots"})
        assert "Annual Revenue: “lots” is not a number" in wrong.text


def test_lists_sort_and_page(api: httpx.Client, base_url: str) -> None:
    create(api, "Accounts", *({"Account_Name": f"Account {i:02d}"} for i in range(30)))
    with browser_client(base_url) as client:
        first = client.get("/m/Accounts", params={"sort": "Account_Name", "order": "desc"})
        names = re.findall(r'class="record-link">(Account \d\d)<', first.text)
        assert names[:3] == ["Account 29", "Account 28", "Account 27"] and len(names) == 25
        assert "Page 1 of 2" in first.text
        second = client.get(
            "/m/Accounts", params={"sort": "Account_Name", "order": "desc", "page": "2"}
        )
        assert re.findall(r'class="record-link">(Account \d\d)<', second.text) == [
            f"Account {i:02d}" for i in range(4, -1, -1)
        ]
        chosen = client.get("/m/Accounts", params={"cols": "Account_Name,Phone"})
        head = chosen.text.split("<thead>")[1].split("</thead>")[0]
        assert "Phone" in head and "Billing City" not in head


def test_a_form_with_an_invalid_value_shows_the_apis_message_and_creates_nothing(
    app: Secteur, base_url: str
) -> None:
    with browser_client(base_url) as client:
        form = client.get("/m/Accounts/new")
        before = snapshot(app)
        response = client.post(
            "/m/Accounts/new",
            data={
                "csrf_token": csrf_of(form.text),
                "Account_Name": "Acme",
                "Annual_Revenue": "a lot",
            },
        )
        assert response.status_code == 400
        assert "invalid data — expected an amount such as 1250.50" in response.text
        assert 'value="a lot"' in response.text, "what was typed is kept"
        assert snapshot(app) == before
        missing = client.post(
            "/m/Accounts/new", data={"csrf_token": csrf_of(form.text), "Account_Name": ""}
        )
        assert missing.status_code == 400
        assert "required field not found" in missing.text


def test_create_edit_and_delete_write_the_timeline(
    app: Secteur, base_url: str, api: httpx.Client
) -> None:
    with browser_client(base_url) as client:
        form = client.get("/m/Accounts/new")
        created = client.post(
            "/m/Accounts/new",
            data={"csrf_token": csrf_of(form.text), "Account_Name": "Acme", "Phone": "+33 1"},
        )
        assert created.status_code == 303
        record_id = created.headers["location"].split("/")[3].split("?")[0]
        edit = client.get(f"/m/Accounts/{record_id}/edit")
        updated = client.post(
            f"/m/Accounts/{record_id}/edit",
            data={
                "csrf_token": csrf_of(edit.text),
                "version": "1",
                "Account_Name": "Acme Corp",
                "Phone": "+33 1",
            },
        )
        assert updated.status_code == 303
        page = client.get(f"/m/Accounts/{record_id}")
        assert "Acme Corp" in page.text
        assert "<del>Acme</del> → <ins>Acme Corp</ins>" in page.text
        assert [e["source"] for e in audit_events(app, "Accounts", record_id)] == ["web", "web"]
        confirm = client.get(f"/m/Accounts/{record_id}/delete")
        deleted = client.post(
            f"/m/Accounts/{record_id}/delete",
            data={"csrf_token": csrf_of(confirm.text), "version": "2"},
        )
        assert deleted.status_code == 303
    assert api.get(f"/crm/v8/Accounts/{record_id}").status_code != 200
    binned = api.get("/crm/v8/Accounts/deleted", params={"type": "recycle"}).json()["data"]
    assert [r["id"] for r in binned] == [record_id]


def test_an_edit_over_a_newer_version_is_refused_and_says_why(
    app: Secteur, base_url: str, api: httpx.Client
) -> None:
    record_id = create(api, "Accounts", {"Account_Name": "Acme"})[0]
    with browser_client(base_url) as client:
        edit = client.get(f"/m/Accounts/{record_id}/edit")
        api.put(f"/crm/v8/Accounts/{record_id}", json={"data": [{"Phone": "123"}]})
        before = snapshot(app)
        stale = client.post(
            f"/m/Accounts/{record_id}/edit",
            data={"csrf_token": csrf_of(edit.text), "version": "1", "Account_Name": "Mine"},
        )
        assert stale.status_code == 409
        assert "someone else changed this record" in stale.text
        assert snapshot(app) == before


def test_a_form_posted_without_the_sessions_csrf_token_changes_nothing(
    app: Secteur, base_url: str
) -> None:
    with browser_client(base_url) as client:
        before = snapshot(app)
        forged = client.post("/m/Accounts/new", data={"Account_Name": "Forged"})
        assert forged.status_code == 403 and "This form has expired" in forged.text
        other = client.post(
            "/m/Accounts/new", data={"Account_Name": "Forged", "csrf_token": "guess"}
        )
        assert other.status_code == 403
        assert snapshot(app) == before


def test_a_record_page_shows_related_lists_with_counts_and_a_new_child_is_prefilled(
    api: httpx.Client, base_url: str
) -> None:
    account = create(api, "Accounts", {"Account_Name": "Acme"})[0]
    create(
        api,
        "Contacts",
        *({"Last_Name": f"Person {i}", "Account_Name": {"id": account}} for i in range(12)),
    )
    with browser_client(base_url) as client:
        page = client.get(f"/m/Accounts/{account}")
        assert 'id="related-Contacts"' in page.text
        assert '<span class="count-badge">12</span>' in page.text
        assert f"/m/Contacts/new?Account_Name={account}" in page.text
        new_contact = client.get("/m/Contacts/new", params={"Account_Name": account})
        assert 'value="Acme"' in new_contact.text


def test_home_shows_the_users_open_deals_and_recent_activity(
    api: httpx.Client, base_url: str
) -> None:
    create(
        api,
        "Deals",
        {"Deal_Name": "Big one", "Stage": "Qualification", "Closing_Date": "2026-12-01"},
        {"Deal_Name": "Won one", "Stage": "Closed Won", "Closing_Date": "2026-12-01"},
    )
    with browser_client(base_url) as client:
        home = client.get("/")
    open_deals = home.text.split("My open deals")[1].split("Recent activity")[0]
    assert "Big one" in open_deals and "Won one" not in open_deals
    assert "created deal Big one" in " ".join(re.sub("<[^>]+>", " ", home.text).split())
