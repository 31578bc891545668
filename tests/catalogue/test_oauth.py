"""The OAuth2 authorization code + PKCE flow: consent page, code, tokens bound to a space."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from acces.models import AuditEvent
from catalogue.models import Connection, ConnectionPurpose, ConnectionToken, Service
from catalogue.tokens import TokenRefused, access_for
from tests import factories
from tests.catalogue.oauth_helpers import (
    READ_DOCS,
    READ_OBS,
    REDIRECT_URI,
    WRITE_OBS,
    authorize_url,
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


def _measures(service):
    return service.purposes.get(code="mesures")


def _connect(client, service, space, purposes, scope=ALL):
    verifier, challenge = pkce_pair()
    response = consent(
        client, service, space=space, purposes=purposes, scope=scope, challenge=challenge
    )
    return code_from(response), verifier


def test_consent_page_in_french_with_no_purpose_ticked(patient, service):
    _verifier, challenge = pkce_pair()
    page = patient.get(authorize_url(service, scope=ALL, challenge=challenge))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Connecter Suivi Tension à votre espace santé" in html
    assert "Éditions Cardio" in html
    assert f"/catalogue/{service.slug}/" in html
    assert "Lire vos mesures (poids, taille, tension, glycémie)" in html
    assert "Suivre vos mesures" in html and "Lire vos comptes rendus" in html
    assert 'name="purposes"' in html and "checked>" not in html.split('name="purposes"')[1][:200]
    assert " checked" not in "".join(
        part.split(">")[0] for part in html.split('name="purposes"')[1:]
    )
    # A purpose reads documents: the masked documents question, "Non" by default.
    assert "documents que vous avez masqués" in html


def test_full_dance_token_has_ticked_purposes_only_and_is_bound_to_the_space(
    patient, service, space, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        code, verifier = _connect(patient, service, space, [_measures(service)])
    token = exchange(Client(), service, code, verifier)
    assert token.status_code == 200, token.content
    body = token.json()
    assert set(body["scope"].split()) == {READ_OBS, WRITE_OBS}  # documents not ticked
    access = access_for(body["access_token"])
    assert access.space == space
    assert access.scopes == {READ_OBS, WRITE_OBS}
    connection = Connection.objects.live().get(space=space, service=service)
    assert connection.shows_masked_documents is False
    assert list(connection.grants.live().values_list("purpose__code", flat=True)) == ["mesures"]
    assert ConnectionToken.objects.filter(connection=connection, refresh_token__isnull=False)
    event = AuditEvent.objects.get(space=space, action="service_connected")
    assert event.detail["service"] == service.slug
    # The patient is told, without naming the service.
    [email] = [m for m in mail.outbox if m.to == [space.holder.user.email]]
    assert "Un service a été connecté" in email.subject
    assert "Suivi Tension" not in email.body


def test_no_pkce_is_refused(patient, service, space):
    page = patient.get(authorize_url(service, scope=ALL, challenge=None))
    assert page.status_code == 302
    assert "error=invalid_request" in page["Location"]
    assert not Connection.objects.exists()


def test_wrong_verifier_is_refused(patient, service, space):
    code, _verifier = _connect(patient, service, space, [_measures(service)])
    other, _challenge = pkce_pair()
    response = exchange(Client(), service, code, other)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    response = exchange(Client(), service, code, None)
    assert response.status_code == 400


def test_scope_the_service_does_not_ask_is_refused(patient, service, space):
    _verifier, challenge = pkce_pair()
    page = patient.get(
        authorize_url(service, scope="patient/Immunization.read", challenge=challenge)
    )
    assert page.status_code == 302
    assert "error=invalid_scope" in page["Location"]


def test_refresh_rotates_and_revoke_works(patient, service, space):
    code, verifier = _connect(patient, service, space, [_measures(service)])
    first = exchange(Client(), service, code, verifier).json()
    second = refresh(Client(), service, first["refresh_token"])
    assert second.status_code == 200, second.content
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert access_for(second["access_token"]).space == space
    with pytest.raises(TokenRefused):
        access_for(first["access_token"])
    # The old refresh token is spent.
    assert refresh(Client(), service, first["refresh_token"]).status_code == 400
    revoked = Client().post(
        "/oauth/revoke_token/",
        {"token": second["access_token"], "client_id": service.application.client_id},
    )
    assert revoked.status_code == 200
    with pytest.raises(TokenRefused):
        access_for(second["access_token"])


def test_suspended_service_is_refused(patient, space):
    service = make_service(status=Service.Status.SUSPENDED)
    _verifier, challenge = pkce_pair()
    page = patient.get(authorize_url(service, scope=ALL, challenge=challenge))
    assert page.status_code == 403
    assert "pas disponible" in page.content.decode()
    assert not Connection.objects.exists()


def test_representative_connects_a_minors_space(service):
    rep = factories.LegalRepresentativeFactory()
    client = sign_in(Client(), rep.user)
    code, verifier = _connect(client, service, rep.space, [_measures(service)])
    body = exchange(Client(), service, code, verifier).json()
    assert access_for(body["access_token"]).space == rep.space
    assert Connection.objects.get().connected_by == rep.user


def test_another_patients_space_cannot_be_chosen(patient, service, space):
    other = factories.SpaceFactory()
    _verifier, challenge = pkce_pair()
    response = consent(
        patient,
        service,
        space=other,
        purposes=[_measures(service)],
        scope=ALL,
        challenge=challenge,
    )
    assert response.status_code == 200
    assert "Choisissez l'espace santé à connecter." in response.content.decode() or (
        response.context["form"].errors
    )
    assert not Connection.objects.exists()


def test_nothing_ticked_keeps_the_page_with_an_error(patient, service, space):
    _verifier, challenge = pkce_pair()
    response = consent(patient, service, space=space, purposes=[], scope=ALL, challenge=challenge)
    assert response.status_code == 200
    assert "Cochez au moins une autorisation" in response.content.decode()
    assert not Connection.objects.exists()


def test_refusing_redirects_with_access_denied(patient, service, space):
    _verifier, challenge = pkce_pair()
    response = consent(
        patient, service, space=space, purposes=[], scope=ALL, challenge=challenge, allow=False
    )
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI)
    assert "error=access_denied" in response["Location"]
    assert not ConnectionPurpose.objects.exists()


def test_professional_is_refused_with_a_french_page(service, professional):
    client = sign_in(Client(), professional.user)
    _verifier, challenge = pkce_pair()
    page = client.get(authorize_url(service, scope=ALL, challenge=challenge))
    assert page.status_code == 403
    assert "réservée aux patients" in page.content.decode()


def test_signed_out_goes_to_sign_in(service):
    _verifier, challenge = pkce_pair()
    page = Client().get(authorize_url(service, scope=ALL, challenge=challenge))
    assert page.status_code == 302
    assert "/comptes/login/" in page["Location"]


def test_smart_configuration(client):
    data = client.get("/.well-known/smart-configuration").json()
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["authorization_endpoint"].endswith("/oauth/authorize/")
    assert data["token_endpoint"].endswith("/oauth/token/")
    assert data["revocation_endpoint"].endswith("/oauth/revoke_token/")
    assert READ_DOCS in data["scopes_supported"]
    assert "patient/DocumentReference.read?category=biology" in data["scopes_supported"]
    assert "authorization_code" in data["grant_types_supported"]
    assert "permission-patient" in data["capabilities"]


def _answer(client, service, space, purposes, challenge, **changes):
    page = client.get(authorize_url(service, scope=ALL, challenge=challenge))
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form[name].is_hidden}
    data |= {"space": str(space.public_id), "purposes": [str(p.pk) for p in purposes]}
    data |= {"allow": "on", "shows_masked_documents": "non", **changes}
    return client.post("/oauth/authorize/", data)


def test_forged_scope_in_the_form_gives_nothing_more(patient, service, space):
    verifier, challenge = pkce_pair()
    response = _answer(
        patient,
        service,
        space,
        [_measures(service)],
        challenge,
        scope=f"{READ_OBS} patient/Immunization.read",
    )
    body = exchange(Client(), service, code_from(response), verifier).json()
    assert body["scope"] == READ_OBS  # neither the forged scope nor the one left out


def test_a_purpose_of_another_service_is_refused(patient, service, space):
    other = make_service(slug="autre-service")
    _verifier, challenge = pkce_pair()
    response = _answer(
        patient,
        service,
        space,
        [_measures(service), other.purposes.get(code="documents")],
        challenge,
    )
    assert response.status_code == 200
    assert response.context["form"].errors["purposes"]
    assert not Connection.objects.exists()


def test_connecting_again_updates_the_one_live_connection(patient, service, space):
    _first, challenge = pkce_pair()
    _answer(patient, service, space, [_measures(service)], challenge)
    _verifier, challenge = pkce_pair()
    documents = service.purposes.get(code="documents")
    response = _answer(
        patient, service, space, [documents], challenge, shows_masked_documents="oui"
    )
    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.shows_masked_documents is True
    assert list(connection.grants.live().values_list("purpose__code", flat=True)) == ["documents"]
    assert connection.grants.exclude(withdrawn_at=None).count() == 1  # the history kept


def test_agent_is_refused(service):
    agent = factories.AgentFactory()
    factories.TOTPDeviceFactory(user=agent)
    client = sign_in(Client(), agent)
    _verifier, challenge = pkce_pair()
    page = client.get(authorize_url(service, scope=ALL, challenge=challenge))
    assert page.status_code == 403
    assert "réservée aux patients" in page.content.decode()


def test_code_of_a_connection_ended_before_the_exchange_gives_nothing(patient, service, space):
    code, verifier = _connect(patient, service, space, [_measures(service)])
    Connection.objects.update(ended_at="2026-01-01T00:00:00Z")
    response = exchange(Client(), service, code, verifier)
    assert response.status_code == 400
