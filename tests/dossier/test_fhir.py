"""The FHIR R4 Bundle of the space's download: valid R4, complete, and only what the holder sees."""

import base64
import hashlib
import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from dossier import fhir, profile_services
from dossier.services import add_document
from espace_sante.export import build_archive
from espace_sante.tracing import Actor
from tests import factories
from tests.dossier.helpers import fill_profile, holder_actor
from tests.factories import make_document
from tests.fhir import assert_valid_fhir_r4, fhir_r4_errors

pytestmark = pytest.mark.django_db

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def full_space():
    """A space with every kind of profile entry and documents of every visibility."""
    space = factories.SpaceFactory()
    fill_profile(space)
    pro = factories.ProfessionalFactory()
    docs = {
        "mine": make_document(space, title="Analyse de sang", type_code="11502-2"),
        "report": make_document(space, professional=pro, title="Compte rendu", type_code="11488-4"),
        "masked": make_document(space, title="Radio du genou", type_code="18748-4", masked=True),
        "hidden": make_document(
            space, professional=pro, title="Annonce à venir", invisible_to_patient=True
        ),
    }
    docs["v2"] = add_document(
        space=space,
        type_code="11488-4",
        title="Compte rendu corrigé",
        act_date=date(2026, 1, 20),
        data=PNG_BYTES,
        by=Actor(user=pro.user, role=pro.user.kind),
        author_professional=pro,
        replaces=docs["report"],
    )
    return space, docs, pro


def _resources(bundle, resource_type):
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def _by_id(bundle):
    return {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}


def test_bundle_of_a_full_space_is_valid_fhir_r4(full_space):
    space, _docs, _pro = full_space
    bundle = fhir.build_bundle(space)
    assert_valid_fhir_r4(bundle)
    assert bundle["type"] == "collection" and bundle["timestamp"]
    counts = {}
    for entry in bundle["entry"]:
        counts[entry["resource"]["resourceType"]] = (
            counts.get(entry["resource"]["resourceType"], 0) + 1
        )
    assert counts == {
        "Patient": 1,
        "AllergyIntolerance": 2,
        "Condition": 2,
        "MedicationStatement": 1,
        "Immunization": 1,
        "Observation": 5,  # four measurements and the BMI
        "DocumentReference": 4,  # the hidden one is absent
    }


def test_every_entry_has_an_id_and_its_urn_and_points_at_the_patient(full_space):
    space, _docs, _pro = full_space
    bundle = fhir.build_bundle(space)
    (patient_entry,) = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    patient_urn = patient_entry["fullUrl"]
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        resource = entry["resource"]
        ref = resource.get("subject") or resource.get("patient")
        if resource["resourceType"] != "Patient":
            assert ref == {"reference": patient_urn}
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"])


def test_patient_carries_the_ins_nir_name_birth_date_and_gender(full_space):
    space, _docs, _pro = full_space
    (patient,) = _resources(fhir.build_bundle(space), "Patient")
    holder = space.holder
    assert patient["identifier"] == [
        {"use": "official", "system": "urn:oid:1.2.250.1.213.1.4.8", "value": holder.nir}
    ]
    assert patient["name"][0]["family"] == holder.last_name
    assert patient["name"][0]["given"] == ["Alice", "Jeanne"]
    assert patient["birthDate"] == "1980-05-17"
    assert patient["gender"] == "female"


def test_profile_entries_are_mapped_with_their_values(full_space):
    space, _docs, _pro = full_space
    bundle = fhir.build_bundle(space)
    allergies = {a["code"]["text"]: a for a in _resources(bundle, "AllergyIntolerance")}
    assert allergies["Pénicilline"]["criticality"] == "high"
    assert allergies["Pénicilline"]["reaction"] == [
        {"manifestation": [{"text": "Urticaire"}], "severity": "severe"}
    ]
    assert allergies["Pollens"]["criticality"] == "low" and "reaction" not in allergies["Pollens"]

    conditions = {c["code"]["text"]: c for c in _resources(bundle, "Condition")}
    assert conditions["Appendicectomie"]["onsetDateTime"] == "2004"
    assert conditions["Appendicectomie"]["category"][0]["coding"][0]["code"] == "417662000"
    family = conditions["Diabète de type 2"]
    assert family["category"][0]["text"] == "Antécédent familial"
    assert family["category"][0]["coding"][0]["code"] == "416471007"
    assert family["note"] == [{"text": "Père"}]

    (treatment,) = _resources(bundle, "MedicationStatement")
    assert treatment["status"] == "active"
    assert treatment["medicationCodeableConcept"] == {"text": "Lévothyroxine 75 µg"}
    assert treatment["dosage"] == [{"text": "1 comprimé le matin"}]
    assert treatment["effectivePeriod"] == {"start": "2020-03-01"}

    (immunization,) = _resources(bundle, "Immunization")
    assert immunization["vaccineCode"] == {"text": "DTP"}
    assert immunization["occurrenceDateTime"] == "2019-06-02"
    assert immunization["lotNumber"] == "AB123"
    assert immunization["performer"] == [{"actor": {"display": "Dr Martin"}}]


