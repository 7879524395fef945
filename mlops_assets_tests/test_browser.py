"""What a person sees, in a real browser: after a small cycle (two months, 1,000 users), `dagster
dev` and the MLflow UI run on loopback and Debian's Chromium (headless, driven by Playwright's
Python package through `executable_path`: no browser download) looks at the asset graph, a
month's decision with its ROC picture and its link into MLflow (followed: the version's page
opens), the decision's checks, and the retraining job's runs.

Screenshots land in `browser-screenshots/` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from mlops_assets.assets import ALL_ASSETS

from mlops_assets_tests.services.servers import start_process, stop, wait_until
from mlops_assets_tests.small_cycle import answers

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHOTS = ROOT / "browser-screenshots"
# Every asset of the code location, as the graph must list them.
ASSETS = tuple(asset.key.to_user_string() for asset in ALL_ASSETS)
MONTH = "2024-02"
TIMEOUT_MS = 60_000


def chromium() -> str:
    """Debian's Chromium (scripts/install-services.sh installs it); CI insists on it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Chromium is not installed (scripts/install-services.sh installs it: apt-get install chromium)"
        if os.environ.get("MLOPS_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def uis(small_cycle, tmp_path_factory):
    """The MLflow UI on the small cycle's store, beside the cycle's `dagster dev`."""
    log = tmp_path_factory.mktemp("browser_logs") / "mlflow.log"
    store = small_cycle.defs.resources["registry"].tracking_uri
    mlflow = start_process(
        [str(BIN / "mlflow"), "ui", "--backend-store-uri", store, "--host", "127.0.0.1",
         "--port", str(small_cycle.mlflow_port), "--workers", "1"],
        # No background job runner (huey): the UI only shows what the cycle wrote.
        small_cycle.env | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, ROOT, log,
    )
    try:
        wait_until(lambda: answers(f"{small_cycle.ui_url}/health"), "mlflow ui", mlflow, log, timeout=180)
        yield {"dagster": small_cycle.dagster_url, "mlflow": small_cycle.ui_url}
    finally:
        stop(mlflow, group=True)


@pytest.fixture(scope="module")
def browser(uis):
    from playwright.sync_api import sync_playwright

    executable = chromium()
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="module")
def page(browser, uis):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    # The graph draws only the nodes in view: a viewport the size of the whole graph shows them all.
    page.set_viewport_size({"width": 2600, "height": 1800})
    page.goto(f"{uis['dagster']}/asset-groups")
    dismiss_the_community_dialog(page)
    yield page
    context.close()


def dismiss_the_community_dialog(page) -> None:
    """A fresh instance greets its first visitor with "Join the Dagster community"; Skip it."""
    heading = page.get_by_text("Join the Dagster community")
    heading.wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Skip").click()
    heading.wait_for(state="hidden")


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_asset_graph_lists_the_assets(page, uis):
    # The graph draws only the nodes in view: a viewport the size of the whole graph shows them all.
    page.set_viewport_size({"width": 2600, "height": 1800})
    page.goto(f"{uis['dagster']}/asset-groups")
    # The groups start collapsed: open each one in the graph.
    page.locator("[aria-label=unfold_more]").first.wait_for()
    while page.locator("[aria-label=unfold_more]").count():
        # A click on the element itself: with more groups than fit, the graph's zoom control can
        # sit over a group's header and swallow a pointer click at those coordinates.
        page.locator("[aria-label=unfold_more]").first.evaluate("element => element.click()")
        page.wait_for_timeout(300)
    # Expanded, the groups outgrow the view: zoom out (the graph's own control) until all fit.
    zoom_out = page.locator("[aria-label=zoom_out]").first
    for _ in range(12):
        zoom_out.evaluate("icon => (icon.closest('button') || icon).click()")
        page.wait_for_timeout(100)
    try:
        for name in ASSETS:
            # Zoomed out, the graph shortens long names in the middle (`produ…performance`).
            page.get_by_text(re.compile(rf"^{re.escape(name[:5])}.*{re.escape(name[-6:])}$")).first.wait_for()
    finally:
        shot(page, "1_asset_graph")  # what a person saw, also when an asset is missing
    page.set_viewport_size({"width": 1400, "height": 900})


