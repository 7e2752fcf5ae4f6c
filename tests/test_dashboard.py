"""The dashboard: one self-contained page per run, opened in a real headless Chromium (Debian's chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from quality_project import RUNS, QualityProject, shared_project
from typer.testing import CliRunner

from hanlink.cli import app
from hanlink.db import Database
from hanlink.pipeline import open_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
DIMENSIONS_ZH = ["完整性", "有效性", "准确性", "唯一性", "一致性", "时效性"]
DIMENSIONS_EN = ["Completeness", "Validity", "Accuracy", "Uniqueness", "Consistency", "Timeliness"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> QualityProject:
    """600 generated records in 4 sources, run twice through the pipeline (exports the dashboard)."""
    return shared_project(tmp_path_factory)


@pytest.fixture
def db(project: QualityProject) -> Database:
    """The project's warehouse, read-only."""
    with open_database(project.cfg, read_only=True) as database:
        yield database


def overall(db: Database, run_id: str) -> float:
    return float(db.scalar("SELECT score FROM dq_scorecard WHERE run_id = ? AND level = 'overall' "
                           "AND source IS NULL", [run_id]))


def test_a_page_per_run_and_latest_is_the_newest(project: QualityProject) -> None:
    pages = {p.name: p for p in project.out.rglob("*.html") if p.name != "latest.html"}
    assert sorted(pages) == [f"{r}.html" for r in RUNS]
    latest = project.out / "dashboard" / "latest.html"
    assert latest.read_bytes() == pages[f"{RUNS[-1]}.html"].read_bytes()


def test_the_page_needs_nothing_from_outside(project: QualityProject) -> None:
    html = (project.out / "dashboard" / "latest.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", html) and "<link" not in html and "@import" not in html
    from plotly.offline import get_plotlyjs

    assert html.count(get_plotlyjs()) == 1                       # plotly.js inline, once
    ours = html.replace(get_plotlyjs(), "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", ours), "nothing may load from elsewhere"


def test_no_raw_phone_or_id_number_reaches_the_page(project: QualityProject) -> None:
    from plotly.offline import get_plotlyjs

    # plotly.js itself holds digit runs such as 11111111111: search the page around it
    html = (project.out / "dashboard" / "latest.html").read_text(encoding="utf-8").replace(get_plotlyjs(), "")
    crm = project.source_frame("crm")
    raw = [v for col in ("手机号", "身份证号") for v in crm[col].drop_nulls().to_list() if len(v) >= 11]
    assert raw and not [v for v in raw if re.search(rf"(?<![\d.]){re.escape(v)}(?!\d)", html)]
    assert re.search(r"\d{3}\*{4}\d{4}|\d{6}\*{8}[\dX]{4}", html), "masked examples expected"


def test_report_rebuilds_a_past_run_without_touching_latest(project: QualityProject, tmp_path: Path) -> None:
    latest = (project.out / "dashboard" / "latest.html").read_bytes()
    config = str(project.data.config)
    args = ["report", "--config", config, "--out", str(tmp_path), "--run-id"]
    result = CliRunner().invoke(app, [*args, RUNS[0]])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "dashboard" / f"{RUNS[0]}.html").exists()
    assert not (tmp_path / "dashboard" / "latest.html").exists()   # an older run never becomes latest
    assert (project.out / "dashboard" / "latest.html").read_bytes() == latest
    result = CliRunner().invoke(app, [*args, "nope"])
    assert result.exit_code == 1 and "nope" in result.output


def test_dashboard_in_headless_chromium(project: QualityProject, db: Database, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    # fails, never skips: the README's test command installs it (.ci/system.sh)
    assert CHROMIUM.exists(), "needs Debian's chromium: run `bash .ci/system.sh` (apt-get install chromium)"

    page_file = project.out / "dashboard" / "latest.html"
    score = f"{overall(db, RUNS[-1]):,.1f}"
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('#trend-zh .main-svg').length > 0")
            assert page.locator("#overall-score").inner_text() == score
            text = page.locator("body").inner_text()
            assert all(name in text for name in DIMENSIONS_ZH), text[:500]
            assert "Completeness" not in text
            # two runs → a trend line of two points
            assert page.evaluate("document.getElementById('trend-zh').data[0].x") == list(RUNS)
            page.screenshot(path=tmp_path / "dashboard_zh.png", full_page=True)

            page.click("#lang-switch")
            text = page.locator("body").inner_text()
            assert all(name in text for name in DIMENSIONS_EN), text[:500]
            assert "Overall score" in text and "完整性（" not in text
            assert page.locator("#overall-score").inner_text() == score
            page.wait_for_function("document.querySelectorAll('#trend-en .main-svg').length > 0")
            page.screenshot(path=tmp_path / "dashboard_en.png", full_page=True)
        finally:
            browser.close()
    assert requests == [page_file.as_uri()], requests    # the page itself, nothing else
    assert errors == []
    for name in ("dashboard_zh.png", "dashboard_en.png"):
        assert (tmp_path / name).stat().st_size > 50_000


def test_first_run_says_there_is_nothing_to_compare(tmp_path: Path) -> None:
    from test_report import AS_OF, SOURCES, write_run

    from hanlink.config import ReportConfig
    from hanlink.dashboard import write_dashboard
    from hanlink.report import report

    db = Database(":memory:")
    write_run(db)
    report(db, ReportConfig(), "r1", as_of=AS_OF, sources=SOURCES)
    html = write_dashboard(db, "r1", tmp_path).read_text(encoding="utf-8")
    assert "这是第一次运行" in html and "First run: nothing to compare with." in html
    assert '<html lang="zh-CN">' in html
    english = write_dashboard(db, "r1", tmp_path, lang="en").read_text(encoding="utf-8")
    assert '<html lang="en">' in english
    # 8 accepted records in 6 entities: 2 duplicates found; 3 quarantined of 11 read; 6 golden records
    kpi = r'<span class="en">([^<]+)</span></div><div class="value">(?:<span[^>]*>)?([\d.,]+)'
    kpis = dict(re.findall(kpi, html))
    assert kpis == {"Overall score": "85.9", "Records in": "11", "Quarantined": "3", "Duplicates found": "2",
                    "Golden records": "6", "Quality alerts": "0"}
