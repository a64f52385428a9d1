"""Browser tests: Playwright (sync API) driving Debian's chromium against live_server.

Playwright runs an event loop in the test thread, which makes Django's async-safety
check refuse ORM calls from the tests; they are plain synchronous calls, so allow them.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import skip_unless_ci
from tests.dashboard.roles import ensure_role_groups

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "correct-horse-battery"


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_browser():
    path = chromium_path()
    if not os.path.exists(path):
        skip_unless_ci(f"chromium is missing at {path} (set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(e2e_browser, live_server):
    """A fresh browser context per test, with CSP violations and page errors collected
    (a test fails if the page broke the policy or threw)."""
    context = e2e_browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(10_000)
    # Report each CSP violation with what was refused, where, and on which element.
    context.add_init_script(
        """document.addEventListener('securitypolicyviolation', (e) => {
          const target = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 160) : '';
          console.error(`CSP violation: ${e.violatedDirective} ${e.sourceFile}:${e.lineNumber}`
            + `:${e.columnNumber} ${e.sample} ${target}`);
        });"""
    )
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.text.startswith("CSP violation") else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.problems = problems
    yield page
    context.close()
    assert problems == [], problems


@pytest.fixture
def roles_ready(transactional_db):
    ensure_role_groups()


def login(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # caret="initial": hiding the caret would leave style="" on inputs, which a later
    # HTMX history restore re-parses and our CSP reports.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path
