"""Territory screens in Chromium (issue 5): turn territories on, build a small tree, write a
rule with its live count, create an account that lands in the right territory, read "why?",
move a territory by drag and drop, and run rules until the progress finishes."""

from __future__ import annotations

import threading
import time

from playwright.sync_api import Page, expect

from secteur.services import jobs
from secteur.services.app import Secteur
from tests.browser.conftest import Screenshot
from tests.support.territories import held, insert


def add_child(page: Page, name: str) -> None:
    page.get_by_text("Add a sub-territory").click()
    page.get_by_placeholder("Name of the new territory").fill(name)
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator(".notice.ok")).to_have_text("Territory created.")


def open_territory(page: Page, name: str) -> None:
    page.goto("/territories")
    page.get_by_placeholder("Search territories by name…").fill(name)
    page.locator("#search-results a", has_text=name).first.click()
    expect(page.locator("#territory-title")).to_have_text(name)


def test_build_a_tree_write_a_rule_and_see_why_an_account_lands_there(
    admin_page: Page, app: Secteur, screenshot: Screenshot
) -> None:
    page = admin_page
    page.goto("/territories")
    expect(page.get_by_role("heading", name="Territory management is off")).to_be_visible()
    page.get_by_role("link", name="Turn territory management on").click()
    page.get_by_role("button", name="Turn territory management on").click()
    page.goto("/territories")
    add_child(page, "Europe")
    add_child(page, "France")  # created under Europe: the page shows the new territory
    open_territory(page, "Europe")
    add_child(page, "Spain")
    insert(
        app,
        "Accounts",
        [
            {"Account_Name": "Paris SA", "Billing_Country": "France"},
            {"Account_Name": "Madrid SL", "Billing_Country": "Spain"},
            {"Account_Name": "Berlin GmbH", "Billing_Country": "Germany"},
        ],
    )

    # Europe takes France and Spain; the live count says how many accounts that is.
    open_territory(page, "Europe")
    page.locator(".rules li", has_text="Accounts").get_by_role("link", name="Add rule").click()
    page.locator("#f0").select_option("Billing_Country")
    page.locator("#o0").select_option("is")
    page.locator("input[name=v0]").fill("France")
    page.get_by_role("button", name="+ Add condition").click()
    page.locator("#f1").select_option("Billing_Country")
    page.locator("#o1").select_option("is")
    page.locator("input[name=v1]").fill("Spain")
    page.locator("select[name=match]").select_option("any")
    reach = page.locator("#reach")
    expect(reach.locator(".reach"), reach.inner_text()).to_have_attribute("data-matching", "2")
    screenshot(page, "rule-editor")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".notice.ok")).to_contain_text("Rule saved")
    expect(page.locator(".page-head .subtle")).to_have_text(
        "Now: Billing Country is France or Billing Country is Spain"
    )

    open_territory(page, "France")
    page.locator(".rules li", has_text="Accounts").get_by_role("link", name="Add rule").click()
    page.locator("#f0").select_option("Billing_Country")
    page.locator("#o0").select_option("is")
    page.locator("input[name=v0]").fill("France")
    expect(page.locator("#reach .reach")).to_have_attribute("data-reaching", "2")
    expect(page.locator("#reach .reach")).to_have_attribute("data-matching", "1")
    page.get_by_role("button", name="Save rule").click()

    # A new account in France lands in France, and the record page says why.
    page.goto("/m/Accounts/new")
    page.get_by_label("Account Name").fill("Lyon SARL")
    page.get_by_label("Billing Country").fill("France")
    page.get_by_role("button", name="Create account").click()
    panel = page.locator("#territories")
    expect(panel.locator(".chip")).to_have_count(1)
    expect(panel.locator(".chip")).to_contain_text("France")
    expect(panel.locator(".chip")).to_contain_text("automatic")
    panel.get_by_text("Why these territories?").click()
    why = panel.locator("ol.why")
    expect(why).to_contain_text("Europe: matches, and a deeper territory matched too")
    expect(why).to_contain_text("France: matches — assigned")
    # Europe's rule is "France or Spain": the Spain half is shown failing, the group matching.
    expect(why).to_contain_text("Billing Country is Spain (this record: France)")
    expect(why).to_contain_text("Spain: no rule, records go on to its sub-territories")
    screenshot(page, "why")


def test_move_a_territory_by_dragging_it_onto_its_new_parent(
    admin_page: Page, app: Secteur, screenshot: Screenshot
) -> None:
    from tests.support.territories import create, enable

    root = enable(app)
    europe = create(app, "Europe", root)
    america = create(app, "Americas", root)
    iberia_id = create(app, "Iberia", europe)
    page = admin_page
    page.goto(f"/territories?t={iberia_id}")
    iberia = page.locator(f"#node-{iberia_id} > .tnode")
    target = page.locator(f"#node-{america} > .tnode")
    iberia.drag_to(target)
    expect(page.locator(".notice.ok")).to_have_text("Territory moved.")
    expect(page.locator(".territory-panel .crumbs")).to_contain_text("Americas")
    expect(page.locator(f"#node-{america} .tname", has_text="Iberia")).to_be_visible()
    # Opening and closing a level loads its children once.
    toggle = page.locator(f"#node-{europe} > .tnode .toggle")
    if page.locator(f"#node-{europe}").get_attribute("aria-expanded") == "true":
        toggle.click()
    expect(page.locator(f"#node-{europe}")).to_have_attribute("aria-expanded", "false")
    screenshot(page, "moved")


def test_run_rules_shows_progress_until_the_summary(
    admin_page: Page, app: Secteur, screenshot: Screenshot
) -> None:
    from tests.support.territories import create, enable, rule

    root = enable(app)
    accounts = insert(
        app,
        "Accounts",
        [{"Account_Name": f"Paris {i}", "Billing_Country": "France"} for i in range(30)],
    )
    # The rule arrives after the accounts: only run rules assigns them.
    france = create(app, "France", root, accounts=rule("Billing_Country", "equal", "France"))
    assert held(app, accounts[0]) == {}
    page = admin_page
    page.goto("/territories/run")
    page.get_by_role("button", name="Preview changes").click()
    expect(page.locator("#job-body")).to_be_visible()
    screenshot(page, "queued")

    # The test server runs no worker: run the job now, while the page polls its progress.
    def work() -> None:
        time.sleep(0.5)
        jobs.run_pending(app)

    worker = threading.Thread(target=work)
    worker.start()
    expect(page.locator("#job-body")).to_contain_text("Completed", timeout=30_000)
    worker.join()
    # Polling stops once the job is done; leave nothing in flight before navigating.
    expect(page.locator("#job-body[hx-trigger]")).to_have_count(0)
    screenshot(page, "preview-done")
    expect(page.locator("#job-body")).to_contain_text("France")
    expect(page.locator("#job-body")).to_contain_text("30")
    assert held(app, accounts[0]) == {}, "a preview changes nothing"
    page.get_by_role("button", name="Run these rules now").click()
    worker = threading.Thread(target=work)
    worker.start()
    expect(page.locator("#job-body")).to_contain_text("France", timeout=30_000)
    worker.join()
    expect(page.locator("#job-body[hx-trigger]")).to_have_count(0)
    screenshot(page, "run-done")
    assert held(app, accounts[0]) == {france: False}
