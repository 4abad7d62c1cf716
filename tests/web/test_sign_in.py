"""Signing in to the web UI: sessions, CSRF, throttling, expiry, set-password links (ADR 0010)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.config import Settings
from secteur.services import sessions
from secteur.services.app import Secteur
from tests.support import server
from tests.support.orgs import ADMIN_EMAIL, ADMIN_PASSWORD, Clock
from tests.support.records_api import make_user, root_role, user_id
from tests.support.web import browser_client, csrf_of, sign_in


def session_count(app: Secteur) -> int:
    with app.read() as tx:
        return int(tx.conn.execute(sa.select(sa.func.count()).select_from(t.web_sessions)).scalar())


def test_signing_in_opens_a_session_in_an_http_only_same_site_cookie(
    app: Secteur, base_url: str
) -> None:
    with httpx.Client(base_url=base_url) as client:
        response = sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("secteur_session=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        home = client.get("/")
        assert home.status_code == 200
        assert "Hello, Ada" in home.text
    assert session_count(app) == 1


def test_only_the_digest_of_the_session_token_is_stored(app: Secteur, base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        token = client.cookies["secteur_session"]
    with app.read() as tx:
        stored = tx.conn.execute(sa.select(t.web_sessions.c.token_hash)).scalar_one()
    assert stored != token and token not in stored and len(stored) == 64


def test_a_wrong_password_or_unknown_email_gets_the_same_answer_and_no_session(
    app: Secteur, base_url: str
) -> None:
    with httpx.Client(base_url=base_url) as client:
        wrong = sign_in(client, ADMIN_EMAIL, "not-the-password")
        unknown = sign_in(client, "nobody@acme.test", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "The e-mail or the password is not right." in response.text
        assert "secteur_session" not in response.headers.get("set-cookie", "")
    assert session_count(app) == 0


def test_the_sign_in_form_needs_its_csrf_token(app: Secteur, base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        client.get("/login")
        response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 403
    assert "expired" in response.text
    assert session_count(app) == 0


def test_after_five_failures_sign_in_is_refused_even_with_the_right_password_for_15_minutes(
    app: Secteur, base_url: str, clock: Clock
) -> None:
    with httpx.Client(base_url=base_url) as client:
        for _ in range(5):
            assert sign_in(client, ADMIN_EMAIL, "guess-guess").status_code == 401
        refused = sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert refused.status_code == 401
        assert "Too many failed sign-in attempts" in refused.text
        clock.advance(timedelta(minutes=16))
        assert sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 303


def test_throttling_one_email_does_not_lock_out_another_user(app: Secteur, base_url: str) -> None:
    other = make_user(app, "rep@acme.test", root_role(app))
    with app.write() as tx:
        user = tx.state.directory.users[other]
        token = sessions.create_password_link(tx, user, None)
    with app.write() as tx:
        sessions.use_password_link(tx, token, "rep-password-1")
    with httpx.Client(base_url=base_url) as client:
        for _ in range(6):
            sign_in(client, ADMIN_EMAIL, "guess-guess")
        assert sign_in(client, "rep@acme.test", "rep-password-1").status_code == 303


def test_next_only_leads_to_a_page_of_this_site(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        for target, expected in (
            ("/m/Accounts?f0=x", "/m/Accounts?f0=x"),
            ("//evil.example/", "/"),
            ("https://evil.example/", "/"),
            ("/\\evil.example", "/"),
        ):
            client.cookies.clear()
            page = client.get("/login")
            response = client.post(
                "/login",
                data={
                    "email": ADMIN_EMAIL,
                    "password": ADMIN_PASSWORD,
                    "csrf_token": csrf_of(page.text),
                    "next": target,
                },
            )
            assert response.headers["location"] == expected


def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        response = client.get("/m/Accounts?sort=Phone")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/m/Accounts%3Fsort%3DPhone"


def test_signing_out_needs_the_csrf_token_and_ends_the_session(app: Secteur, base_url: str) -> None:
    with browser_client(base_url) as client:
        home = client.get("/")
        forged = client.post("/logout")
        assert forged.status_code == 403
        assert client.get("/").status_code == 200
        out = client.post("/logout", data={"csrf_token": csrf_of(home.text)})
        assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
        assert session_count(app) == 0
        # The old cookie is worthless even if a browser kept it.
        old = out.request.headers["cookie"]
        with httpx.Client(base_url=base_url, headers={"cookie": old}) as replay:
            assert replay.get("/").status_code == 303


def test_a_session_ends_after_the_idle_timeout(app: Secteur, base_url: str, clock: Clock) -> None:
    with browser_client(base_url) as client:
        clock.advance(timedelta(minutes=app.settings.session_idle_minutes - 5))
        assert client.get("/").status_code == 200
        clock.advance(timedelta(minutes=app.settings.session_idle_minutes - 5))
        assert client.get("/").status_code == 200, "activity keeps the session alive"
        clock.advance(timedelta(minutes=app.settings.session_idle_minutes + 1))
        assert client.get("/").status_code == 303


def test_a_session_ends_at_its_maximum_age_even_when_active(
    app: Secteur, base_url: str, clock: Clock
) -> None:
    with browser_client(base_url) as client:
        step = timedelta(minutes=app.settings.session_idle_minutes // 2)
        elapsed = timedelta()
        while elapsed < timedelta(hours=app.settings.session_max_hours) - step:
            clock.advance(step)
            elapsed += step
            assert client.get("/").status_code == 200
        clock.advance(step)
        assert client.get("/").status_code == 303


def test_over_https_the_cookie_is_secure_and_host_only(org_url: str, clock: Clock) -> None:
    settings = Settings(database_url=org_url, secret_key="x" * 40, cookie_secure=True)
    secure_app = Secteur(settings, clock=clock)
    try:
        with server.running(secure_app) as url, httpx.Client(base_url=url) as client:
            # A client on plain HTTP keeps no Secure cookie: hand the form's cookie back.
            form = client.get("/login")
            login_cookie = form.headers["set-cookie"].split(";")[0]
            response = client.post(
                "/login",
                data={
                    "email": ADMIN_EMAIL,
                    "password": ADMIN_PASSWORD,
                    "csrf_token": csrf_of(form.text),
                },
                headers={"cookie": login_cookie},
            )
            assert response.status_code == 303
            cookie = response.headers["set-cookie"]
            assert cookie.startswith("__Host-secteur_session=")
            assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        secure_app.dispose()


def test_a_set_password_link_sets_the_password_once_and_signs_in(
    app: Secteur, base_url: str
) -> None:
    rep = make_user(app, "rep@acme.test", root_role(app))
    with app.write() as tx:
        token = sessions.create_password_link(tx, tx.state.directory.users[rep], None)
    with httpx.Client(base_url=base_url) as client:
        form = client.get("/set-password", params={"token": token})
        assert form.status_code == 200 and "rep@acme.test" in form.text
        short = client.post(
            "/set-password", data={"token": token, "password": "short", "confirm": "short"}
        )
        assert short.status_code == 400
        assert "A password needs at least 8 characters." in short.text
        mismatch = client.post(
            "/set-password",
            data={"token": token, "password": "long-enough-1", "confirm": "long-enough-2"},
        )
        assert "The two passwords are not the same." in mismatch.text
        done = client.post(
            "/set-password",
            data={"token": token, "password": "long-enough-1", "confirm": "long-enough-1"},
        )
        assert done.status_code == 303
        assert client.get("/").status_code == 200
        again = client.get("/set-password", params={"token": token})
        assert again.status_code == 410
    with httpx.Client(base_url=base_url) as other:
        assert sign_in(other, "rep@acme.test", "long-enough-1").status_code == 303


def test_a_new_link_replaces_the_previous_one_and_links_expire_after_72_hours(
    app: Secteur, base_url: str, clock: Clock
) -> None:
    rep = make_user(app, "rep@acme.test", root_role(app))
    with app.write() as tx:
        first = sessions.create_password_link(tx, tx.state.directory.users[rep], None)
    with app.write() as tx:
        second = sessions.create_password_link(tx, tx.state.directory.users[rep], None)
    with httpx.Client(base_url=base_url) as client:
        assert client.get("/set-password", params={"token": first}).status_code == 410
        assert client.get("/set-password", params={"token": second}).status_code == 200
        clock.advance(timedelta(hours=72, minutes=1))
        assert client.get("/set-password", params={"token": second}).status_code == 410


def test_setting_a_password_ends_the_users_other_sessions(app: Secteur, base_url: str) -> None:
    admin = user_id(app, ADMIN_EMAIL)
    with browser_client(base_url) as client:
        assert client.get("/").status_code == 200
        with app.write() as tx:
            token = sessions.create_password_link(tx, tx.state.directory.users[admin], None)
        with httpx.Client(base_url=base_url) as other:
            other.post(
                "/set-password",
                data={"token": token, "password": "new-password-1", "confirm": "new-password-1"},
            )
        assert client.get("/").status_code == 303


def test_a_deactivated_user_loses_their_session(app: Secteur, base_url: str) -> None:
    from tests.support.records_api import deactivate

    rep = make_user(app, "rep@acme.test", root_role(app))
    with app.write() as tx:
        token = sessions.create_password_link(tx, tx.state.directory.users[rep], None)
    with app.write() as tx:
        sessions.use_password_link(tx, token, "rep-password-1")
    with browser_client(base_url, "rep@acme.test", "rep-password-1") as client:
        assert client.get("/").status_code == 200
        deactivate(app, rep)
        assert client.get("/").status_code == 303
