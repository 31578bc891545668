"""The demo's three referenced services, with the fixed values the example scripts use."""

import pytest
from oauth2_provider.models import get_application_model

from catalogue.directory import demo
from catalogue.models import Purpose, PurposeScope, Service, ServiceTheme

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
    return [m.objects.count() for m in (Service, ServiceTheme, Purpose, PurposeScope, Application)]


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

    assert _counts() == first == [3, 5, 4, 6, 3]


def test_demo_staff_account_is_created_once():
    from espace_sante.tracing import Actor

    one = demo.load_staff(email="ref@demo.exemple", password="x-Motdepasse-42", by=Actor.system())
    two = demo.load_staff(email="ref@demo.exemple", password="x-Motdepasse-42", by=Actor.system())

    assert one.pk == two.pk
    assert list(one.groups.values_list("name", flat=True)) == ["Référencement des services"]
