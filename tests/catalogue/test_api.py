"""The FHIR API with the Django client: tokens, scopes, spaces, errors, trail, counters."""

import json
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.utils import timezone

from acces.models import AuditEvent
from catalogue.actions import CatalogueAction
from dossier.models import Allergy, Measurement, Vaccination
from tests import factories
from tests.catalogue.api_helpers import bearer, connect

pytestmark = pytest.mark.django_db

GLUCOSE = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
    "effectiveDateTime": "2026-11-30",
    "valueQuantity": {
        "value": 112,
        "unit": "mg/dL",
        "system": "http://unitsofmeasure.org",
        "code": "mg/dL",
    },
}


def post(client, connected, body, path="/fhir/Observation"):
    return client.post(
        path,
        data=json.dumps(body) if not isinstance(body, str) else body,
        content_type="application/fhir+json",
        **bearer(connected),
    )


def outcome_text(response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]["diagnostics"]


def test_metadata_lists_what_is_implemented_without_a_token(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "CapabilityStatement"
    types = {r["type"] for r in body["rest"][0]["resource"]}
    assert types == {
        "Observation",
        "Patient",
        "Immunization",
        "AllergyIntolerance",
        "DocumentReference",
        "Binary",
        "Appointment",  # the agenda's, registered from its own part
        "Consent",  # the professionals' software's (catalogue.api.software)
    }


def test_write_then_search_observation(client, patient_space):
    connected = connect(patient_space)
    response = post(client, connected, GLUCOSE)
    assert response.status_code == 201, response.content
    measurement = Measurement.objects.get(space=patient_space)
    assert measurement.kind == Measurement.Kind.GLYCAEMIA
    assert measurement.value == Decimal("1.12")  # mg/dL into the chart's g/L
    assert response["Location"].endswith(f"/fhir/Observation/{measurement.pk}")

    found = client.get("/fhir/Observation?code=http://loinc.org|2345-7", **bearer(connected))
    assert found.status_code == 200
    bundle = found.json()
    assert bundle["total"] == 1
    quantity = bundle["entry"][0]["resource"]["valueQuantity"]
    assert quantity["value"] == 1.12 and quantity["code"] == "g/L"

    assert client.get("/fhir/Observation?code=29463-7", **bearer(connected)).json()["total"] == 0
    assert (
        client.get("/fhir/Observation?date=ge2026-12-01", **bearer(connected)).json()["total"] == 0
    )
    assert (
        client.get("/fhir/Observation?date=le2026-11-30", **bearer(connected)).json()["total"] == 1
    )


def test_blood_pressure_components(client, patient_space):
    connected = connect(patient_space)
    body = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": "2026-11-29T08:00:00+01:00",
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {
                    "value": 128,
                    "code": "mm[Hg]",
                    "system": "http://unitsofmeasure.org",
                },
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {
                    "value": 82,
                    "code": "mm[Hg]",
                    "system": "http://unitsofmeasure.org",
                },
            },
        ],
    }
    assert post(client, connected, body).status_code == 201
    row = Measurement.objects.get(space=patient_space)
    assert (row.value, row.value2, row.measured_on) == (128, 82, date(2026, 11, 29))


def test_out_of_bounds_is_a_422_in_french(client, patient_space):
    connected = connect(patient_space)
    body = GLUCOSE | {
        "valueQuantity": {"value": 25, "code": "g/L", "system": "http://unitsofmeasure.org"}
    }
    response = post(client, connected, body)
    assert response.status_code == 422
    assert "La glycémie doit être comprise entre 0,1 et 10 g/L." in outcome_text(response)
    assert not Measurement.objects.exists()


def test_invalid_fhir_is_a_400_outcome(client, patient_space):
    connected = connect(patient_space)
    response = post(client, connected, {"resourceType": "Observation", "status": "bogus"})
    assert response.status_code == 400
    assert "invalide" in outcome_text(response)
    assert post(client, connected, "{not json").status_code == 400
    assert not Measurement.objects.exists()


def test_a_write_is_counted_and_traced_naming_the_service(client, patient_space):
    connected = connect(patient_space, name="GlucoSuivi")
    assert post(client, connected, GLUCOSE).status_code == 201
    connected.connection.refresh_from_db()
    assert connected.connection.pending_writes == 1
    assert connected.connection.last_write_at is not None
    # One call, one event: the profile's own, naming the service that wrote.
    event = AuditEvent.objects.get(space=patient_space)
    assert event.action == "profile_measurement_added"
    assert event.actor == patient_space.holder.user
    assert event.detail["via"] == "GlucoSuivi"
    assert event.detail["client_id"] == connected.service.application.client_id
    assert event.detail["connection"] == connected.connection.pk
    assert not AuditEvent.objects.filter(action=CatalogueAction.API_WRITE).exists()

    client.get("/fhir/Observation", **bearer(connected))
    connected.connection.refresh_from_db()
    assert connected.connection.last_read_at is not None
    assert connected.connection.pending_writes == 1
    reads = AuditEvent.objects.filter(action=CatalogueAction.API_READ)
    assert reads.count() == 1 and reads.get().detail["via"] == "GlucoSuivi"


