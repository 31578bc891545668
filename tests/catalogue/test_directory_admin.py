"""The referencing staff's admin: the catalogue only; CPAM agents never see it."""

import pytest
from django.contrib import admin
from django.urls import reverse
from oauth2_provider import models as oauth_models

from acces.models import AuditEvent
from catalogue.directory import services
from catalogue.directory.actions import DirectoryAction
from catalogue.models import Service, ServiceReport
from espace_sante.tracing import Actor
from tests import factories
from tests.catalogue.directory_helpers import make_service
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

CATALOGUE_PAGES = [
    "admin:catalogue_service_changelist",
    "admin:catalogue_service_add",
    "admin:catalogue_purpose_changelist",
    "admin:catalogue_servicereport_changelist",
]
FORBIDDEN_TO_STAFF = [
    "admin:espace_sante_space_changelist",
    "admin:espace_sante_patient_changelist",
    "admin:espace_sante_user_changelist",
    "admin:oauth2_provider_application_changelist",
]


@pytest.fixture
def staff():
    user = services.create_referencing_staff(
        email="ref@sante.gouv.exemple",
        first_name="Inès",
        last_name="Moreau",
        password="x-Motdepasse-42",
        by=Actor.system(),
    )
    factories.TOTPDeviceFactory(user=user)
    return user


@pytest.fixture
def staff_client(client, staff):
    return sign_in(client, staff)


@pytest.mark.parametrize("name", CATALOGUE_PAGES)
def test_referencing_staff_reaches_the_catalogue_admin(staff_client, name):
    make_service(name="GlucoSuivi")

    response = staff_client.get(reverse(name))

    assert response.status_code == 200


@pytest.mark.parametrize("name", FORBIDDEN_TO_STAFF)
def test_referencing_staff_sees_nothing_else(staff_client, name):
    factories.SpaceFactory()

    assert staff_client.get(reverse(name)).status_code == 403


def test_referencing_staff_index_lists_only_the_catalogue(staff_client):
    response = staff_client.get(reverse("admin:index"))

    apps = [app["app_label"] for app in response.context["app_list"]]
    assert apps == ["catalogue"]
    models = {m["object_name"] for m in response.context["app_list"][0]["models"]}
    # The professionals' software registry too; never a token, a connection or a space.
    assert models == {"Service", "Purpose", "ServiceReport", "Software"}


@pytest.mark.parametrize("name", CATALOGUE_PAGES)
def test_cpam_agent_cannot_reach_the_catalogue_admin(client, agent, name):
    sign_in(client, agent)

    assert client.get(reverse(name)).status_code == 403
    index = client.get(reverse("admin:index"))
    assert "catalogue" not in [app["app_label"] for app in index.context["app_list"]]


def test_oauth_tokens_and_grants_are_not_in_the_admin():
    for model in (
        oauth_models.get_access_token_model(),
        oauth_models.get_refresh_token_model(),
        oauth_models.get_grant_model(),
        oauth_models.get_id_token_model(),
    ):
        assert not admin.site.is_registered(model)
    from catalogue.models import Connection, ConnectionToken

    assert not admin.site.is_registered(Connection)
    assert not admin.site.is_registered(ConnectionToken)


def test_service_changes_are_traced(staff_client, staff):
    service = make_service(name="GlucoSuivi", themes=["devices"])
    url = reverse("admin:catalogue_service_change", args=[service.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if value is not None and key != "application"
    }
    data.update(
        name="GlucoSuivi 2",
        status="suspended",
        referenced_on="2025-01-15",
        reapproval_deadline="",
        **{
            "themes-TOTAL_FORMS": "1",
            "themes-INITIAL_FORMS": "1",
            "themes-0-id": service.themes.get().pk,
            "themes-0-service": service.pk,
            "themes-0-theme": "devices",
            "purposes-TOTAL_FORMS": "0",
            "purposes-INITIAL_FORMS": "0",
        },
    )
    for flag in ("meets_urbanisation", "meets_security", "meets_interoperability", "meets_ethics"):
        data.pop(flag, None)

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    service.refresh_from_db()
    assert (service.name, service.status) == ("GlucoSuivi 2", Service.Status.SUSPENDED)
    event = AuditEvent.objects.get(action=DirectoryAction.SERVICE_CHANGED)
    assert event.actor_id == staff.pk
    assert "status" in event.detail["changed"]


def test_staff_reads_a_report_and_marks_it_handled(staff_client):
    service = make_service(name="GlucoSuivi")
    report = ServiceReport.objects.create(service=service, reason="other", message="Bug")

    page = staff_client.get(reverse("admin:catalogue_servicereport_change", args=[report.pk]))
    assert "Bug" in page.content.decode()
    response = staff_client.post(
        reverse("admin:catalogue_servicereport_changelist"),
        {"action": "mark_handled", "_selected_action": [report.pk]},
        follow=True,
    )

    report.refresh_from_db()
    assert report.handled_at is not None
    assert "1 signalement marqué comme traité." in response.content.decode()
    assert AuditEvent.objects.filter(action=DirectoryAction.REPORT_HANDLED).count() == 1


def test_a_connected_service_cannot_be_deleted_and_the_page_tells_nothing_medical(
    staff_client,
):
    from tests.catalogue.api_helpers import connect

    space = factories.SpaceFactory()
    connected = connect(space, name="GlucoSuivi")
    url = reverse("admin:catalogue_service_delete", args=[connected.service.pk])

    page = staff_client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    # Django's protected objects: the service stays; nothing of the patient is named.
    assert space.holder.last_name not in text and space.holder.nir not in text
    assert str(space.public_id) not in text
    response = staff_client.post(url, {"post": "yes"})
    assert response.status_code in (200, 403)
    assert Service.objects.filter(pk=connected.service.pk).exists()
    assert not AuditEvent.objects.filter(action=DirectoryAction.SERVICE_REMOVED).exists()


def test_referencing_staff_edits_a_purposes_scopes_traced(staff_client, staff):
    from catalogue.models import Purpose, PurposeScope

    service = make_service(name="GlucoSuivi", scopes=[("Observation", "read")])
    purpose = Purpose.objects.get(service=service)
    url = reverse("admin:catalogue_purpose_change", args=[purpose.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    scope = purpose.scopes.get()
    data.update(
        {
            "service": service.pk,
            "scopes-TOTAL_FORMS": "2",
            "scopes-INITIAL_FORMS": "1",
            "scopes-0-id": scope.pk,
            "scopes-0-purpose": purpose.pk,
            "scopes-0-resource": "Observation",
            "scopes-0-access": "read",
            "scopes-0-document_category": "",
            "scopes-0-since_version": "1",
            "scopes-1-purpose": purpose.pk,
            "scopes-1-resource": "Observation",
            "scopes-1-access": "write",
            "scopes-1-document_category": "",
            "scopes-1-since_version": "1",
        }
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(PurposeScope.objects.filter(purpose=purpose).values_list("access", flat=True)) == {
        "read",
        "write",
    }
    assert AuditEvent.objects.filter(actor=staff).exists()
