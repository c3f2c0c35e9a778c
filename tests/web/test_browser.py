"""Browser tests: Playwright drives Debian's chromium (no browser download) against the app on a
loopback port. They sign in, add a patient with a DXA result, read the assessment, toggle a
projection, log a meal and print the plan, run axe-core (vendored in tests/web/vendor/axe-core,
WCAG 2.1 A and AA rules) on every page they visit, and save screenshots of the main pages (from the SQLite
run) to a temporary folder, so that the test suite leaves the working tree clean; ``make screenshots``
sets OSTEOTWIN_SCREENSHOTS=docs/screenshots to regenerate the ones shipped in docs/screenshots/.
In CI a missing chromium fails the tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pypdf
import pytest
from tests.web.conftest import IN_CI, PASSWORD, make_account

from osteotwin.records.demo import ensure_demo_clinic

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("OSTEOTWIN_SCREENSHOTS") or Path(tempfile.gettempdir()) / "osteotwin-screenshots")
AXE_SOURCE = (Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
"""The WCAG 2.1 level A and AA rules of axe-core (its tag names)."""
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
        self.accessibility: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def axe(self) -> list[str]:
        """axe-core's WCAG 2.1 A/AA violations on the current page, one line each (rule, impact, elements).

        axe is evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not
        govern, so the app's headers stay as served."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE_SOURCE)
        violations = self.page.evaluate(
            "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations.map("
            "v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join('; ')}`)",
            AXE_TAGS)
        return [f"{self.page.url}: {line}" for line in violations]

    def check_axe(self) -> None:
        """Collect the current page's axe violations (asserted empty at the end of each test)."""
        self.accessibility.extend(self.axe())

    def shot(self, name: str, full_page: bool = True) -> None:
        if self.save:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    def close(self) -> None:
        self.context.close()


SETTLE_S = 300  # the background plan and fit may need minutes on a loaded 2-core machine; then fail, not hang


def _charts_ready(page) -> None:  # noqa: ANN001
    page.wait_for_selector("body[data-charts-ready='1']")


def _settled(page) -> None:  # noqa: ANN001
    """Wait until a page that computes its slow parts in the background (data-pending) has reloaded itself with
    them, then for its charts."""
    import time

    from playwright.sync_api import Error

    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        try:  # charts ready: the document is complete, so a pending mark would be in it
            page.wait_for_selector("body[data-charts-ready='1']", timeout=10_000)
            if page.locator("[data-pending]").count() == 0:
                return
        except Error:  # the page reloaded itself while we looked, or is not ready yet
            pass
        page.wait_for_timeout(500)
    raise AssertionError(f"the page stayed pending, or never drew its charts, for {SETTLE_S} s")


