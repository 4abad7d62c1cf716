"""`/crm/v8/users` through the live server (core.md: users are active at once)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.support.orgs import ADMIN_EMAIL

USERS = "/crm/v8/users"


def profile_id(api: httpx.Client, name: str) -> str:
    profiles = api.get("/crm/v8/settings/profiles").json()["profiles"]
    return str(next(p["id"] for p in profiles if p["name"] == name))


def root_role_id(api: httpx.Client) -> str:
    roles = api.get("/crm/v8/settings/roles").json()["roles"]
    return str(next(r["id"] for r in roles if r["reporting_to"] is None))


def new_user(
    api: httpx.Client, email: str, *, profile: str = "Standard", **extra: Any
) -> dict[str, Any]:
    return {
        "last_name": email.split("@")[0].title(),
        "email": email,
        "role": {"id": root_role_id(api)},
        "profile": {"id": profile_id(api, profile)},
        **extra,
    }


def create(api: httpx.Client, email: str, *, profile: str = "Standard", **extra: Any) -> str:
    response = api.post(USERS, json={"users": [new_user(api, email, profile=profile, **extra)]})
    assert response.status_code == 201, response.text
    return str(response.json()["users"][0]["details"]["id"])


def get(api: httpx.Client, user_id: str) -> dict[str, Any]:
    response = api.get(f"{USERS}/{user_id}")
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["users"][0]
    return user


def as_user(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Zoho-oauthtoken {token}"}, timeout=30
    )


def listed(api: httpx.Client, user_type: str) -> list[str]:
    response = api.get(USERS, params={"type": user_type})
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    return [u["email"] for u in response.json()["users"]]


# --- reading ------------------------------------------------------------------------------


def test_current_user_is_the_caller_with_role_and_profile(api: httpx.Client) -> None:
    response = api.get(USERS, params={"type": "CurrentUser"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    [me] = response.json()["users"]
    assert me["email"] == ADMIN_EMAIL
    assert me["full_name"] == "Ada Admin"
    assert me["status"] == "active"
    assert me["role"]["name"] == "CEO" and me["profile"]["name"] == "Administrator"
    assert isinstance(me["id"], str) and me["id"].isdigit()


def test_current_user_is_whoever_holds_the_token(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    create(api, "bob@acme.test")
    with as_user(base_url, token_for(app, "bob@acme.test")) as bob:
        [me] = bob.get(USERS, params={"type": "CurrentUser"}).json()["users"]
    assert me["email"] == "bob@acme.test" and me["profile"]["name"] == "Standard"


def test_user_types_select_by_status_and_profile(api: httpx.Client) -> None:
    create(api, "active@acme.test")
    inactive = create(api, "inactive@acme.test")
    deleted = create(api, "deleted@acme.test")
    create(api, "second.admin@acme.test", profile="Administrator")
    assert (
        api.put(f"{USERS}/{inactive}", json={"users": [{"status": "inactive"}]}).status_code == 200
    )
    assert api.delete(f"{USERS}/{deleted}").status_code == 200

    everyone = [ADMIN_EMAIL, "active@acme.test", "inactive@acme.test", "second.admin@acme.test"]
    assert listed(api, "AllUsers") == everyone
    assert listed(api, "ActiveUsers") == [ADMIN_EMAIL, "active@acme.test", "second.admin@acme.test"]
    assert listed(api, "DeactiveUsers") == ["inactive@acme.test"]
    assert listed(api, "DeletedUsers") == ["deleted@acme.test"]
    assert listed(api, "AdminUsers") == [ADMIN_EMAIL, "second.admin@acme.test"]
    assert listed(api, "ActiveConfirmedAdmins") == [ADMIN_EMAIL, "second.admin@acme.test"]
    assert listed(api, "NotConfirmedUsers") == []


def test_without_a_type_every_user_but_the_deleted_is_listed(api: httpx.Client) -> None:
    create(api, "kept@acme.test")
    gone = create(api, "gone@acme.test")
    api.delete(f"{USERS}/{gone}")
    assert [u["email"] for u in api.get(USERS).json()["users"]] == [ADMIN_EMAIL, "kept@acme.test"]


def test_an_unknown_user_type_is_invalid_data(api: httpx.Client) -> None:
    response = api.get(USERS, params={"type": "Robots"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_DATA" and body["details"]["param_name"] == "type"


def test_users_are_paged(api: httpx.Client) -> None:
    for n in range(4):
        create(api, f"user{n}@acme.test")
    first = api.get(USERS, params={"per_page": 2, "page": 1}).json()
    second = api.get(USERS, params={"per_page": 2, "page": 2}).json()
    third = api.get(USERS, params={"per_page": 2, "page": 3}).json()
    assert [u["email"] for u in first["users"]] == [ADMIN_EMAIL, "user0@acme.test"]
    assert [u["email"] for u in second["users"]] == ["user1@acme.test", "user2@acme.test"]
    assert [u["email"] for u in third["users"]] == ["user3@acme.test"]
    assert first["info"] == {"per_page": 2, "count": 2, "page": 1, "more_records": True}
    assert third["info"]["more_records"] is False


def test_a_page_past_the_end_is_204_without_a_body(api: httpx.Client) -> None:
    response = api.get(USERS, params={"page": 5, "per_page": 10})
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize(
    "params", [{"per_page": 0}, {"per_page": 201}, {"page": 0}, {"ids": "12,abc"}, {"page": "x"}]
)
def test_bad_paging_parameters_are_refused_with_a_zoho_error(
    api: httpx.Client, params: dict[str, Any]
) -> None:
    response = api.get(USERS, params=params)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


def test_users_can_be_listed_by_ids(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test")
    create(api, "carol@acme.test")
    assert [u["id"] for u in api.get(USERS, params={"ids": bob}).json()["users"]] == [bob]


def test_users_are_counted_by_type(api: httpx.Client) -> None:
    create(api, "bob@acme.test")
    assert api.get(f"{USERS}/actions/count").json() == {"count": 2}
    assert api.get(f"{USERS}/actions/count", params={"type": "AdminUsers"}).json() == {"count": 1}


def test_a_user_is_read_by_id_with_an_etag_matching_its_version(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test", first_name="Bob", phone="+33 1 23")
    response = api.get(f"{USERS}/{bob}")
    [user] = response.json()["users"]
    assert user["id"] == bob
    assert user["full_name"] == "Bob Bob"
    assert user["time_zone"] == "Europe/Paris"
    assert response.headers["etag"] == f'"{user["$version"]}"'


@pytest.mark.parametrize("user_id", ["1", "999999999999", "9" * 30])
def test_an_unknown_user_id_is_invalid_data(api: httpx.Client, user_id: str) -> None:
    response = api.get(f"{USERS}/{user_id}")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


def test_a_user_id_that_is_not_a_number_is_invalid_data(api: httpx.Client) -> None:
    response = api.get(f"{USERS}/bob")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


# --- creating -----------------------------------------------------------------------------


def test_a_created_user_is_active_at_once_and_can_get_a_token(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    response = api.post(USERS, json={"users": [new_user(api, "bob@acme.test")]})
    assert response.status_code == 201
    [item] = response.json()["users"]
    assert item["code"] == "SUCCESS" and item["status"] == "success"
    bob = item["details"]["id"]
    assert get(api, bob)["status"] == "active"
    with as_user(base_url, token_for(app, "bob@acme.test")) as client:
        assert client.get(f"{USERS}/{bob}").status_code == 200


def test_a_body_sent_without_content_type_is_read_as_json(api: httpx.Client) -> None:
    import json

    body = json.dumps({"users": [new_user(api, "bob@acme.test")]}).encode()
    response = api.post(USERS, content=body, headers={"Content-Type": ""})
    assert response.status_code == 201, response.text


def test_a_duplicate_email_is_duplicate_data_whatever_its_case(api: httpx.Client) -> None:
    create(api, "bob@acme.test")
    response = api.post(USERS, json={"users": [new_user(api, "BOB@Acme.test")]})
    assert response.status_code == 400
    [item] = response.json()["users"]
    assert item["code"] == "DUPLICATE_DATA"
    assert item["details"]["api_name"] == "email"
    assert listed(api, "AllUsers") == [ADMIN_EMAIL, "bob@acme.test"]


def test_two_users_of_one_batch_cannot_share_an_email(api: httpx.Client) -> None:
    response = api.post(
        USERS, json={"users": [new_user(api, "bob@acme.test"), new_user(api, "BOB@acme.test")]}
    )
    assert response.status_code == 207
    assert [r["code"] for r in response.json()["users"]] == ["SUCCESS", "DUPLICATE_DATA"]
    assert listed(api, "AllUsers") == [ADMIN_EMAIL, "bob@acme.test"]


def test_the_email_of_the_admin_is_taken_too(api: httpx.Client) -> None:
    response = api.post(USERS, json={"users": [new_user(api, ADMIN_EMAIL)]})
    assert response.json()["users"][0]["code"] == "DUPLICATE_DATA"


@pytest.mark.parametrize("missing", ["last_name", "email", "role", "profile"])
def test_a_user_without_a_mandatory_key_is_mandatory_not_found(
    api: httpx.Client, missing: str
) -> None:
    item = new_user(api, "bob@acme.test")
    del item[missing]
    response = api.post(USERS, json={"users": [item]})
    assert response.status_code == 400
    [result] = response.json()["users"]
    assert result["code"] == "MANDATORY_NOT_FOUND"
    assert result["status"] == "error"
    assert result["details"] == {"api_name": missing, "json_path": f"$.users[0].{missing}"}
    assert listed(api, "AllUsers") == [ADMIN_EMAIL]


@pytest.mark.parametrize("key", ["role", "profile"])
def test_an_unknown_role_or_profile_is_invalid_data(api: httpx.Client, key: str) -> None:
    item = new_user(api, "bob@acme.test")
    item[key] = {"id": "123456789"}
    [result] = api.post(USERS, json={"users": [item]}).json()["users"]
    assert result["code"] == "INVALID_DATA" and result["details"]["api_name"] == key
    assert listed(api, "AllUsers") == [ADMIN_EMAIL]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("email", "not-an-email"),
        ("role", {"id": "abc"}),
        ("first_name", 12),
        ("last_name", "x" * 101),
        ("time_zone", "Mars/Olympus"),
        ("status", "sleeping"),
    ],
)
def test_bad_values_are_invalid_data_and_nothing_is_created(
    api: httpx.Client, key: str, value: Any
) -> None:
    item = new_user(api, "bob@acme.test")
    item[key] = value
    response = api.post(USERS, json={"users": [item]})
    assert response.status_code == 400
    [result] = response.json()["users"]
    assert result["code"] == "INVALID_DATA" and result["details"]["api_name"] == key
    assert listed(api, "AllUsers") == [ADMIN_EMAIL]


def test_a_batch_with_good_and_bad_users_is_207_and_keeps_the_good(api: httpx.Client) -> None:
    bad = new_user(api, "bad@acme.test")
    del bad["last_name"]
    response = api.post(USERS, json={"users": [new_user(api, "good@acme.test"), bad]})
    assert response.status_code == 207
    assert [r["status"] for r in response.json()["users"]] == ["success", "error"]
    assert listed(api, "AllUsers") == [ADMIN_EMAIL, "good@acme.test"]


@pytest.mark.parametrize("body", [{}, {"users": {}}, {"users": []}, [], {"users": [1]}])
def test_malformed_bodies_are_refused_with_zoho_errors(api: httpx.Client, body: Any) -> None:
    response = api.post(USERS, json=body)
    assert response.status_code == 400
    payload = response.json()
    errors = payload.get("users", [payload])
    assert all(e["status"] == "error" and e["code"] for e in errors)


def test_more_than_100_users_in_one_call_is_limit_exceeded(api: httpx.Client) -> None:
    items = [new_user(api, f"u{n}@acme.test") for n in range(101)]
    response = api.post(USERS, json={"users": items})
    assert response.status_code == 400
    assert response.json()["code"] == "LIMIT_EXCEEDED"
    assert listed(api, "AllUsers") == [ADMIN_EMAIL]


# --- updating -----------------------------------------------------------------------------


def test_an_update_changes_only_the_keys_sent(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test", first_name="Bob", phone="+33 1")
    before = get(api, bob)
    response = api.put(f"{USERS}/{bob}", json={"users": [{"first_name": "Robert"}]})
    assert response.status_code == 200
    assert response.json()["users"][0]["code"] == "SUCCESS"
    after = get(api, bob)
    assert after["first_name"] == "Robert"
    assert {k: v for k, v in after.items() if k not in ("first_name", "full_name", "$version")} == {
        k: v for k, v in before.items() if k not in ("first_name", "full_name", "$version")
    }
    assert after["$version"] == before["$version"] + 1


def test_users_are_updated_in_bulk_by_id(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test")
    carol = create(api, "carol@acme.test")
    response = api.put(
        USERS, json={"users": [{"id": bob, "last_name": "B"}, {"id": carol, "last_name": "C"}]}
    )
    assert response.status_code == 200
    assert (get(api, bob)["last_name"], get(api, carol)["last_name"]) == ("B", "C")


def test_a_bulk_update_without_an_id_fails_that_item(api: httpx.Client) -> None:
    response = api.put(USERS, json={"users": [{"last_name": "B"}]})
    assert response.status_code == 400
    assert response.json()["users"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_an_update_to_an_email_in_use_is_duplicate_data(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test")
    create(api, "carol@acme.test")
    [result] = api.put(f"{USERS}/{bob}", json={"users": [{"email": "Carol@acme.test"}]}).json()[
        "users"
    ]
    assert result["code"] == "DUPLICATE_DATA"
    assert get(api, bob)["email"] == "bob@acme.test"


def test_a_user_may_keep_their_own_email_in_another_case(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test")
    assert (
        api.put(f"{USERS}/{bob}", json={"users": [{"email": "Bob@Acme.test"}]}).status_code == 200
    )
    assert get(api, bob)["email"] == "Bob@Acme.test"


def test_blanking_the_last_name_is_mandatory_not_found(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test")
    [result] = api.put(f"{USERS}/{bob}", json={"users": [{"last_name": " "}]}).json()["users"]
    assert result["code"] == "MANDATORY_NOT_FOUND"
    assert get(api, bob)["last_name"] == "Bob"


def test_a_user_may_report_to_another_user_but_not_to_themselves(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test")
    carol = create(api, "carol@acme.test")
    ok = api.put(f"{USERS}/{bob}", json={"users": [{"Reporting_To": {"id": carol}}]})
    assert ok.status_code == 200
    assert get(api, bob)["Reporting_To"] == {"id": carol, "name": "Carol"}
    [result] = api.put(f"{USERS}/{bob}", json={"users": [{"Reporting_To": bob}]}).json()["users"]
    assert result["code"] == "INVALID_DATA"


def test_a_standard_user_may_change_their_own_name_but_not_their_profile(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    bob = create(api, "bob@acme.test")
    with as_user(base_url, token_for(app, "bob@acme.test")) as client:
        assert (
            client.put(f"{USERS}/{bob}", json={"users": [{"first_name": "B"}]}).status_code == 200
        )
        refused = client.put(
            f"{USERS}/{bob}",
            json={"users": [{"profile": {"id": profile_id(api, "Administrator")}}]},
        )
    assert refused.status_code == 403
    assert refused.json()["code"] == "NO_PERMISSION"
    assert get(api, bob)["profile"]["name"] == "Standard"


def test_a_deactivated_user_token_stops_working(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    bob = create(api, "bob@acme.test")
    with as_user(base_url, token_for(app, "bob@acme.test")) as client:
        assert client.get(USERS, params={"type": "CurrentUser"}).status_code == 200
        assert (
            api.put(f"{USERS}/{bob}", json={"users": [{"status": "inactive"}]}).status_code == 200
        )
        response = client.get(USERS, params={"type": "CurrentUser"})
    assert response.status_code == 401
    assert response.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }


def test_a_reactivated_user_can_act_again(api: httpx.Client, app: Secteur, base_url: str) -> None:
    bob = create(api, "bob@acme.test")
    token = token_for(app, "bob@acme.test")
    api.put(f"{USERS}/{bob}", json={"users": [{"status": "inactive"}]})
    api.put(f"{USERS}/{bob}", json={"users": [{"status": "active"}]})
    with as_user(base_url, token) as client:
        assert client.get(USERS, params={"type": "CurrentUser"}).status_code == 200


def test_a_deactivated_user_cannot_get_a_new_token(api: httpx.Client, app: Secteur) -> None:
    from secteur.services.errors import ServiceError

    bob = create(api, "bob@acme.test")
    api.put(f"{USERS}/{bob}", json={"users": [{"status": "inactive"}]})
    with pytest.raises(ServiceError):
        token_for(app, "bob@acme.test")


def test_nobody_can_deactivate_themselves(api: httpx.Client) -> None:
    me = api.get(USERS, params={"type": "CurrentUser"}).json()["users"][0]["id"]
    create(api, "other.admin@acme.test", profile="Administrator")
    response = api.put(f"{USERS}/{me}", json={"users": [{"status": "inactive"}]})
    assert response.status_code == 400
    assert response.json()["users"][0]["code"] == "NOT_ALLOWED"
    assert get(api, me)["status"] == "active"


def test_the_last_active_administrator_cannot_lose_the_administrator_profile(
    api: httpx.Client,
) -> None:
    me = api.get(USERS, params={"type": "CurrentUser"}).json()["users"][0]["id"]
    response = api.put(
        f"{USERS}/{me}", json={"users": [{"profile": {"id": profile_id(api, "Standard")}}]}
    )
    assert response.status_code == 400
    assert response.json()["users"][0]["code"] == "NOT_ALLOWED"
    assert get(api, me)["profile"]["name"] == "Administrator"


def test_an_administrator_may_step_down_when_another_remains(api: httpx.Client) -> None:
    me = api.get(USERS, params={"type": "CurrentUser"}).json()["users"][0]["id"]
    create(api, "other.admin@acme.test", profile="Administrator")
    response = api.put(
        f"{USERS}/{me}", json={"users": [{"profile": {"id": profile_id(api, "Standard")}}]}
    )
    assert response.status_code == 200
    assert get(api, me)["profile"]["name"] == "Standard"


def test_an_administrator_may_deactivate_another_administrator(api: httpx.Client) -> None:
    other = create(api, "other.admin@acme.test", profile="Administrator")
    assert api.put(f"{USERS}/{other}", json={"users": [{"status": "inactive"}]}).status_code == 200
    assert listed(api, "ActiveConfirmedAdmins") == [ADMIN_EMAIL]


def test_a_stale_if_match_is_refused_with_409_and_changes_nothing(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test")
    etag = api.get(f"{USERS}/{bob}").headers["etag"]
    assert (
        api.put(
            f"{USERS}/{bob}", json={"users": [{"first_name": "One"}]}, headers={"If-Match": etag}
        ).status_code
        == 200
    )
    stale = api.put(
        f"{USERS}/{bob}", json={"users": [{"first_name": "Two"}]}, headers={"If-Match": etag}
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "CONFLICT" and stale.json()["status"] == "error"
    assert get(api, bob)["first_name"] == "One"


def test_a_current_if_match_is_accepted(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test")
    etag = api.get(f"{USERS}/{bob}").headers["etag"]
    response = api.put(
        f"{USERS}/{bob}", json={"users": [{"first_name": "One"}]}, headers={"If-Match": etag}
    )
    assert response.status_code == 200
    assert api.get(f"{USERS}/{bob}").headers["etag"] != etag


def test_an_update_of_an_unknown_user_is_invalid_data(api: httpx.Client) -> None:
    response = api.put(f"{USERS}/424242", json={"users": [{"first_name": "X"}]})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


# --- deleting -----------------------------------------------------------------------------


def test_a_deleted_user_can_no_longer_act_and_leaves_the_lists(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    bob = create(api, "bob@acme.test")
    with as_user(base_url, token_for(app, "bob@acme.test")) as client:
        response = api.delete(f"{USERS}/{bob}")
        assert response.status_code == 200
        assert response.json()["users"][0]["code"] == "SUCCESS"
        assert client.get(USERS, params={"type": "CurrentUser"}).status_code == 401
    assert "bob@acme.test" not in listed(api, "AllUsers")
    assert get(api, bob)["status"] == "deleted"


def test_a_deleted_user_cannot_be_deleted_or_updated_again(api: httpx.Client) -> None:
    bob = create(api, "bob@acme.test")
    api.delete(f"{USERS}/{bob}")
    assert api.delete(f"{USERS}/{bob}").json()["code"] == "INVALID_DATA"
    again = api.put(f"{USERS}/{bob}", json={"users": [{"status": "active"}]})
    assert again.status_code == 400
    assert get(api, bob)["status"] == "deleted"


def test_nobody_can_delete_themselves(api: httpx.Client) -> None:
    me = api.get(USERS, params={"type": "CurrentUser"}).json()["users"][0]["id"]
    create(api, "other.admin@acme.test", profile="Administrator")
    response = api.delete(f"{USERS}/{me}")
    assert response.status_code == 400
    assert response.json()["code"] == "NOT_ALLOWED"
    assert get(api, me)["status"] == "active"


def user_manager_profile(api: httpx.Client) -> str:
    """A custom, non-administrator profile that may manage users."""
    cloned = api.post(
        f"/crm/v8/settings/profiles/{profile_id(api, 'Standard')}/actions/clone",
        json={"profiles": [{"name": "User Managers"}]},
    )
    assert cloned.status_code == 201, cloned.text
    new_id = cloned.json()["profiles"][0]["details"]["id"]
    granted = api.put(
        f"/crm/v8/settings/profiles/{new_id}",
        json={"profiles": [{"permissions_details": [{"name": "manage_users", "enabled": True}]}]},
    )
    assert granted.status_code == 200, granted.text
    return str(new_id)


def test_a_user_manager_may_manage_standard_users(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    user_manager_profile(api)
    create(api, "manager@acme.test", profile="User Managers")
    with as_user(base_url, token_for(app, "manager@acme.test")) as client:
        created = client.post(USERS, json={"users": [new_user(api, "bob@acme.test")]})
        bob = created.json()["users"][0]["details"]["id"]
        renamed = client.put(f"{USERS}/{bob}", json={"users": [{"last_name": "Robert"}]})
        deleted = client.delete(f"{USERS}/{bob}")
    assert (created.status_code, renamed.status_code, deleted.status_code) == (201, 200, 200)


def test_a_user_manager_cannot_make_anyone_an_administrator(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    user_manager_profile(api)
    manager = create(api, "manager@acme.test", profile="User Managers")
    admin_profile = {"profile": {"id": profile_id(api, "Administrator")}}
    with as_user(base_url, token_for(app, "manager@acme.test")) as client:
        promoted = client.put(f"{USERS}/{manager}", json={"users": [admin_profile]})
        created = client.post(
            USERS, json={"users": [new_user(api, "mole@acme.test", profile="Administrator")]}
        )
    for response in (promoted, created):
        assert response.status_code == 403
        assert response.json()["code"] == "NO_PERMISSION"
    assert get(api, manager)["profile"]["name"] == "User Managers"
    assert listed(api, "AdminUsers") == [ADMIN_EMAIL]


def test_a_user_manager_cannot_change_deactivate_or_delete_an_administrator(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    me = api.get(USERS, params={"type": "CurrentUser"}).json()["users"][0]["id"]
    user_manager_profile(api)
    create(api, "manager@acme.test", profile="User Managers")
    with as_user(base_url, token_for(app, "manager@acme.test")) as client:
        refused = [
            client.put(f"{USERS}/{me}", json={"users": [{"status": "inactive"}]}),
            client.put(f"{USERS}/{me}", json={"users": [{"email": "mole@acme.test"}]}),
            client.put(
                f"{USERS}/{me}", json={"users": [{"profile": {"id": profile_id(api, "Standard")}}]}
            ),
            client.delete(f"{USERS}/{me}"),
        ]
    for response in refused:
        assert response.status_code == 403
        assert response.json()["code"] == "NO_PERMISSION"
    me_now = get(api, me)
    assert (me_now["status"], me_now["email"], me_now["profile"]["name"]) == (
        "active",
        ADMIN_EMAIL,
        "Administrator",
    )


def test_an_unknown_user_cannot_be_deleted(api: httpx.Client) -> None:
    response = api.delete(f"{USERS}/424242")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


# --- who may -----------------------------------------------------------------------------


def test_a_standard_user_cannot_create_users(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    create(api, "bob@acme.test")
    with as_user(base_url, token_for(app, "bob@acme.test")) as client:
        response = client.post(USERS, json={"users": [new_user(api, "carol@acme.test")]})
    assert response.status_code == 403
    assert response.json()["code"] == "NO_PERMISSION"
    assert listed(api, "AllUsers") == [ADMIN_EMAIL, "bob@acme.test"]


def test_a_standard_user_cannot_change_or_delete_others(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    create(api, "bob@acme.test")
    carol = create(api, "carol@acme.test")
    with as_user(base_url, token_for(app, "bob@acme.test")) as client:
        changed = client.put(f"{USERS}/{carol}", json={"users": [{"last_name": "X"}]})
        deleted = client.delete(f"{USERS}/{carol}")
    assert (changed.status_code, deleted.status_code) == (403, 403)
    assert get(api, carol)["last_name"] == "Carol"
    assert get(api, carol)["status"] == "active"


def test_a_users_read_scope_can_read_but_not_write(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    with as_user(base_url, token_for(app, ADMIN_EMAIL, "ZohoCRM.users.READ")) as client:
        assert client.get(USERS).status_code == 200
        refused = [
            client.post(USERS, json={"users": [new_user(api, "bob@acme.test")]}),
            client.put(USERS, json={"users": [{"id": "1", "last_name": "X"}]}),
            client.delete(f"{USERS}/1"),
        ]
    for response in refused:
        assert response.status_code == 401
        assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    assert listed(api, "AllUsers") == [ADMIN_EMAIL]


def test_a_token_without_a_users_scope_cannot_list_users(app: Secteur, base_url: str) -> None:
    with as_user(base_url, token_for(app, ADMIN_EMAIL, "ZohoCRM.modules.ALL")) as client:
        response = client.get(USERS)
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"


def test_a_request_without_a_token_is_invalid_token(base_url: str) -> None:
    response = httpx.get(f"{base_url}{USERS}")
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_TOKEN"
