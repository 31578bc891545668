"""The FHIR API for professionals' software (PDSm, IHE MHD): find, retrieve, provide,
consent and break-glass, each decided by the policy for the professional and traced
naming the software."""

import base64
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acces.models import AuditEvent, Block, CareRelation, EmergencyAccess
from catalogue.api.software import NO_ACCESS, SCOPE_MISSING
from dossier.models import Document
from espace_sante.assurance import AssuranceLevel
from espace_sante.models import Notification
from tests import factories
from tests.catalogue.software_helpers import (
    CONSULTATION,
    INS,
    LOINC,
    PDF,
    authorise,
    document_reference,
    make_software,
    transaction,
)
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

FHIR = "application/fhir+json"


def post(client, path, resource, auth):
    return client.post(path, json.dumps(resource), content_type=FHIR, **auth.headers)


def find(client, auth, nir, **params):
    query = "&".join(f"{k.replace('__', '.')}={v}" for k, v in params.items())
    url = f"/fhir/DocumentReference?patient.identifier={INS}|{nir}"
    return client.get(f"{url}&{query}" if query else url, **auth.headers)


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def gp(space):
    gp = factories.ProfessionalFactory(user__last_name="Martin")
    CareRelation.objects.create(space=space, professional=gp, basis=CareRelation.Basis.ATTENDING)
    return gp


def _issue(response) -> dict:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]


# --- Provide: ITI-105 and ITI-65 ------------------------------------------------------------


def test_a_gp_software_publishes_the_patient_sees_it_with_its_author_and_the_software(
    client, space, gp
):
    auth = authorise(gp, software=make_software(name="Cabinet Plus"))
    response = post(client, "/fhir/DocumentReference", document_reference(space.holder.nir), auth)

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"].endswith(f"/fhir/DocumentReference/{body['id']}")
    document = Document.objects.get(public_id=body["id"])
    assert document.space == space and document.author_professional == gp
    assert document.type_code == CONSULTATION and document.content_type == "application/pdf"

    sign_in(client, space.holder.user)
    page = client.get(f"/espace/{space.public_id}/documents/").content.decode()
    assert "Compte rendu" in page and "Martin" in page
    trail = client.get(f"/espace/{space.public_id}/historique/?qui=tous").content.decode()
    assert "via le logiciel Cabinet Plus" in trail
    event = AuditEvent.objects.get(space=space, action="document_added")
    assert event.actor == gp.user and event.detail["software"] == auth.software.slug
    # The trail in the patient's full download names the software too.
    from acces.parts import export_history
    from acces.policy import Action, decide

    holder = decide(space.holder.user, Action.EXPORT_SPACE, space)
    ((_name, csv_bytes),) = export_history(space, holder)
    assert "le logiciel Cabinet Plus" in csv_bytes.decode("utf-8-sig")
    assert Notification.objects.filter(space=space, kind="document_added").exists()


