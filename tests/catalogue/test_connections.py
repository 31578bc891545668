"""'Mes services connectés': list, withdraw a purpose, disconnect, re-approve, refusals."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from acces.models import AuditEvent
from catalogue.models import Connection, Purpose, PurposeScope
from catalogue.tokens import TokenRefused, access_for
from espace_sante import parts
from tests import factories
from tests.catalogue.oauth_helpers import (
    READ_DOCS,
    READ_OBS,
    WRITE_OBS,
    code_from,
    consent,
    exchange,
    make_service,
    pkce_pair,
    refresh,
)
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

ALL = f"{READ_OBS} {WRITE_OBS} {READ_DOCS}"


@pytest.fixture
def service():
    return make_service()


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def patient(space):
    return sign_in(Client(), space.holder.user)


@pytest.fixture
def tokens(patient, service, space):
    verifier, challenge = pkce_pair()
    response = consent(
        patient,
        service,
        space=space,
        purposes=list(service.purposes.all()),
        scope=ALL,
        challenge=challenge,
    )
    return exchange(Client(), service, code_from(response), verifier).json()


def _url(space, suffix=""):
    return f"/espace/{space.public_id}/services/{suffix}"


def test_list_shows_the_connection_and_its_purposes(patient, space, tokens, service):
    page = patient.get(_url(space))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Mes services connectés" in html
    assert "Suivi Tension" in html and "Éditions Cardio" in html
    assert "Suivre vos mesures" in html and "Lire vos comptes rendus" in html
    assert "Connexion d&#x27;un service référencé" in html  # its recent activity
    assert "Dernière lecture" in html and "jamais" in html
    assert AuditEvent.objects.filter(space=space, action="manage_access", outcome="allowed")


def test_withdraw_a_purpose_narrows_the_token_at_once(patient, space, tokens, service):
    connection = Connection.objects.get()
    grant = connection.grants.get(purpose__code="documents")
    assert READ_DOCS in access_for(tokens["access_token"]).scopes
    url = _url(space, f"{connection.pk}/retirer/{grant.pk}/")
    page = patient.get(url)
    assert "Retirer une autorisation" in page.content.decode()
    unconfirmed = patient.post(url, {})
    assert unconfirmed.status_code == 200
    assert "Cochez la case pour confirmer." in unconfirmed.content.decode()
    response = patient.post(url, {"confirm": "on"})
    assert response.status_code == 302
    assert access_for(tokens["access_token"]).scopes == {READ_OBS, WRITE_OBS}
    assert (
        AuditEvent.objects.get(space=space, action="service_purpose_withdrawn").detail["purpose"]
        == "documents"
    )


def test_disconnect_revokes_every_token(patient, space, tokens, service):
    connection = Connection.objects.get()
    url = _url(space, f"{connection.pk}/deconnecter/")
    assert "Déconnecter Suivi Tension" in patient.get(url).content.decode()
    response = patient.post(url, {"confirm": "on"})
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.ended_at is not None
    with pytest.raises(TokenRefused):
        access_for(tokens["access_token"])
    assert refresh(Client(), service, tokens["refresh_token"]).status_code == 400
    assert AuditEvent.objects.filter(space=space, action="service_disconnected").count() == 1
    assert "Aucun service n'est connecté" in patient.get(_url(space)).content.decode()


def test_another_patient_cannot_see_or_withdraw_your_connection(space, tokens, service):
    connection = Connection.objects.get()
    grant = connection.grants.first()
    intruder_space = factories.SpaceFactory()
    intruder = sign_in(Client(), intruder_space.holder.user)
    assert intruder.get(_url(space)).status_code == 403
    assert (
        intruder.post(
            _url(space, f"{connection.pk}/retirer/{grant.pk}/"), {"confirm": "on"}
        ).status_code
        == 403
    )
    assert (
        intruder.post(_url(space, f"{connection.pk}/deconnecter/"), {"confirm": "on"}).status_code
        == 403
    )
    # Their own space with your connection's id: not found.
    assert (
        intruder.post(
            _url(intruder_space, f"{connection.pk}/deconnecter/"), {"confirm": "on"}
        ).status_code
        == 404
    )
    assert (
        intruder.post(
            _url(intruder_space, f"{connection.pk}/retirer/{grant.pk}/"), {"confirm": "on"}
        ).status_code
        == 404
    )
    connection.refresh_from_db()
    assert connection.ended_at is None
    assert connection.grants.live().count() == 2
    assert access_for(tokens["access_token"]).scopes == {READ_OBS, WRITE_OBS, READ_DOCS}


def test_reapproval_of_a_new_version(patient, space, tokens, service):
    service.version = 2
    service.reapproval_deadline = date(2099, 3, 31)
    service.save()
    vaccines = Purpose.objects.create(
        service=service, code="vaccins", label="Vos vaccinations", description="…", since_version=2
    )
    PurposeScope.objects.create(
        purpose=vaccines, resource="Immunization", access="read", since_version=2
    )
    page = patient.get(_url(space)).content.decode()
    assert "À approuver avant le 31 mars 2099" in page
    assert "Vos vaccinations" in page
    connection = Connection.objects.get()
    response = patient.post(_url(space, f"{connection.pk}/approuver/"), {"purposes": [vaccines.pk]})
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.approved_version == 2
    assert connection.grants.live().filter(purpose=vaccines).exists()
    assert "À approuver" not in patient.get(_url(space)).content.decode()


def test_part_counts_exports_and_destroys(space, tokens):
    [part] = [p for p in parts.parts() if p.name.startswith(("catalogue", "connections"))]
    assert part.name == "catalogue"  # the app's one part
    from acces.policy import decide

    decision = decide(space.holder.user, "view_space", space)
    assert [(str(label), n) for label, n in part.counts(space, decision)] == [
        ("Services connectés", 1)
    ]
    [(path, content)] = list(part.export(space, decision))
    assert path == "catalogue/connexions.json"
    text = content.decode()
    assert "Suivi Tension" in text and "Suivre vos mesures" in text
    assert tokens["access_token"] not in text and "token" not in text
    part.destroy(space, keep_occupational=False)
    assert not Connection.objects.exists()
    with pytest.raises(TokenRefused):
        access_for(tokens["access_token"])


def test_space_page_links_to_the_connections(patient, space):
    html = patient.get(f"/espace/{space.public_id}/").content.decode()
    assert f'href="/espace/{space.public_id}/services/"' in html
    assert "Services connectés" in html  # the part's count
