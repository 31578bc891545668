"""« Refuser » on the consent page: the client is told `access_denied` (RFC 6749 4.1.2.1)
and the refusal is in the trail."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from acces.models import AuditEvent
from catalogue.connections.actions import ConnectionAction
from catalogue.models import Connection
from tests import factories
from tests.catalogue.oauth_helpers import (
    READ_OBS,
    REDIRECT_URI,
    WRITE_OBS,
    authorize_url,
    consent,
    make_service,
    pkce_pair,
)
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

SCOPE = f"{READ_OBS} {WRITE_OBS}"


@pytest.fixture
def service():
    return make_service()


def _query(response) -> dict:
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].startswith(REDIRECT_URI)
    return parse_qs(urlsplit(response["Location"]).query)


def test_refusing_sends_access_denied_with_the_state_and_is_traced_in_the_space(service):
    space = factories.SpaceFactory()
    client = sign_in(Client(), space.holder.user)
    _verifier, challenge = pkce_pair()
    response = consent(
        client, service, space=space, purposes=[], scope=SCOPE, challenge=challenge, allow=False
    )
    query = _query(response)
    assert query["error"] == ["access_denied"] and query["state"] == ["etat-1"]
    assert "code" not in query
    event = AuditEvent.objects.get(action=ConnectionAction.SERVICE_REFUSED)
    assert event.space == space and event.actor == space.holder.user
    assert event.detail == {"service": service.slug, "scopes": sorted(SCOPE.split())}
    assert not Connection.objects.exists()
    # The patient reads it in their trail.
    history = client.get(f"/espace/{space.public_id}/historique/", {"qui": "moi"}).text
    assert "Refus de connecter un service référencé" in history


def test_refusing_before_choosing_a_space_is_traced_in_the_persons_own_trail(service):
    representative = factories.LegalRepresentativeFactory()
    own = factories.SpaceFactory(holder__user=representative.user)
    client = sign_in(Client(), representative.user)
    _verifier, challenge = pkce_pair()
    page = client.get(authorize_url(service, scope=SCOPE, challenge=challenge))
    assert len(page.context["form"].fields["space"].choices) == 2  # own space, the child's
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form[name].is_hidden}
    response = client.post("/oauth/authorize/", data)  # « Refuser », nothing chosen
    assert _query(response)["error"] == ["access_denied"]
    event = AuditEvent.objects.get(action=ConnectionAction.SERVICE_REFUSED)
    assert event.space is None and event.actor == representative.user
    assert not AuditEvent.objects.filter(
        action=ConnectionAction.SERVICE_REFUSED, space__in=[own, representative.space]
    ).exists()


def test_allowing_still_needs_a_space(service):
    representative = factories.LegalRepresentativeFactory()
    factories.SpaceFactory(holder__user=representative.user)
    client = sign_in(Client(), representative.user)
    _verifier, challenge = pkce_pair()
    page = client.get(authorize_url(service, scope=SCOPE, challenge=challenge))
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form[name].is_hidden}
    data |= {"allow": "on", "purposes": [str(service.purposes.get(code="mesures").pk)]}
    response = client.post("/oauth/authorize/", data)
    assert response.status_code == 200
    assert "Choisissez l&#x27;espace santé à connecter." in response.text
    assert not Connection.objects.exists()
    assert not AuditEvent.objects.filter(action=ConnectionAction.SERVICE_REFUSED).exists()


def test_the_consent_page_links_the_services_page_in_the_catalogue(service):
    space = factories.SpaceFactory()
    client = sign_in(Client(), space.holder.user)
    _verifier, challenge = pkce_pair()
    html = client.get(authorize_url(service, scope=SCOPE, challenge=challenge)).text
    assert f'href="/catalogue/{service.slug}/"' in html
