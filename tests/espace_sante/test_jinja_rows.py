"""The rows of the long tables are Jinja2 templates (espace_sante/jinja.py): what a patient
or a professional typed comes out escaped exactly as Django's templates escape it, the
dates in local time, and the links right, on each table."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from acces.models import CareRelation
from acces.policy import Action
from acces.services import check_and_trace
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in
from tests.factories import make_document

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert('x')</script> & \"cité\""
# Django's escape: &#x27; for the quote and &quot; for the double quote.
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;cité&quot;"


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def doctor(space):
    professional = factories.ProfessionalFactory(profession="medecin")
    factories.TOTPDeviceFactory(user=professional.user)
    factories.CareRelationFactory(
        space=space, professional=professional, basis=CareRelation.Basis.ATTENDING
    )
    return professional


def test_a_hostile_title_is_escaped_as_django_does_in_the_patients_table(space):
    document = make_document(space, title=HOSTILE, masked=True)
    body = sign_in(Client(), space.holder.user).get(reverse("dossier:list", args=[space.public_id]))
    text = body.content.decode()
    assert "<script>alert" not in text
    assert ESCAPED in text
    detail = reverse("dossier:detail", args=[space.public_id, document.public_id])
    assert f'<a class="fr-link" href="{detail}">{ESCAPED}</a>' in text
    assert 'data-label="Date de l\'acte"' in text  # translated once, as Django prints it
    assert '<time datetime="2026-01-15">15 janvier 2026</time>' in text
    assert "Masqué aux professionnels, sauf le médecin traitant et l’auteur" in text


def test_a_hostile_title_is_escaped_in_the_professionals_table(space, doctor):
    document = make_document(space, title=HOSTILE, professional=doctor, invisible_to_patient=True)
    text = (
        sign_in(Client(), doctor.user)
        .get(reverse("pro_documents:list", args=[space.public_id]))
        .content.decode()
    )
    assert "<script>alert" not in text
    detail = reverse("pro_documents:detail", args=[space.public_id, document.public_id])
    assert f'<a class="fr-link" href="{detail}">{ESCAPED}</a>' in text
    assert "Ce document n'est pas visible du patient" in text


def test_a_trail_entry_is_escaped_and_dated_in_local_time(space, doctor):
    doctor.user.last_name = HOSTILE
    doctor.user.save(update_fields=["last_name"])
    paris = ZoneInfo("Europe/Paris")
    with time_machine.travel(datetime(2025, 7, 14, 23, 30, tzinfo=paris)):
        check_and_trace(
            actor=Actor(user=doctor.user, role="professional"),
            space=space,
            action=Action.VIEW_SPACE,
        )
    text = (
        sign_in(Client(), space.holder.user)
        .get(reverse("espace_sante:history", args=[space.public_id]))
        .content.decode()
    )
    assert "<script>alert" not in text
    assert ESCAPED in text
    assert "14/07/2025 23:30" in text  # 21:30 UTC, shown at the patient's time


def test_the_unbound_filters_are_kept_and_a_bound_form_shows_its_values(space):
    client = sign_in(Client(), space.holder.user)
    url = reverse("dossier:list", args=[space.public_id])
    first = client.get(url).content.decode()
    again = client.get(url).content.decode()
    start = first.index('<form method="get"')
    form = first[start : first.index("</form>", start)]
    assert form in again  # the same markup, from the copy
    assert 'name="q"' in form and "Effacer les filtres" not in form
    other = factories.SpaceFactory()
    theirs = sign_in(Client(), other.holder.user).get(
        reverse("dossier:list", args=[other.public_id])
    )
    assert form in theirs.content.decode()  # nothing of Camille's page in it
    filtered = client.get(url, {"q": "<b>bilan</b>"}).content.decode()
    assert 'value="&lt;b&gt;bilan&lt;/b&gt;"' in filtered
    assert f'href="{url}">' in filtered  # « Effacer les filtres » back to the list
