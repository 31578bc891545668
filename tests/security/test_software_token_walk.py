"""Walk every route of the FHIR API with the tokens of professionals' software, one per
kind of principal, on patient A's data.

The routes come from the URL resolver (`test_api_token_walk._routes`): a route added
later is walked the day it is added. Each is asked with GET, POST, PUT and DELETE; the
searches and writes name A (A's INS, A's identity, A's document ids). The principals:

- A's attending GP (the control: A's data is reached, so the walk proves something);
- a GP of patient B only, a professional with no consent declared, one A blocked, one
  whose sign-in was too weak: **403** or **404**, the same answer whether or not A exists;
- a pharmacist of A's care team: the search answers, without what the matrix keeps from
  pharmacists; the document itself is a 404, publishing its type a 403;
- an expired or revoked token, an inactive software, a deactivated account, a token of a
  software bound to no professional: **401**.

Every refusal is an `OperationOutcome`, shows nothing of A (name, NIR, title, content,
ids) unless the call was allowed, and A's space holds what it held.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, set_token_value

from acces.models import AuditEvent, Block, CareRelation
from catalogue.api.software import NO_ACCESS
from espace_sante.assurance import AssuranceLevel
from tests import factories
from tests.catalogue.software_helpers import (
    CONSULTATION,
    INS,
    authorise,
    document_reference,
    make_software,
    transaction,
)
from tests.security.test_api_token_walk import PRIVATE_ROUTES, ApiRoute

pytestmark = pytest.mark.django_db

A_NAME = "Zéphyrinesque"
A_TITLE = "Compte rendu Quasimodesque"
A_CONTENT = "Hemoglobine-Stratospherique-917"
METHODS = ("get", "post", "put", "delete")
# What a software is answered on: the rest of the API is the connected services'.
SOFTWARE = {
    "fhir:transaction": {"post"},
    "fhir:documentreference-type": {"get", "post"},
    "fhir:documentreference-instance": {"get"},
    "fhir:binary-instance": {"get"},
    "fhir:consent-type": {"post"},
}


def _pdf(text: str) -> bytes:
    return b"%PDF-1.4\n% " + text.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    space_a: object
    space_b: object
    gp_a: object
    document_a: object

    def markers(self) -> list[str]:
        return [
            A_NAME,
            self.space_a.holder.nir,
            A_TITLE,
            A_CONTENT,
            base64.b64encode(_pdf(A_CONTENT)).decode()[:24],
            str(self.space_a.public_id),
            str(self.document_a.public_id),
        ]

    def holdings(self) -> dict:
        space = self.space_a
        return {
            "documents": space.documents.count(),
            "relations": CareRelation.objects.filter(space=space, ended_at__isnull=True).count(),
            "emergencies": space.emergency_accesses.count(),
        }


@pytest.fixture
def world():
    space_a = factories.SpaceFactory(holder__last_name=A_NAME)
    space_b = factories.SpaceFactory()
    gp_a = factories.ProfessionalFactory()
    CareRelation.objects.create(
        space=space_a, professional=gp_a, basis=CareRelation.Basis.ATTENDING
    )
    document_a = factories.make_document(
        space_a, professional=gp_a, type_code=CONSULTATION, title=A_TITLE, data=_pdf(A_CONTENT)
    )
    return World(space_a, space_b, gp_a, document_a)


# --- The principals -------------------------------------------------------------------------


def _control(world):
    return authorise(world.gp_a).headers["HTTP_AUTHORIZATION"]


def _gp_of_b(world):
    gp_b = factories.ProfessionalFactory()
    CareRelation.objects.create(
        space=world.space_b, professional=gp_b, basis=CareRelation.Basis.ATTENDING
    )
    return authorise(gp_b).headers["HTTP_AUTHORIZATION"]


def _no_consent(world):
    return authorise(factories.ProfessionalFactory()).headers["HTTP_AUTHORIZATION"]


def _blocked(world):
    blocked = factories.ProfessionalFactory()
    CareRelation.objects.create(
        space=world.space_a, professional=blocked, basis=CareRelation.Basis.CARE_TEAM
    )
    Block.objects.create(space=world.space_a, professional=blocked)
    return authorise(blocked).headers["HTTP_AUTHORIZATION"]


def _weak_sign_in(world):
    return authorise(world.gp_a, assurance=AssuranceLevel.PASSWORD).headers["HTTP_AUTHORIZATION"]


def _pharmacist(world):
    pharmacist = factories.ProfessionalFactory(profession="pharmacien", specialty="")
    CareRelation.objects.create(
        space=world.space_a, professional=pharmacist, basis=CareRelation.Basis.CARE_TEAM
    )
    return authorise(pharmacist).headers["HTTP_AUTHORIZATION"]


def _expired(world):
    auth = authorise(world.gp_a, expires=timezone.now() - timedelta(seconds=1))
    return auth.headers["HTTP_AUTHORIZATION"]


def _revoked(world):
    auth = authorise(world.gp_a)
    AccessToken.objects.filter(pk=auth.access_token.pk).delete()
    return auth.headers["HTTP_AUTHORIZATION"]


def _inactive_software(world):
    software = make_software(active=False)
    return authorise(world.gp_a, software=software).headers["HTTP_AUTHORIZATION"]


def _account_inactive(world):
    pro = factories.ProfessionalFactory()
    CareRelation.objects.create(
        space=world.space_a, professional=pro, basis=CareRelation.Basis.CARE_TEAM
    )
    header = authorise(pro).headers["HTTP_AUTHORIZATION"]
    type(pro.user).objects.filter(pk=pro.user.pk).update(is_active=False)
    return header


def _software_without_professional(world):
    """A token django-oauth-toolkit issued to a software's client, bound to no professional."""
    software = make_software()
    raw = secrets.token_urlsafe(30)
    token = AccessToken(
        user=world.gp_a.user,
        application=software.application,
        scope="user/DocumentReference.read",
        expires=timezone.now() + timedelta(minutes=15),
    )
    set_token_value(token, raw)
    token.save()
    return f"Bearer {raw}"


