"""A manager fine-tunes the demo project's model from the project page, switches to the new version and back."""

import pytest
from playwright.sync_api import Page, expect

from tests.backend.test_finetune_api import prepare_demo
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def test_manager_fine_tunes_and_switches_model_in_the_page(
    live_server, transactional_db, settings, tmp_path, monkeypatch, page: Page
) -> None:
    project = prepare_demo(settings, tmp_path, monkeypatch)
    log_in(page, live_server.url, "demo-manager", "demo-manager")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    panel = page.locator("#model-panel")
    expect(panel.locator("[data-active]")).to_have_text("hrnet18-ocr64-cocolvis")

    panel.get_by_role("button", name="Fine-tune on this project").click()
    new_model = f"hrnet18-ocr64-cocolvis-p{project.pk}-v1"
    job = panel.locator("tr[data-job]").first
    expect(job).to_contain_text("succeeded", timeout=240_000)
    expect(job).to_contain_text(new_model)
    expect(job).to_contain_text("→")
    screenshot(page, "finetune-done")

    panel.locator("select[name=model]").select_option(new_model)
    panel.get_by_role("button", name="Use").click()
    expect(panel.locator("[data-active]")).to_have_text(new_model)
    page.reload()
    expect(panel.locator("[data-active]")).to_have_text(new_model)
    expect(panel).to_have_attribute("data-loaded", "1")  # the choices came (they replace the page's placeholder)
    panel.locator("select[name=model]").select_option("")
    panel.get_by_role("button", name="Use").click()
    expect(panel.locator("[data-active]")).to_have_text("hrnet18-ocr64-cocolvis")