def test_measurements_are_loinc_observations_in_ucum_units(full_space):
    space, _docs, _pro = full_space
    observations = {
        o["code"]["coding"][0]["code"]: o
        for o in _resources(fhir.build_bundle(space), "Observation")
    }
    weight = observations["29463-7"]["valueQuantity"]
    assert weight == {
        "value": 70,
        "unit": "kg",
        "system": "http://unitsofmeasure.org",
        "code": "kg",
    }
    assert observations["8302-2"]["valueQuantity"]["code"] == "cm"
    assert observations["2345-7"]["valueQuantity"]["value"] == 0.95
    assert observations["2345-7"]["valueQuantity"]["code"] == "g/L"
    pressure = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]
        for c in observations["85354-9"]["component"]
    }
    assert pressure["8480-6"]["value"] == 125 and pressure["8480-6"]["code"] == "mm[Hg]"
    assert pressure["8462-4"]["value"] == 80
    assert "valueQuantity" not in observations["85354-9"]


def test_bmi_is_derived_from_the_latest_weight_and_height(full_space):
    space, _docs, _pro = full_space
    bundle = fhir.build_bundle(space)
    observations = {o["code"]["coding"][0]["code"]: o for o in _resources(bundle, "Observation")}
    bmi = observations["39156-5"]
    assert bmi["valueQuantity"]["value"] == 22.9  # 70 / 1.75²
    assert bmi["valueQuantity"]["code"] == "kg/m2"
    assert bmi["effectiveDateTime"] == "2025-01-02"
    urns = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    assert [d["reference"] for d in bmi["derivedFrom"]] == [
        urns[observations["29463-7"]["id"]],
        urns[observations["8302-2"]["id"]],
    ]


def test_no_bmi_without_a_height():
    space = factories.SpaceFactory()
    profile_services.add_entry(
        space=space,
        part="measurement",
        values={"kind": "weight", "value": Decimal("70"), "measured_on": date(2025, 1, 2)},
        by=holder_actor(space),
    )
    codes = [
        o["code"]["coding"][0]["code"] for o in _resources(fhir.build_bundle(space), "Observation")
    ]
    assert codes == ["29463-7"]


def test_document_references_describe_the_documents_and_their_versions(full_space):
    space, docs, pro = full_space
    references = {
        r["masterIdentifier"]["value"]: r
        for r in _resources(fhir.build_bundle(space), "DocumentReference")
    }
    old = references[f"urn:uuid:{docs['report'].public_id}"]
    new = references[f"urn:uuid:{docs['v2'].public_id}"]
    assert old["status"] == "superseded" and new["status"] == "current"
    assert new["relatesTo"] == [
        {"code": "replaces", "target": {"reference": f"urn:uuid:{docs['report'].public_id}"}}
    ]
    assert new["type"]["coding"] == [
        {"system": "http://loinc.org", "code": "11488-4", "display": "Compte rendu de consultation"}
    ]
    assert new["description"] == "Compte rendu corrigé"
    assert new["context"] == {"period": {"start": "2026-01-20"}}
    assert new["author"] == [
        {
            "display": pro.title,
            "identifier": {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": f"8{pro.rpps}"},
        }
    ]
    attachment = new["content"][0]["attachment"]
    assert attachment["contentType"] == "image/png"
    assert attachment["size"] == len(PNG_BYTES)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(PNG_BYTES).digest()).decode()
    masked = references[f"urn:uuid:{docs['masked'].public_id}"]
    assert masked["securityLabel"][0]["coding"][0]["code"] == "R"
    assert new["securityLabel"][0]["coding"][0]["code"] == "N"


