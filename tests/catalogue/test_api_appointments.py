"""`/fhir/Appointment`: a booking platform keeps the patient's agenda through the API."""

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from acces.models import AuditEvent
from agenda.appointments import sealing, services
from agenda.appointments.sealing import Details
from agenda.appointments.services import AppointmentData
from agenda.models import Appointment
from espace_sante.tracing import Actor
from tests import factories
from tests.catalogue.api_helpers import bearer, connect

pytestmark = pytest.mark.django_db

BOOKING = ("patient/Appointment.read", "patient/Appointment.write")


def _start(days=7, hour=10):
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, 0))


def appointment_body(start=None, **more):
    start = start or _start()
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "description": "Consultation de dermatologie",
        "specialty": [{"text": "Dermatologie"}],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=20)).isoformat(),
        "participant": [
            {
                "actor": {"type": "Practitioner", "display": "Dr Hélène Martin"},
                "status": "accepted",
            },
            {
                "actor": {"type": "Location", "display": "12 rue des Lilas, Nantes"},
                "status": "accepted",
            },
        ],
    }
    body.update(more)
    return body


def send(client, connected, body, path="/fhir/Appointment", method="post"):
    return getattr(client, method)(
        path,
        data=json.dumps(body),
        content_type="application/fhir+json",
        **bearer(connected),
    )


def test_a_booking_lands_in_the_agenda_as_the_services_sealed_and_traced_once(
    client, patient_space
):
    connected = connect(patient_space, scopes=BOOKING, name="RDV Santé")
    response = send(client, connected, appointment_body())
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get(space=patient_space)
    assert response["Location"].endswith(f"/fhir/Appointment/{appointment.public_id}")
    assert appointment.author_kind == Appointment.AuthorKind.APP
    assert appointment.source == connected.service.application.client_id
    assert appointment.duration_minutes == 20
    assert appointment.starts_at == _start()
    details = sealing.details(appointment)
    assert details == Details(
        name="Dr Hélène Martin",
        place="12 rue des Lilas, Nantes",
        specialty="Dermatologie",
        reason="Consultation de dermatologie",
    )
    assert "dermatologie" not in bytes(appointment.details_ciphertext).decode("latin-1")
    body = response.json()
    assert body["status"] == "booked" and body["minutesDuration"] == 20
    # One event for the call: the agenda's, naming the service.
    event = AuditEvent.objects.get(space=patient_space)
    assert event.action == "appointment_added"
    assert event.detail["via"] == "RDV Santé"
    assert event.detail["connection"] == connected.connection.pk
    connected.connection.refresh_from_db()
    assert connected.connection.pending_writes == 1