def test_a_transaction_bundle_is_stored_and_answered_entry_by_entry(client, space, gp):
    auth = authorise(gp)
    response = post(client, "/fhir", transaction(space.holder.nir), auth)

    assert response.status_code == 200, response.content
    bundle = response.json()
    assert bundle["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in bundle["entry"]]
    assert statuses == ["201 Created", "201 Created", "201 Created"]
    document_id = bundle["entry"][1]["response"]["location"].split("/")[1]
    assert bundle["entry"][2]["response"]["location"] == f"Binary/{document_id}"
    retrieved = client.get(f"/fhir/Binary/{document_id}", **auth.headers)
    assert retrieved.status_code == 200
    assert b"".join(retrieved.streaming_content) == PDF


def test_the_same_master_identifier_twice_is_stored_once(client, space, gp):
    auth = authorise(gp)
    resource = document_reference(space.holder.nir, master="urn:oid:1.2.250.1.999.1.42")
    first = post(client, "/fhir/DocumentReference", resource, auth)
    again = post(client, "/fhir/DocumentReference", resource, auth)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert space.documents.count() == 1
    assert again.json()["masterIdentifier"]["value"] == "urn:oid:1.2.250.1.999.1.42"


def test_relates_to_replaces_makes_a_new_version_only_for_its_author(client, space, gp):
    auth = authorise(gp)
    first = post(client, "/fhir", transaction(space.holder.nir, title="Version 1"), auth)
    first_id = first.json()["entry"][1]["response"]["location"].split("/")[1]
    replacement = transaction(
        space.holder.nir,
        title="Version 2",
        relatesTo=[{"code": "replaces", "target": {"reference": f"DocumentReference/{first_id}"}}],
    )
    second = post(client, "/fhir", replacement, auth)
    assert second.status_code == 200, second.content

    current = find(client, auth, space.holder.nir, status="current").json()
    assert [e["resource"]["description"] for e in current["entry"]] == ["Version 2"]
    assert current["entry"][0]["resource"]["relatesTo"][0]["target"]["reference"] == (
        f"DocumentReference/{first_id}"
    )
    superseded = find(client, auth, space.holder.nir, status="superseded").json()
    assert [e["resource"]["id"] for e in superseded["entry"]] == [first_id]

    colleague = factories.ProfessionalFactory()
    CareRelation.objects.create(
        space=space, professional=colleague, basis=CareRelation.Basis.CARE_TEAM
    )
    second_id = second.json()["entry"][1]["response"]["location"].split("/")[1]
    other = transaction(
        space.holder.nir,
        relatesTo=[{"code": "replaces", "target": {"reference": f"DocumentReference/{second_id}"}}],
    )
    refused = post(client, "/fhir", other, authorise(colleague))
    assert refused.status_code == 403
    assert "auteur" in _issue(refused)["diagnostics"]
    assert space.documents.count() == 2


def test_confidentiality_codes_map_to_the_dmp_flags(client, space, gp):
    auth = authorise(gp)
    masked = document_reference(
        space.holder.nir,
        title="Masqué",
        securityLabel=[
            {"coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.13", "code": "MASQUE_PS"}]}
        ],
    )
    hidden = document_reference(
        space.holder.nir,
        title="Annonce à faire",
        securityLabel=[
            {"coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.13", "code": "INVISIBLE_PATIENT"}]}
        ],
    )
    masked_id = post(client, "/fhir/DocumentReference", masked, auth).json()["id"]
    hidden_id = post(client, "/fhir/DocumentReference", hidden, auth).json()["id"]
    assert Document.objects.get(public_id=masked_id).masked
    assert Document.objects.get(public_id=hidden_id).invisible_to_patient

    # Another professional of the care team does not find the masked document.
    colleague = factories.ProfessionalFactory()
    CareRelation.objects.create(
        space=space, professional=colleague, basis=CareRelation.Basis.CARE_TEAM
    )
    found = find(client, authorise(colleague), space.holder.nir).json()
    assert [e["resource"]["description"] for e in found["entry"]] == ["Annonce à faire"]
    # The patient does not see the one to be announced.
    sign_in(client, space.holder.user)
    page = client.get(f"/espace/{space.public_id}/documents/").content.decode()
    assert "Masqué" in page and "Annonce à faire" not in page

    unknown = document_reference(
        space.holder.nir,
        securityLabel=[{"coding": [{"system": "urn:exemple", "code": "SECRET"}]}],
    )
    assert post(client, "/fhir/DocumentReference", unknown, auth).status_code == 422