@dataclass(frozen=True)
class Case:
    id: str
    build: object
    kind: str  # "control", "refused", "matrix", "401"


CASES = [
    Case("attending_gp_control", _control, "control"),
    Case("gp_of_another_patient", _gp_of_b, "refused"),
    Case("no_consent_declared", _no_consent, "refused"),
    Case("blocked_by_the_patient", _blocked, "refused"),
    Case("sign_in_too_weak", _weak_sign_in, "refused"),
    Case("pharmacist_wrong_matrix", _pharmacist, "matrix"),
    Case("expired_token", _expired, "401"),
    Case("revoked_token", _revoked, "401"),
    Case("inactive_software", _inactive_software, "401"),
    Case("account_inactive", _account_inactive, "401"),
    Case("software_bound_to_no_professional", _software_without_professional, "401"),
]


# --- The requests -----------------------------------------------------------------------------


def _url(route: ApiRoute, world: World, method: str) -> str:
    url = route.template.replace("<resource_id>", str(world.document_a.public_id))
    if route.name == "fhir:documentreference-type" and method == "get":
        url += f"?patient.identifier={INS}|{world.space_a.holder.nir}"
    return url


def _consent(world: World) -> dict:
    """A consent naming A by INS and name, with a birth date that is not A's: the exact
    search fails for everyone, so the walk never joins A's care team."""
    holder = world.space_a.holder
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "contained": [
            {
                "resourceType": "Patient",
                "id": "p",
                "identifier": [{"system": INS, "value": holder.nir}],
                "name": [{"family": holder.last_name}],
                "birthDate": (holder.birth_date - timedelta(days=1)).isoformat(),
            }
        ],
        "patient": {"reference": "#p"},
        "policyRule": {"coding": [{"code": "OPTIN"}]},
        "provision": {
            "purpose": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}
            ]
        },
    }


def _body(route: ApiRoute, world: World) -> dict:
    nir = world.space_a.holder.nir
    replaces = [
        {
            "code": "replaces",
            "target": {"reference": f"DocumentReference/{world.document_a.public_id}"},
        }
    ]
    if route.name == "fhir:transaction":
        return transaction(nir, title="Écrit par un jeton refusé", relatesTo=replaces)
    if route.name == "fhir:consent-type":
        return _consent(world)
    # A new document (the transaction above replaces A's: only once, by its author).
    return document_reference(
        nir, title="Écrit par un jeton refusé", master=f"urn:uuid:{uuid.uuid4()}"
    )


