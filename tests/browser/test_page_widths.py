"""Every page the demo's patient, GP and pharmacist reach fits the window, on a desktop and a phone.

Each user signs in, then the test follows the links of every page it reaches (one page per
kind of URL: the first document stands for all documents) and, at 1280 px then at 375 px,
fails if the page is wider than the window (the user would have to scroll sideways).
"""

import importlib
import re
from io import StringIO
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.core.management import call_command

from acces.models import Professional
from espace_sante.models import Patient, Space
from tests.browser.test_access_journeys import _totp

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path("/tmp/page-widths")
WIDTHS = {"desktop": (1280, 800), "phone": (375, 740)}
# Files, the admin and the sign-in steps are not pages to lay out; logging out ends the walk.
NOT_PAGES = re.compile(
    r"/telecharger/[0-9a-f-]{36}/archive/|/documents/[0-9a-f-]{36}/telecharger/|\.pdf$|\.ics$"
    r"|/pieces-jointes/[0-9a-f-]{36}/$"
    r"|^/admin/|^/comptes/logout/|^/connexion/(?!totp/)|^/static/|^/media/"
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def demo(settings):
    """The demo's data, as `make run` loads it (the migrations' data first: a transactional
    test flushes it)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    for module in (
        "dossier.migrations.0002_document_types",
        "acces.migrations.0006_default_document_access_matrix",
    ):
        importlib.import_module(module).load(apps, None)
    call_command("demo", stdout=StringIO())
    return Space.objects.get(holder__first_names="Camille Marie")


def _kind_of_page(path):
    """One visit per kind of URL: ids stand for every object of their kind."""
    return re.sub(r"/\d+/", "/N/", UUID.sub("ID", path))


def _too_wide(page):
    """The page's width beyond the window's, and the elements that stick out (for the message)."""
    return page.evaluate(
        """() => {
            const right = e => e.getBoundingClientRect().right;
            const name = e => e.tagName.toLowerCase()
                + (e.className ? '.' + String(e.className).trim().split(/\\s+/).join('.') : '');
            const width = window.innerWidth;
            const overflow = document.documentElement.scrollWidth - width;
            // On a desktop a table shows every column: none scrolls sideways in its frame.
            const frames = [...document.querySelectorAll('.fr-table__container')];
            const scrolling = width < 1024 ? [] : frames
                .filter(e => e.scrollWidth > e.clientWidth + 1)
                .map(e => 'table ' + JSON.stringify(e.innerText.slice(0, 40)));
            if (overflow <= 0 && !scrolling.length) return null;
            if (overflow <= 0) return {overflow: 0, culprits: scrolling};
            const culprits = [...document.querySelectorAll('body *')]
                .filter(e => right(e) > width + 1)
                .filter(e => !e.parentElement || right(e.parentElement) <= width + 1)
                .slice(0, 5)
                .map(e => name(e) + ' ' + JSON.stringify((e.innerText || '').slice(0, 40)));
            return {overflow, culprits};
        }"""
    )


def _links(page, origin):
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        url, _fragment = urldefrag(href)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != origin or NOT_PAGES.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def _walk(page, live_server, who, start, extra=()):
    """Visits every page reachable from `start`; returns the pages that do not fit."""
    SCREENSHOTS.mkdir(exist_ok=True)
    queue, kinds, visited, faults = [start, *extra], set(), [], []
    while queue:
        path = queue.pop(0)
        kind = _kind_of_page(urlsplit(path).path) + ("?" if "?" in path else "")
        if kind in kinds:
            continue
        kinds.add(kind)
        page.set_viewport_size(dict(zip(("width", "height"), WIDTHS["desktop"], strict=True)))
        response = page.goto(live_server.url + path)
        if not response.ok or "text/html" not in response.headers.get("content-type", ""):
            continue
        visited.append(path)
        queue.extend(_links(page, live_server.url))
        name = f"{who}-{len(visited):02d}-" + re.sub(r"\W+", "_", kind).strip("_")[:60]
        faults += _faults_at_both_widths(page, name)
    return visited, faults


def _faults_at_both_widths(page, name):
    """The page as it stands, at each width: a screenshot, and what sticks out."""
    faults = []
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(50)  # the resize's layout
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        too_wide = _too_wide(page)
        if too_wide:
            faults.append(f"{urlsplit(page.url).path} at {width} px: {too_wide}")
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS["desktop"], strict=True)))
    return faults


def _sign_in(page, live_server, email, code):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.url + "/comptes/login/")
    page.get_by_label(re.compile("e-mail", re.I)).fill(email)
    page.get_by_label(re.compile("Mot de passe", re.I)).first.fill(settings.DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("Se connecter")).click()
    page.wait_for_url(re.compile("/connexion/"))
    page.get_by_label(re.compile("Code", re.I)).fill(code())
    page.get_by_role("button", name="Valider").click()
    page.wait_for_load_state()


def _emailed_code():
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_every_page_of_the_demo_patient_fits_a_desktop_and_a_phone(page, live_server, demo):
    _sign_in(page, live_server, demo.holder.user.email, _emailed_code)
    base = f"/espace/{demo.public_id}"
    visited, faults = _walk(
        page,
        live_server,
        "patient",
        "/",
        # The directory's results and a filtered history are pages of their own.
        extra=[f"{base}/acces/?query=Bernard", f"{base}/historique/?page=2"],
    )
    must_reach = ["/", base + "/", base + "/documents/", base + "/profil/", base + "/acces/"]
    must_reach += [base + "/historique/", "/notifications/", base + "/telecharger/"]
    assert set(must_reach) <= set(visited), f"not reached: {set(must_reach) - set(visited)}"
    assert any(re.fullmatch(rf"{base}/documents/{UUID.pattern}/", p) for p in visited)
    assert not faults, "pages wider than the window:\n" + "\n".join(faults)


@pytest.mark.parametrize("who", ["generaliste", "pharmacien"])
def test_every_page_of_a_demo_professional_fits_a_desktop_and_a_phone(page, live_server, demo, who):
    user = Professional.objects.get(user__email__startswith=f"{who}@").user
    _sign_in(page, live_server, user.email, lambda: _totp(user))
    patient = f"/pro/patients/{demo.public_id}"
    visited, faults = _walk(page, live_server, who, "/pro/", extra=[patient + "/"])
    # Pages that a form leads to: the search's error, then the consent for a new patient.
    marc = Patient.objects.get(first_names="Marc")
    for last_name, name in [("Inconnu", "search-error"), (marc.last_name, "consent")]:
        page.goto(live_server.url + "/pro/patients/recherche/")
        page.get_by_label(re.compile("INS")).fill(marc.nir)
        page.get_by_label("Nom de naissance").fill(last_name)
        page.get_by_label("Date de naissance").fill(marc.birth_date.isoformat())
        page.get_by_role("button", name=re.compile("Rechercher")).click()
        page.wait_for_load_state()
        faults += _faults_at_both_widths(page, f"{who}-{name}")
    assert page.url.endswith(
        f"/pro/patients/{Space.objects.get(holder=marc).public_id}/consentement/"
    )
    must_reach = ["/pro/", patient + "/", patient + "/documents/"]
    assert set(must_reach) <= set(visited), f"not reached: {set(must_reach) - set(visited)}"
    assert any(re.fullmatch(rf"{patient}/documents/{UUID.pattern}/", p) for p in visited)
    assert not faults, "pages wider than the window:\n" + "\n".join(faults)
