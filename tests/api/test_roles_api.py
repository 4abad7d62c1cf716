"""`/crm/v8/settings/roles` through the live server: the role hierarchy (OAS roles.json)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.support.orgs import ADMIN_EMAIL

ROLES = "/crm/v8/settings/roles"
USERS = "/crm/v8/users"


def all_roles(api: httpx.Client) -> dict[str, dict[str, Any]]:
    response = api.get(ROLES)
    assert response.status_code == 200, response.text
    return {r["name"]: r for r in response.json()["roles"]}


def root_id(api: httpx.Client) -> str:
    return str(all_roles(api)["CEO"]["id"])


def create(api: httpx.Client, name: str, parent: str, **extra: Any) -> str:
    response = api.post(
        ROLES, json={"roles": [{"name": name, "reporting_to": {"id": parent}, **extra}]}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["roles"][0]["details"]["id"])


def get(api: httpx.Client, role_id: str) -> dict[str, Any]:
    response = api.get(f"{ROLES}/{role_id}")
    assert response.status_code == 200, response.text
    role: dict[str, Any] = response.json()["roles"][0]
    return role


def parent_of(api: httpx.Client, role_id: str) -> str | None:
    parent = get(api, role_id)["reporting_to"]
    return None if parent is None else str(parent["id"])


def update(api: httpx.Client, role_id: str, item: dict[str, Any], **headers: str) -> httpx.Response:
    return api.put(f"{ROLES}/{role_id}", json={"roles": [item]}, headers=headers)


def item_code(response: httpx.Response) -> str:
    body = response.json()
    return str(body["roles"][0]["code"] if "roles" in body else body["code"])


def user_with_role(api: httpx.Client, email: str, role: str) -> str:
    profiles = api.get("/crm/v8/settings/profiles").json()["profiles"]
    standard = next(p["id"] for p in profiles if p["name"] == "Standard")
    response = api.post(
        USERS,
        json={
            "users": [
                {
                    "last_name": "X",
                    "email": email,
                    "role": {"id": role},
                    "profile": {"id": standard},
                }
            ]
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["users"][0]["details"]["id"])


def role_of_user(api: httpx.Client, user_id: str) -> str:
    return str(api.get(f"{USERS}/{user_id}").json()["users"][0]["role"]["id"])


# --- reading ------------------------------------------------------------------------------


def test_a_new_org_has_only_the_root_role(api: httpx.Client) -> None:
    [root] = api.get(ROLES).json()["roles"]
    assert root["name"] == "CEO" and root["display_label"] == "CEO"
    assert root["reporting_to"] is None
    assert root["share_with_peers"] is False
    assert root["admin_user"] is True
    assert isinstance(root["id"], str) and root["id"].isdigit()


def test_a_role_is_read_by_id_with_an_etag_and_its_version(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api), description="Sells")
    response = api.get(f"{ROLES}/{sales}")
    [role] = response.json()["roles"]
    assert role == {
        "id": sales,
        "name": "Sales",
        "display_label": "Sales",
        "reporting_to": {"id": root_id(api), "name": "CEO"},
        "share_with_peers": False,
        "description": "Sells",
        "admin_user": False,
        "$version": 1,
    }
    assert response.headers["etag"] == '"1"'


@pytest.mark.parametrize("role_id", ["12345", "0", "99999999999999999999"])
def test_an_unknown_role_id_is_invalid_data(api: httpx.Client, role_id: str) -> None:
    response = api.get(f"{ROLES}/{role_id}")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


# --- creating -----------------------------------------------------------------------------


def test_a_created_role_shares_with_peers_only_when_asked(api: httpx.Client) -> None:
    plain = create(api, "Sales", root_id(api))
    sharing = create(api, "Support", root_id(api), share_with_peers=True)
    assert get(api, plain)["share_with_peers"] is False
    assert get(api, sharing)["share_with_peers"] is True


def test_roles_are_listed_with_their_parents(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api))
    create(api, "Sales Rep", sales)
    roles = all_roles(api)
    assert set(roles) == {"CEO", "Sales", "Sales Rep"}
    assert roles["Sales Rep"]["reporting_to"] == {"id": sales, "name": "Sales"}


def test_several_roles_can_be_created_in_one_call(api: httpx.Client) -> None:
    root = root_id(api)
    response = api.post(
        ROLES,
        json={
            "roles": [
                {"name": "A", "reporting_to": {"id": root}},
                {"name": "B", "reporting_to": root},
            ]
        },
    )
    assert response.status_code == 201
    assert set(all_roles(api)) == {"CEO", "A", "B"}


@pytest.mark.parametrize(
    ("item", "code", "api_name"),
    [
        ({"name": "Sales"}, "MANDATORY_NOT_FOUND", "reporting_to"),
        ({"name": "Sales", "reporting_to": None}, "MANDATORY_NOT_FOUND", "reporting_to"),
        ({"name": "Sales", "reporting_to": {"id": "424242"}}, "INVALID_DATA", "reporting_to"),
        ({"name": "Sales", "reporting_to": {"id": "abc"}}, "INVALID_DATA", "reporting_to"),
        ({"reporting_to": "ROOT"}, "MANDATORY_NOT_FOUND", "name"),
        ({"name": "  ", "reporting_to": "ROOT"}, "MANDATORY_NOT_FOUND", "name"),
        ({"name": "x" * 51, "reporting_to": "ROOT"}, "INVALID_DATA", "name"),
        (
            {"name": "Sales", "reporting_to": "ROOT", "share_with_peers": "yes"},
            "INVALID_DATA",
            "share_with_peers",
        ),
        (
            {"name": "Sales", "reporting_to": "ROOT", "description": "x" * 251},
            "INVALID_DATA",
            "description",
        ),
    ],
)
def test_a_bad_role_is_refused_per_item_and_nothing_is_created(
    api: httpx.Client, item: dict[str, Any], code: str, api_name: str
) -> None:
    root = root_id(api)
    item = {k: ({"id": root} if v == "ROOT" else v) for k, v in item.items()}
    response = api.post(ROLES, json={"roles": [item]})
    assert response.status_code == 400
    [result] = response.json()["roles"]
    assert result["code"] == code and result["status"] == "error"
    assert result["details"]["api_name"] == api_name
    assert result["details"]["json_path"] == f"$.roles[0].{api_name}"
    assert set(all_roles(api)) == {"CEO"}


def test_role_names_are_unique_whatever_their_case(api: httpx.Client) -> None:
    create(api, "Sales", root_id(api))
    response = api.post(
        ROLES, json={"roles": [{"name": " sales ", "reporting_to": {"id": root_id(api)}}]}
    )
    assert response.status_code == 400
    assert response.json()["roles"][0]["code"] == "DUPLICATE_DATA"
    assert set(all_roles(api)) == {"CEO", "Sales"}


def test_two_roles_of_one_batch_cannot_share_a_name(api: httpx.Client) -> None:
    root = {"id": root_id(api)}
    response = api.post(
        ROLES,
        json={
            "roles": [
                {"name": "Sales", "reporting_to": root},
                {"name": "SALES", "reporting_to": root},
            ]
        },
    )
    assert response.status_code == 207
    assert [r["code"] for r in response.json()["roles"]] == ["SUCCESS", "DUPLICATE_DATA"]


def accounts_seen_by(base_url: str, token: str) -> list[str]:
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    response = httpx.get(f"{base_url}/crm/v8/Accounts", headers=headers)
    return (
        [] if response.status_code == 204 else [r["Account_Name"] for r in response.json()["data"]]
    )


def test_peers_see_each_other_records_only_when_their_role_shares_with_peers(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    sales = create(api, "Sales", root_id(api))
    user_with_role(api, "ann@acme.test", sales)
    user_with_role(api, "bob@acme.test", sales)
    ann, bob = token_for(app, "ann@acme.test"), token_for(app, "bob@acme.test")
    headers = {"Authorization": f"Zoho-oauthtoken {ann}"}
    created = httpx.post(
        f"{base_url}/crm/v8/Accounts", headers=headers, json={"data": [{"Account_Name": "Ann's"}]}
    )
    assert created.status_code == 201
    assert accounts_seen_by(base_url, bob) == []
    assert update(api, sales, {"share_with_peers": True}).status_code == 200
    assert accounts_seen_by(base_url, bob) == ["Ann's"]
    assert "Ann's" in accounts_seen_by(base_url, token_for(app, ADMIN_EMAIL))


# --- updating -----------------------------------------------------------------------------


def test_a_role_can_be_renamed_and_keeps_what_was_not_sent(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api), share_with_peers=True, description="Sells")
    response = update(api, sales, {"name": "Field Sales"})
    assert response.status_code == 200
    assert response.json()["roles"][0]["code"] == "SUCCESS"
    role = get(api, sales)
    assert (role["name"], role["share_with_peers"], role["description"]) == (
        "Field Sales",
        True,
        "Sells",
    )
    assert role["reporting_to"]["id"] == root_id(api)
    assert role["$version"] == 2


def test_renaming_a_role_to_its_own_name_in_another_case_is_allowed(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api))
    assert update(api, sales, {"name": "SALES"}).status_code == 200
    assert get(api, sales)["name"] == "SALES"


def test_renaming_a_role_to_another_role_name_is_duplicate_data(api: httpx.Client) -> None:
    create(api, "Sales", root_id(api))
    support = create(api, "Support", root_id(api))
    response = update(api, support, {"name": "sales"})
    assert item_code(response) == "DUPLICATE_DATA"
    assert get(api, support)["name"] == "Support"


def test_a_role_can_move_to_another_branch(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api))
    support = create(api, "Support", root_id(api))
    rep = create(api, "Rep", sales)
    assert update(api, rep, {"reporting_to": {"id": support}}).status_code == 200
    assert parent_of(api, rep) == support


def test_a_role_cannot_move_under_itself_or_its_descendants(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api))
    rep = create(api, "Rep", sales)
    junior = create(api, "Junior Rep", rep)
    for target in (sales, rep, junior):
        response = update(api, sales, {"reporting_to": {"id": target}})
        assert response.status_code == 400
        [result] = response.json()["roles"]
        assert result["code"] == "INVALID_DATA"
        assert result["details"]["api_name"] == "reporting_to"
    assert parent_of(api, sales) == root_id(api)


def test_the_root_role_cannot_get_a_parent(api: httpx.Client) -> None:
    root = root_id(api)
    sales = create(api, "Sales", root)
    response = update(api, root, {"reporting_to": {"id": sales}})
    assert item_code(response) == "INVALID_DATA"
    assert parent_of(api, root) is None


def test_the_root_role_can_be_renamed(api: httpx.Client) -> None:
    root = root_id(api)
    assert update(api, root, {"name": "Managing Director", "reporting_to": None}).status_code == 200
    assert get(api, root)["name"] == "Managing Director"
    assert get(api, root)["reporting_to"] is None


def test_a_role_other_than_the_root_cannot_lose_its_parent(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api))
    assert item_code(update(api, sales, {"reporting_to": None})) == "MANDATORY_NOT_FOUND"
    assert parent_of(api, sales) == root_id(api)


def test_roles_can_be_updated_in_bulk(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api))
    support = create(api, "Support", root_id(api))
    response = api.put(
        ROLES,
        json={
            "roles": [
                {"id": sales, "share_with_peers": True},
                {"id": support, "description": "Helps"},
                {"name": "No id"},
            ]
        },
    )
    assert response.status_code == 207
    assert [r["code"] for r in response.json()["roles"]] == [
        "SUCCESS",
        "SUCCESS",
        "MANDATORY_NOT_FOUND",
    ]
    assert get(api, sales)["share_with_peers"] is True
    assert get(api, support)["description"] == "Helps"


def test_an_update_of_an_unknown_role_is_invalid_data(api: httpx.Client) -> None:
    response = update(api, "424242", {"name": "X"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


def test_a_stale_if_match_is_refused_with_409_and_changes_nothing(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api))
    etag = api.get(f"{ROLES}/{sales}").headers["etag"]
    assert update(api, sales, {"name": "One"}, **{"If-Match": etag}).status_code == 200
    stale = update(api, sales, {"name": "Two"}, **{"If-Match": etag})
    assert stale.status_code == 409
    assert stale.json()["code"] == "CONFLICT"
    assert get(api, sales)["name"] == "One"
    current = api.get(f"{ROLES}/{sales}").headers["etag"]
    assert update(api, sales, {"name": "Three"}, **{"If-Match": current}).status_code == 200


def test_an_if_match_that_is_not_a_version_is_a_conflict(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api))
    assert update(api, sales, {"name": "X"}, **{"If-Match": '"abc"'}).status_code == 409
    assert get(api, sales)["name"] == "Sales"


# --- deleting -----------------------------------------------------------------------------


def test_deleting_a_role_moves_its_users_and_sub_roles_to_the_transfer_role(
    api: httpx.Client,
) -> None:
    root = root_id(api)
    sales = create(api, "Sales", root)
    support = create(api, "Support", root)
    rep = create(api, "Rep", sales)
    bob = user_with_role(api, "bob@acme.test", sales)
    response = api.delete(f"{ROLES}/{sales}", params={"transfer_to_id": support})
    assert response.status_code == 200
    assert response.json()["roles"][0]["code"] == "SUCCESS"
    assert "Sales" not in all_roles(api)
    assert role_of_user(api, bob) == support
    assert parent_of(api, rep) == support
    assert api.get(f"{ROLES}/{sales}").status_code == 400


def test_users_moved_by_a_role_deletion_get_a_new_version(api: httpx.Client) -> None:
    root = root_id(api)
    sales = create(api, "Sales", root)
    rep = create(api, "Rep", sales)
    bob = user_with_role(api, "bob@acme.test", sales)
    user_etag = api.get(f"{USERS}/{bob}").headers["etag"]
    role_etag = api.get(f"{ROLES}/{rep}").headers["etag"]
    api.delete(f"{ROLES}/{sales}", params={"transfer_to_id": root})
    stale_user = api.put(
        f"{USERS}/{bob}", json={"users": [{"role": {"id": rep}}]}, headers={"If-Match": user_etag}
    )
    stale_role = update(api, rep, {"name": "Renamed"}, **{"If-Match": role_etag})
    assert (stale_user.status_code, stale_role.status_code) == (409, 409)


def test_deleting_a_role_without_transfer_to_id_is_required_param_missing(
    api: httpx.Client,
) -> None:
    sales = create(api, "Sales", root_id(api))
    response = api.delete(f"{ROLES}/{sales}")
    assert response.status_code == 400
    assert response.json() == {
        "code": "REQUIRED_PARAM_MISSING",
        "details": {"param_name": "transfer_to_id"},
        "message": "transfer_to_id is missing",
        "status": "error",
    }
    assert "Sales" in all_roles(api)


def test_a_role_cannot_be_transferred_to_itself_its_descendants_or_nowhere(
    api: httpx.Client,
) -> None:
    sales = create(api, "Sales", root_id(api))
    rep = create(api, "Rep", sales)
    for target in (sales, rep, "424242"):
        response = api.delete(f"{ROLES}/{sales}", params={"transfer_to_id": target})
        assert response.status_code == 400
        assert response.json()["code"] == "INVALID_DATA"
        assert response.json()["details"] == {"param_name": "transfer_to_id"}
    assert {"Sales", "Rep"} <= set(all_roles(api))


def test_the_root_role_cannot_be_deleted(api: httpx.Client) -> None:
    root = root_id(api)
    sales = create(api, "Sales", root)
    response = api.delete(f"{ROLES}/{root}", params={"transfer_to_id": sales})
    assert response.status_code == 400
    assert response.json()["code"] == "NOT_ALLOWED"
    assert parent_of(api, root) is None and parent_of(api, sales) == root


def test_an_unknown_role_cannot_be_deleted(api: httpx.Client) -> None:
    response = api.delete(f"{ROLES}/424242", params={"transfer_to_id": root_id(api)})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


def test_a_transfer_to_id_that_is_not_a_number_is_invalid_data(api: httpx.Client) -> None:
    sales = create(api, "Sales", root_id(api))
    response = api.delete(f"{ROLES}/{sales}", params={"transfer_to_id": "abc"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


# --- who may -----------------------------------------------------------------------------


def standard_token(api: httpx.Client, app: Secteur) -> str:
    user_with_role(api, "bob@acme.test", root_id(api))
    return token_for(app, "bob@acme.test")


def test_a_standard_user_may_read_roles_but_not_change_them(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    root = root_id(api)
    sales = create(api, "Sales", root)
    headers = {"Authorization": f"Zoho-oauthtoken {standard_token(api, app)}"}
    with httpx.Client(base_url=base_url, headers=headers) as bob:
        assert bob.get(ROLES).status_code == 200
        refused = [
            bob.post(ROLES, json={"roles": [{"name": "X", "reporting_to": {"id": root}}]}),
            bob.put(f"{ROLES}/{sales}", json={"roles": [{"name": "Y"}]}),
            bob.delete(f"{ROLES}/{sales}", params={"transfer_to_id": root}),
        ]
    for response in refused:
        assert response.status_code == 403
        assert response.json()["code"] == "NO_PERMISSION"
    assert set(all_roles(api)) == {"CEO", "Sales"}


def test_a_roles_read_scope_cannot_write_roles(
    app: Secteur, api: httpx.Client, base_url: str
) -> None:
    token = token_for(app, ADMIN_EMAIL, "ZohoCRM.settings.roles.READ")
    root = root_id(api)
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Zoho-oauthtoken {token}"}
    ) as c:
        assert c.get(ROLES).status_code == 200
        response = c.post(ROLES, json={"roles": [{"name": "X", "reporting_to": {"id": root}}]})
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    assert set(all_roles(api)) == {"CEO"}


def test_a_territories_scope_does_not_reach_roles(app: Secteur, base_url: str) -> None:
    token = token_for(app, ADMIN_EMAIL, "ZohoCRM.settings.territories.ALL")
    response = httpx.get(
        f"{base_url}{ROLES}", headers={"Authorization": f"Zoho-oauthtoken {token}"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"
