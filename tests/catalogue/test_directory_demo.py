"""The demo's three referenced services, with the fixed values the example scripts use."""

import pytest
from oauth2_provider.models import get_application_model

from catalogue.directory import demo
from catalogue.models import Purpose, PurposeScope, Service, ServiceTheme, Software

pytestmark = pytest.mark.django_db

EXPECTED = {
    "glucometre-connecte": (
        "demo-glucometre",
        {"mesures": {("Observation", "read"), ("Observation", "write")}},
        {"devices", "chronic"},
    ),
    "prise-de-rendez-vous": (
        "demo-rendez-vous",
        {"agenda": {("Appointment", "read"), ("Appointment", "write")}},
        {"booking"},
    ),
    "sante-enfant": (
        "demo-sante-enfant",
        {"vaccinations": {("Immunization", "read")}, "identite": {("Patient", "read")}},
        {"children", "prevention"},
    ),
}


def _counts():
    Application = get_application_model()
    models = (Service, ServiceTheme, Purpose, PurposeScope, Application, Software)
    return [m.objects.count() for m in models]


def test_demo_services_have_the_fixed_values():
    demo.load()

    for slug, (client_id, purposes, themes) in EXPECTED.items():
        service = Service.objects.get(slug=slug)
        assert service.status == Service.Status.ONLINE
        app = service.application
        assert app.client_id == client_id
        assert app.client_type == "public"
        assert app.authorization_grant_type == "authorization-code"
        assert app.redirect_uris == "http://127.0.0.1:8765/callback"
        assert app.skip_authorization is False
        assert {t.theme for t in service.themes.all()} == themes
        assert {
            p.code: {(s.resource, s.access) for s in p.scopes.all()} for p in service.purposes.all()
        } == purposes
    glucometer = Service.objects.get(slug="glucometre-connecte")
    assert glucometer.device_kind == Service.DeviceKind.MEDICAL_DEVICE


def test_demo_is_idempotent():
    demo.load()
    first = _counts()
    demo.load()

    # Three services' clients and the professional software's.
    assert _counts() == first == [3, 5, 4, 6, 4, 1]


def test_the_demo_software_is_a_confidential_client_with_the_examples_secret():
    from oauth2_provider.models import get_application_model

    demo.load()
    software = Software.objects.get(slug="medicabinet")
    application = software.application
    assert application.client_id == demo.SOFTWARE_CLIENT_ID == "demo-logiciel-cabinet"
    assert application.client_type == "confidential"
    assert software.is_active and software.homologation_ref
    # The secret is stored hashed; the example script's raw secret matches it.
    assert application.client_secret != demo.SOFTWARE_CLIENT_SECRET
    from django.contrib.auth.hashers import check_password

    assert check_password(demo.SOFTWARE_CLIENT_SECRET, application.client_secret)
    assert get_application_model().objects.filter(client_id="demo-logiciel-cabinet").count() == 1


def test_demo_staff_account_is_created_once():
    from espace_sante.tracing import Actor

    one = demo.load_staff(email="ref@demo.exemple", password="x-Motdepasse-42", by=Actor.system())
    two = demo.load_staff(email="ref@demo.exemple", password="x-Motdepasse-42", by=Actor.system())

    assert one.pk == two.pk
    assert list(one.groups.values_list("name", flat=True)) == ["Référencement des services"]
