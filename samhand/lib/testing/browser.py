"""Headless Chromium for the browser tests, and axe-core accessibility checks.

Playwright drives Debian's own Chromium (`/usr/bin/chromium`, package `chromium`);
Playwright's browser download is never used. The fixtures that use this module
live in `samhand.lib.testing.pytest_plugin`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
AXE_PATH = VENDOR_DIR / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

# WCAG 2.0 and 2.1, levels A and AA (issue 2: zero violations on every page).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

# As root, without a sandbox; without the background-networking flags Chromium keeps
# trying to reach Google's hosts, which this machine's closed network refuses.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

REQUIRE_BROWSER_ENV = "SAMHAND_REQUIRE_BROWSER"
CHROMIUM_ENV = "SAMHAND_CHROMIUM"


def browser_required() -> bool:
    """True when a missing browser must fail the run instead of skipping (CI)."""
    return os.environ.get(REQUIRE_BROWSER_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def find_chromium() -> str | None:
    """Path of the Chromium executable: $SAMHAND_CHROMIUM, Debian's, or one on PATH."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_browser_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (uv sync installs it)"
    if find_chromium() is None:
        return (
            "Chromium not found (install Debian's package: apt-get install chromium, "
            f"or point {CHROMIUM_ENV} at an executable)"
        )
    return None


@cache
def axe_source() -> str:
    """The vendored axe-core, checked against the recorded hash."""
    data = AXE_PATH.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != AXE_SHA256:
        raise AssertionError(
            f"{AXE_PATH} has sha256 {digest}, expected {AXE_SHA256} (see vendor/README)"
        )
    return data.decode("utf-8")


@dataclass(frozen=True)
class AxeViolation:
    rule: str
    impact: str
    help: str
    help_url: str
    targets: tuple[str, ...]
    summaries: tuple[str, ...]

    def describe(self, max_nodes: int = 10) -> str:
        lines = [f"- {self.rule} [{self.impact}]: {self.help}", f"    {self.help_url}"]
        for target, summary in list(zip(self.targets, self.summaries, strict=True))[:max_nodes]:
            first = summary.splitlines()[1].strip() if "\n" in summary else summary.strip()
            lines.append(f"    at {target}" + (f" -- {first}" if first else ""))
        if len(self.targets) > max_nodes:
            lines.append(f"    ... and {len(self.targets) - max_nodes} more elements")
        return "\n".join(lines)


_RUN_AXE = """
async ([tags, context, disabled]) => {
  const options = {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']};
  if (disabled.length) {
    options.rules = Object.fromEntries(disabled.map(id => [id, {enabled: false}]));
  }
  const result = await window.axe.run(context || document, options);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact || 'unknown', help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary || ''})),
  }));
}
"""


def inject_axe(page: Page) -> None:
    """Load axe-core into the page (through DevTools, so the page's CSP still holds)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate("source => { (0, eval)(source); }", axe_source())


def axe_violations(
    page: Page,
    *,
    tags: tuple[str, ...] = WCAG_TAGS,
    context: str | None = None,
    disable_rules: tuple[str, ...] = (),
) -> list[AxeViolation]:
    """Run axe-core on the current page and return its violations."""
    inject_axe(page)
    raw: list[dict[str, Any]] = page.evaluate(_RUN_AXE, [list(tags), context, list(disable_rules)])
    return [
        AxeViolation(
            rule=item["id"],
            impact=item["impact"],
            help=item["help"],
            help_url=item["helpUrl"],
            targets=tuple(node["target"] for node in item["nodes"]),
            summaries=tuple(node["summary"] for node in item["nodes"]),
        )
        for item in raw
    ]


def format_violations(url: str, violations: list[AxeViolation]) -> str:
    header = f"axe-core {AXE_VERSION} found {len(violations)} WCAG 2.1 A/AA violation(s) on {url}:"
    return "\n".join([header, *(v.describe() for v in violations)])


def check_axe(
    page: Page,
    *,
    tags: tuple[str, ...] = WCAG_TAGS,
    context: str | None = None,
    disable_rules: tuple[str, ...] = (),
) -> None:
    """Assert that axe-core finds no WCAG 2.0/2.1 A or AA violation on the page.

    `context` narrows the check to a CSS selector; `disable_rules` switches rules
    off by id and should carry a comment saying why at the call site.
    """
    violations = axe_violations(page, tags=tags, context=context, disable_rules=disable_rules)
    if violations:
        raise AssertionError(format_violations(page.url, violations))


def copy_session_cookie(context: BrowserContext, client: Any, base_url: str) -> None:
    """Give a browser context the session of a logged-in Django test `client`."""
    from django.conf import settings

    name = settings.SESSION_COOKIE_NAME
    morsel = client.cookies.get(name)
    if morsel is None or not morsel.value:
        raise AssertionError(f"the test client has no {name} cookie: log it in first")
    context.add_cookies([
        {"name": name, "value": morsel.value, "url": base_url, "httpOnly": True,
         "sameSite": "Lax"}
    ])