def test_clinician_flow_sign_in_add_patient_assess_project_print(browser, live_server, database, database_url):
    clinician = make_account(database, "clinician", email="dr.browser@example.invalid")
    save = database_url.startswith("sqlite")
    p = Page(browser, live_server.url, save)
    page = p.page
    p.go("/login")
    p.check_axe()
    p.shot("login", full_page=False)
    page.fill("input[name=email]", clinician.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/patients")
    p.check_axe()
    # add a patient
    page.click("text=New patient >> nth=0")
    page.wait_for_selector("input[name=name]")
    p.check_axe()
    page.fill("input[name=name]", "Grace Browser")
    page.fill("input[name=birth_date]", "1961-03-09")
    page.fill("input[name=menopause_year]", "2012")
    page.fill("input[name=weight_kg]", "59")
    page.fill("input[name=height_cm]", "160")
    page.check("input[name=family_history_hip_fracture]")
    page.click("text=Create patient")
    page.wait_for_url("**/patients/*")
    p.check_axe()
    page.click("text=Add a DXA result")
    page.fill("#dxa-form input[name=date]", "2026-01-15")
    page.select_option("#dxa-form select[name=site]", "lumbar_spine")
    page.fill("#dxa-form input[name=bmd_g_cm2]", "0.745")
    page.fill("#dxa-form input[name=t_score]", "-2.8")
    page.click("#dxa-form button[type=submit]")
    page.wait_for_selector("#dxa-table >> text=0.745")
    p.check_axe()
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
    p.check_axe()
    assert page.get_attribute("#decision-text", "data-action") == "start"  # T-score -2.8: osteoporosis
    assert page.locator("#recommendations .source").count() >= 1
    # toggle a projection
    page.click(".subnav >> text=Projection")
    _settled(page)
    p.check_axe()
    chart = "document.getElementById('chart-lumbar_spine')"
    visible = f"{chart}.data.filter(t => t.meta === 'zoledronic_acid').map(t => t.visible)"
    assert page.evaluate(visible) == [False]  # one scan per site: the population line only, no band
    assert "one scan per site" in page.inner_text("#projection-decision")
    table = page.inner_text("#projection-table")  # the decision table: a row per regimen with fracture risks
    assert "Hip fracture within 5 years" in table and "Continue current treatment" in table
    assert page.locator("#projection-table tbody tr").count() >= 4
    page.check("input.regimen-toggle[value=zoledronic_acid]")
    page.wait_for_function(f"{visible}[0] === true")
    page.uncheck("input.regimen-toggle[value=continue]")
    page.wait_for_function(f"{chart}.data.filter(t => t.meta === 'continue')[0].visible === false")
    assert "continue" not in page.evaluate("document.body.dataset.visibleRegimens").split(",")
    # print the plan
    page.click(".subnav >> text=Plan")
    page.wait_for_selector("#targets")
    p.check_axe()
    page.evaluate("window.print = () => { document.body.dataset.printed = '1'; }")
    page.click("#print-button")
    assert page.evaluate("document.body.dataset.printed") == "1"
    page.emulate_media(media="print")
    assert not page.is_visible("header.topbar") and not page.is_visible("#print-button")
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 20_000
    # the plan she takes home, as the PDF the clinician downloads (WeasyPrint, web/take_home.py): two A4 pages
    # with the bone-drug decision of the assessment
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.click("#pdf-link")
    pdf_path = download.value.path()
    reader = pypdf.PdfReader(str(pdf_path))
    text = "".join(pg.extract_text() for pg in reader.pages)
    assert 1 <= len(reader.pages) <= 2 and "bone" in text.lower() and "DXA" in text
    assert p.errors == [], p.errors
    assert p.accessibility == [], p.accessibility
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
    p.check_axe()
    assert page.locator("#patient-list tbody tr").count() == 3
    p.shot("patient-list")
    page.click("text=Ruth Demo")
    _settled(page)
    overview = page.url
    p.check_axe()
    assert page.locator("#dxa-table tbody tr").count() == 8
    p.shot("patient-overview")
    page.click(".subnav >> text=Assessment")
    page.wait_for_selector("#recommendations")
    p.check_axe()
    p.shot("assessment")
    page.click(".subnav >> text=Projection")
    _settled(page)
    p.check_axe()
    page.check("input.regimen-toggle[value=denosumab_2y_then_stop]")
    page.wait_for_function("document.body.dataset.visibleRegimens.includes('denosumab_2y_then_stop')")
    p.shot("projection")
    page.click(".subnav >> text=Plan")
    page.wait_for_selector("#targets")
    p.check_axe()
    page.emulate_media(media="print")
    p.shot("plan-print")
    page.emulate_media(media="screen")
    page.goto(overview + "/audit")
    page.wait_for_selector("h1 >> text=Audit trail")
    p.check_axe()
    p.go("/account/password")
    page.wait_for_selector("input[type=password]")
    p.check_axe()
    assert p.errors == [], p.errors
    assert p.accessibility == [], p.accessibility
    p.close()
    # patient on a phone: log a meal, see the totals rise
    phone = Page(browser, live_server.url, save, viewport={"width": 390, "height": 844}, is_mobile=True,
                 has_touch=True, device_scale_factor=2)
    page = phone.page
    phone.go(f"/signin/{links['patient']}")
    page.wait_for_selector("#nutrients")
    phone.check_axe()
    calcium_before = page.locator("#nutrients tbody tr").first.locator("td").nth(1).inner_text()
    page.fill("input[name=q]", "milk reduced fat")
    page.click("#food-log button[type=submit] >> text=Search")
    page.wait_for_selector("#food-results")
    page.locator("#food-results li").first.locator("button").click()
    page.wait_for_selector("#nutrients")
    phone.check_axe()
    calcium_after = page.locator("#nutrients tbody tr").first.locator("td").nth(1).inner_text()
    assert float(calcium_after.replace(",", "")) > float(calcium_before.replace(",", ""))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    phone.shot("patient-today-phone")
    phone.go("/me/exercise")
    page.wait_for_selector("#next-loads")
    phone.check_axe()
    phone.shot("patient-exercise-phone")
    phone.go("/me/bone")
    _settled(page)
    phone.check_axe()
    assert "T-score" in page.inner_text("#plain-words")
    phone.shot("patient-bone-phone")
    assert phone.errors == [], phone.errors
    assert phone.accessibility == [], phone.accessibility
    phone.close()


def test_patient_day_food_by_measure_with_a_typo_and_a_session_edited_on_another_day(browser, live_server, database,
                                                                                      database_url):
    """The patient's day: yesterday's food by household measure found through a misspelt search, changed, a
    refused amount shown again at its field, a session logged for yesterday and edited; axe-clean throughout."""
    import datetime as dt

    from tests.web.conftest import sign_in_link
    from tests.web.test_patient_logging import BROCCOLI, _scans

    clinician = make_account(database, "clinician")
    patient = make_account(database, "patient", patient_of=clinician, patient_name="Dora Browser")
    _scans(database, patient.patient_id, [("letrozole", dt.date(2024, 3, 15))])
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    p = Page(browser, live_server.url, save=False, viewport={"width": 390, "height": 844}, is_mobile=True,
             has_touch=True)
    page = p.page
    p.go(f"/signin/{sign_in_link(database, patient.user_id)}")
    page.wait_for_selector("#nutrients")
    p.check_axe()
    # another day, through the date picker
    page.fill("#day-picker", yesterday)
    page.click(".day-picker button[type=submit]")
    page.wait_for_url(f"**/me?day={yesterday}")
    assert page.is_visible("#next-day")
    # a typo in the search still finds broccoli; log 2 cups chopped
    page.fill("input[name=q]", "brocoli")
    page.click("#food-log button[type=submit] >> text=Search")
    page.wait_for_selector("#food-results")
    assert "“broccoli”" in page.inner_text("#spelling")
    first = page.locator("#food-results li").first
    assert first.locator("input[name=food_id]").get_attribute("value") == BROCCOLI
    p.check_axe()
    first.locator("select[name=portion]").select_option("0")  # cup chopped, 91 g
    first.locator("input[name=quantity]").fill("2")
    first.locator("button[type=submit]").click()
    page.wait_for_selector("#saved")
    assert page.url.endswith(f"/me?day={yesterday}&saved=added")
    assert "2 cup chopped (182 g)" in page.inner_text("#food-entries")
    p.check_axe()
    # change it to 1 cup
    page.click("#food-entries .edit-link")
    page.wait_for_selector("#food-entries form.edit-form")
    p.check_axe()
    page.fill("#food-entries form.edit-form input[name=quantity]", "1")
    page.click("#food-entries form.edit-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert "1 cup chopped (91 g)" in page.inner_text("#food-entries")
    # an impossible amount is refused: the page keeps what she typed and marks the field
    page.fill("input[name=q]", "brocoli")
    page.click("#food-log button[type=submit] >> text=Search")
    page.wait_for_selector("#food-results")
    first = page.locator("#food-results li").first
    first.locator("input[name=quantity]").fill("50")
    first.locator("button[type=submit]").click()
    page.wait_for_selector("#refused")
    assert page.locator("#food-results input[aria-invalid=true]").first.input_value() == "50"
    p.check_axe()
    # the refused form's page answers 422 (its response and chromium's console line): expected here
    p.errors = [e for e in p.errors if not (e.startswith("422 ") or "status of 422" in e)]
    assert "1 cup chopped (91 g)" in page.inner_text("#food-entries")
    # a session for yesterday, then edited
    p.go("/me/exercise")
    page.wait_for_selector("#next-loads")
    p.check_axe()
    page.fill("#new-date", yesterday)
    page.select_option("#new-exercise", "goblet_squat")
    page.fill("#new-minutes", "20")
    page.fill("#new-sets", "3")
    page.fill("#new-reps", "10")
    page.fill("#new-load_kg", "8")
    page.click("#exercise-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert f"{yesterday} · Goblet squat · 20 min · 3×10 @ 8.0 kg" in page.inner_text("#sessions")
    page.click("#sessions .edit-link")
    page.wait_for_selector("#sessions form.edit-form")
    p.check_axe()
    page.fill("#sessions form.edit-form input[name=load_kg]", "9")
    page.click("#sessions form.edit-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert "3×10 @ 9.0 kg" in page.inner_text("#sessions")
    p.check_axe()
    # her bones: ranges, medicines and the scans as text
    p.go("/me/bone")
    _charts_ready(page)
    assert "most likely between" in page.inner_text("#ranges")
    assert page.locator("#scan-table tbody tr").count() == 4
    p.check_axe()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    # the check is not vacuous: an image without a text alternative is reported
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/favicon.svg\">')")
    assert any("image-alt" in line for line in p.axe())
    assert p.errors == [], p.errors
    assert p.accessibility == [], p.accessibility
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
