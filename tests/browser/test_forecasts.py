"""The forecast screen in Chromium (issue 6): view the roll-up, drill down to a territory and
to the deals behind a number, edit a target in place."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from secteur.services.app import Secteur
from tests.browser.conftest import Screenshot
from tests.web.test_forecast_pages import europe, this_quarter


def test_view_drill_down_and_edit_a_target(
    admin_page: Page, app: Secteur, screenshot: Screenshot
) -> None:
    europe(app)
    page = admin_page
    page.get_by_role("link", name="Forecasts").click()
    expect(
        page.get_by_role("heading", name=f"No forecast for {this_quarter().key} yet")
    ).to_be_visible()
    page.get_by_role("button", name=f"Create the {this_quarter().key} forecast").click()
    expect(page.locator(".notice.ok")).to_have_text("Forecast created.")

    summary = page.locator("#summary")
    root_row = summary.locator("tr.node")
    root_row.get_by_label("Target of").fill("40,000")
    root_row.get_by_role("button", name="Save").click()
    expect(page.locator(".notice.ok")).to_have_text("Target saved.")
    france = summary.locator("tr.child", has_text="France")
    france.get_by_label("Target of France").fill("28000")
    france.get_by_label("Target of France").press("Enter")
    expect(page.locator(".notice.ok")).to_have_text("Target saved.")
    tiles = page.locator(".forecast-tiles")
    expect(tiles).to_contain_text("40,000")
    expect(tiles).to_contain_text("50 % of target")
    expect(summary.locator("tr.child", has_text="France")).to_contain_text("50 %")
    expect(summary.locator("tr.child", has_text="Spain")).to_contain_text("target not set")
    expect(summary.locator("tr.node")).to_contain_text("mismatch")  # 28,000 alone ≠ 40,000
    screenshot(page, "roll-up")

    summary.get_by_role("link", name="France").click()
    expect(page.locator("#summary h2")).to_have_text("France and below")
    page.locator(".forecast-tiles").get_by_role("link", name="Achieved").click()
    expect(page.get_by_role("heading", name="Won deals")).to_be_visible()
    rows = page.locator("table.table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("P1")
    screenshot(page, "deals")
    page.get_by_role("link", name="Open", exact=True).click()
    expect(page.locator("table.table tbody tr")).to_have_count(1)
    expect(page.locator("table.table tbody tr")).to_contain_text("P3")
