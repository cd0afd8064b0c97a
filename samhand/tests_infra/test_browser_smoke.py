"""The browser test machinery works end to end: live server, Chromium, axe-core."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from samhand.lib.testing.browser import AXE_VERSION, axe_violations, check_axe


def test_login_page_opens_in_chromium_with_no_axe_violations(page: Page, live_server: Any) -> None:
    response = page.goto("/accounts/login/")

    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") in {"nb", "nb-no", "nb-NO"}
    check_axe(page)


def test_axe_reports_rule_impact_and_target_for_a_broken_page(page: Page) -> None:
    page.set_content("<!doctype html><html><body><img src='x.png'><a href='#'></a></body></html>")

    with pytest.raises(AssertionError) as failure:
        check_axe(page)

    message = str(failure.value)
    assert f"axe-core {AXE_VERSION}" in message
    assert "- image-alt [critical]" in message
    assert "at img" in message
    assert "html-has-lang" in message
    assert {v.rule for v in axe_violations(page)} >= {"image-alt", "html-has-lang", "link-name"}


def test_persona_session_reaches_the_browser(
    page: Page, live_server: Any, login_as: Any, world: Any
) -> None:
    login_as(world.home_nurse_a)

    cookies = {cookie["name"]: cookie for cookie in page.context.cookies(live_server.url)}
    assert cookies["sessionid"]["httpOnly"] is True
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert "/accounts/" not in page.url  # not sent back to log in or to the second factor
