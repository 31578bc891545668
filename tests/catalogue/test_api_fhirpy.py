"""The API seen by a FHIR client nobody here wrote (fhirpy), over real HTTP."""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

from dossier.models import Measurement
from tests.catalogue.api_helpers import connect

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(live_server, connected):
    return SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {connected.token}")


def test_a_glucometer_writes_and_reads_its_values(live_server, patient_space):
    connected = connect(
        patient_space,
        scopes=("patient/Observation.read", "patient/Observation.write", "patient/Patient.read"),
    )
    fhir = client_for(live_server, connected)
    observation = fhir.resource(
        "Observation",
        status="final",
        code={"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        effectiveDateTime="2026-11-30",
        valueQuantity={
            "value": 0.98,
            "unit": "g/L",
            "system": "http://unitsofmeasure.org",
            "code": "g/L",
        },
    )
    observation.save()
    assert observation.id
    stored = Measurement.objects.get(pk=observation.id)
    assert stored.space == patient_space and stored.value == Decimal("0.98")

    Measurement.objects.create(
        space=patient_space, kind="weight", value=Decimal("71.5"), measured_on=date(2026, 11, 1)
    )
    glucose = fhir.resources("Observation").search(code="http://loinc.org|2345-7").fetch()
    assert [o["valueQuantity"]["value"] for o in glucose] == [0.98]
    weights = fhir.resources("Observation").search(code="29463-7").fetch()
    assert [o["valueQuantity"]["value"] for o in weights] == [71.5]
    patient = fhir.reference("Patient", str(patient_space.public_id)).to_resource()
    assert patient["name"][0]["family"] == patient_space.holder.last_name


def test_a_value_out_of_bounds_comes_back_as_operation_outcome(live_server, patient_space):
    fhir = client_for(live_server, connect(patient_space))
    observation = fhir.resource(
        "Observation",
        status="final",
        code={"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        effectiveDateTime="2026-11-30",
        valueQuantity={"value": 900, "code": "kg", "system": "http://unitsofmeasure.org"},
    )
    with pytest.raises(OperationOutcome) as raised:
        observation.save()
    issue = json.loads(raised.value.args[0])["issue"][0]
    assert issue["code"] == "business-rule"
    assert issue["diagnostics"] == "Le poids doit être compris entre 0,5 et 500 kg."
    assert not Measurement.objects.exists()


def test_fhirpy_follows_the_pages_of_a_long_search(live_server, patient_space):
    Measurement.objects.bulk_create(
        Measurement(
            space=patient_space,
            kind="glycaemia",
            value=Decimal("1.05"),
            measured_on=date(2025, 1, 1) + timedelta(days=i),
        )
        for i in range(130)
    )
    fhir = client_for(live_server, connect(patient_space))
    everything = fhir.resources("Observation").search(code="2345-7").limit(50).fetch_all()
    assert len(everything) == 130
    assert len({o.id for o in everything}) == 130
    assert fhir.resources("Observation").search(code="2345-7").count() == 130


def test_a_booking_platform_books_moves_and_cancels_with_fhirpy(live_server, patient_space):
    from agenda.models import Appointment

    connected = connect(
        patient_space, scopes=("patient/Appointment.read", "patient/Appointment.write")
    )
    fhir = client_for(live_server, connected)
    start = datetime.now().astimezone().replace(microsecond=0) + timedelta(days=3)
    booking = fhir.resource(
        "Appointment",
        status="booked",
        description="Consultation de dermatologie",
        start=start.isoformat(),
        end=(start + timedelta(minutes=30)).isoformat(),
        participant=[{"actor": {"display": "Dr Hélène Martin"}, "status": "accepted"}],
    )
    booking.save()
    stored = Appointment.objects.get(public_id=booking.id)
    assert stored.author_kind == Appointment.AuthorKind.APP and stored.duration_minutes == 30

    found = fhir.resources("Appointment").search(date__ge=start.date().isoformat()).fetch_all()
    assert [a.id for a in found] == [booking.id]
    booking["status"] = "cancelled"
    booking.save()
    stored.refresh_from_db()
    assert stored.status == Appointment.Status.CANCELLED
    assert fhir.reference("Appointment", booking.id).to_resource()["status"] == "cancelled"
