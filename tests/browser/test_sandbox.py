"""A sandbox says so on every page, so that nobody mistakes it for production."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from secteur.adapters.db import tables as t
from secteur.domain.org import OrgType
from secteur.services.app import Secteur
from tests.browser.conftest import Screenshot
from tests.support.records_api import insert_fast

BANNER = ".sandbox-banner"


def _make_sandbox(app: Secteur) -> None:
    with app.write() as tx:
        tx.conn.execute(t.org.update().values(type=OrgType.SANDBOX.value))
        tx.metadata_changed()


def test_every_page_of_a_sandbox_shows_the_sandbox_banner(
    app: Secteur, admin_page: Page, screenshot: Screenshot
) -> None:
    page = admin_page
    expect(page.locator(BANNER)).to_have_count(0)
    (account,) = insert_fast(app, "Accounts", [{"Account_Name": "Sandbox Co"}])

    _make_sandbox(app)

    for path in (
        "/",
        "/m/Accounts",
        f"/m/Accounts/{account}",
        "/m/Accounts/new",
        f"/m/Accounts/{account}/edit",
        f"/m/Accounts/{account}/delete",
        "/m/Deals",
    ):
        page.goto(path)
        expect(page.locator(BANNER), path).to_contain_text("Acme is a sandbox")
    screenshot(page, "deals")
    page.goto("/")
    screenshot(page, "home")


def test_the_sign_in_and_error_pages_of_a_sandbox_show_the_banner_too(
    app: Secteur, page: Page
) -> None:
    _make_sandbox(app)
    for path in ("/login", "/no/such/page"):
        page.goto(path)
        expect(page.locator(BANNER), path).to_contain_text("Sandbox")
