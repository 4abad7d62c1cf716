"""Settings pages (issue 4) driven as a browser would: users and set-password links, custom fields
and picklist values, the role tree, profile permissions — each checked through the API too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from secteur.services import sessions
from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.support.web import browser_client, csrf_of, sign_in

USERS = "/crm/v8/users"
ROLES = "/crm/v8/settings/roles"
PROFILES = "/crm/v8/settings/profiles"
FIELDS = "/crm/v8/settings/fields"
NEW_PASSWORD = "a-brand-new-password"

_LINK = re.compile(r'id="password-link" type="text" value="([^"]+)"')
_LOCATION_ID = re.compile(r"/(\d+)(?:\?|$)")


# --- helpers ----------------------------------------------------------------------------------


def submit(
    client: httpx.Client, path: str, data: dict[str, Any], form_page: str | None = None
) -> httpx.Response:
    """Post a form the way the browser does: with the CSRF token of the page it came from."""
    page = client.get(form_page or path)
    assert page.status_code == 200, page.text
    return client.post(path, data={**data, "csrf_token": csrf_of(page.text)})


def post_pairs(client: httpx.Client, path: str, pairs: list[tuple[str, str]]) -> httpx.Response:
    """Post a form whose names repeat, in order (as a browser sends rows of inputs)."""
    return client.post(
        path,
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def link_of(html: str) -> str:
    found = _LINK.search(html)
    assert found is not None, "the page shows no set-password link"
    return unescape(found.group(1))


def token_of(link: str) -> str:
    return link.split("token=", 1)[1]


def role_id(api: httpx.Client, name: str) -> str:
    roles = api.get(ROLES).json()["roles"]
    return str(next(r["id"] for r in roles if r["name"] == name))


def root_role(api: httpx.Client) -> dict[str, Any]:
    roles: list[dict[str, Any]] = api.get(ROLES).json()["roles"]
    return next(r for r in roles if r["reporting_to"] is None)


def profile_id(api: httpx.Client, name: str) -> str:
    profiles = api.get(PROFILES).json()["profiles"]
    return str(next(p["id"] for p in profiles if p["name"] == name))


def api_user(
    api: httpx.Client, email: str, *, profile: str = "Standard", role: str | None = None
) -> str:
    response = api.post(
        USERS,
        json={
            "users": [
                {
                    "first_name": "Pat",
                    "last_name": "Api",
                    "email": email,
                    "role": {"id": role or root_role(api)["id"]},
                    "profile": {"id": profile_id(api, profile)},
                }
            ]
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["users"][0]["details"]["id"])


def api_user_details(api: httpx.Client, user_id: str) -> dict[str, Any]:
    user: dict[str, Any] = api.get(f"{USERS}/{user_id}").json()["users"][0]
    return user


def field(api: httpx.Client, module: str, api_name: str) -> dict[str, Any]:
    fields = api.get(FIELDS, params={"module": module}).json()["fields"]
    found: dict[str, Any] = next(f for f in fields if f["api_name"] == api_name)
    return found


def values_of(api: httpx.Client, module: str, api_name: str) -> list[str]:
    return [v["actual_value"] for v in field(api, module, api_name)["pick_list_values"]]


@contextmanager
def set_password_with(link: str, base_url: str) -> Iterator[httpx.Client]:
    """Open the link in a fresh browser and set the password: that browser is signed in."""
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        opened = browser.get(link)
        assert opened.status_code == 200, opened.text
        done = browser.post(
            "/set-password",
            data={"token": token_of(link), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert done.status_code == 303 and done.headers["location"] == "/"
        yield browser


@contextmanager
def signed_in_as(app: Secteur, base_url: str, user_id: str) -> Iterator[httpx.Client]:
    """A browser signed in as a user (given a password through a link made by the service)."""
    with app.write() as tx:
        user = tx.state.directory.users[int(user_id)]
        token = sessions.create_password_link(tx, user, None)
    with set_password_with(f"{base_url}/set-password?token={token}", base_url) as browser:
        yield browser


class RoleTreeParser(HTMLParser):
    """Each role node of the tree page and the role whose branch it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.parent: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.stack.append(None)
        node_id = dict(attrs).get("id") or ""
        if tag == "div" and node_id.startswith("role-") and self.stack:
            above = [r for r in self.stack[:-1] if r is not None]
            self.parent[node_id.removeprefix("role-")] = above[-1] if above else None
            self.stack[-1] = node_id.removeprefix("role-")

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self.stack:
            self.stack.pop()


