"""The explorer in a real browser: /docs on a live server, offline, authorize, run a read.

Uses Debian's `chromium` through Python playwright (no browser download); every request to
another host is aborted and must not happen at all.
"""

import shutil
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.live import cli, running_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "tmp" / "artifacts"
CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)"),
]


def test_docs_authorize_and_execute_a_purpose_checked_read(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="python playwright is not installed")
    with running_server(tmp_path) as (base, env):
        storefront = cli("token", "--role", "storefront", "--sub", "shop", env=env,
                         cwd=tmp_path).stdout.strip()
        agent = cli("token", "--role", "support_agent", "--sub", "agent-7", env=env,
                    cwd=tmp_path).stdout.strip()
        created = httpx.post(f"{base}/v1/customers", headers={
            "Authorization": f"Bearer {storefront}"}, json={
            "name": "Browser Tester", "email": "browser.tester@example.com",
            "phone": "+8613800138000"})
        assert created.status_code == 201, created.text
        customer_id = created.json()["id"]

        foreign = []
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1800})

            def only_this_server(route) -> None:
                if urlparse(route.request.url).netloc == urlparse(base).netloc:
                    route.continue_()
                else:
                    foreign.append(route.request.url)
                    route.abort()

            page.route("**/*", only_this_server)
            try:
                status, body = _read_in_explorer(page, base=base, token=agent,
                                                 customer_id=customer_id)
            finally:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "docs-read-customer.png"), full_page=True)
                browser.close()

    assert status == "200"
    assert customer_id in body and "browser.tester@example.com" in body
    assert foreign == [], f"the explorer tried to reach other hosts: {foreign}"


def _read_in_explorer(page, *, base: str, token: str, customer_id: str) -> tuple[str, str]:
    """Authorize in /docs, run GET /v1/customers/{id} for `service`; return status and body."""
    page.goto(f"{base}/docs")
    page.locator("button.authorize").first.click()
    page.locator(".modal-ux input").first.fill(token)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()

    operation = page.locator(".opblock-get").filter(
        has=page.locator(".opblock-summary-path[data-path='/v1/customers/{customer_id}']"))
    operation.locator(".opblock-summary").first.click()
    documented = {code: operation.locator(f"tr.response[data-code='{code}']").inner_text()
                  for code in ("401", "403")}
    assert '"code": "unauthenticated"' in documented["401"]
    assert '"code": "purpose_not_permitted"' in documented["403"]
    assert "purpose_required" not in documented["401"] + documented["403"]
    operation.locator("tr[data-param-name='customer_id'] input").fill(customer_id)
    purpose = operation.locator("tr[data-param-name='x-purpose' i]")
    if purpose.locator("select").count():
        purpose.locator("select").select_option("service")
    else:
        purpose.locator("input").fill("service")
    operation.locator("button.execute").click()

    live = operation.locator(".live-responses-table .response")
    live.locator(".response-col_status").first.wait_for()
    status = live.locator(".response-col_status").first.inner_text().strip()
    return status, live.locator(".response-col_description pre").first.inner_text()
