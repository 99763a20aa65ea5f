"""The HTML reports in a real browser: headless Chromium loads the demo's reports.

Each page must load without a console error, ask for nothing outside itself (no request
but the page, no http(s) address in a src or href) and stay short: the demo's release
report measured 4,272 pixels at 1,280 wide (4.7 screens of 900) and 5 A4 pages printed in
English, 6 in French and Spanish. Skipped where /usr/bin/chromium is absent; ``.ci/run``
installs it and sets SDC_BROWSER_TESTS=1, which turns the skip into a failure.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from sdc.workflow import DemoOutcome, run_demo, run_release

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")

#: Printed A4 pages of the demo's release report, at most (5 measured; 6 in fr and es).
MAX_PAGES = 6
MAX_PAGES_TRANSLATED = 7
#: Rendered height at 1,280 CSS pixels wide, at most: six screens of 900 (4,272 measured).
MAX_HEIGHT = 6 * 900

if not CHROMIUM.exists() and os.environ.get("SDC_BROWSER_TESTS") == "1":
    raise RuntimeError(f"SDC_BROWSER_TESTS=1 but {CHROMIUM} is missing")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"
    ),
]


def _script() -> Any:
    """scripts/browser_check.py, loaded once (its dataclass needs it in sys.modules)."""
    if "browser_check" not in sys.modules:
        path = ROOT / "scripts" / "browser_check.py"
        spec = importlib.util.spec_from_file_location("browser_check", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["browser_check"] = module
        spec.loader.exec_module(module)
    return sys.modules["browser_check"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoOutcome:
    folder = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SDC_LEDGER", str(folder / "ledger.jsonl"))
        return run_demo(folder / "out")


def _external_links(page: str) -> list[str]:
    """Every src or href that is not an in-page anchor."""
    found = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", page)
    return [link for link in found if not link.startswith("#")]


def _check(path: Path, max_pages: int) -> Any:
    facts = _script().load(path)
    assert facts.console_errors == []
    assert facts.requests == []  # nothing but the page itself is loaded
    assert _external_links(path.read_text(encoding="utf-8")) == []
    assert 0 < facts.pdf_pages <= max_pages
    return facts


def test_release_report_loads_clean_and_fits(demo: DemoOutcome) -> None:
    facts = _check(demo.folder / "release" / "report.html", MAX_PAGES)
    assert facts.title == "Release of survey.csv"
    assert 2 * 900 < facts.height <= MAX_HEIGHT


def test_risk_report_loads_clean(demo: DemoOutcome) -> None:
    facts = _check(demo.folder / "risk.html", MAX_PAGES)
    assert facts.title == "Disclosure risk of survey.csv"


@pytest.mark.parametrize(
    ("lang", "title"), [("fr", "Diffusion de survey.csv"), ("es", "Publicación de survey.csv")]
)
def test_translated_release_report_loads_clean(
    demo: DemoOutcome, lang: str, title: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    out = tmp_path / "release"
    run_release(demo.folder / "survey.csv", demo.folder / "policy.yaml", out, lang=lang)
    facts = _check(out / "report.html", MAX_PAGES_TRANSLATED)
    assert facts.title == title


def test_the_checker_sees_errors_and_requests(tmp_path: Path) -> None:
    """The checks above can fail: a page with a broken script and a remote image."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        '<img src="https://example.invalid/x.png">'
        '<script>console.error("boom"); notDefined();</script></body></html>'
    )
    facts = _script().load(page)
    assert facts.requests == ["https://example.invalid/x.png"]
    assert "boom" in facts.console_errors
    assert any("notDefined is not defined" in e for e in facts.console_errors)
    assert _external_links(page.read_text()) == ["https://example.invalid/x.png"]
    assert facts.pdf_pages == 1
