"""Territory screens over HTTP (issue 5): the tree, a territory's panel, the rule editor with
live counts, a record's territories with "why?", and the list's territory filter."""

from __future__ import annotations

import html
import re

import httpx

from secteur.services.app import Secteur
from tests.support.records_api import make_user, root_role, snapshot
from tests.support.territories import create, enable, held, insert, rule
from tests.support.web import browser_client, csrf_of


def text(response: httpx.Response) -> str:
    """The page's text, tags removed and spaces collapsed, for sentence checks."""
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())
    return words.replace(" :", ":")


def europe_tree(app: Secteur) -> dict[str, int]:
    root = enable(app)
    europe = create(
        app, "Europe", root, accounts=rule("Billing_Country", "in", ["France", "Spain"])
    )
    france = create(app, "France", europe, accounts=rule("Billing_Country", "equal", "France"))
    spain = create(app, "Spain", europe, accounts=rule("Billing_Country", "equal", "Spain"))
    america = create(
        app, "North America", root, accounts=rule("Billing_Country", "equal", "United States")
    )
    return {"root": root, "europe": europe, "france": france, "spain": spain, "america": america}


def test_the_tree_shows_the_path_to_the_chosen_territory_and_loads_other_levels_on_demand(
    app: Secteur, base_url: str
) -> None:
    ids = europe_tree(app)
    insert(
        app,
        "Accounts",
        [
            {"Account_Name": "Paris SA", "Billing_Country": "France"},
            {"Account_Name": "Lyon SA", "Billing_Country": "France"},
            {"Account_Name": "Madrid SL", "Billing_Country": "Spain"},
        ],
    )
    with browser_client(base_url) as client:
        page = client.get("/territories", params={"t": ids["france"]})
        assert page.status_code == 200
        assert f'id="node-{ids["france"]}"' in page.text, "the chosen territory is shown"
        assert 'class="tnode selected"' in page.text
        # France holds 2 accounts; Europe's branch holds 3 assignments.
        france = page.text.split(f'id="node-{ids["france"]}"')[1]
        assert re.search(r'class="tcount"[^>]*>2<span class="sub"> / 2</span>', france)
        europe = page.text.split(f'id="node-{ids["europe"]}"')[1]
        assert re.search(r'class="tcount"[^>]*>0<span class="sub"> / 3</span>', europe)
        assert "Billing Country is France" in text(page)
        level = client.get(f"/territories/{ids['europe']}/children")
        assert [int(i) for i in re.findall(r'data-id="(\d+)"', level.text)] == [
            ids["france"],
            ids["spain"],
        ]


def test_search_finds_territories_by_name_with_their_path(app: Secteur, base_url: str) -> None:
    europe_tree(app)
    with browser_client(base_url) as client:
        found = client.get("/territories/search", params={"q": "spa"})
    assert "Spain" in found.text and "Europe" in found.text and "France" not in found.text


def test_create_rename_move_and_delete_with_transfer_from_the_territory_panel(
    app: Secteur, base_url: str
) -> None:
    ids = europe_tree(app)
    with browser_client(base_url) as client:
        page = client.get("/territories", params={"t": ids["europe"]})
        csrf = csrf_of(page.text)
        created = client.post(
            f"/territories/{ids['europe']}/children", data={"csrf_token": csrf, "name": "Iberia"}
        )
        assert created.status_code == 303
        iberia = int(created.headers["location"].split("t=")[1].split("&")[0])
        moved = client.post(
            f"/territories/{ids['spain']}/move",
            data={"csrf_token": csrf, "parent": str(iberia)},
        )
        assert moved.status_code == 303
        renamed = client.post(
            f"/territories/{iberia}/edit",
            data={
                "csrf_token": csrf,
                "name": "Iberian Peninsula",
                "description": "Spain and Portugal",
                "manager": "",
                "permission_type": "read_only",
            },
        )
        assert renamed.status_code == 303
        page = client.get("/territories", params={"t": ids["spain"]})
        assert "Europe › Iberian Peninsula › Spain" in text(page).replace(" › ", " › ")
        refused = client.post(
            f"/territories/{iberia}/delete", data={"csrf_token": csrf, "transfer_to": ""}
        )
        assert refused.status_code == 400
        assert "sub-territories: give transfer_to_id" in refused.text
        deleted = client.post(
            f"/territories/{iberia}/delete",
            data={"csrf_token": csrf, "transfer_to": str(ids["europe"])},
        )
        assert deleted.status_code == 303
        after = client.get(f"/territories/{ids['europe']}/children")
    assert "Iberian Peninsula" not in after.text and "Spain" in after.text


