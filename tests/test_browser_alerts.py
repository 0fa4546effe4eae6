"""The alert deliveries page and the queue's banner in a real browser, checked by axe."""

from __future__ import annotations

import pytest

from screening.outbox import relay

from .browser_helpers import assert_accessible
from .conftest import DESKTOP, LiveServer, add_user, make_app
from .mailbox import free_port
from .test_browser_clinician import sign_in
from .test_outbox import URGENT, send

pytestmark = pytest.mark.usefixtures("browser")


@pytest.fixture
def failing(tmp_path):
    """An app whose mail server is down, with one urgent alert that failed, on a real port."""
    app = make_app(
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=free_port(),  # nothing listens there
        SMTP_STARTTLS=False,
        SMTP_TIMEOUT_SECONDS=2,
        ALERT_FROM="alerts@clinic.example",
        ALERT_EMAIL_TO=["duty@clinic.example"],
        PUBLIC_URL="https://clinic.example",
    )
    reference = send(app, URGENT)
    with app.app_context():
        assert relay.run_pass().failed == 1
    add_user(app, "admin@example.org", role="admin")
    server = LiveServer(app)
    yield server, reference
    server.stop()


def test_the_banner_and_the_deliveries_page_show_a_failed_alert(failing, browser):
    live, reference = failing
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, live.url, "admin@example.org")
    page.goto(live.url + "/review/")
    banner = page.locator(".alert-failed")
    assert "1 urgent alert has not been delivered" in banner.inner_text()
    assert_accessible(page)
    banner.get_by_role("link", name="See the failed deliveries").click()
    page.wait_for_url("**/review/alerts?show=failed")
    assert reference in page.locator("table").inner_text()
    assert "Failed, will retry" in page.locator("table").inner_text()
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Retry message 1").click()
    assert "will be sent again" in page.content()
    assert_accessible(page)
    context.close()
