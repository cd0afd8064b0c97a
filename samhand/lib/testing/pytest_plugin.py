"""pytest plugin for samhand: browser fixtures (Playwright + Debian's Chromium).

Loaded for every run by `-p samhand.lib.testing.pytest_plugin` in pyproject.toml.

Fixtures:
- `browser`: one headless Chromium per test session.
- `page`: a fresh browser context per test (locale nb-NO, a 1024x768 tablet viewport);
  relative URLs go to the live server when the test uses `live_server`.
- `browser_context_args`: override it in a test module to change the context.
- `login_as`: `login_as(user)` logs the page in as a persona (password and TOTP
  already confirmed, through `world.login`), by copying a test client's session cookie.
- `check_axe`: `check_axe(page)` asserts zero WCAG 2.0/2.1 A/AA violations.
- `log_leak_guard` (autouse): every log record emitted during a test is scanned for
  national identifiers (security.md #23); a test that logged one errors at teardown.
  Add clinical marker strings with `log_leak_guard.markers.append("...")`. A test that
  must log an identifier on purpose carries `@pytest.mark.allow_identifiers_in_logs`.

A test that uses `browser` or `page` is marked `browser` and runs after all other
tests: Playwright's sync API keeps an asyncio loop running in the main thread
while the browser lives, and no other test should run beside it. While it lives,
DJANGO_ALLOW_ASYNC_UNSAFE is set so that the test's own ORM calls are allowed.

Without Chromium the browser tests are skipped, unless SAMHAND_REQUIRE_BROWSER=1
(CI), where they fail.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from samhand.lib.testing import browser as browser_support
from samhand.lib.testing.leaks import find_identifiers

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

BROWSER_FIXTURES = frozenset({"browser", "page", "login_as"})
ARTIFACTS_ENV = "SAMHAND_TEST_ARTIFACTS"

# The live server listens on IPv4 loopback, where Chromium looks for it first.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: runs in headless Chromium (samhand plugin)")
    config.addinivalue_line(
        "markers",
        "allow_identifiers_in_logs: the test logs national ids on purpose (no leak check)",
    )


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering by database use
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark browser tests and move them to the end, keeping their relative order."""
    plain: list[pytest.Item] = []
    in_browser: list[pytest.Item] = []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & BROWSER_FIXTURES or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
            in_browser.append(item)
        else:
            plain.append(item)
    items[:] = plain + in_browser


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"_samhand_report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    reason = browser_support.missing_browser_reason()
    if reason is not None:
        if browser_support.browser_required():
            pytest.fail(f"{browser_support.REQUIRE_BROWSER_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")

    from playwright.sync_api import sync_playwright

    executable = browser_support.find_chromium()
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=list(browser_support.CHROMIUM_ARGS),
        )
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    """Options for each test's browser context; override in a module for a phone, say."""
    return {
        "locale": "nb-NO",
        "timezone_id": "Europe/Oslo",
        "viewport": {"width": 1024, "height": 768},
    }


def _artifact_path(item: pytest.Item) -> Path:
    folder = Path(os.environ.get(ARTIFACTS_ENV) or Path.cwd() / "var" / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid) + ".png")


@pytest.fixture
def page(
    browser: Browser, browser_context_args: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[Page]:
    options = dict(browser_context_args)
    if "live_server" in request.fixturenames and "base_url" not in options:
        options["base_url"] = request.getfixturevalue("live_server").url
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    try:
        yield new_page
    finally:
        report = getattr(request.node, "_samhand_report_call", None)
        if report is not None and report.failed:
            path = _artifact_path(request.node)
            try:
                new_page.screenshot(path=str(path), full_page=True)
                print(f"screenshot of the failed page: {path}")
            except Exception as error:  # the page may be gone; the test already failed
                print(f"no screenshot: {error}")
        context.close()


@pytest.fixture
def login_as(
    page: Page, live_server: Any, request: pytest.FixtureRequest
) -> Callable[[Any], Page]:
    """`login_as(user)`: the page's context gets a session of `user` with TOTP confirmed.

    Uses `world.login` from samhand/conftest.py, so the test gets the `world` too.
    """

    def login(user: Any) -> Page:
        from django.test import Client

        world = request.getfixturevalue("world")
        client = Client()
        world.login(client, user)
        browser_support.copy_session_cookie(page.context, client, live_server.url)
        return page

    return login


@pytest.fixture
def check_axe() -> Callable[..., None]:
    """`check_axe(page)` asserts zero axe-core WCAG 2.0/2.1 A/AA violations."""
    return browser_support.check_axe


class LogLeakGuard(logging.Handler):
    """Collects every log record of one test and finds identifiers in them."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[tuple[str, str]] = []
        self.markers: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a broken log call is not this guard's business
            text = str(record.msg)
        self.texts.append((record.name, text))

    def leaks(self) -> list[str]:
        found: list[str] = []
        for name, text in self.texts:
            found.extend(f"logger {name}: {leak}" for leak in find_identifiers(text, self.markers))
        return found

    def assert_clean(self) -> None:
        problems = self.leaks()
        if problems:
            raise AssertionError(
                "national identifiers or marker text in the logs (security.md #23):\n"
                + "\n".join(problems))


def _loggers_to_watch() -> list[logging.Logger]:
    """The root logger, and every logger that does not pass its records up to it."""
    watched = [logging.getLogger()]
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and not logger.propagate:
            watched.append(logger)
    return watched


@pytest.fixture(autouse=True)
def log_leak_guard(request: pytest.FixtureRequest) -> Iterator[LogLeakGuard]:
    guard = LogLeakGuard()
    if request.node.get_closest_marker("allow_identifiers_in_logs"):
        yield guard
        return
    loggers = _loggers_to_watch()
    for logger in loggers:
        logger.addHandler(guard)
    try:
        yield guard
    finally:
        for logger in loggers:
            logger.removeHandler(guard)
    problems = guard.leaks()
    if problems:
        pytest.fail("national identifiers or marker text in the logs (security.md #23):\n"
                    + "\n".join(problems), pytrace=False)