def test_TER_4_a_move_under_its_own_descendant_is_refused_and_changes_nothing(
    app: Secteur, base_url: str
) -> None:
    ids = europe_tree(app)
    with browser_client(base_url) as client:
        page = client.get("/territories", params={"t": ids["europe"]})
        before = snapshot(app)
        cycle = client.post(
            f"/territories/{ids['europe']}/move",
            data={"csrf_token": csrf_of(page.text), "parent": str(ids["france"])},
        )
        assert cycle.status_code == 400
        assert 'role="alert"' in cycle.text
        assert snapshot(app) == before


def test_members_are_added_and_removed_from_the_panel(app: Secteur, base_url: str) -> None:
    ids = europe_tree(app)
    rep = make_user(app, "rep@acme.test", root_role(app))
    with browser_client(base_url) as client:
        page = client.get("/territories", params={"t": ids["france"]})
        csrf = csrf_of(page.text)
        added = client.post(
            f"/territories/{ids['france']}/members", data={"csrf_token": csrf, "user": str(rep)}
        )
        assert added.status_code == 303
        page = client.get("/territories", params={"t": ids["france"]})
        assert "Members 1" in text(page) and "Rep" in page.text
        twice = client.post(
            f"/territories/{ids['france']}/members", data={"csrf_token": csrf, "user": str(rep)}
        )
        assert twice.status_code == 400 and "already a member" in twice.text
        removed = client.post(
            f"/territories/{ids['france']}/members/{rep}/remove", data={"csrf_token": csrf}
        )
        assert removed.status_code == 303
        assert "Members 0" in text(client.get("/territories", params={"t": ids["france"]}))


def test_the_rule_editor_counts_matches_among_the_records_reaching_the_territory(
    app: Secteur, base_url: str
) -> None:
    ids = europe_tree(app)
    insert(
        app,
        "Accounts",
        [
            {"Account_Name": "Paris SA", "Billing_Country": "France", "Billing_City": "Paris"},
            {"Account_Name": "Lyon SA", "Billing_Country": "France", "Billing_City": "Lyon"},
            {"Account_Name": "Madrid SL", "Billing_Country": "Spain", "Billing_City": "Paris"},
            {"Account_Name": "Austin Inc", "Billing_Country": "United States"},
        ],
    )
    with browser_client(base_url) as client:
        editor = client.get(f"/territories/{ids['france']}/rules/Accounts")
        assert editor.status_code == 200
        # France's parent (Europe) lets 3 of the 4 accounts through; France's rule takes 2.
        assert 'data-reaching="3" data-matching="2"' in editor.text
        city = {"f0": "Billing_City", "o0": "is", "v0": "Paris"}
        live = client.get(f"/territories/{ids['france']}/rules/Accounts/reach", params=city)
        assert 'data-reaching="3" data-matching="2"' in live.text, "Madrid SL is in Paris too"
        assert "Paris SA" in live.text and "Madrid SL" in live.text
        nothing = client.get(
            f"/territories/{ids['france']}/rules/Accounts/reach",
            params={"f0": "Billing_City", "o0": "is", "v0": "Berlin"},
        )
        assert 'data-matching="0"' in nothing.text and "matches no account" in nothing.text
        everything = client.get(
            f"/territories/{ids['france']}/rules/Accounts/reach",
            params={"f0": "Account_Name", "o0": "not_empty"},
        )
        assert "matches every account" in everything.text


def test_a_rule_saved_in_the_editor_is_the_territorys_rule(app: Secteur, base_url: str) -> None:
    ids = europe_tree(app)
    with browser_client(base_url) as client:
        editor = client.get(f"/territories/{ids['france']}/rules/Accounts")
        saved = client.post(
            f"/territories/{ids['france']}/rules/Accounts",
            data={
                "csrf_token": csrf_of(editor.text),
                "mode": "rows",
                "match": "all",
                "f0": "Billing_Country",
                "o0": "is",
                "v0": "France",
                "f1": "Annual_Revenue",
                "o1": "ge",
                "v1": "1000000",
            },
        )
        assert saved.status_code == 303
        page = client.get(f"/territories/{ids['france']}/rules/Accounts")
        assert "Now: Billing Country is France and Annual Revenue is at least 1,000,000" in text(
            page
        )
        bad = client.post(
            f"/territories/{ids['france']}/rules/Accounts",
            data={
                "csrf_token": csrf_of(editor.text),
                "mode": "json",
                "criteria_json": '{"field": {"api_name": "Nope"}, "comparator": "equal", '
                '"value": "x"}',
            },
        )
        assert bad.status_code == 400 and "The rule was not saved" in bad.text
        assert "Nope" in bad.text, "what was typed is kept"
    insert(app, "Accounts", [{"Account_Name": "Small", "Billing_Country": "France"}])
    big = insert(
        app,
        "Accounts",
        [{"Account_Name": "Big", "Billing_Country": "France", "Annual_Revenue": 5_000_000}],
    )[0]
    assert held(app, big) == {ids["france"]: False}


