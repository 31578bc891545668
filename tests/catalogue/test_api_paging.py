"""Paged searches, a document read by id, and the documents an app sees filtered in SQL."""

from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acces.models import AuditEvent
from acces.policy import Action, decide, documents_visible_to_app
from acces.principal import Principal
from catalogue.api.views import MAX_COUNT
from dossier.models import Measurement
from tests import factories
from tests.catalogue.api_helpers import bearer, connect

pytestmark = pytest.mark.django_db


def _measurements(space, n):
    start = date(2025, 1, 1)
    Measurement.objects.bulk_create(
        Measurement(
            space=space,
            kind="weight",
            value=Decimal(60 + i % 10),
            measured_on=start + timedelta(days=i),
        )
        for i in range(n)
    )


def _get(client, connected, url):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", **bearer(connected))


def test_a_search_is_paged_and_the_client_follows_next(client, patient_space):
    _measurements(patient_space, 120)
    connected = connect(patient_space)
    seen, url, pages = [], "/fhir/Observation?code=29463-7&_count=50", 0
    while url:
        bundle = _get(client, connected, url).json()
        pages += 1
        assert bundle["total"] == 120
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert "code=29463-7" in links["self"]
        url = links.get("next")
        assert pages == 1 or "previous" in links
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120


def test_count_is_bounded_and_checked(client, patient_space):
    _measurements(patient_space, 5)
    connected = connect(patient_space)
    default = client.get("/fhir/Observation", **bearer(connected)).json()
    assert len(default["entry"]) == 5 and "next" not in {x["relation"] for x in default["link"]}
    only_total = client.get("/fhir/Observation", {"_count": 0}, **bearer(connected)).json()
    assert only_total["total"] == 5 and "entry" not in only_total
    huge = client.get("/fhir/Observation", {"_count": 10**6}, **bearer(connected)).json()
    assert f"_count={MAX_COUNT}" in huge["link"][0]["url"]
    beyond = client.get("/fhir/Observation", {"_offset": 10**30}, **bearer(connected)).json()
    assert beyond["total"] == 5 and "entry" not in beyond
    for bad in ({"_count": "beaucoup"}, {"_offset": "-1"}):
        response = client.get("/fhir/Observation", bad, **bearer(connected))
        assert response.status_code == 400
        assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "path", ["/fhir/DocumentReference", "/fhir/Observation", "/fhir/Appointment"]
)
def test_a_search_runs_the_same_queries_whatever_the_record(client, path):
    scopes = (
        "patient/DocumentReference.read",
        "patient/Observation.read",
        "patient/Appointment.read",
    )

    def queries(size):
        space = factories.SpaceFactory()
        for i in range(size):
            factories.make_document(space, title=f"Bilan {i}")
        _measurements(space, size * 3)
        connected = connect(space, scopes=scopes)
        client.get(path, **bearer(connected))  # warm the caches (matrix, types)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, {"_count": 50}, **bearer(connected))
        assert response.status_code == 200
        return len(captured)

    assert queries(3) == queries(25)


def test_a_document_is_read_by_its_id_as_the_policy_says(client, patient_space):
    document = factories.make_document(patient_space, title="Compte rendu")
    masked = factories.make_document(patient_space, title="Masqué", masked=True)
    pro = factories.ProfessionalFactory()
    hidden = factories.make_document(
        patient_space, title="Caché", professional=pro, invisible_to_patient=True
    )
    theirs = factories.make_document(factories.SpaceFactory(), title="Autre")
    connected = connect(patient_space, scopes=("patient/DocumentReference.read",))
    read = client.get(f"/fhir/DocumentReference/{document.public_id}", **bearer(connected))
    assert read.status_code == 200
    body = read.json()
    assert body["id"] == str(document.public_id) and body["description"] == "Compte rendu"
    assert body["subject"]["reference"] == f"Patient/{patient_space.public_id}"
    event = AuditEvent.objects.get(action="catalogue_api_read", outcome="allowed")
    assert (event.target_type, event.target_id) == ("dossier.document", str(document.public_id))
    for other in (masked, hidden, theirs):
        response = client.get(f"/fhir/DocumentReference/{other.public_id}", **bearer(connected))
        assert response.status_code == 404
        assert other.title not in response.content.decode()


def test_the_apps_filter_is_the_policys_decision_on_each_document(patient_space):
    pro = factories.ProfessionalFactory()
    documents = [
        factories.make_document(patient_space, title="Bilan"),
        factories.make_document(patient_space, title="Masqué", masked=True),
        factories.make_document(
            patient_space, title="Caché", professional=pro, invisible_to_patient=True
        ),
        factories.make_document(patient_space, title="Radio", type_code="18748-4"),
    ]
    user = patient_space.holder.user
    for scopes, shows_masked in [
        ({"patient/DocumentReference.read"}, False),
        ({"patient/DocumentReference.read"}, True),
        ({"patient/DocumentReference.read?category=biology"}, False),
        ({"patient/DocumentReference.read?category=imaging"}, True),
        ({"patient/Observation.read"}, False),
    ]:
        principal = Principal.app_for(user, app_id="demo", scopes=scopes, shows_masked=shows_masked)
        decision = decide(principal, Action.VIEW_SPACE, patient_space)
        in_sql = set(
            patient_space.documents.filter(
                documents_visible_to_app(principal, decision)
            ).values_list("pk", flat=True)
        )
        one_by_one = {d.pk for d in documents if decide(principal, Action.VIEW_DOCUMENT, d)}
        assert in_sql == one_by_one, scopes