def test_another_spaces_measurement_is_not_found(client, patient_space):
    other = factories.SpaceFactory()
    theirs = Measurement.objects.create(
        space=other, kind="weight", value=Decimal("70"), measured_on=date(2026, 1, 1)
    )
    connected = connect(patient_space, scopes=("patient/Observation.read", "patient/Patient.read"))
    response = client.get(f"/fhir/Observation/{theirs.pk}", **bearer(connected))
    assert response.status_code == 404
    assert client.get("/fhir/Observation", **bearer(connected)).json()["total"] == 0
    assert client.get(f"/fhir/Patient/{other.public_id}", **bearer(connected)).status_code == 404
    refused = AuditEvent.objects.filter(action=CatalogueAction.API_READ, outcome="denied")
    assert refused.count() == 2
    assert all(e.space == patient_space and e.detail["status"] == 404 for e in refused)
    assert not AuditEvent.objects.filter(space=other).exists()


def test_own_measurement_read_by_id(client, patient_space):
    mine = Measurement.objects.create(
        space=patient_space, kind="height", value=Decimal("172"), measured_on=date(2026, 1, 1)
    )
    connected = connect(patient_space)
    body = client.get(f"/fhir/Observation/{mine.pk}", **bearer(connected)).json()
    assert body["valueQuantity"]["value"] == 172
    assert body["subject"]["reference"] == f"Patient/{patient_space.public_id}"


def test_missing_or_unknown_token_is_401_with_challenge(client):
    response = client.get("/fhir/Observation")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    response = client.get("/fhir/Observation", HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_expired_token_is_401(client, patient_space):
    connected = connect(patient_space, expires=timezone.now() - timedelta(seconds=1))
    response = client.get("/fhir/Observation", **bearer(connected))
    assert response.status_code == 401
    assert outcome_text(response) == "Jeton d'accès expiré."


def test_revoked_token_or_ended_connection_is_401(client, patient_space):
    connected = connect(patient_space)
    connected.connection.ended_at = timezone.now()
    connected.connection.save()
    response = client.get("/fhir/Observation", **bearer(connected))
    assert response.status_code == 401
    assert "déconnecté" in outcome_text(response)

    other = connect(factories.SpaceFactory())
    other.access_token.revoke()
    assert client.get("/fhir/Observation", **bearer(other)).status_code == 401


def test_withdrawn_purpose_is_403(client, patient_space):
    connected = connect(patient_space)
    connected.grant.withdrawn_at = timezone.now()
    connected.grant.save()
    response = client.get("/fhir/Observation", **bearer(connected))
    assert response.status_code == 403
    assert post(client, connected, GLUCOSE).status_code == 403
    assert not Measurement.objects.exists()


def test_out_of_scope_is_403(client, patient_space):
    connected = connect(patient_space, scopes=("patient/Observation.read",))
    assert client.get("/fhir/Observation", **bearer(connected)).status_code == 200
    response = post(client, connected, GLUCOSE)
    assert response.status_code == 403
    assert not Measurement.objects.exists()
    assert (
        client.get(f"/fhir/Patient/{patient_space.public_id}", **bearer(connected)).status_code
        == 403
    )
    # Observation.read carries VIEW_SPACE, but the identity is Patient.read's, and back.
    identity_only = connect(factories.SpaceFactory(), scopes=("patient/Patient.read",))
    assert client.get("/fhir/Observation", **bearer(identity_only)).status_code == 403


def test_patient_read_gives_the_holders_identity(client, patient_space):
    connected = connect(patient_space, scopes=("patient/Patient.read",))
    body = client.get(f"/fhir/Patient/{patient_space.public_id}", **bearer(connected)).json()
    holder = patient_space.holder
    assert body["name"][0]["family"] == holder.last_name
    assert body["birthDate"] == holder.birth_date.isoformat()


def test_rate_limit_is_429_with_retry_after(client, patient_space, settings, monkeypatch):
    settings.CATALOGUE_API_RATE_PER_MINUTE = 2
    now = [1_000_050.0]  # 30 s into a window: the calls cannot straddle two windows
    monkeypatch.setattr("catalogue.api.views.time", SimpleNamespace(time=lambda: now[0]))
    connected = connect(patient_space)
    assert client.get("/fhir/Observation", **bearer(connected)).status_code == 200
    assert client.get("/fhir/Observation", **bearer(connected)).status_code == 200
    response = client.get("/fhir/Observation", **bearer(connected))
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert response.json()["issue"][0]["code"] == "throttled"
    # Another service has its own window.
    other = connect(patient_space, slug="autre")
    assert client.get("/fhir/Observation", **bearer(other)).status_code == 200
    now[0] += 60  # the next window
    assert client.get("/fhir/Observation", **bearer(connected)).status_code == 200


def test_unreachable_cache_lets_the_call_through(client, patient_space, monkeypatch):
    connected = connect(patient_space)

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "incr", down)
    assert client.get("/fhir/Observation", **bearer(connected)).status_code == 200