def test_a_record_page_explains_its_territories_in_words(app: Secteur, base_url: str) -> None:
    ids = europe_tree(app)
    account = insert(app, "Accounts", [{"Account_Name": "Paris SA", "Billing_Country": "France"}])
    with browser_client(base_url) as client:
        page = client.get(f"/m/Accounts/{account[0]}")
    words = text(page)
    assert "France automatic" in words
    assert "✔ Europe: matches, and a deeper territory matched too" in words
    assert "✔ France: matches — assigned" in words
    assert "✘ Spain: does not match" in words
    assert "✘ Billing Country is Spain (this record: France)" in words
    assert "✘ North America: does not match" in words
    assert ids["france"] in held(app, account[0])


def test_TER_20_a_manual_territory_is_added_and_removed_on_the_record_page(
    app: Secteur, base_url: str
) -> None:
    ids = europe_tree(app)
    account = insert(app, "Accounts", [{"Account_Name": "Paris SA", "Billing_Country": "France"}])[
        0
    ]
    with browser_client(base_url) as client:
        page = client.get(f"/m/Accounts/{account}")
        csrf = csrf_of(page.text)
        added = client.post(
            f"/m/Accounts/{account}/territories/add",
            data={"csrf_token": csrf, "territory": str(ids["america"])},
        )
        assert added.status_code == 303
        assert held(app, account) == {ids["france"]: False, ids["america"]: True}
        page = client.get(f"/m/Accounts/{account}")
        assert "North America manual by Ada Admin" in text(page)
        automatic = client.post(
            f"/m/Accounts/{account}/territories/remove",
            data={"csrf_token": csrf, "territory": str(ids["france"])},
        )
        assert (
            "system+assigned" in automatic.headers["location"]
            or "system%20assigned" in (automatic.headers["location"])
        )
        assert held(app, account) == {ids["france"]: False, ids["america"]: True}
        removed = client.post(
            f"/m/Accounts/{account}/territories/remove",
            data={"csrf_token": csrf, "territory": str(ids["america"])},
        )
        assert removed.status_code == 303
    assert held(app, account) == {ids["france"]: False}


def test_TER_30_a_list_filters_by_territory_with_or_without_sub_territories(
    app: Secteur, base_url: str
) -> None:
    ids = europe_tree(app)
    insert(
        app,
        "Accounts",
        [
            {"Account_Name": "Paris SA", "Billing_Country": "France"},
            {"Account_Name": "Madrid SL", "Billing_Country": "Spain"},
            {"Account_Name": "Austin Inc", "Billing_Country": "United States"},
        ],
    )
    with browser_client(base_url) as client:
        only = client.get("/m/Accounts", params={"territory": ids["europe"]})
        below = client.get("/m/Accounts", params={"territory": ids["europe"], "children": "1"})
        france = client.get("/m/Accounts/count", params={"territory": ids["france"]})
    assert "No accounts match this filter" in text(only)
    assert "Paris SA" in below.text and "Madrid SL" in below.text
    assert "Austin Inc" not in below.text
    assert "in Europe and below" in text(below)
    assert 'data-count="1"' in france.text


def test_a_user_without_territory_management_sees_the_tree_but_cannot_change_it(
    app: Secteur, base_url: str
) -> None:
    from secteur.services import sessions

    ids = europe_tree(app)
    rep = make_user(app, "rep@acme.test", root_role(app))
    with app.write() as tx:
        token = sessions.create_password_link(tx, tx.state.directory.users[rep], None)
    with app.write() as tx:
        sessions.use_password_link(tx, token, "rep-password-1")
    with browser_client(base_url, "rep@acme.test", "rep-password-1") as client:
        page = client.get("/territories", params={"t": ids["france"]})
        assert page.status_code == 200 and "Edit this territory" not in page.text
        refused = client.post(
            f"/territories/{ids['france']}/edit",
            data={"csrf_token": csrf_of(page.text), "name": "Mine"},
        )
    assert refused.status_code == 403
