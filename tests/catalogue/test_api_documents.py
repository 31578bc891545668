"""DocumentReference search: what the patient sees, within the scope and the patient's leave."""

import base64
import json

import pytest

from dossier.models import Category, Document
from tests import factories
from tests.catalogue.api_helpers import bearer, connect

pytestmark = pytest.mark.django_db


def titles(client, connected, query=""):
    response = client.get(f"/fhir/DocumentReference{query}", **bearer(connected))
    assert response.status_code == 200, response.content
    return sorted(e["resource"]["description"] for e in response.json().get("entry", []))


def test_only_what_the_patient_sees_and_masked_only_with_leave(client, patient_space):
    factories.make_document(patient_space, title="Visible")
    factories.make_document(patient_space, title="Masqué", masked=True)
    hidden = factories.make_document(patient_space, title="Invisible")
    Document.objects.filter(pk=hidden.pk).update(invisible_to_patient=True)  # a pro's choice
    factories.make_document(factories.SpaceFactory(), title="Autre espace")
    connected = connect(patient_space, scopes=("patient/DocumentReference.read",))
    assert titles(client, connected) == ["Visible"]
    connected.connection.shows_masked_documents = True
    connected.connection.save()
    assert titles(client, connected) == ["Masqué", "Visible"]


def test_a_category_scope_lists_that_category_only(client, patient_space):
    document = factories.make_document(patient_space, title="Bilan")
    other = next(c for c in Category.values if c != document.category)
    mine = connect(
        patient_space, scopes=(f"patient/DocumentReference.read?category={document.category}",)
    )
    assert titles(client, mine) == ["Bilan"]
    theirs = connect(
        patient_space, slug="autre", scopes=(f"patient/DocumentReference.read?category={other}",)
    )
    assert titles(client, theirs) == []
    assert titles(client, mine, f"?category={other}") == []
    assert titles(client, mine, "?date=ge2026-01-15") == ["Bilan"]
    assert titles(client, mine, "?date=gt2026-01-15") == []
    assert titles(client, mine, f"?type=http://loinc.org|{document.type_code}") == ["Bilan"]


def test_documents_need_the_document_scope(client, patient_space):
    factories.make_document(patient_space)
    connected = connect(patient_space, scopes=("patient/Observation.read",))
    assert client.get("/fhir/DocumentReference", **bearer(connected)).status_code == 403


def test_binary_gives_the_decrypted_content_of_a_visible_document(client, patient_space):
    document = factories.make_document(patient_space, title="Bilan")
    masked = factories.make_document(patient_space, title="Masqué", masked=True)
    theirs = factories.make_document(factories.SpaceFactory(), title="Autre")
    connected = connect(patient_space, scopes=("patient/DocumentReference.read",))
    listed = client.get("/fhir/DocumentReference", **bearer(connected)).json()
    url = listed["entry"][0]["resource"]["content"][0]["attachment"]["url"]
    assert url == f"http://testserver/fhir/Binary/{document.public_id}"
    body = client.get(url, **bearer(connected)).json()  # the absolute address, followed
    assert base64.b64decode(body["data"]) == factories.PDF_BYTES
    assert body["contentType"] == document.content_type
    for other in (masked, theirs):
        response = client.get(f"/fhir/Binary/{other.public_id}", **bearer(connected))
        assert response.status_code == 404
    assert client.get("/fhir/Binary/pas-un-uuid", **bearer(connected)).status_code == 404


def document_body(data: bytes, code="11502-2", title="Résultats du labo"):
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "description": title,
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "title": "resultats.pdf",
                    "creation": "2026-11-20",
                    "data": base64.b64encode(data).decode(),
                }
            }
        ],
    }


def post_document(client, connected, body):
    return client.post(
        "/fhir/DocumentReference",
        data=json.dumps(body),
        content_type="application/fhir+json",
        **bearer(connected),
    )


def test_an_app_adds_a_patient_document_checked_by_content(client, patient_space):
    connected = connect(patient_space, scopes=("patient/DocumentReference.write",))
    response = post_document(client, connected, document_body(factories.PDF_BYTES))
    assert response.status_code == 201, response.content
    document = Document.objects.get(space=patient_space)
    assert document.title == "Résultats du labo" and document.content_type == "application/pdf"
    assert document.added_by == patient_space.holder.user and document.author_professional is None
    connected.connection.refresh_from_db()
    assert connected.connection.pending_writes == 1

    html = b"<html><script>alert(1)</script></html>"
    refused = post_document(client, connected, document_body(html, title="Faux PDF"))
    assert refused.status_code == 422
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert not Document.objects.filter(title="Faux PDF").exists()


def test_a_category_write_scope_adds_that_category_only(client, patient_space):
    connected = connect(
        patient_space, scopes=("patient/DocumentReference.write?category=prescriptions",)
    )
    assert post_document(client, connected, document_body(factories.PDF_BYTES)).status_code == 403
    ordonnance = document_body(factories.PDF_BYTES, code="57833-6", title="Ordonnance")
    assert post_document(client, connected, ordonnance).status_code == 201
    assert list(Document.objects.values_list("title", flat=True)) == ["Ordonnance"]


def test_reading_documents_does_not_allow_adding(client, patient_space):
    connected = connect(patient_space, scopes=("patient/DocumentReference.read",))
    assert post_document(client, connected, document_body(factories.PDF_BYTES)).status_code == 403
    assert not Document.objects.exists()
