"""Browser tests: Playwright drives Debian's chromium (no browser download) against the app on a
loopback port. They sign in, add a patient with a DXA result, read the assessment, toggle a
projection, log a meal and print the plan, and save screenshots of the main pages (from the SQLite
run) to a temporary folder, so that the test suite leaves the working tree clean; ``make screenshots``
sets OSTEOTWIN_SCREENSHOTS=docs/screenshots to regenerate the ones shipped in docs/screenshots/.
In CI a missing chromium fails the tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from tests.web.conftest import IN_CI, PASSWORD, make_account

from osteotwin.records.demo import ensure_demo_clinic

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("OSTEOTWIN_SCREENSHOTS") or Path(tempfile.gettempdir()) / "osteotwin-screenshots")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    path = os.environ.get("OSTEOTWIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if IN_CI:
            pytest.fail("Debian chromium is missing; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed")
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """A page that records console errors (CSP violations, script errors) and takes screenshots."""

    def __init__(self, browser, base_url: str, save: bool, **context_args) -> None:  # noqa: ANN001
        self.context = browser.new_context(**({"viewport": {"width": 1200, "height": 900}} | context_args))
        self.page = self.context.new_page()
        self.page.set_default_timeout(240_000)  # the engine may need minutes on a loaded 2-core machine
        self.base = base_url
        self.save = save
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, name: str, full_page: bool = True) -> None:
        if self.save:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    def close(self) -> None:
        self.context.close()


def _charts_ready(page) -> None:  # noqa: ANN001
    page.wait_for_selector("body[data-charts-ready='1']")


def _settled(page) -> None:  # noqa: ANN001
    """Wait until a page that computes its slow parts in the background (data-pending) has reloaded itself with
    them, then for its charts."""
    from playwright.sync_api import Error

    for _ in range(240):
        try:  # charts ready: the document is complete, so a pending mark would be in it
            _charts_ready(page)
            if page.locator("[data-pending]").count() == 0:
                return
        except Error:  # the page reloaded itself while we looked
            pass
        page.wait_for_timeout(500)
    raise AssertionError("the page stayed pending")


def test_clinician_flow_sign_in_add_patient_assess_project_print(browser, live_server, database, database_url):
    clinician = make_account(database, "clinician", email="dr.browser@example.invalid")
    save = database_url.startswith("sqlite")
    p = Page(browser, live_server.url, save)
    page = p.page
    p.go("/login")
    p.shot("login", full_page=False)
    page.fill("input[name=email]", clinician.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/patients")
    # add a patient
    page.click("text=New patient >> nth=0")
    page.fill("input[name=name]", "Grace Browser")
    page.fill("input[name=birth_date]", "1961-03-09")
    page.fill("input[name=menopause_year]", "2012")
    page.fill("input[name=weight_kg]", "59")
    page.fill("input[name=height_cm]", "160")
    page.check("input[name=family_history_hip_fracture]")
    page.click("text=Create patient")
    page.wait_for_url("**/patients/*")
    page.click("text=Add a DXA result")
    page.fill("#dxa-form input[name=date]", "2026-01-15")
    page.select_option("#dxa-form select[name=site]", "lumbar_spine")
    page.fill("#dxa-form input[name=bmd_g_cm2]", "0.745")
    page.fill("#dxa-form input[name=t_score]", "-2.8")
    page.click("#dxa-form button[type=submit]")
    page.wait_for_selector("#dxa-table >> text=0.745")
    page.click("text=Add a DXA result")
    page.fill("#dxa-form input[name=date]", "2026-01-15")
    page.select_option("#dxa-form select[name=site]", "total_hip")
    page.fill("#dxa-form input[name=bmd_g_cm2]", "0.770")
    page.fill("#dxa-form input[name=t_score]", "-1.4")
    page.click("#dxa-form button[type=submit]")
    page.wait_for_selector("#dxa-table >> text=0.770")
    page.click("text=Add a medication")
    page.fill("input[name=start_date]", "2026-01-20")
    page.click("text=Save medication")
    page.wait_for_selector("text=since 2026-01-20")
    # the assessment
    page.click(".subnav >> text=Assessment")
    page.wait_for_selector("#recommendations")
    assert page.inner_text("#indicated") == "yes"  # T-score -2.8: osteoporosis, bone agent indicated
    assert page.locator("#recommendations .source").count() >= 1
    # toggle a projection
    page.click(".subnav >> text=Projection")
    _settled(page)
    chart = "document.getElementById('chart-lumbar_spine')"
    visible = f"{chart}.data.filter(t => t.meta === 'zoledronic_acid').map(t => t.visible)"
    assert page.evaluate(visible) == [False]  # one scan per site: the population line only, no band
    assert "one scan per site" in page.inner_text("#projection-decision")
    page.check("input.regimen-toggle[value=zoledronic_acid]")
    page.wait_for_function(f"{visible}[0] === true")
    page.uncheck("input.regimen-toggle[value=continue]")
    page.wait_for_function(f"{chart}.data.filter(t => t.meta === 'continue')[0].visible === false")
    assert "continue" not in page.evaluate("document.body.dataset.visibleRegimens").split(",")
    # print the plan
    page.click(".subnav >> text=Plan")
    page.wait_for_selector("#targets")
    page.evaluate("window.print = () => { document.body.dataset.printed = '1'; }")
    page.click("#print-button")
    assert page.evaluate("document.body.dataset.printed") == "1"
    page.emulate_media(media="print")
    assert not page.is_visible("header.topbar") and not page.is_visible("#print-button")
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 20_000
    assert p.errors == [], p.errors
    p.close()


def test_demo_clinic_pages_and_patient_meal_log(browser, live_server, database, database_url):
    with database.transaction() as session:
        links = ensure_demo_clinic(session)
    save = database_url.startswith("sqlite")
    # clinician: the demo patients and their pages
    p = Page(browser, live_server.url, save)
    page = p.page
    p.go(f"/signin/{links['clinician']}")
    page.wait_for_selector("#patient-list")
    assert page.locator("#patient-list tbody tr").count() == 3
    p.shot("patient-list")
    page.click("text=Ruth Demo")
    _settled(page)
    assert page.locator("#dxa-table tbody tr").count() == 8
    p.shot("patient-overview")
    page.click(".subnav >> text=Assessment")
    page.wait_for_selector("#recommendations")
    p.shot("assessment")
    page.click(".subnav >> text=Projection")
    _settled(page)
    page.check("input.regimen-toggle[value=denosumab_2y_then_stop]")
    page.wait_for_function("document.body.dataset.visibleRegimens.includes('denosumab_2y_then_stop')")
    p.shot("projection")
    page.click(".subnav >> text=Plan")
    page.wait_for_selector("#targets")
    page.emulate_media(media="print")
    p.shot("plan-print")
    assert p.errors == [], p.errors
    p.close()
    # patient on a phone: log a meal, see the totals rise
    phone = Page(browser, live_server.url, save, viewport={"width": 390, "height": 844}, is_mobile=True,
                 has_touch=True, device_scale_factor=2)
    page = phone.page
    phone.go(f"/signin/{links['patient']}")
    page.wait_for_selector("#nutrients")
    calcium_before = page.locator("#nutrients tbody tr").first.locator("td").nth(1).inner_text()
    page.fill("input[name=q]", "milk reduced fat")
    page.click("#food-log button[type=submit] >> text=Search")
    page.wait_for_selector("#food-results")
    page.locator("#food-results li").first.locator("button").click()
    page.wait_for_selector("#nutrients")
    calcium_after = page.locator("#nutrients tbody tr").first.locator("td").nth(1).inner_text()
    assert float(calcium_after.replace(",", "")) > float(calcium_before.replace(",", ""))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    phone.shot("patient-today-phone")
    phone.go("/me/exercise")
    page.wait_for_selector("#next-loads")
    phone.shot("patient-exercise-phone")
    phone.go("/me/bone")
    _settled(page)
    assert "T-score" in page.inner_text("#plain-words")
    phone.shot("patient-bone-phone")
    assert phone.errors == [], phone.errors
    phone.close()


def test_projection_of_a_demo_patient_with_scans_shows_the_table_and_her_bands(browser, live_server, database):
    with database.transaction() as session:
        links = ensure_demo_clinic(session)
    p = Page(browser, live_server.url, save=False)
    page = p.page
    p.go(f"/signin/{links['clinician']}")
    page.wait_for_selector("#patient-list")
    page.click("text=Margaret Demo")  # three scans at each site, on anastrozole
    _settled(page)
    assert "faster loss than expected" in page.inner_text("#expected-vs-observed")
    page.click(".subnav >> text=Projection")
    _settled(page)
    rows = page.locator("#projection-table tbody tr")
    assert rows.count() == 5
    assert rows.first.get_attribute("data-regimen") == "continue"
    assert "Continue current treatment: anastrozole" in rows.first.inner_text()
    table = page.inner_text("#projection-table")
    assert table.count("her range") >= 4 * 4  # T-score and BMD change per site for the 4 regimens the twin projects
    assert "Hip fracture within 5 years" in table
    bands = ("document.getElementById('chart-lumbar_spine').data"
             ".filter(t => t.fill === 'tonexty' && t.visible !== false).map(t => t.meta)")
    assert sorted(page.evaluate(bands)) == ["continue", "denosumab", "lifestyle_plan"]  # the ticked regimens' bands
    page.check("input.regimen-toggle[value=zoledronic_acid]")
    page.wait_for_function(f"{bands}.includes('zoledronic_acid')")
    assert page.locator("#scan-checks tbody tr").count() == 4
    with page.expect_download() as download:
        page.click("#projection-csv")
    assert download.value.suggested_filename.endswith(".csv")
    assert p.errors == [], p.errors
    p.close()
