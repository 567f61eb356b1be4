"""In Chromium: an image uploaded under an HTML name runs nothing, and no page trips its Content-Security-Policy."""

import pytest
from playwright.sync_api import Browser

from backend.images.services import batch_submit, images_upload
from tests.browser.conftest import log_in, screenshot
from tests.conftest import World, upload

pytestmark = pytest.mark.browser


def set_password(world: World, who: str) -> None:
    user = world.users[who]
    user.set_password(f"pw-{who}")
    user.save()


def test_an_image_named_html_is_shown_as_an_image_and_runs_nothing(live_server, transactional_db, world, browser):
    from tests.backend.test_security import png_with_script

    set_password(world, "manager")
    image = images_upload(
        project=world.project, files=[upload("poc.html", png_with_script())], uploaded_by=world.users["manager"]
    ).created[0]
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server.url, "manager", "pw-manager")
    page.wait_for_url(f"{live_server.url}/")
    response = page.goto(f"{live_server.url}/api/images/{image.pk}/file")
    assert response.headers["content-type"] == "image/png"
    assert page.evaluate("document.contentType") == "image/png"
    assert page.title() != "pwned" and dialogs == []
    context.close()


def test_no_page_trips_the_content_security_policy(live_server, transactional_db, world: World, browser: Browser):
    """Every page the team uses, with its scripts running (CSP reports violations on the console)."""
    for who in ("manager", "annotator"):
        set_password(world, who)
    image = world.batched_image
    pages = {"annotator": ["/", f"/projects/{world.project.pk}/", f"/images/{image.pk}/annotate/"]}
    pages["manager"] = [f"/projects/{world.project.pk}/", f"/images/{image.pk}/review/"]
    violations: list[str] = []
    for who, urls in pages.items():
        if who == "manager":
            batch_submit(batch=world.batch)  # the review page reviews a submitted batch
        context = browser.new_context()
        page = context.new_page()
        page.on(
            "console", lambda message: violations.append(message.text) if "Content Security" in message.text else None
        )
        log_in(page, live_server.url, who, f"pw-{who}")
        page.wait_for_url(f"{live_server.url}/")
        for url in urls:
            response = page.goto(f"{live_server.url}{url}")
            assert response.status == 200, url
            assert "script-src 'self'" in response.headers["content-security-policy"]
            page.wait_for_load_state("networkidle")
        screenshot(page, f"csp-{who}")
        context.close()
    assert violations == []
