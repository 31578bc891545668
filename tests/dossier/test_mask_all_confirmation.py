"""« Tout masquer, urgences comprises » asks first, on a page of its own (no JavaScript needed)."""

import html

import pytest
from django.urls import reverse

from acces.models import AccessSettings
from dossier.models import Document
from tests import factories
from tests.conftest import sign_in
from tests.factories import make_document

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _masked(space) -> int:
    return Document.objects.filter(space=space, masked=True).count()


def _hidden_in_emergencies(space) -> bool:
    return AccessSettings.objects.filter(space=space, masked_from_emergencies=True).exists()


def test_the_control_page_links_to_a_confirmation_page_that_changes_nothing(client):
    space = factories.SpaceFactory()
    make_document(space)
    sign_in(client, space.holder.user)
    url = reverse("dossier:mask_all", args=[space.public_id])

    control_page = _text(client.get(f"/espace/{space.public_id}/acces/"))
    assert f'href="{url}"' in control_page

    page = _text(client.get(url))
    assert "Tout masquer, urgences comprises ?" in page
    assert "Oui, tout masquer, urgences comprises" in page
    assert f'href="/espace/{space.public_id}/acces/">Annuler' in page
    assert _masked(space) == 0
    assert not _hidden_in_emergencies(space)


def test_hiding_everything_from_emergencies_without_confirming_shows_the_question(client):
    space = factories.SpaceFactory()
    make_document(space)
    sign_in(client, space.holder.user)
    url = reverse("dossier:mask_all", args=[space.public_id])

    response = client.post(url, {"masked": "1", "emergencies": "1"})

    assert response.status_code == 200
    assert "Tout masquer, urgences comprises ?" in _text(response)
    assert _masked(space) == 0
    assert not _hidden_in_emergencies(space)


def test_confirming_hides_everything_from_emergencies_too(client):
    space = factories.SpaceFactory()
    make_document(space)
    make_document(space)
    sign_in(client, space.holder.user)
    url = reverse("dossier:mask_all", args=[space.public_id])

    response = client.post(url, {"masked": "1", "emergencies": "1", "confirm": "1"}, follow=True)

    assert _masked(space) == 2
    assert _hidden_in_emergencies(space)
    page = _text(response)
    assert "2 documents masqués aux professionnels de santé." in page
    assert "Tout rendre de nouveau visible" in page


def test_an_outsider_gets_no_confirmation_page(client):
    space = factories.SpaceFactory()
    outsider = factories.SpaceFactory().holder.user
    sign_in(client, outsider)

    response = client.get(reverse("dossier:mask_all", args=[space.public_id]))

    assert response.status_code in (403, 404)
    assert "Tout masquer" not in _text(response)