def test_vaccinations_and_allergies_are_read_within_their_scopes(client, patient_space):
    Vaccination.objects.create(space=patient_space, vaccine="DTP", date=date(2020, 3, 1), lot="L42")
    Allergy.objects.create(space=patient_space, substance="Pénicilline", severity="severe")
    other = factories.SpaceFactory()
    Vaccination.objects.create(space=other, vaccine="Grippe", date=date(2025, 10, 1))
    connected = connect(
        patient_space,
        scopes=("patient/Immunization.read", "patient/AllergyIntolerance.read"),
    )
    bundle = client.get("/fhir/Immunization", **bearer(connected)).json()
    assert [e["resource"]["vaccineCode"]["text"] for e in bundle["entry"]] == ["DTP"]
    assert bundle["entry"][0]["resource"]["lotNumber"] == "L42"
    allergy = client.get("/fhir/AllergyIntolerance", **bearer(connected)).json()["entry"][0]
    assert allergy["resource"]["code"]["text"] == "Pénicilline"
    assert allergy["resource"]["criticality"] == "high"
    assert (
        AuditEvent.objects.filter(action=CatalogueAction.API_READ, space=patient_space).count() == 2
    )


def test_each_resource_needs_its_own_scope(client, patient_space):
    connected = connect(patient_space, scopes=("patient/Patient.read",))
    assert client.get("/fhir/Immunization", **bearer(connected)).status_code == 403
    assert client.get("/fhir/AllergyIntolerance", **bearer(connected)).status_code == 403
    # Measurements and vaccinations are both the profile: one scope does not open the other.
    measurements = connect(factories.SpaceFactory(), scopes=("patient/Observation.read",))
    assert client.get("/fhir/Immunization", **bearer(measurements)).status_code == 403
    assert client.get("/fhir/AllergyIntolerance", **bearer(measurements)).status_code == 403
    vaccinations = connect(factories.SpaceFactory(), scopes=("patient/Immunization.read",))
    assert client.get("/fhir/Observation", **bearer(vaccinations)).status_code == 403
    assert client.get("/fhir/AllergyIntolerance", **bearer(vaccinations)).status_code == 403


def test_the_patients_trail_shows_via_the_service(client, patient_space):
    from django.urls import reverse

    from tests.conftest import sign_in

    connected = connect(patient_space, name="GlucoSuivi")
    assert post(client, connected, GLUCOSE).status_code == 201
    sign_in(client, patient_space.holder.user)
    # The token acts for the holder, but its calls are the service's: shown by default with
    # what others did, not among the holder's own entries.
    url = reverse("espace_sante:history", args=[patient_space.public_id])
    own = client.get(url, {"qui": "moi"}).content.decode()
    assert "via GlucoSuivi" not in own
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "via GlucoSuivi" in html
    assert "Modification du profil médical" in html


def test_the_services_reads_and_writes_show_on_mes_services_connectes(client):
    from tests.conftest import sign_in

    space = factories.SpaceFactory()
    connected = connect(space)
    assert post(client, connected, GLUCOSE).status_code == 201
    assert client.get("/fhir/Observation", **bearer(connected)).status_code == 200
    page = sign_in(client, space.holder.user).get(f"/espace/{space.public_id}/services/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Modification du profil médical" in text  # the write, by the profile's event
    assert "Lecture par un service connecté" in text


@pytest.mark.parametrize(
    "path", ["/fhir/Inconnu", "/fhir/Practitioner", "/fhir/Observation/1/_history"]
)
def test_an_unknown_address_answers_in_fhir(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/fhir+json")
    assert "metadata" in outcome_text(response)
