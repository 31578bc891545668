"""The footer's public-service pages in Chromium: reached from the footer, accessible, and
as wide as the window at desktop and phone widths."""

import pytest

from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [1280, 375])
def test_footer_pages_open_fit_the_window_and_pass_axe(page, live_server, width, tmp_path):
    page.set_viewport_size({"width": width, "height": 900})
    for link, heading in [
        ("Accessibilité : non conforme", "Déclaration d'accessibilité"),
        ("Mentions légales", "Mentions légales"),
        ("Données personnelles", "Données personnelles"),
    ]:
        page.goto(live_server.url + "/")
        page.locator(".fr-footer__bottom-list").get_by_role("link", name=link).click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == heading
        assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
        assert_accessible(page)
        page.screenshot(path=tmp_path / f"{len(heading)}-{width}.png", full_page=True)