def tree_parents(html: str) -> dict[str, str | None]:
    parser = RoleTreeParser()
    parser.feed(html)
    return parser.parent


# --- users and set-password links ----------------------------------------------------------------


def test_a_user_created_on_the_users_page_gets_a_one_time_link_that_sets_their_password(
    api: httpx.Client, base_url: str
) -> None:
    with browser_client(base_url) as admin:
        created = submit(
            admin,
            "/settings/users/new",
            {
                "first_name": "Nina",
                "last_name": "New",
                "email": "nina@acme.test",
                "role": root_role(api)["id"],
                "profile": profile_id(api, "Standard"),
            },
        )
        assert created.status_code == 200, created.text
        assert "72 hours" in created.text and "once" in created.text
        link = link_of(created.text)
        assert link.startswith(f"{base_url}/set-password?token=")
        listed = admin.get("/settings/users").text
        assert "nina@acme.test" in listed

    with set_password_with(link, base_url) as nina:
        home = nina.get("/")
        assert home.status_code == 200 and "Nina New" in home.text

    with httpx.Client(base_url=base_url, timeout=30) as again:
        assert sign_in(again, "nina@acme.test", NEW_PASSWORD).status_code == 303
        assert again.get(link).status_code == 410
        reused = again.post(
            "/set-password",
            data={
                "token": token_of(link),
                "password": "another-password",
                "confirm": "another-password",
            },
        )
        assert reused.status_code == 410
    with httpx.Client(base_url=base_url, timeout=30) as other:
        assert sign_in(other, "nina@acme.test", "another-password").status_code == 401


def test_the_new_user_form_shows_the_services_refusals_beside_the_fields(
    api: httpx.Client, base_url: str
) -> None:
    with browser_client(base_url) as admin:
        form = {
            "first_name": "Dup",
            "last_name": "",
            "email": "admin@acme.test",
            "role": root_role(api)["id"],
            "profile": profile_id(api, "Standard"),
        }
        missing = submit(admin, "/settings/users/new", form)
        assert missing.status_code == 400
        assert 'id="user-last_name-error">Required.' in missing.text
        duplicate = submit(admin, "/settings/users/new", {**form, "last_name": "Dup"})
        assert duplicate.status_code == 400
        assert 'id="user-email-error">Already in use' in duplicate.text
        assert 'value="Dup"' in duplicate.text  # what was typed stays
    assert len(api.get(USERS).json()["users"]) == 1


def test_a_user_created_through_the_api_gets_a_set_password_link_from_their_page(
    api: httpx.Client, base_url: str
) -> None:
    user_id = api_user(api, "pat@acme.test")
    with browser_client(base_url) as admin:
        listed = admin.get("/settings/users").text
        row = listed[listed.index("pat@acme.test") :].split("</tr>", 1)[0]
        assert "Not set" in row
        made = submit(
            admin,
            f"/settings/users/{user_id}/password-link",
            {},
            form_page=f"/settings/users/{user_id}",
        )
        assert made.status_code == 200
        link = link_of(made.text)
    with set_password_with(link, base_url) as pat:
        assert "Pat Api" in pat.get("/").text
    with browser_client(base_url) as admin:
        row = admin.get("/settings/users").text.split("pat@acme.test", 1)[1].split("</tr>", 1)[0]
        assert "Set" in row and "Not set" not in row


def test_editing_a_user_changes_their_role_and_profile_and_can_deactivate_them(
    api: httpx.Client, base_url: str
) -> None:
    manager = api.post(
        ROLES, json={"roles": [{"name": "Manager", "reporting_to": {"id": root_role(api)["id"]}}]}
    ).json()["roles"][0]["details"]["id"]
    user_id = api_user(api, "eve@acme.test")
    with browser_client(base_url) as admin:
        saved = submit(
            admin,
            f"/settings/users/{user_id}",
            {
                "first_name": "Eve",
                "last_name": "Edited",
                "email": "eve@acme.test",
                "role": manager,
                "profile": profile_id(api, "Standard"),
                "status": "inactive",
            },
        )
        assert saved.status_code == 303
    user = api_user_details(api, user_id)
    assert user["last_name"] == "Edited" and user["role"]["id"] == str(manager)
    assert user["status"] == "inactive"


