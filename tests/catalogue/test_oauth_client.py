"""The dance with a client nobody here wrote: requests-oauthlib's `OAuth2Session` with PKCE
against the live server; the patient consents through the Django test client."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
from requests_oauthlib import OAuth2Session

from catalogue.tokens import TokenRefused, access_for
from tests import factories
from tests.catalogue.oauth_helpers import READ_DOCS, READ_OBS, REDIRECT_URI, WRITE_OBS, make_service
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _http_for_tests(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server is plain http
    # The patient ticks less than the app asked: the token's scope is narrower, which
    # oauthlib reports as a warning (an exception) unless told it is expected.
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


def _consent(patient, url, space, purposes):
    path = urlsplit(url)
    page = patient.get(f"{path.path}?{path.query}")
    assert page.status_code == 200, page.content.decode()[:1500]
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields if form[name].is_hidden}
    data |= {
        "space": str(space.public_id),
        "purposes": [str(p.pk) for p in purposes],
        "shows_masked_documents": "non",
        "allow": "on",
    }
    response = patient.post("/oauth/authorize/", data)
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI)
    return response["Location"]


def test_requests_oauthlib_session_with_pkce(live_server):
    service = make_service()
    space = factories.SpaceFactory()
    patient = sign_in(Client(), space.holder.user)
    session = OAuth2Session(
        service.application.client_id,
        redirect_uri=REDIRECT_URI,
        scope=[READ_OBS, WRITE_OBS, READ_DOCS],
        pkce="S256",
    )
    url, _state = session.authorization_url(f"{live_server.url}/oauth/authorize/")
    assert "code_challenge_method=S256" in url
    callback = _consent(patient, url, space, [service.purposes.get(code="documents")])
    token = session.fetch_token(
        f"{live_server.url}/oauth/token/",
        authorization_response=callback,
        include_client_id=True,
    )
    assert token["scope"] == [READ_DOCS]
    access = access_for(token["access_token"])
    assert access.space == space and access.scopes == {READ_DOCS}
    assert token["patient"] == str(space.public_id)  # SMART's launch context

    # A refresh asks for no more than was granted (asking the original scope is refused).
    session.scope = token["scope"]
    renewed = session.refresh_token(
        f"{live_server.url}/oauth/token/", client_id=service.application.client_id
    )
    assert renewed["refresh_token"] != token["refresh_token"]
    assert access_for(renewed["access_token"]).space == space
    assert renewed["patient"] == str(space.public_id)
    with pytest.raises(TokenRefused):
        access_for(token["access_token"])

    # The code was spent: a replay, with the right verifier, is refused.
    with pytest.raises(InvalidGrantError):
        session.fetch_token(
            f"{live_server.url}/oauth/token/",
            authorization_response=callback,
            include_client_id=True,
        )