def test_bad_content_is_refused_and_nothing_is_stored(client, space, gp):
    auth = authorise(gp)
    html = document_reference(space.holder.nir, data=b"<html><script>alert(1)</script></html>")
    refused = post(client, "/fhir/DocumentReference", html, auth)
    assert refused.status_code == 422
    png_as_pdf = document_reference(space.holder.nir, data=b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    mismatch = post(client, "/fhir/DocumentReference", png_as_pdf, auth)
    assert mismatch.status_code == 422
    assert "type déclaré" in _issue(mismatch)["diagnostics"]
    broken = document_reference(space.holder.nir)
    broken["content"][0]["attachment"]["data"] = "pas du base64 !"
    assert post(client, "/fhir/DocumentReference", broken, auth).status_code == 400
    missing_binary = transaction(space.holder.nir)
    del missing_binary["entry"][2]
    assert post(client, "/fhir", missing_binary, auth).status_code == 422
    not_json = client.post(
        "/fhir/DocumentReference", b"%PDF", content_type="application/pdf", **auth.headers
    )
    assert not_json.status_code == 415
    assert space.documents.count() == 0


def test_a_transaction_is_all_or_nothing(client, space, gp):
    bundle = transaction(space.holder.nir)
    bad = transaction(space.holder.nir, data=b"<html></html>")
    bundle["entry"] += bad["entry"][1:]
    response = post(client, "/fhir", bundle, authorise(gp))
    assert response.status_code == 422
    assert space.documents.count() == 0


# --- Refusals that tell nothing of the patient ----------------------------------------------


def test_unknown_patient_no_consent_and_blocked_answer_alike(client, space, gp):
    stranger = factories.ProfessionalFactory()  # no basis on the space
    blocked = factories.ProfessionalFactory()
    CareRelation.objects.create(
        space=space, professional=blocked, basis=CareRelation.Basis.CARE_TEAM
    )
    Block.objects.create(space=space, professional=blocked)
    unknown_nir = factories.next_nir()

    answers = [
        find(client, authorise(stranger), unknown_nir),
        find(client, authorise(stranger), space.holder.nir),
        find(client, authorise(blocked), space.holder.nir),
        post(client, "/fhir/DocumentReference", document_reference(unknown_nir), authorise(gp)),
        post(
            client,
            "/fhir/DocumentReference",
            document_reference(space.holder.nir),
            authorise(blocked),
        ),
    ]
    assert {r.status_code for r in answers} == {403}
    assert {_issue(r)["diagnostics"] for r in answers} == {NO_ACCESS}
    refused = AuditEvent.objects.filter(outcome="denied", actor__in=[stranger.user, blocked.user])
    assert refused.filter(space=space).count() == 3  # two searches and the blocked write
    assert space.documents.count() == 0


def test_a_pharmacist_software_does_not_find_what_the_matrix_keeps_from_pharmacists(
    client, space, gp
):
    post(client, "/fhir/DocumentReference", document_reference(space.holder.nir), authorise(gp))
    pharmacist = factories.ProfessionalFactory(profession="pharmacien", specialty="")
    CareRelation.objects.create(
        space=space, professional=pharmacist, basis=CareRelation.Basis.CARE_TEAM
    )
    auth = authorise(pharmacist)
    found = find(client, auth, space.holder.nir)
    assert found.status_code == 200 and found.json()["total"] == 0
    document = space.documents.get()
    assert client.get(f"/fhir/Binary/{document.public_id}", **auth.headers).status_code == 404
    assert (
        client.get(f"/fhir/DocumentReference/{document.public_id}", **auth.headers).status_code
        == 404
    )
    refused = post(client, "/fhir/DocumentReference", document_reference(space.holder.nir), auth)
    assert refused.status_code == 403
    assert "profession" in _issue(refused)["diagnostics"]


def test_the_occupational_part_is_fed_only_by_the_occupational_physician(client, space, gp):
    occupational = factories.ProfessionalFactory(specialty="medecine_travail")
    CareRelation.objects.create(
        space=space, professional=occupational, basis=CareRelation.Basis.OCCUPATIONAL
    )
    occupational_type = "11502-2"
    from dossier.models import DocumentType

    occupational_type = DocumentType.objects.filter(category="occupational").first().code
    by_gp = post(
        client,
        "/fhir/DocumentReference",
        document_reference(space.holder.nir, type_code=occupational_type),
        authorise(gp),
    )
    assert by_gp.status_code == 403
    not_occupational = post(
        client,
        "/fhir/DocumentReference",
        document_reference(space.holder.nir),
        authorise(occupational),
    )
    assert not_occupational.status_code == 403
    stored = post(
        client,
        "/fhir/DocumentReference",
        document_reference(space.holder.nir, type_code=occupational_type),
        authorise(occupational),
    )
    assert stored.status_code == 201
    assert find(client, authorise(gp), space.holder.nir).json()["total"] == 0


def test_scopes_the_professional_did_not_grant_are_refused(client, space, gp):
    reader = authorise(gp, scopes=("user/DocumentReference.read",))
    refused = post(client, "/fhir/DocumentReference", document_reference(space.holder.nir), reader)
    assert refused.status_code == 403
    assert _issue(refused)["diagnostics"] == SCOPE_MISSING
    assert find(client, reader, space.holder.nir).status_code == 200


def test_tokens_of_an_inactive_software_or_expired_give_401(client, space, gp):
    from datetime import timedelta

    from django.utils import timezone

    software = make_software()
    auth = authorise(gp, software=software)
    software.is_active = False
    software.save()
    assert find(client, auth, space.holder.nir).status_code == 401
    expired = authorise(gp, expires=timezone.now() - timedelta(seconds=1))
    assert find(client, expired, space.holder.nir).status_code == 401
    gp.user.is_active = False
    gp.user.save()
    assert find(client, authorise(gp), space.holder.nir).status_code == 401


def test_software_and_app_tokens_reach_only_their_own_routes(client, space, gp):
    from tests.catalogue.api_helpers import bearer, connect

    software = authorise(gp)
    observation = client.get("/fhir/Observation", **software.headers)
    assert observation.status_code == 404
    app = connect(space, scopes=("patient/DocumentReference.read",))
    transaction_by_app = client.post(
        "/fhir", json.dumps(transaction(space.holder.nir)), content_type=FHIR, **bearer(app)
    )
    assert transaction_by_app.status_code == 404
    assert "logiciels de professionnels" in _issue(transaction_by_app)["diagnostics"]
    assert (
        client.post("/fhir/Consent", json.dumps({}), content_type=FHIR, **bearer(app)).status_code
        == 404
    )


def test_a_low_assurance_token_cannot_declare_consent(client, space):
    newcomer = factories.ProfessionalFactory()
    auth = authorise(newcomer, assurance=AssuranceLevel.PASSWORD)
    response = post(client, "/fhir/Consent", _consent(space, "TREAT"), auth)
    assert response.status_code == 403
    assert not CareRelation.objects.filter(space=space, professional=newcomer).exists()


# --- Retrieve and find ----------------------------------------------------------------------


def test_retrieve_as_binary_json_and_search_filters(client, space, gp):
    auth = authorise(gp)
    created = post(client, "/fhir/DocumentReference", document_reference(space.holder.nir), auth)
    document_id = created.json()["id"]
    as_json = client.get(
        f"/fhir/Binary/{document_id}", HTTP_ACCEPT="application/fhir+json", **auth.headers
    )
    assert base64.b64decode(as_json.json()["data"]) == PDF
    raw = client.get(f"/fhir/Binary/{document_id}", **auth.headers)
    assert raw["X-Content-Type-Options"] == "nosniff" and "attachment" in raw["Content-Disposition"]
    assert find(client, auth, space.holder.nir, type=f"{LOINC}|{CONSULTATION}").json()["total"] == 1
    assert find(client, auth, space.holder.nir, type=f"{LOINC}|11502-2").json()["total"] == 0
    assert find(client, auth, space.holder.nir, period="ge2026-11-01").json()["total"] == 1
    assert find(client, auth, space.holder.nir, period="ge2026-11-21").json()["total"] == 0
    assert find(client, auth, space.holder.nir, category="reports").json()["total"] == 1
    no_patient = client.get("/fhir/DocumentReference", **auth.headers)
    assert no_patient.status_code == 400
    wrong_system = client.get(
        "/fhir/DocumentReference?patient.identifier=urn:oid:1.2.3|123", **auth.headers
    )
    assert wrong_system.status_code == 400
    reads = AuditEvent.objects.filter(space=space, action="view_document", actor=gp.user)
    assert reads.count() == 7 and all(e.detail["software"] for e in reads)


def test_a_search_runs_the_same_queries_for_3_or_30_documents(client, space, gp):
    auth = authorise(gp)

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = find(client, auth, space.holder.nir)
        assert response.status_code == 200
        return len(queries), response.json()["total"]

    for _ in range(3):
        factories.make_document(space, professional=gp, type_code=CONSULTATION)
    count_queries()  # the first access of the day tells the patient: not counted
    small, total = count_queries()
    assert total == 3
    for _ in range(27):
        factories.make_document(space, professional=gp, type_code=CONSULTATION)
    large, total = count_queries()
    assert total == 30 and large == small


def test_a_damaged_file_answers_an_operation_outcome(client, space, gp):
    auth = authorise(gp)
    document = factories.make_document(space, professional=gp, type_code=CONSULTATION)
    with document.file.open("wb") as handle:
        handle.write(b"abime")
    response = client.get(f"/fhir/Binary/{document.public_id}", **auth.headers)
    assert response.status_code == 500
    assert "endommagé" in _issue(response)["diagnostics"]


# --- Consent and break-glass ----------------------------------------------------------------


def _consent(space, purpose, *, birth_date=None, reason=None):
    patient = space.holder
    resource = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": LOINC, "code": "59284-0"}]}],
        "contained": [
            {
                "resourceType": "Patient",
                "id": "patient",
                "identifier": [{"system": INS, "value": patient.nir}],
                "name": [{"family": patient.last_name}],
                "birthDate": (birth_date or patient.birth_date).isoformat(),
            }
        ],
        "patient": {"reference": "#patient"},
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        "provision": {
            "type": "permit",
            "purpose": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": purpose}
            ],
        },
    }
    if reason is not None:
        resource["extension"] = [
            {
                "url": "https://monespacesante.fr/fhir/StructureDefinition/motif-acces-urgence",
                "valueString": reason,
            }
        ]
    return resource