# --- administrators only, CSRF ------------------------------------------------------------------


SETTINGS_PAGES = (
    "/settings",
    "/settings/users",
    "/settings/users/new",
    "/settings/fields",
    "/settings/fields/Accounts",
    "/settings/fields/Accounts/new",
    "/settings/roles",
    "/settings/roles/new",
    "/settings/profiles",
)


def test_someone_who_is_not_an_administrator_gets_403_on_every_settings_page(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    user_id = api_user(api, "rep@acme.test")
    admin_role = root_role(api)["id"]
    admin_profile = profile_id(api, "Administrator")
    field_id = field(api, "Accounts", "Industry")["id"]
    pages = [
        *SETTINGS_PAGES,
        f"/settings/users/{user_id}",
        f"/settings/fields/Accounts/{field_id}",
        f"/settings/roles/{admin_role}",
        f"/settings/roles/{admin_role}/delete",
        f"/settings/profiles/{admin_profile}",
        f"/settings/profiles/{admin_profile}/clone",
    ]
    with signed_in_as(app, base_url, user_id) as rep:
        home = rep.get("/")
        assert 'href="/settings"' not in home.text
        for path in pages:
            assert rep.get(path).status_code == 403, path
        csrf = csrf_of(home.text)
        forged = rep.post(
            "/settings/users/new",
            data={
                "csrf_token": csrf,
                "last_name": "Sneaky",
                "email": "sneaky@acme.test",
                "role": admin_role,
                "profile": admin_profile,
            },
        )
        assert forged.status_code == 403
        assert (
            rep.post(
                f"/settings/users/{user_id}/password-link", data={"csrf_token": csrf}
            ).status_code
            == 403
        )
    assert "sneaky@acme.test" not in api.get(USERS).text


def test_a_settings_form_posted_without_its_csrf_token_changes_nothing(
    api: httpx.Client, base_url: str
) -> None:
    root = root_role(api)["id"]
    with browser_client(base_url) as admin:
        posts = {
            "/settings/users/new": {
                "last_name": "Forged",
                "email": "forged@acme.test",
                "role": root,
                "profile": profile_id(api, "Standard"),
            },
            "/settings/roles/new": {"name": "Forged role", "reporting_to": root},
            "/settings/fields/Accounts/new": {"field_label": "Forged", "data_type": "text"},
            f"/settings/profiles/{profile_id(api, 'Standard')}": {},
        }
        for path, data in posts.items():
            response = admin.post(path, data=data)
            assert response.status_code == 403, path
            assert "This form has expired" in response.text
    assert "forged@acme.test" not in api.get(USERS).text
    assert "Forged role" not in api.get(ROLES).text
    assert "Forged" not in {
        f["field_label"] for f in api.get(FIELDS, params={"module": "Accounts"}).json()["fields"]
    }
    standard = api.get(f"{PROFILES}/{profile_id(api, 'Standard')}").json()["profiles"][0]
    details = {p["name"]: p["enabled"] for p in standard["permissions_details"]}
    assert details["Crm_Implied_View_Accounts"] is True


# --- fields -------------------------------------------------------------------------------------


def test_a_custom_field_created_on_the_fields_page_appears_on_the_record_form(
    api: httpx.Client, base_url: str
) -> None:
    with browser_client(base_url) as admin:
        created = submit(
            admin,
            "/settings/fields/Accounts/new",
            {
                "field_label": "Contract end",
                "data_type": "date",
                "length": "",
                "pick_list_values": "",
            },
        )
        assert created.status_code == 303
        listed = admin.get(created.headers["location"])
        assert "Contract_end" in listed.text and "was created" in listed.text
        tiers = submit(
            admin,
            "/settings/fields/Accounts/new",
            {
                "field_label": "Tier",
                "data_type": "picklist",
                "pick_list_values": "Gold\n\n Silver \nBronze",
            },
        )
        assert tiers.status_code == 303
        form = admin.get("/m/Accounts/new").text
    assert 'name="Contract_end"' in form and 'type="date"' in form
    assert '<option value="Silver"' in form and 'name="Tier"' in form
    assert field(api, "Accounts", "Contract_end")["data_type"] == "date"
    assert values_of(api, "Accounts", "Tier") == ["Gold", "Silver", "Bronze"]


def test_a_refused_custom_field_shows_why_and_creates_nothing(
    api: httpx.Client, base_url: str
) -> None:
    with browser_client(base_url) as admin:
        no_values = submit(
            admin,
            "/settings/fields/Leads/new",
            {"field_label": "Temperature", "data_type": "picklist"},
        )
        assert no_values.status_code == 400
        assert "A picklist needs at least one value." in no_values.text
        taken = submit(
            admin, "/settings/fields/Leads/new", {"field_label": "Company", "data_type": "text"}
        )
        assert taken.status_code == 400 and "A field with this api_name exists." in taken.text
    assert all(
        f["api_name"] != "Temperature"
        for f in api.get(FIELDS, params={"module": "Leads"}).json()["fields"]
    )


def _picklist_field(api: httpx.Client, base_url: str, label: str, values: list[str]) -> str:
    with browser_client(base_url) as admin:
        created = submit(
            admin,
            "/settings/fields/Accounts/new",
            {"field_label": label, "data_type": "picklist", "pick_list_values": "\n".join(values)},
        )
        assert created.status_code == 303, created.text
    return str(field(api, "Accounts", label)["id"])


def _rows(html: str) -> list[tuple[str, str]]:
    """(value id, value) of each line of the picklist editor."""
    return re.findall(r'name="value_id" value="(\d*)">.*?name="value" value="([^"]*)"', html, re.S)


def test_picklist_values_are_renamed_added_removed_and_reordered_on_the_fields_page(
    api: httpx.Client, base_url: str
) -> None:
    field_id = _picklist_field(api, base_url, "Tier", ["Gold", "Silver", "Bronze"])
    with browser_client(base_url) as admin:
        page = admin.get(f"/settings/fields/Accounts/{field_id}")
        assert page.status_code == 200
        rows = _rows(page.text)
        ids = {value: value_id for value_id, value in rows if value_id}
        assert list(ids) == ["Gold", "Silver", "Bronze"] and len(rows) == 6
        posted = post_pairs(
            admin,
            f"/settings/fields/Accounts/{field_id}",
            [
                ("csrf_token", csrf_of(page.text)),
                ("field_label", "Level"),
                ("value_id", ids["Silver"]),
                ("value", "Silver"),
                ("value_id", ids["Gold"]),
                ("value", "Platinum"),
                ("value_id", ids["Bronze"]),
                ("value", "Bronze"),
                ("remove", ids["Bronze"]),
                ("value_id", ""),
                ("value", "Copper"),
                ("value_id", ""),
                ("value", ""),
            ],
        )
        assert posted.status_code == 303
        assert "Saved." in admin.get(posted.headers["location"]).text
    tier = field(api, "Accounts", "Tier")
    assert tier["field_label"] == "Level"
    assert [v["actual_value"] for v in tier["pick_list_values"]] == ["Silver", "Platinum", "Copper"]
    kept = {v["actual_value"]: str(v["id"]) for v in tier["pick_list_values"]}
    assert kept["Platinum"] == ids["Gold"]  # a rename keeps the value's identity


def test_a_picklist_value_used_by_records_cannot_be_removed_and_nothing_changes(
    api: httpx.Client, base_url: str
) -> None:
    field_id = _picklist_field(api, base_url, "Tier", ["Gold", "Silver"])
    record = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Acme", "Tier": "Gold"}]})
    assert record.status_code == 201, record.text
    with browser_client(base_url) as admin:
        page = admin.get(f"/settings/fields/Accounts/{field_id}")
        ids = {value: value_id for value_id, value in _rows(page.text) if value_id}
        refused = post_pairs(
            admin,
            f"/settings/fields/Accounts/{field_id}",
            [
                ("csrf_token", csrf_of(page.text)),
                ("field_label", "Renamed"),
                ("value_id", ids["Silver"]),
                ("value", "Silver"),
                ("value_id", ids["Gold"]),
                ("value", "Gold"),
                ("remove", ids["Gold"]),
            ],
        )
        assert refused.status_code == 400
        assert "“Gold” is used by records" in refused.text and 'role="alert"' in refused.text
    assert field(api, "Accounts", "Tier")["field_label"] == "Tier"
    assert values_of(api, "Accounts", "Tier") == ["Gold", "Silver"]


# --- roles --------------------------------------------------------------------------------------


def test_a_role_created_under_a_parent_shows_in_the_tree_under_that_parent(
    api: httpx.Client, base_url: str
) -> None:
    root = root_role(api)["id"]
    with browser_client(base_url) as admin:
        director = submit(
            admin,
            "/settings/roles/new",
            {
                "name": "Sales Director",
                "reporting_to": root,
                "share_with_peers": "1",
                "description": "Runs sales",
            },
            form_page=f"/settings/roles/new?parent={root}",
        )
        assert director.status_code == 303
        director_id = role_id(api, "Sales Director")
        form = admin.get(f"/settings/roles/new?parent={director_id}").text
        assert f'<option value="{director_id}" selected>' in form
        rep = submit(
            admin, "/settings/roles/new", {"name": "Sales Rep", "reporting_to": director_id}
        )
        assert rep.status_code == 303
        tree = admin.get("/settings/roles").text
    rep_id = role_id(api, "Sales Rep")
    assert tree_parents(tree) == {str(root): None, director_id: str(root), rep_id: director_id}
    created = next(r for r in api.get(ROLES).json()["roles"] if r["id"] == director_id)
    assert created["share_with_peers"] is True and created["description"] == "Runs sales"


def test_a_role_cannot_be_moved_under_its_own_subordinate(api: httpx.Client, base_url: str) -> None:
    root = root_role(api)["id"]
    with browser_client(base_url) as admin:
        submit(admin, "/settings/roles/new", {"name": "Upper", "reporting_to": root})
        upper = role_id(api, "Upper")
        submit(admin, "/settings/roles/new", {"name": "Lower", "reporting_to": upper})
        lower = role_id(api, "Lower")
        form = admin.get(f"/settings/roles/{upper}").text
        assert f'value="{lower}"' not in form  # not offered
        refused = submit(
            admin, f"/settings/roles/{upper}", {"name": "Upper", "reporting_to": lower}
        )
        assert refused.status_code == 400
    assert next(r for r in api.get(ROLES).json()["roles"] if r["id"] == upper)["reporting_to"][
        "id"
    ] == str(root)


def test_deleting_a_role_moves_its_users_and_sub_roles_to_the_chosen_role(
    api: httpx.Client, base_url: str
) -> None:
    root = root_role(api)["id"]
    with browser_client(base_url) as admin:
        submit(admin, "/settings/roles/new", {"name": "Old team", "reporting_to": root})
        submit(admin, "/settings/roles/new", {"name": "New team", "reporting_to": root})
        old, new = role_id(api, "Old team"), role_id(api, "New team")
        submit(admin, "/settings/roles/new", {"name": "Old sub-team", "reporting_to": old})
        user_id = api_user(api, "mover@acme.test", role=old)
        confirm = admin.get(f"/settings/roles/{old}/delete").text
        assert "1 user" in confirm and "Old sub-team" in confirm
        deleted = submit(admin, f"/settings/roles/{old}/delete", {"transfer_to": new})
        assert deleted.status_code == 303
        root_page = admin.get(f"/settings/roles/{root}/delete").text
        assert "cannot be deleted" in root_page and 'name="transfer_to"' not in root_page
    names = {r["name"]: r for r in api.get(ROLES).json()["roles"]}
    assert "Old team" not in names
    assert names["Old sub-team"]["reporting_to"]["id"] == new
    assert api_user_details(api, user_id)["role"]["id"] == new


# --- profiles -----------------------------------------------------------------------------------


def _matrix(html: str) -> dict[str, bool]:
    boxes = re.findall(r'<input type="checkbox" name="([A-Za-z_]+)" value="1" ([^>]*)>', html)
    return {name: "checked" in rest for name, rest in boxes}


def test_a_profile_permission_changed_on_its_page_is_saved_and_enforced_by_the_api(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    with browser_client(base_url) as admin:
        cloned = submit(
            admin,
            f"/settings/profiles/{profile_id(api, 'Standard')}/clone",
            {"name": "Limited", "description": "No new accounts"},
        )
        assert cloned.status_code == 303
        limited = profile_id(api, "Limited")
        assert cloned.headers["location"].startswith(f"/settings/profiles/{limited}")
        page = admin.get(f"/settings/profiles/{limited}").text
        boxes = _matrix(page)
        assert boxes["Crm_Implied_Create_Accounts"] is True
        kept = {
            name: "1" for name, on in boxes.items() if on and name != "Crm_Implied_Create_Accounts"
        }
        saved = admin.post(
            f"/settings/profiles/{limited}",
            data={**kept, "description": "No new accounts", "csrf_token": csrf_of(page)},
        )
        assert saved.status_code == 303
        assert (
            _matrix(admin.get(f"/settings/profiles/{limited}").text)["Crm_Implied_Create_Accounts"]
            is False
        )

    api_user(api, "limited@acme.test", profile="Limited")
    body = {"data": [{"Account_Name": "Blocked"}]}
    with httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Zoho-oauthtoken {token_for(app, 'limited@acme.test')}"},
        timeout=30,
    ) as limited_user:
        refused = limited_user.post("/crm/v8/Accounts", json=body)
        assert refused.status_code == 403 and refused.json()["code"] == "NO_PERMISSION"
        assert limited_user.get("/crm/v8/Accounts").status_code in (200, 204)

        with browser_client(base_url) as admin:
            page = admin.get(f"/settings/profiles/{limited}").text
            everything = {name: "1" for name in _matrix(page)}
            assert submit(admin, f"/settings/profiles/{limited}", everything).status_code == 303
        assert limited_user.post("/crm/v8/Accounts", json=body).status_code == 201


def test_the_administrator_profile_is_shown_read_only_and_its_changes_are_refused(
    api: httpx.Client, base_url: str
) -> None:
    administrator = profile_id(api, "Administrator")
    with browser_client(base_url) as admin:
        page = admin.get(f"/settings/profiles/{administrator}").text
        assert "cannot be changed" in page and "Save permissions" not in page
        refused = submit(
            admin, f"/settings/profiles/{administrator}", {"Crm_Implied_View_Leads": "1"}
        )
        assert refused.status_code == 400
        assert "The Administrator profile cannot be changed." in refused.text
    details = api.get(f"{PROFILES}/{administrator}").json()["profiles"][0]["permissions_details"]
    assert all(p["enabled"] for p in details)


def test_deleting_a_cloned_profile_gives_its_users_the_chosen_profile(
    api: httpx.Client, base_url: str
) -> None:
    with browser_client(base_url) as admin:
        submit(
            admin, f"/settings/profiles/{profile_id(api, 'Standard')}/clone", {"name": "Temporary"}
        )
        temporary = profile_id(api, "Temporary")
        user_id = api_user(api, "temp@acme.test", profile="Temporary")
        standard = profile_id(api, "Standard")
        deleted = submit(admin, f"/settings/profiles/{temporary}/delete", {"transfer_to": standard})
        assert deleted.status_code == 303
        standard_page = admin.get(f"/settings/profiles/{standard}/delete").text
        assert "cannot be deleted" in standard_page and 'name="transfer_to"' not in standard_page
    assert "Temporary" not in {p["name"] for p in api.get(PROFILES).json()["profiles"]}
    assert api_user_details(api, user_id)["profile"]["id"] == standard


@pytest.mark.parametrize(
    "path", ["/settings/users/999", "/settings/roles/abc", "/settings/fields/Unicorns"]
)
def test_an_unknown_settings_page_is_a_404_page(base_url: str, path: str) -> None:
    with browser_client(base_url) as admin:
        response = admin.get(path)
    assert response.status_code == 404 and "Not found" in response.text
