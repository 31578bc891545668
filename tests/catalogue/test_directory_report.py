"""« Signaler ce service »: the form, its errors, and the content-free email to the staff."""

import pytest
from django.core import mail
from django.urls import reverse

from acces.models import AuditEvent
from catalogue.directory import services
from catalogue.directory.actions import DirectoryAction
from catalogue.models import ServiceReport
from espace_sante.tracing import Actor
from tests import factories
from tests.catalogue.directory_helpers import make_service
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

MESSAGE = "L'application me demande mon mot de passe par SMS, c'est suspect."


@pytest.fixture
def service():
    return make_service(name="GlucoSuivi")


@pytest.fixture
def staff():
    return services.create_referencing_staff(
        email="ref@sante.gouv.exemple",
        first_name="Inès",
        last_name="Moreau",
        password="x-Motdepasse-42",
        by=Actor.system(),
    )


@pytest.fixture
def patient_client(client):
    space = factories.SpaceFactory()
    return sign_in(client, space.holder.user), space.holder.user


def test_patient_reports_a_service_and_the_staff_is_emailed(
    patient_client, service, staff, django_capture_on_commit_callbacks
):
    client, user = patient_client
    url = reverse("catalogue:report", args=[service.slug])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "security", "message": MESSAGE}, follow=True)

    report = ServiceReport.objects.get()
    assert (report.service, report.reported_by, report.reason) == (service, user, "security")
    assert report.message == MESSAGE
    assert response.redirect_chain[-1][0] == reverse("catalogue:detail", args=[service.slug])
    assert "Votre signalement a été transmis" in response.content.decode()
    assert [m.to for m in mail.outbox] == [[staff.email]]
    email = mail.outbox[0]
    assert "GlucoSuivi" in email.body and "Problème de sécurité" in email.body
    # Content-free: neither the patient's message nor who they are.
    assert MESSAGE not in email.body and user.email not in email.body
    assert user.last_name not in email.body
    assert AuditEvent.objects.filter(action=DirectoryAction.SERVICE_REPORTED).count() == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"reason": "", "message": MESSAGE}, "Choisissez le motif du signalement."),
        ({"reason": "piraté", "message": MESSAGE}, "Choisissez un motif dans la liste."),
        ({"reason": "other", "message": ""}, "Écrivez votre message."),
        ({"reason": "other", "message": "court"}, "Votre message est trop court"),
        ({"reason": "other", "message": "x" * 3001}, "Votre message est trop long"),
    ],
)
def test_invalid_report_shows_french_errors_and_keeps_input(patient_client, service, data, error):
    client, _user = patient_client

    response = client.post(reverse("catalogue:report", args=[service.slug]), data)

    assert response.status_code == 200
    body = response.content.decode()
    assert error in body
    if data["message"] and len(data["message"]) < 100:
        assert data["message"] in body.replace("&#x27;", "'")
    assert not ServiceReport.objects.exists()
    assert not mail.outbox


def test_anonymous_visitor_is_sent_to_sign_in(client, service):
    url = reverse("catalogue:report", args=[service.slug])

    response = client.post(url, {"reason": "other", "message": MESSAGE})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not ServiceReport.objects.exists()


def test_report_form_needs_csrf(service):
    from django.test import Client

    space = factories.SpaceFactory()
    client = sign_in(Client(enforce_csrf_checks=True), space.holder.user)

    response = client.post(
        reverse("catalogue:report", args=[service.slug]), {"reason": "other", "message": MESSAGE}
    )

    assert response.status_code == 403
    assert not ServiceReport.objects.exists()


def test_professional_cannot_report(client, service, professional):
    sign_in(client, professional.user)

    response = client.post(
        reverse("catalogue:report", args=[service.slug]), {"reason": "other", "message": MESSAGE}
    )

    assert response.status_code == 404
    assert not ServiceReport.objects.exists()


def test_dereferenced_service_cannot_be_reported(patient_client):
    client, _user = patient_client
    gone = make_service(status="dereferenced")

    response = client.post(
        reverse("catalogue:report", args=[gone.slug]), {"reason": "other", "message": MESSAGE}
    )

    assert response.status_code == 404
    assert not ServiceReport.objects.exists()
