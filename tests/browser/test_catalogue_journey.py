"""Issue 14's journey in Chromium, at 1280 px and at 375 px, with the demo glucometer
played by its own script (`docs/exemples/glucometre.py`: requests-oauthlib and fhirpy,
nothing written here): Camille opens the address the service gives, sees the service and
its purpose with no box ticked, grants "mesures"; the service writes three glycaemia
readings, which she finds in her chart; she withdraws the purpose on "Mes services
connectés" and the service's next write is refused. Each page fits the window and
passes axe."""

import json
import os
import re
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError

from catalogue.directory import demo
from dossier.models import Measurement
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient

pytestmark = pytest.mark.django_db(transaction=True)

EXEMPLES = Path(__file__).resolve().parents[2] / "docs" / "exemples"
SHOTS = Path("/tmp/catalogue-journey")


def _check(page, name, width):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name} is wider than the window at {width} px"
    assert_accessible(page)


def _start_script(live_server, home, name="glucometre.py"):
    env = {**os.environ, "HOME": str(home), "BROWSER": "true", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, str(EXEMPLES / name), live_server.url],
        cwd=EXEMPLES,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _authorize_url(script) -> str:
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = script.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "/oauth/authorize/" in line:
            return line.strip()
    script.kill()
    raise AssertionError("the script gave no address:\n" + "".join(lines))


