"""A GP's software, played by a FHIR client nobody here wrote (fhirpy), over real HTTP:
publish a PDF report, find it, retrieve it, replace it; what the patient, a pharmacist's
software and a blocked GP's software then see."""

from __future__ import annotations

import base64
import uuid

import pytest
import requests
from django.test import Client
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError

from acces.models import Block, CareRelation
from tests import factories
from tests.catalogue.software_helpers import CONSULTATION, INS, LOINC, authorise, make_software
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

REPORT = b"%PDF-1.7\n" + b"Compte rendu de consultation du 20 novembre\n" * 200 + b"%%EOF\n"


def fhir_for(live_server, auth) -> SyncFHIRClient:
    return SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {auth.token}")


def submission(nir, data, title, replaces=None) -> dict:
    """An ITI-65 transaction Bundle, as a professional's software builds it."""
    binary = f"urn:uuid:{uuid.uuid4()}"
    reference = f"urn:uuid:{uuid.uuid4()}"
    document = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": CONSULTATION}]},
        "subject": {"identifier": {"system": INS, "value": nir}},
        "description": title,
        "content": [{"attachment": {"contentType": "application/pdf", "url": binary}}],
        "context": {"period": {"start": "2026-11-20"}},
    }
    if replaces:
        document["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}
        ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "List",
                    "status": "current",
                    "mode": "working",
                    "code": {"coding": [{"code": "submissionset"}]},
                    "entry": [{"item": {"reference": reference}}],
                },
                "request": {"method": "POST", "url": "List"},
            },
            {
                "fullUrl": reference,
                "resource": document,
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {
                "fullUrl": binary,
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/pdf",
                    "data": base64.b64encode(data).decode("ascii"),
                },
                "request": {"method": "POST", "url": "Binary"},
            },
        ],
    }


def test_a_gp_software_publishes_finds_retrieves_and_replaces_a_report(live_server):
    space = factories.SpaceFactory()
    nir = space.holder.nir
    gp = factories.ProfessionalFactory(user__last_name="Lambert")
    CareRelation.objects.create(space=space, professional=gp, basis=CareRelation.Basis.ATTENDING)
    gp_software = authorise(gp, software=make_software(name="MédiCabinet"))
    fhir = fhir_for(live_server, gp_software)

    answer = fhir.execute("", method="post", data=submission(nir, REPORT, "Consultation"))
    assert answer["type"] == "transaction-response"
    first_id = answer["entry"][1]["response"]["location"].split("/")[1]

    found = (
        fhir.resources("DocumentReference")
        .search(**{"patient.identifier": f"{INS}|{nir}"}, status="current")
        .search(type=f"{LOINC}|{CONSULTATION}")
        .fetch()
    )
    assert [d["id"] for d in found] == [first_id]
    url = found[0]["content"][0]["attachment"]["url"]
    content = requests.get(
        url, headers={"Authorization": f"Bearer {gp_software.token}"}, timeout=10
    )
    assert content.status_code == 200 and content.content == REPORT
    assert content.headers["Content-Type"] == "application/pdf"

    second = fhir.execute(
        "", method="post", data=submission(nir, REPORT, "Consultation (corrigé)", first_id)
    )
    second_id = second["entry"][1]["response"]["location"].split("/")[1]
    current = (
        fhir.resources("DocumentReference")
        .search(**{"patient.identifier": f"{INS}|{nir}"}, status="current")
        .fetch_all()
    )
    assert [d["id"] for d in current] == [second_id]
    assert current[0]["relatesTo"][0]["target"]["reference"] == f"DocumentReference/{first_id}"

    # The patient sees the new version in her documents, with its author.
    patient = sign_in(Client(), space.holder.user)
    page = patient.get(f"/espace/{space.public_id}/documents/").content.decode()
    assert "Consultation (corrigé)" in page and "Lambert" in page
    trail = patient.get(f"/espace/{space.public_id}/historique/?qui=tous").content.decode()
    assert "via le logiciel MédiCabinet" in trail

    # A pharmacist's software finds nothing the matrix keeps from pharmacists.
    pharmacist = factories.ProfessionalFactory(profession="pharmacien", specialty="")
    CareRelation.objects.create(
        space=space, professional=pharmacist, basis=CareRelation.Basis.CARE_TEAM
    )
    pharmacy = fhir_for(live_server, authorise(pharmacist))
    assert (
        pharmacy.resources("DocumentReference")
        .search(**{"patient.identifier": f"{INS}|{nir}"})
        .fetch()
        == []
    )

    # A GP the patient blocked gets an OperationOutcome, and nothing.
    blocked = factories.ProfessionalFactory()
    CareRelation.objects.create(
        space=space, professional=blocked, basis=CareRelation.Basis.CARE_TEAM
    )
    Block.objects.create(space=space, professional=blocked)
    blocked_software = fhir_for(live_server, authorise(blocked))
    with pytest.raises(ForbiddenError) as refused:
        blocked_software.resources("DocumentReference").search(
            **{"patient.identifier": f"{INS}|{nir}"}
        ).fetch()
    assert '"resourceType": "OperationOutcome"' in str(refused.value)
    assert "Aucun accès" in str(refused.value)
    with pytest.raises(ForbiddenError):
        blocked_software.execute("", method="post", data=submission(nir, REPORT, "Intrus"))
    assert space.documents.count() == 2
