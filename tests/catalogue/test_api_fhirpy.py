"""The API seen by a FHIR client nobody here wrote (fhirpy), over real HTTP."""

import json
from datetime import date
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