@pytest.mark.parametrize("width", [1280, 375])
def test_camille_connects_the_glucometer_then_withdraws(live_server, page, tmp_path, width):
    demo.load()
    space = factories.SpaceFactory(
        holder__first_names="Camille",
        holder__last_name="Durand",
        holder__user__first_name="Camille",
    )
    user = space.holder.user
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_patient(page, live_server, user.email)

    script = _start_script(live_server, tmp_path)
    try:
        page.goto(_authorize_url(script))
        page.wait_for_selector("h1")
        text = page.inner_text("main")
        assert "GlucoSuivi" in text
        boxes = page.locator("input[name=purposes]")
        assert boxes.count() >= 1
        assert all(not boxes.nth(i).is_checked() for i in range(boxes.count()))
        _check(page, "consentement", width)
        page.locator("label.fr-label", has_text=re.compile("mesures", re.I)).first.click()
        assert boxes.first.is_checked()
        page.get_by_role("button", name="Autoriser").click()
        page.wait_for_url(re.compile(r"127\.0\.0\.1:8765/callback"))
        output, _ = script.communicate(timeout=90)
    finally:
        if script.poll() is None:
            script.kill()
    assert script.returncode == 0, output
    assert "3 glycémies lisibles" in output, output
    assert Measurement.objects.filter(space=space, kind="glycaemia").count() == 3

    page.goto(f"{live_server.url}/espace/{space.public_id}/profil/courbes/")
    chart = page.locator("#courbe-glycaemia")
    assert chart.is_visible()
    rows = chart.locator("tbody tr")
    assert rows.count() == 3
    assert {"1,05", "0,98", "1,12"} <= set(re.findall(r"\d,\d\d", chart.inner_text()))
    _check(page, "courbe", width)

    page.goto(f"{live_server.url}/espace/{space.public_id}/services/")
    services = page.inner_text("main")
    assert "GlucoSuivi" in services
    assert "{#" not in services and "{%" not in services  # no template text shown
    # The service's name heads its card, at every width.
    name_box = page.get_by_role("heading", name="GlucoSuivi").bounding_box()
    granted_box = page.get_by_role("heading", name="Ce que vous avez autorisé").bounding_box()
    assert name_box["y"] < granted_box["y"]
    _check(page, "services", width)
    page.get_by_role("link", name=re.compile("Retirer")).first.click()
    _check(page, "retrait", width)
    page.locator("label", has_text="Je confirme le retrait").click()
    page.get_by_role("button", name="Retirer l'autorisation").click()
    page.wait_for_url(f"{live_server.url}/espace/{space.public_id}/services/")
    assert "Suivre votre glycémie" in page.inner_text(".fr-alert, .fr-notice, main")

    token = json.loads((tmp_path / ".cache" / "mes-exemples" / "demo-glucometre.json").read_text())
    fhir = SyncFHIRClient(
        f"{live_server.url}/fhir", authorization=f"Bearer {token['access_token']}"
    )
    reading = fhir.resource(
        "Observation",
        status="final",
        code={"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        effectiveDateTime=(date.today() - timedelta(days=3)).isoformat(),
        valueQuantity={
            "value": 1.0,
            "unit": "g/L",
            "system": "http://unitsofmeasure.org",
            "code": "g/L",
        },
    )
    with pytest.raises(ForbiddenError) as refused:
        reading.save()
    assert "n'a pas reçu cette autorisation" in str(refused.value)
    assert Measurement.objects.filter(space=space, kind="glycaemia").count() == 3


def _play(page, live_server, tmp_path, script_name, choose) -> str:
    """Run a docs/exemples script, accept in the page (`choose(page)` ticks), give its output."""
    script = _start_script(live_server, tmp_path, script_name)
    try:
        page.goto(_authorize_url(script))
        page.wait_for_selector("h1")
        choose(page)
        page.get_by_role("button", name="Autoriser").click()
        page.wait_for_url(re.compile(r"127\.0\.0\.1:8765/callback"))
        output, _ = script.communicate(timeout=90)
    finally:
        if script.poll() is None:
            script.kill()
    assert script.returncode == 0, output
    return output


def _tick(page, label):
    page.locator("label.fr-label", has_text=label).first.click()


def test_the_booking_platform_script_fills_the_agenda(live_server, page, tmp_path):
    from agenda.models import Appointment

    demo.load()
    space = factories.SpaceFactory(
        holder__first_names="Camille", holder__user__first_name="Camille"
    )
    sign_in_patient(page, live_server, space.holder.user.email)
    output = _play(
        page,
        live_server,
        tmp_path,
        "rendez_vous.py",
        lambda p: _tick(p, "Tenir votre agenda santé à jour"),
    )
    assert "ajouté à l'agenda santé" in output and "1 rendez-vous à venir" in output, output
    appointment = Appointment.objects.get(space=space)
    assert appointment.author_kind == Appointment.AuthorKind.APP
    page.goto(f"{live_server.url}/espace/{space.public_id}/agenda/rendez-vous/")
    listed = page.inner_text("main")
    assert "Dr Hélène Martin" in listed and "ajouté par un service connecté" in listed.lower()


def test_the_child_health_script_reads_leos_vaccinations(live_server, page, tmp_path):
    from dossier.models import Vaccination

    demo.load()
    parent = factories.SpaceFactory(
        holder__first_names="Camille", holder__user__first_name="Camille"
    )
    leo = factories.LegalRepresentativeFactory(
        user=parent.holder.user,
        space__holder__first_names="Léo",
        space__holder__last_name="Durand",
    ).space
    Vaccination.objects.create(
        space=leo, vaccine="ROR (rougeole, oreillons, rubéole)", date=date(2017, 3, 2)
    )
    Vaccination.objects.create(space=parent, vaccine="Grippe", date=date(2025, 11, 2))
    sign_in_patient(page, live_server, parent.holder.user.email)

    def choose(p):
        p.locator("label.fr-label", has_text="Léo").first.click()
        boxes = p.locator("input[name=purposes]")
        for i in range(boxes.count()):
            p.locator(f"label[for={boxes.nth(i).get_attribute('id')}]").click()

    output = _play(page, live_server, tmp_path, "sante_enfant.py", choose)
    assert "Enfant : Léo Durand" in output, output
    assert "1 vaccination(s)" in output and "ROR" in output, output
    assert "Grippe" not in output  # the parent's own record is not the child's