def test_a_software_declares_the_patients_consent_like_the_pro_portal(client, space):
    newcomer = factories.ProfessionalFactory()
    auth = authorise(newcomer)
    assert find(client, auth, space.holder.nir).status_code == 403

    from datetime import timedelta

    wrong = post(
        client,
        "/fhir/Consent",
        _consent(space, "TREAT", birth_date=space.holder.birth_date - timedelta(days=1)),
        auth,
    )
    assert wrong.status_code == 403 and _issue(wrong)["diagnostics"] == NO_ACCESS
    declared = post(client, "/fhir/Consent", _consent(space, "TREAT"), auth)

    assert declared.status_code == 201, declared.content
    assert declared.json()["status"] == "active"
    relation = CareRelation.objects.get(space=space, professional=newcomer)
    assert relation.basis == CareRelation.Basis.CARE_TEAM
    assert find(client, auth, space.holder.nir).status_code == 200
    event = AuditEvent.objects.get(space=space, action="consent_declared")
    assert event.detail["software"] == auth.software.slug
    assert Notification.objects.filter(space=space, kind="care_team_joined").exists()


def test_break_glass_through_the_api_with_its_reason(client, space):
    nurse = factories.ProfessionalFactory(profession="infirmier", specialty="")
    auth = authorise(nurse)
    too_short = post(client, "/fhir/Consent", _consent(space, "ETREAT", reason="vite"), auth)
    assert too_short.status_code == 403
    opened = post(
        client,
        "/fhir/Consent",
        _consent(space, "ETREAT", reason="Malaise grave au cabinet, patient inconscient"),
        auth,
    )
    assert opened.status_code == 201, opened.content
    assert opened.json()["provision"]["period"]["end"]
    access = EmergencyAccess.objects.get(space=space, professional=nurse)
    assert access.reason.startswith("Malaise grave")
    assert find(client, auth, space.holder.nir).status_code == 200
    assert Notification.objects.filter(space=space, kind="emergency_access").exists()


def test_the_capability_statement_lists_the_pdsm_interactions(client):
    statement = client.get("/fhir/metadata").json()
    rest = statement["rest"][0]
    assert [i["code"] for i in rest["interaction"]] == ["transaction"]
    assert "https://interop.esante.gouv.fr/ig/fhir/pdsm" in statement["implementationGuide"]
    resources = {r["type"]: r for r in rest["resource"]}
    params = {p["name"] for p in resources["DocumentReference"]["searchParam"]}
    assert {"patient.identifier", "status", "type", "period", "category"} <= params
    assert "create" in {i["code"] for i in resources["Consent"]["interaction"]}
    assert resources["DocumentReference"]["supportedProfile"]
