"""What the browser may not do: forged or stale forms (CSRF), sessions past their idle time,
records the viewer's role may not see. The page never shows or accepts what the API would not."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

from playwright.sync_api import BrowserContext, Page, expect

from secteur.services import users
from secteur.services.app import Secteur
from tests.browser.conftest import Screenshot
from tests.browser.pages import fill_sign_in, path_of, sign_in
from tests.support.orgs import Clock
from tests.support.records_api import insert_fast, make_role, make_user, root_role, snapshot

EXPIRED = "This form has expired"


def test_a_form_with_a_tampered_csrf_token_is_refused_and_changes_nothing(
    app: Secteur, admin_page: Page, screenshot: Screenshot
) -> None:
    page = admin_page
    page.goto("/m/Accounts/new")
    page.get_by_label("Account Name").fill("Forged Ltd")
    page.evaluate(
        "document.querySelector('form.record-form input[name=csrf_token]').value = 'forged'"
    )
    before = snapshot(app)

    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Create account").click()

    assert posted.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text(EXPIRED)
    assert snapshot(app) == before
    screenshot(page, "refused")


def test_a_cross_site_post_with_the_session_cookie_but_no_token_is_refused(
    app: Secteur, admin_page: Page, context: BrowserContext
) -> None:
    (record_id,) = insert_fast(app, "Accounts", [{"Account_Name": "Target"}])
    before = snapshot(app)
    # The browser's own cookie jar: what a forged cross-site form would carry if SameSite did
    # not stop it. Only the token, which another site cannot read, tells the two apart.
    another_site = {"Origin": "https://evil.example", "Referer": "https://evil.example/"}
    attempts = {
        "/m/Accounts/new": {"Account_Name": "Forged"},
        f"/m/Accounts/{record_id}/edit": {"Account_Name": "Renamed"},
        f"/m/Accounts/{record_id}/delete": {},
        "/logout": {},
    }
    for path, form in attempts.items():
        response = context.request.post(path, form=form, headers=another_site, max_redirects=0)
        assert response.status == 403, (path, response.status)
        assert EXPIRED in response.text()
    assert snapshot(app) == before
    admin_page.goto("/")
    expect(admin_page.locator(".account .who")).to_have_text("Ada Admin")


def test_after_the_idle_timeout_the_next_page_asks_to_sign_in_and_returns_there(
    app: Secteur, page: Page, clock: Clock, screenshot: Screenshot
) -> None:
    sign_in(page)
    target = "/m/Accounts?f0=Billing_Country&o0=is&v0=France&match=all"
    clock.advance(timedelta(minutes=app.settings.session_idle_minutes + 1))

    page.goto(target)

    assert path_of(page) == f"/login?next={quote(target)}"
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "sign-in-again")
    fill_sign_in(page, "admin@acme.test", "admin-password-1")
    page.wait_for_url(re.compile(re.escape(target) + "$"))
    expect(page.locator("details.filter > summary")).to_contain_text("1 condition")


def test_an_htmx_request_after_the_idle_timeout_returns_to_the_page_not_the_fragment(
    app: Secteur, page: Page, clock: Clock
) -> None:
    sign_in(page)
    page.goto("/m/Accounts")
    page.locator("details.filter > summary").click()
    clock.advance(timedelta(minutes=app.settings.session_idle_minutes + 1))

    page.locator("#f0").select_option("Billing_Country")

    page.wait_for_url(re.compile(r"/login\?"))
    assert path_of(page) == "/login?next=/m/Accounts"
    fill_sign_in(page, "admin@acme.test", "admin-password-1")
    page.wait_for_url(re.compile(r"/m/Accounts$"))


def test_a_user_below_in_the_hierarchy_gets_404_for_a_record_they_may_not_see(
    app: Secteur, page: Page, screenshot: Screenshot
) -> None:
    rep = make_user(app, "rep@acme.test", make_role(app, "Sales Rep", root_role(app)))
    with app.write() as tx:
        users.set_password(tx, "rep@acme.test", "rep-password-123")
    (hidden,) = insert_fast(app, "Accounts", [{"Account_Name": "Board Secrets"}])
    (own,) = insert_fast(app, "Accounts", [{"Account_Name": "Rep Prospect", "Owner": {"id": rep}}])

    sign_in(page, "rep@acme.test", "rep-password-123")
    expect(page.locator(".tile", has_text="Accounts").locator(".tile-number")).to_have_text("1")
    response = page.goto(f"/m/Accounts/{hidden}")

    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_text("Board Secrets")).to_have_count(0)
    screenshot(page, "not-found")
    for path in (f"/m/Accounts/{hidden}/edit", f"/m/Accounts/{hidden}/delete"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
    page.goto("/m/Accounts")
    expect(page.locator("#total")).to_have_text("1")
    expect(page.get_by_role("link", name="Rep Prospect")).to_have_attribute(
        "href", f"/m/Accounts/{own}"
    )
    expect(page.get_by_text("Board Secrets")).to_have_count(0)
    screenshot(page, "list")
    page.goto("/m/Contacts/new")
    page.get_by_label("Account Name").fill("o")
    expect(page.locator(".lookup-options .option")).to_have_text(["Rep Prospect"])


def test_a_lookup_search_after_the_idle_timeout_asks_to_sign_in_again(
    app: Secteur, page: Page, clock: Clock, screenshot: Screenshot
) -> None:
    sign_in(page)
    page.goto("/m/Contacts/new")
    clock.advance(timedelta(minutes=app.settings.session_idle_minutes + 1))

    page.get_by_label("Account Name").fill("zeph")

    screenshot(page, "stale")
    page.wait_for_url(re.compile(r"/login\?"))
    assert path_of(page) == "/login?next=/m/Contacts/new"
    screenshot(page, "sign-in-again")