def metadata_row(page, key: str):
    """The row of an asset's metadata table whose key is `key`."""
    return page.locator("tr", has=page.get_by_text(key, exact=True)).first


def test_a_months_decision_shows_its_roc_and_opens_its_version_in_mlflow(page, uis, small_cycle):
    from mlops_assets.records import latest_metadata

    record = latest_metadata(small_cycle.instance, "promotion_decision", MONTH)["record"]
    page.goto(f"{uis['dagster']}/assets/promotion_decision?view=partitions&partition={MONTH}")
    decision = metadata_row(page, "decision")
    decision.wait_for()
    assert record["decision"] in decision.inner_text()
    shot(page, "2_promotion_decision")

    metadata_row(page, "roc").get_by_text("[Show Markdown]").click()
    image = page.get_by_role("dialog").locator("img[src^='data:image/png;base64,']")
    image.wait_for()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 300
    shot(page, "3_roc_in_dagster")
    page.keyboard.press("Escape")
    image.wait_for(state="hidden")

    version = record["candidate_version"]
    link = metadata_row(page, "candidate_version_url").locator("a").first
    assert link.get_attribute("href") == f"{uis['mlflow']}/#/models/streamflow_churn/versions/{version}"
    with page.context.expect_page() as opened:  # Dagster opens metadata URLs in a new tab
        link.click()
    mlflow_page = opened.value
    # Both UIs keep polling (never "network idle"): wait for what a person looks for instead.
    mlflow_page.get_by_text(f"Version {version}").first.wait_for(timeout=3 * TIMEOUT_MS)
    mlflow_page.get_by_text(record["reason"][:40]).first.wait_for()  # the card: the decision's reason
    shot(mlflow_page, "4_version_in_mlflow")
    mlflow_page.close()


def test_a_drift_report_opens_in_mlflow_from_its_link(page, uis, small_cycle):
    from mlops_assets.records import latest_metadata

    report = latest_metadata(small_cycle.instance, "drift_report", MONTH)
    page.goto(f"{uis['dagster']}/assets/drift_report?view=partitions&partition={MONTH}")
    link = metadata_row(page, "report_html_url").locator("a").first
    assert link.get_attribute("href").endswith("/artifacts/" + Path(report["report_html"]).name)
    with page.context.expect_page() as opened:
        link.click()
    mlflow_page = opened.value
    # MLflow renders the HTML artifact (the Evidently report, a few MB) in a frame.
    mlflow_page.frame_locator("iframe").get_by_text("Drift in column").first.wait_for(timeout=3 * TIMEOUT_MS)
    shot(mlflow_page, "5_drift_report_in_mlflow")
    mlflow_page.close()


def test_the_checks_tab_shows_the_months_passed_checks(page, uis):
    page.goto(f"{uis['dagster']}/assets/promotion_decision?view=checks&partition={MONTH}")
    for check in ("production_cleared_delta", "production_matches_decision"):
        page.get_by_text(check, exact=True).first.click()
        latest = page.locator("div", has=page.get_by_text("Latest execution", exact=True)).filter(
            has=page.get_by_text("Evaluation result", exact=True)).last
        latest.get_by_text("Passed", exact=True).wait_for()
        shot(page, f"6_check_{check}")


def test_the_retraining_jobs_runs_tab_lists_the_runs(page, uis, small_cycle):
    runs = [run.run_id for run in small_cycle.runs if run.job_name == "retraining_job"]
    assert len(runs) == 2
    page.goto(f"{uis['dagster']}/locations/mlops_assets/jobs/retraining_job/runs")
    for run_id in runs:
        page.get_by_text(run_id[:8], exact=True).first.wait_for()
    shot(page, "7_retraining_runs")