def _expected(case: Case, route: ApiRoute, method: str) -> set[int]:
    if case.kind == "401":
        return {401}
    allowed = SOFTWARE.get(route.name)
    if allowed is None:
        return {404}  # the connected services' routes
    if method not in allowed:
        return {405}
    if route.name == "fhir:consent-type":
        return {403}  # the birth date is not A's
    if case.kind == "control":
        return {201} if method == "post" and route.name == "fhir:documentreference-type" else {200}
    if case.kind == "matrix":
        if route.name == "fhir:documentreference-type" and method == "get":
            return {200}  # answered, without the consultation report
        return {403} if method == "post" else {404}
    return {403} if route.name in ("fhir:documentreference-type", "fhir:transaction") else {404}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_no_software_token_reaches_more_than_its_professional_may(world, case, settings):
    settings.CATALOGUE_API_RATE_PER_MINUTE = 10_000
    header = case.build(world)
    markers = world.markers()
    holdings = world.holdings()
    client = Client()
    for route in PRIVATE_ROUTES:
        for method in METHODS:
            url = _url(route, world, method)
            where = f"{method.upper()} {url} ({route.name}) with {case.id}"
            before = AuditEvent.objects.filter(outcome="denied").count()
            extra = {"HTTP_AUTHORIZATION": header}
            if method in ("post", "put"):
                response = getattr(client, method)(
                    url,
                    data=json.dumps(_body(route, world)),
                    content_type="application/fhir+json",
                    **extra,
                )
            else:
                response = getattr(client, method)(url, **extra)
            status = response.status_code
            assert status in _expected(case, route, method), f"{where}: {status}"
            if status >= 400:
                assert response["Content-Type"].startswith("application/fhir+json"), where
                assert response.json()["resourceType"] == "OperationOutcome", where
                body = response.content.decode(errors="replace")
                leaked = [m for m in markers if m in body]
                assert not leaked, f"{where} shows {leaked}"
            if status == 403 and case.kind == "refused":
                assert response.json()["issue"][0]["diagnostics"] in (
                    NO_ACCESS,
                    "Cette action demande une connexion plus sûre : confirmez votre connexion "
                    "avec votre second facteur (code reçu par e-mail, application "
                    "d'authentification) ou Pro Santé Connect.",
                ), where
            if status in (403, 404, 405):
                denied = AuditEvent.objects.filter(outcome="denied").count()
                assert denied == before + 1, f"{where} was not traced once"
            if status == 401:
                assert AuditEvent.objects.filter(outcome="denied").count() == before, where
            if case.kind == "matrix" and status == 200:
                assert response.json()["total"] == 0, where
    if case.kind == "control":
        # The control wrote A's new versions; nobody else changed A's space.
        assert world.space_a.documents.count() > holdings["documents"]
    else:
        assert world.holdings() == holdings, f"{case.id} changed A's space"


def test_an_unknown_patient_and_a_known_one_answer_the_same(world):
    """Asked for A by a professional without access, and for an INS nobody has."""
    header = {"HTTP_AUTHORIZATION": _no_consent(world)}
    known = Client().get(
        f"/fhir/DocumentReference?patient.identifier={INS}|{world.space_a.holder.nir}", **header
    )
    unknown = Client().get(
        f"/fhir/DocumentReference?patient.identifier={INS}|{factories.next_nir()}", **header
    )
    assert known.status_code == unknown.status_code == 403
    assert known.content == unknown.content


def test_a_blocked_professional_cannot_join_again_by_declaring_consent(world):
    blocked = factories.ProfessionalFactory()
    Block.objects.create(space=world.space_a, professional=blocked)
    consent = _consent(world)
    consent["contained"][0]["birthDate"] = world.space_a.holder.birth_date.isoformat()
    response = Client().post(
        "/fhir/Consent",
        json.dumps(consent),
        content_type="application/fhir+json",
        **authorise(blocked).headers,
    )
    assert response.status_code == 403
    assert not CareRelation.objects.filter(space=world.space_a, professional=blocked).exists()
    assert AuditEvent.objects.filter(
        space=world.space_a, actor=blocked.user, outcome="denied"
    ).exists()