def test_documents_hidden_from_the_holder_are_not_in_the_bundle(full_space):
    space, docs, _pro = full_space
    text = json.dumps(fhir.build_bundle(space), ensure_ascii=False)
    assert str(docs["hidden"].public_id) not in text
    assert "Annonce à venir" not in text


def test_documents_hidden_from_live_representatives_are_not_in_a_minors_bundle():
    space = factories.MinorSpaceFactory()
    parent = factories.UserFactory()
    factories.LegalRepresentativeFactory(space=space, user=parent)
    pro = factories.ProfessionalFactory()
    shown = make_document(space, by_user=parent, title="Carnet")
    secret = make_document(
        space, professional=pro, title="Secret", invisible_to_representatives=True
    )
    bundle = fhir.build_bundle(space)
    ids = {r["id"] for r in _resources(bundle, "DocumentReference")}
    assert ids == {str(shown.public_id)}
    assert str(secret.public_id) not in json.dumps(bundle)


def test_attachment_urls_point_at_the_files_of_the_archive(full_space):
    space, docs, _pro = full_space
    archive = zipfile.ZipFile(io.BytesIO(build_archive(space)))
    bundle = json.loads(archive.read(fhir.FILENAME).decode("utf-8"))
    assert_valid_fhir_r4(bundle)
    documents = {str(d.public_id): d for d in docs.values()}
    references = _resources(bundle, "DocumentReference")
    assert len(references) == 4
    for reference in references:
        attachment = reference["content"][0]["attachment"]
        data = archive.read(attachment["url"])  # KeyError if the file is not there
        assert len(data) == attachment["size"]
        assert base64.b64encode(hashlib.sha1(data).digest()).decode() == attachment["hash"]
        assert attachment["contentType"] == documents[reference["id"]].content_type
    document_files = {n for n in archive.namelist() if n.startswith("documents/")}
    assert document_files == {r["content"][0]["attachment"]["url"] for r in references}


def test_archive_progress_counts_each_document(full_space):
    space, _docs, _pro = full_space
    steps = []
    build_archive(space, progress=lambda done, total: steps.append((done, total)))
    totals = {total for _done, total in steps}
    # identity, history, notifications, readme + 4 documents + the Bundle (and other apps' parts)
    assert len(totals) == 1 and totals.pop() == len(steps) >= 9
    assert [done for done, _total in steps] == list(range(1, len(steps) + 1))


def test_readme_of_the_archive_names_the_fhir_file(full_space):
    space, _docs, _pro = full_space
    archive = zipfile.ZipFile(io.BytesIO(build_archive(space)))
    assert "dmp.fhir.json" in archive.read("LISEZMOI.txt").decode("utf-8")


def test_validator_refuses_a_wrong_gender_code(full_space):
    space, _docs, _pro = full_space
    bundle = fhir.build_bundle(space)
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    patient["gender"] = "F"
    with pytest.raises(AssertionError) as failure:
        assert_valid_fhir_r4(bundle)
    assert "entry[0].resource.gender : 'F' is not one of" in str(failure.value)


def test_validator_names_each_error_of_each_resource():
    errors = fhir_r4_errors(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": {"resourceType": "Observation", "status": "final", "code": "x"}},
                {"resource": {"resourceType": "Patient", "birthDate": "17/05/1980"}},
                {"resource": {"resourceType": "NoSuchThing"}},
            ],
        }
    )
    assert len(errors) == 3, errors
    assert errors[0].startswith("entry[0].resource.code : ")
    assert errors[1].startswith("entry[1].resource.birthDate : ")
    assert errors[2].startswith("entry[2].resource.resourceType : type de ressource inconnu")


def test_the_validator_refuses_what_fhir_resources_refuses():
    """The second check is real: fhir.resources' R4B models refuse an invalid Communication."""
    from tests.fhir import fhir_resources_errors

    assert fhir_resources_errors({"resourceType": "Communication", "status": "completed"}) == []
    assert fhir_resources_errors({"resourceType": "Communication", "status": 12, "sent": "hier"})
