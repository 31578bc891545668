"""A database connection cut while the session is saved leaves the user with the truth."""

import logging

import pytest
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.urls import reverse

from dossier.models import Document
from espace_sante.middleware import REFRESHED_SESSION_KEY
from tests import factories
from tests.conftest import sign_in
from tests.factories import PDF_BYTES

pytestmark = pytest.mark.django_db


@pytest.fixture
def cut_session_save(monkeypatch):
    """Once armed with `failures`, session saves fail as on a connection the server closed."""
    state = {"failures": 0, "calls": 0}
    save = Session.save

    def failing_save(self, *args, **kwargs):
        state["calls"] += 1
        if state["failures"]:
            state["failures"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Session, "save", failing_save)
    return state


def _due_for_refresh(client):
    """The session's idle expiry is due to move (a minute old): this request writes it."""
    session = client.session
    session[REFRESHED_SESSION_KEY] = 0
    session.save()


def _upload(client, space):
    return client.post(
        reverse("dossier:add", args=[space.public_id]),
        {
            "type_code": "11502-2",
            "title": "Radio du poignet",
            "act_date": "2026-01-10",
            "file": SimpleUploadedFile("radio.pdf", PDF_BYTES, content_type="application/pdf"),
        },
    )


def test_a_session_save_cut_after_an_upload_still_says_the_document_was_added(
    client, cut_session_save
):
    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    _due_for_refresh(client)
    cut_session_save.update(failures=1, calls=0)

    response = _upload(client, space)

    document = Document.objects.get(space=space, title="Radio du poignet")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "dossier:detail", args=[space.public_id, document.public_id]
    )
    assert cut_session_save["calls"] == 2  # saved on the second try
    page = client.get(response["Location"]).content.decode()
    assert "Le document est ajouté à votre dossier." in page
    assert "Radio du poignet" in page  # still signed in: the session survived


def test_a_session_that_cannot_be_saved_at_all_lets_the_answer_through(
    client, cut_session_save, caplog
):
    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    _due_for_refresh(client)
    cut_session_save.update(failures=2, calls=0)

    with caplog.at_level(logging.WARNING, logger="espace_sante.middleware"):
        response = _upload(client, space)

    document = Document.objects.get(space=space, title="Radio du poignet")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/{document.public_id}/")
    assert [r.levelname for r in caplog.records if r.name == "espace_sante.middleware"] == [
        "WARNING",
        "ERROR",
    ]
    # The session was not refreshed, but it was not lost either: the next page tells the truth.
    page = client.get(response["Location"]).content.decode()
    assert "Le document est ajouté à votre dossier." in page
    assert "Radio du poignet" in page


def test_a_session_deleted_by_a_concurrent_sign_out_is_not_brought_back(
    client, monkeypatch, settings
):
    from dossier import services

    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    key = client.session.session_key
    add_document = services.add_document

    def add_then_signed_out_elsewhere(**kwargs):
        document = add_document(**kwargs)
        Session.objects.filter(session_key=key).delete()  # sign-out in another tab
        return document

    monkeypatch.setattr(services, "add_document", add_then_signed_out_elsewhere)

    response = _upload(client, space)

    assert response.status_code == 302
    assert Document.objects.filter(space=space, title="Radio du poignet").exists()
    assert not Session.objects.filter(session_key=key).exists()
    assert settings.SESSION_COOKIE_NAME not in response.cookies
