"""The anonymous home page is rendered once and served again with each visitor's own CSP
nonce (espace_sante/public_cache.py); anything personal is rendered afresh."""

import re

import pytest
from django.contrib.messages import constants, get_messages
from django.test import Client

from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def _nonces(response) -> tuple[set[str], str]:
    body = response.content.decode()
    in_page = set(re.findall(r'nonce="([^"]+)"', body))
    header = response.headers["Content-Security-Policy"]
    return in_page, header


def test_the_second_visitor_gets_the_copy_with_their_own_nonce():
    first = Client().get("/")
    second = Client().get("/")
    assert first.status_code == second.status_code == 200
    assert first.templates[0].name == "espace_sante/landing.html"
    assert second.templates == []  # served from the copy: nothing rendered
    (first_nonce,), first_header = _nonces(first)
    assert f"'nonce-{first_nonce}'" in first_header
    (second_nonce,), second_header = _nonces(second)
    assert first_nonce != second_nonce
    assert f"'nonce-{second_nonce}'" in second_header
    assert first_nonce not in second.content.decode()
    assert second.content.decode().replace(second_nonce, first_nonce) == first.content.decode()


def test_a_signed_in_patient_never_gets_the_anonymous_copy():
    Client().get("/")
    space = factories.SpaceFactory()
    response = sign_in(Client(), space.holder.user).get("/")
    assert response.templates[0].name == "espace_sante/home.html"
    assert space.holder.user.get_full_name() in response.content.decode()


def test_a_query_or_a_waiting_message_renders_the_page_afresh(monkeypatch):
    Client().get("/")
    assert Client().get("/", {"x": "1"}).templates  # rendered, not the copy
    client = Client()
    session_messages = []

    def one_message(request):
        storage = get_messages(request)
        if not session_messages:
            storage.add(constants.SUCCESS, "Vous êtes déconnecté.")
            session_messages.append(True)
        return storage

    monkeypatch.setattr("espace_sante.public_cache.messages.get_messages", one_message)
    response = client.get("/")
    assert response.templates
    assert "Vous êtes déconnecté." in response.content.decode()


def test_a_page_that_printed_a_csrf_token_is_never_kept(monkeypatch, settings, tmp_path):
    landing = tmp_path / "espace_sante" / "landing.html"
    landing.parent.mkdir()
    landing.write_text(
        "<form method='post'>{% csrf_token %}</form>"
        '<script nonce="{{ request.csp_nonce }}"></script>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]},
        *settings.TEMPLATES[1:],
    ]
    first, second = Client().get("/"), Client().get("/")
    assert first.templates and second.templates  # both rendered
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    assert token.search(first.content.decode()).group(1) != token.search(
        second.content.decode()
    ).group(1)