def test_the_patient_sees_the_booking_in_her_agenda(client, patient_space):
    from tests.conftest import sign_in

    connected = connect(patient_space, scopes=BOOKING)
    assert send(client, connected, appointment_body()).status_code == 201
    page = sign_in(client, patient_space.holder.user).get(
        f"/espace/{patient_space.public_id}/agenda/rendez-vous/"
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "Dr Hélène Martin" in text
    assert "Ajouté par un service connecté" in text


def test_read_and_search_by_date_and_status(client, patient_space):
    connected = connect(patient_space, scopes=BOOKING)
    actor = Actor(user=patient_space.holder.user, role="patient")
    own = services.add_appointment(
        space=patient_space,
        by=actor,
        data=AppointmentData(starts_at=_start(days=2), details=Details(name="Dr Durand")),
    )
    services.add_appointment(
        space=patient_space,
        by=actor,
        data=AppointmentData(starts_at=_start(days=30), details=Details(name="Dr Petit")),
    )
    services.cancel_appointment(appointment=own, by=actor)
    read = client.get(f"/fhir/Appointment/{own.public_id}", **bearer(connected))
    assert read.status_code == 200
    resource = read.json()
    assert resource["status"] == "cancelled"
    names = [p["actor"].get("display") for p in resource["participant"]]
    assert "Dr Durand" in names
    assert resource["participant"][0]["actor"]["reference"] == f"Patient/{patient_space.public_id}"

    def found(**params):
        bundle = client.get("/fhir/Appointment", params, **bearer(connected)).json()
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
        return [e["resource"]["id"] for e in bundle.get("entry", [])]

    assert len(found()) == 2
    assert found(status="booked") == [found()[1]]
    assert found(status="cancelled") == [str(own.public_id)]
    later = (timezone.localdate() + timedelta(days=10)).isoformat()
    assert len(found(date=f"ge{later}")) == 1
    assert (
        client.get("/fhir/Appointment", {"date": "demain"}, **bearer(connected)).status_code == 400
    )
    assert AuditEvent.objects.filter(action="catalogue_api_read", outcome="allowed").count() == 6


def test_a_professional_of_the_directory_by_rpps(client, patient_space):
    professional = factories.ProfessionalFactory()
    connected = connect(patient_space, scopes=BOOKING)
    body = appointment_body(
        participant=[
            {
                "actor": {
                    "type": "Practitioner",
                    "identifier": {
                        "system": "urn:oid:1.2.250.1.71.4.2.1",
                        "value": f"8{professional.rpps}",
                    },
                },
                "status": "accepted",
            }
        ]
    )
    response = send(client, connected, body)
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get(space=patient_space)
    assert appointment.with_kind == Appointment.WithKind.DIRECTORY
    assert appointment.professional == professional
    actor = response.json()["participant"][1]["actor"]
    assert actor["identifier"]["value"] == f"8{professional.rpps}"

    body["participant"][0]["actor"]["identifier"]["value"] = "810000000000"
    refused = send(client, connected, body)
    assert refused.status_code == 422
    assert "RPPS" in refused.json()["issue"][0]["diagnostics"]


def test_the_service_cancels_and_moves_its_own_bookings_only(client, patient_space):
    connected = connect(patient_space, scopes=BOOKING)
    created = send(client, connected, appointment_body()).json()
    path = f"/fhir/Appointment/{created['id']}"
    moved = send(
        client,
        connected,
        {**created, "start": _start(days=8).isoformat(), "end": None, "minutesDuration": 45},
        path,
        "put",
    )
    assert moved.status_code == 200, moved.content
    appointment = Appointment.objects.get(public_id=created["id"])
    assert appointment.starts_at == _start(days=8) and appointment.duration_minutes == 45

    cancelled = send(client, connected, {**moved.json(), "status": "cancelled"}, path, "put")
    assert cancelled.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    actions = list(
        AuditEvent.objects.filter(space=patient_space)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["appointment_added", "appointment_changed", "appointment_cancelled"]

    # The patient's own appointment is read only to the service.
    own = services.add_appointment(
        space=patient_space,
        by=Actor(user=patient_space.holder.user, role="patient"),
        data=AppointmentData(starts_at=_start(days=3), details=Details(name="Dr Durand")),
    )
    refused = send(
        client,
        connected,
        appointment_body(status="cancelled"),
        f"/fhir/Appointment/{own.public_id}",
        "put",
    )
    assert refused.status_code == 403
    own.refresh_from_db()
    assert own.status == Appointment.Status.PLANNED
    # Another service does not change this one's either.
    other = connect(patient_space, scopes=BOOKING)
    assert send(client, other, {**created, "status": "cancelled"}, path, "put").status_code == 403


def test_another_spaces_appointment_is_not_found(client, patient_space):
    other_space = factories.SpaceFactory()
    theirs = services.add_appointment(
        space=other_space,
        by=Actor(user=other_space.holder.user, role="patient"),
        data=AppointmentData(starts_at=_start(), details=Details(name="Dr Secret")),
    )
    connected = connect(patient_space, scopes=BOOKING)
    path = f"/fhir/Appointment/{theirs.public_id}"
    read = client.get(path, **bearer(connected))
    assert read.status_code == 404 and "Secret" not in read.content.decode()
    assert (
        send(client, connected, appointment_body(status="cancelled"), path, "put").status_code
        == 404
    )
    assert client.get("/fhir/Appointment/pas-un-uuid", **bearer(connected)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Appointment.Status.PLANNED
    # A participant naming another patient is refused, and stores nothing.
    body = appointment_body()
    body["participant"].append(
        {"actor": {"reference": f"Patient/{other_space.public_id}"}, "status": "accepted"}
    )
    assert send(client, connected, body).status_code == 422
    assert not Appointment.objects.filter(space=patient_space).exists()


@pytest.mark.parametrize(
    ("scopes", "method", "status"),
    [
        (("patient/Appointment.read",), "post", 403),
        (("patient/Observation.read", "patient/Observation.write"), "get", 403),
        (("patient/Observation.read", "patient/Observation.write"), "post", 403),
    ],
)
def test_scopes_are_the_appointments_own(client, patient_space, scopes, method, status):
    connected = connect(patient_space, scopes=scopes)
    if method == "post":
        response = send(client, connected, appointment_body())
    else:
        response = client.get("/fhir/Appointment", **bearer(connected))
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not Appointment.objects.exists()
    assert AuditEvent.objects.get(space=patient_space).outcome == "denied"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"resourceType": "Appointment", "status": "booked"}, 400),  # no participant
        ({"resourceType": "Appointment", "status": "nimporte", "participant": []}, 422),
        ({"resourceType": "Patient"}, 400),
        (appointment_body(status="fulfilled"), 422),
        (appointment_body(start=None) | {"start": None}, 422),
        (
            appointment_body(
                participant=[{"actor": {"display": "X"}, "status": "accepted"}], minutesDuration=1
            ),
            422,
        ),
    ],
)
def test_bad_bookings_are_refused_cleanly(client, patient_space, body, status):
    connected = connect(patient_space, scopes=BOOKING)
    response = send(client, connected, body)
    assert response.status_code == status, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not Appointment.objects.exists()


def test_a_body_that_is_not_json_is_refused(client, patient_space):
    connected = connect(patient_space, scopes=BOOKING)
    response = client.post(
        "/fhir/Appointment", data="<html></html>", content_type="text/html", **bearer(connected)
    )
    assert response.status_code == 415
    assert client.delete("/fhir/Appointment", **bearer(connected)).status_code == 405
