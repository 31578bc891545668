"""Walk every route of the FHIR API (`fhir` namespace) with every kind of bad token.

The routes come from the URL resolver, so a route added later (Appointment,
DocumentReference/<id>…) is walked the day it is added: its path parameters are
filled with the id of patient A's object of that resource type, and a resource type
with no sample here fails `test_every_fhir_route_has_a_sample`. Each route is asked
with GET, POST, PUT and DELETE (a valid FHIR body for the writes), with:

- no token, a malformed `Authorization` header, an unknown token, an expired token, a
  token revoked through django-oauth-toolkit's revocation endpoint, a refresh token
  used as an access token, a token bound to no connection, the token of a
  disconnected connection, of a service that is not online (off line, pre-series,
  suspended, dereferenced) or of a deactivated account: **401** with
  `WWW-Authenticate: Bearer`, and nothing traced (no space is known);
- A's token once its purpose is withdrawn, or with a scope that does not cover the
  resource (in the token but not granted, or granted but not in the token): **403**
  (405 for a method the route does not take), traced as denied in A's trail;
- patient B's valid token on A's ids: **404** (405 for a method the route does not
  take), traced as denied in B's trail, never in A's.

Every refusal is an `OperationOutcome` in `application/fhir+json`, shows nothing of
A (names, NIR, values, titles, content, ids), and A's space holds what it held.
`/fhir/metadata` (the only public route) and `/.well-known/smart-configuration`
answer without a token.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, set_token_value

from acces.models import AuditEvent
from acces.policy import APP_SCOPES
from acces.principal import Principal
from agenda.appointments import services as agenda
from agenda.appointments.sealing import Details
from catalogue.actions import CatalogueAction
from catalogue.connections import services as connections
from catalogue.models import Service
from dossier.models import Allergy, Measurement, Vaccination
from espace_sante.tracing import Actor
from tests import factories
from tests.catalogue.api_helpers import connect
from tests.catalogue.oauth_helpers import (
    READ_OBS,
    WRITE_OBS,
    code_from,
    consent,
    exchange,
    make_service,
    pkce_pair,
)
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

A_NAME = "Zéphyrinesque"
A_FIRST = "Anastasie-Clothilde"
A_DOCUMENT_TITLE = "Compte rendu Quasimodesque"
A_DOCUMENT_CONTENT = "Hemoglobine-Stratospherique-917"
A_WEIGHT = Decimal("87.65")
A_VACCINE = "Vaccin Ornithologique"
A_ALLERGY = "Pollen Transylvanien"
A_APPOINTMENT_REASON = "Motif Archéoptérygien"
B_NAME = "Brontodorus"

# The API's public routes: every other route of the namespace needs a token.
PUBLIC_ROUTES = {"fhir:metadata"}
# The last route answers every other address with a 404 OperationOutcome, token or not
# (`test_the_catch_all_answers_in_fhir_and_tells_nothing`); it serves no resource.
CATCH_ALL = "fhir:unknown"
# Routes only a professional's software is answered on (`test_software_token_walk`): a
# connected service's valid token gets a 404 there, traced as denied.
SOFTWARE_ROUTES = {"fhir:transaction", "fhir:consent-type"}
METHODS = ("get", "post", "put", "delete")
# Every scope an app may be granted on a patient's space.
ALL_SCOPES = tuple(sorted(scope for scope in APP_SCOPES if scope.startswith("patient/")))
API_ACTIONS = (CatalogueAction.API_READ, CatalogueAction.API_WRITE)


# --- The routes, from the resolver --------------------------------------------------------------


@dataclass(frozen=True)
class ApiRoute:
    name: str
    template: str  # "/fhir/Observation/<resource_id>"
    params: tuple[str, ...]

    @property
    def resource(self) -> str:
        """The FHIR resource type the route serves: its first segment after /fhir/."""
        return self.template.removeprefix("/fhir/").split("/")[0]

    @property
    def public(self) -> bool:
        return self.name in PUBLIC_ROUTES

    def url(self, samples: dict) -> str:
        url = self.template
        for param in self.params:
            url = url.replace(f"<{param}>", str(samples[self.resource]))
        return url


def _fhir_routes(patterns, prefix, namespace="fhir"):
    for entry in patterns:
        raw = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", str(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if entry.namespace else namespace
            yield from _fhir_routes(entry.url_patterns, prefix + raw, inner)
        elif isinstance(entry, URLPattern):
            template = "/" + prefix + raw
            params = tuple(re.findall(r"<(\w+)>", template))
            yield ApiRoute(f"{namespace}:{entry.name}", template, params)


def _routes() -> list[ApiRoute]:
    prefix, resolver = get_resolver().namespace_dict["fhir"]
    routes = [r for r in _fhir_routes(resolver.url_patterns, prefix) if r.name != CATCH_ALL]
    return sorted(routes, key=lambda r: r.template)


ROUTES = _routes()
PRIVATE_ROUTES = [r for r in ROUTES if not r.public]
ID_ROUTES = [r for r in PRIVATE_ROUTES if r.params]


def test_the_walk_sees_the_whole_api():
    """A resolver change that hid routes from the walk would make it prove nothing."""
    names = {route.name for route in ROUTES}
    assert {
        "fhir:metadata",
        "fhir:observation-type",
        "fhir:observation-instance",
        "fhir:patient-instance",
        "fhir:immunization-type",
        "fhir:allergyintolerance-type",
        "fhir:documentreference-type",
        "fhir:documentreference-instance",
        "fhir:binary-instance",
        "fhir:appointment-type",
        "fhir:appointment-instance",
    } <= names
    _prefix, resolver = get_resolver().namespace_dict["fhir"]
    assert resolver.url_patterns[-1].name == CATCH_ALL.removeprefix("fhir:")
    assert {"/fhir/Observation/<resource_id>", "/fhir/Binary/<resource_id>"} <= {
        r.template for r in ID_ROUTES
    }


# --- The world: A's data, B's data ------------------------------------------------------------


@dataclass
class World:
    space_a: object
    space_b: object
    measurement_a: object
    document_a: object
    appointment_a: object
    vaccination_a: object
    allergy_a: object

    def samples(self) -> dict:
        """A's object of each resource type, as the API names it."""
        return {
            "Observation": self.measurement_a.pk,
            "Patient": self.space_a.public_id,
            "DocumentReference": self.document_a.public_id,
            "Binary": self.document_a.public_id,
            "Appointment": self.appointment_a.public_id,
            "Immunization": self.vaccination_a.pk,
            "AllergyIntolerance": self.allergy_a.pk,
        }

    def markers(self) -> list[str]:
        """What of A must never show to anyone but A's own allowed calls."""
        holder = self.space_a.holder
        return [
            A_NAME,
            A_FIRST,
            holder.nir,
            A_DOCUMENT_TITLE,
            A_DOCUMENT_CONTENT,
            base64.b64encode(_pdf(A_DOCUMENT_CONTENT)).decode()[:24],
            str(A_WEIGHT),
            A_VACCINE,
            A_ALLERGY,
            A_APPOINTMENT_REASON,
            str(self.space_a.public_id),
            str(self.document_a.public_id),
            str(self.appointment_a.public_id),
        ]

    def holdings_of_a(self) -> dict:
        space = self.space_a
        return {
            "measurements": Measurement.objects.filter(space=space).count(),
            "documents": space.documents.count(),
            "vaccinations": Vaccination.objects.filter(space=space).count(),
            "allergies": Allergy.objects.filter(space=space).count(),
            "appointments": type(self.appointment_a).objects.filter(space=space).count(),
        }


def _pdf(text: str) -> bytes:
    return b"%PDF-1.4\n% " + text.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _tomorrow_at_ten():
    from datetime import datetime, time

    day = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


@pytest.fixture
def world():
    space_a = factories.SpaceFactory(holder__last_name=A_NAME, holder__first_names=A_FIRST)
    space_b = factories.SpaceFactory(holder__last_name=B_NAME)
    measurement_a = Measurement.objects.create(
        space=space_a, kind="weight", value=A_WEIGHT, measured_on=date(2026, 11, 2)
    )
    Measurement.objects.create(
        space=space_b, kind="weight", value=Decimal("61"), measured_on=date(2026, 11, 2)
    )
    document_a = factories.make_document(
        space_a, title=A_DOCUMENT_TITLE, data=_pdf(A_DOCUMENT_CONTENT)
    )
    factories.make_document(space_b, title="Bilan de B")
    appointment_a = agenda.add_appointment(
        space=space_a,
        by=Actor(space_a.holder.user, "patient"),
        data=agenda.AppointmentData(
            starts_at=_tomorrow_at_ten(),
            details=Details(name="Dr Rendez-Vous", reason=A_APPOINTMENT_REASON),
        ),
    )
    vaccination_a = Vaccination.objects.create(
        space=space_a, vaccine=A_VACCINE, date=date(2025, 10, 1)
    )
    allergy_a = Allergy.objects.create(space=space_a, substance=A_ALLERGY)
    return World(
        space_a=space_a,
        space_b=space_b,
        measurement_a=measurement_a,
        document_a=document_a,
        appointment_a=appointment_a,
        vaccination_a=vaccination_a,
        allergy_a=allergy_a,
    )


# --- Each bad token -----------------------------------------------------------------------------


def _holder(space) -> Actor:
    return Actor(space.holder.user, "patient")


def _revoked(world):
    connected = connect(world.space_a, scopes=ALL_SCOPES)
    response = Client().post(
        "/oauth/revoke_token/",
        {"token": connected.token, "client_id": connected.service.application.client_id},
    )
    assert response.status_code == 200
    assert not AccessToken.objects.filter(pk=connected.access_token.pk).exists()
    return f"Bearer {connected.token}"


def _expired(world):
    connected = connect(world.space_a, scopes=ALL_SCOPES)
    AccessToken.objects.filter(pk=connected.access_token.pk).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    return f"Bearer {connected.token}"


def _not_bound(world):
    """A token django-oauth-toolkit issued for A, but that no connection binds to a space."""
    connected = connect(world.space_a, scopes=ALL_SCOPES)
    raw = secrets.token_urlsafe(30)
    token = AccessToken(
        user=world.space_a.holder.user,
        application=connected.service.application,
        scope=" ".join(ALL_SCOPES),
        expires=timezone.now() + timedelta(minutes=15),
    )
    set_token_value(token, raw)
    token.save()
    return f"Bearer {raw}"


def _disconnected(world):
    connected = connect(world.space_a, scopes=ALL_SCOPES)
    holder = world.space_a.holder.user
    connections.disconnect(
        connection=connected.connection,
        principal=Principal.of_user(holder),
        by=_holder(world.space_a),
    )
    return f"Bearer {connected.token}"


def _ended_with_its_token_left(world):
    """A connection ended without its tokens revoked (a crash midway, a direct update):
    the token still stops, on the connection's end."""
    connected = connect(world.space_a, scopes=ALL_SCOPES)
    type(connected.connection).objects.filter(pk=connected.connection.pk).update(
        ended_at=timezone.now()
    )
    return f"Bearer {connected.token}"


def _service_in(status):
    def build(world):
        connected = connect(world.space_a, scopes=ALL_SCOPES)
        Service.objects.filter(pk=connected.service.pk).update(status=status)
        return f"Bearer {connected.token}"

    build.__name__ = f"_service_{status}"
    return build


def _account_inactive(world):
    connected = connect(world.space_a, scopes=ALL_SCOPES)
    type(world.space_a.holder.user).objects.filter(pk=world.space_a.holder.user.pk).update(
        is_active=False
    )
    return f"Bearer {connected.token}"


def _dance(space) -> dict:
    """A's real authorization code + PKCE dance: the token endpoint's answer."""
    service = make_service(slug=f"suivi-{secrets.token_hex(3)}")
    patient = sign_in(Client(), space.holder.user)
    verifier, challenge = pkce_pair()
    response = consent(
        patient,
        service,
        space=space,
        purposes=[service.purposes.get(code="mesures")],
        scope=f"{READ_OBS} {WRITE_OBS}",
        challenge=challenge,
    )
    token = exchange(Client(), service, code_from(response), verifier)
    assert token.status_code == 200, token.content
    return token.json()


def _refresh_as_access(world):
    issued = _dance(world.space_a)
    # The access token of the same answer works: the refusal below is the refresh token's.
    ok = Client().get("/fhir/Observation", HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}")
    assert ok.status_code == 200, ok.content
    return f"Bearer {issued['refresh_token']}"


def _purpose_withdrawn(world):
    connected = connect(world.space_a, scopes=ALL_SCOPES)
    connections.withdraw_purpose(
        grant=connected.grant,
        principal=Principal.of_user(world.space_a.holder.user),
        by=_holder(world.space_a),
    )
    return f"Bearer {connected.token}"


def _out_of_scope(world):
    """Granted and asked: Observation.read only."""
    return f"Bearer {connect(world.space_a, scopes=(READ_OBS,)).token}"


def _in_token_not_granted(world):
    """The token names every scope, the connection grants Observation.read only."""
    return f"Bearer {connect(world.space_a, scopes=(READ_OBS,), token_scopes=ALL_SCOPES).token}"


def _other_space(world):
    """B's valid token, every scope granted: used on A's ids."""
    return f"Bearer {connect(world.space_b, scopes=ALL_SCOPES).token}"


@dataclass(frozen=True)
class Case:
    id: str
    header: object  # None, a string, or a builder world -> header
    # "401": the token lets nobody act; "403": A's token, refused by the scopes;
    # "other_space": B's valid token on A's ids.
    kind: str
    error: str = "invalid_token"
    # For "403": the resources the token still reads (the control that it works at all).
    reads: tuple[str, ...] = ()


def _a_real_token_with(scheme):
    def build(world):
        return f"{scheme} {connect(world.space_a, scopes=ALL_SCOPES).token}"

    return build


CASES = [
    Case("no_token", None, "401", "invalid_request"),
    Case("empty_header", "", "401", "invalid_request"),
    Case("bearer_without_token", "Bearer", "401", "invalid_request"),
    Case("basic_scheme", "Basic dXNlcjpwYXNzd29yZA==", "401", "invalid_request"),
    Case("a_real_token_as_token_scheme", _a_real_token_with("Token"), "401", "invalid_request"),
    Case("unknown_token", f"Bearer {'x' * 40}", "401"),
    Case("expired_token", _expired, "401"),
    Case("revoked_token", _revoked, "401"),
    Case("refresh_token_as_access_token", _refresh_as_access, "401"),
    Case("token_bound_to_no_connection", _not_bound, "401"),
    Case("disconnected_connection", _disconnected, "401"),
    Case("connection_ended_token_left", _ended_with_its_token_left, "401"),
    Case("service_offline", _service_in(Service.Status.OFFLINE), "401"),
    Case("service_preseries", _service_in(Service.Status.PRESERIES), "401"),
    Case("service_suspended", _service_in(Service.Status.SUSPENDED), "401"),
    Case("service_dereferenced", _service_in(Service.Status.DEREFERENCED), "401"),
    Case("account_inactive", _account_inactive, "401"),
    Case("purpose_withdrawn", _purpose_withdrawn, "403"),
    Case("scope_not_granted", _out_of_scope, "403", reads=("Observation",)),
    Case("scope_in_token_not_granted", _in_token_not_granted, "403", reads=("Observation",)),
    Case("token_of_another_space", _other_space, "other_space"),
]


# --- The requests -----------------------------------------------------------------------------

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


def _body(route: ApiRoute, world: World) -> dict:
    """A valid resource to write, so that a refusal is the token's, not the body's; it
    names A as its subject wherever FHIR lets it."""
    subject = {"reference": f"Patient/{world.space_a.public_id}"}
    if route.resource == "Observation":
        return GLUCOSE | {"subject": subject}
    if route.resource == "DocumentReference":
        return {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11502-2"}]},
            "subject": subject,
            "description": "Écrit par un jeton refusé",
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "creation": "2026-11-20",
                        "data": base64.b64encode(factories.PDF_BYTES).decode(),
                    }
                }
            ],
        }
    if route.resource == "Binary":
        return {"resourceType": "Binary", "contentType": "text/plain", "data": "Ym9uam91cg=="}
    return {"resourceType": route.resource, "subject": subject, "patient": subject}


def _request(client, method, url, header, body=None):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    if method in ("post", "put"):
        return getattr(client, method)(
            url, data=json.dumps(body), content_type="application/fhir+json", **extra
        )
    return getattr(client, method)(url, **extra)


def _expected(case: Case, route: ApiRoute, method: str) -> set[int]:
    if case.kind == "401":
        return {401}
    if route.name in SOFTWARE_ROUTES:
        return {404}
    if case.kind == "403":
        if route.resource in case.reads and method == "get":
            return {200}  # Observation.read is granted: the token does work
        return {403} if method == "get" else {403, 405}
    # B's token: A's ids are unknown in B's space; a route without an id is B's own data.
    if route.params:
        return {404} if method == "get" else {404, 405}
    return {200, 201, 400, 403, 405, 422}


def _api_events(space):
    return AuditEvent.objects.filter(space=space, action__in=API_ACTIONS)


def _assert_outcome(response, where):
    assert response["Content-Type"].startswith("application/fhir+json"), where
    assert response.json()["resourceType"] == "OperationOutcome", where


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_no_bad_token_reaches_a_patients_data_on_any_route(world, case, settings):
    settings.CATALOGUE_API_RATE_PER_MINUTE = 10_000  # the walk is not what the limit is for
    header = case.header(world) if callable(case.header) else case.header
    caller_space = world.space_b if case.kind == "other_space" else world.space_a
    markers = world.markers()
    samples = world.samples()
    holdings = world.holdings_of_a()
    client = Client()
    for route in PRIVATE_ROUTES:
        for method in METHODS:
            url = route.url(samples)
            if case.kind == "other_space" and not route.params and method == "get":
                # Asking for A by name in the query changes nothing: B's token reads B.
                url += (
                    f"?patient={world.space_a.public_id}&subject=Patient/{world.space_a.public_id}"
                )
            where = f"{method.upper()} {url} ({route.name}) with {case.id}"
            before_a = _api_events(world.space_a).count()
            before_caller = _api_events(caller_space).filter(outcome="denied").count()
            response = _request(client, method, url, header, _body(route, world))
            status = response.status_code
            assert status in _expected(case, route, method), f"{where}: {status}"
            body = response.content.decode(errors="replace")
            if not (case.kind == "403" and status == 200):  # A's own token, in scope
                leaked = [m for m in markers if m in body]
                assert not leaked, f"{where} shows {leaked}"
            if status >= 400:
                _assert_outcome(response, where)
            if status == 401:
                assert response["WWW-Authenticate"].startswith('Bearer realm="fhir"'), where
                assert f'error="{case.error}"' in response["WWW-Authenticate"], where
                # No space is known: nothing is traced anywhere.
                assert _api_events(world.space_a).count() == before_a, where
                assert not _api_events(world.space_b).exists(), where
            elif status in (403, 404, 405):
                denied = _api_events(caller_space).filter(outcome="denied")
                assert denied.count() == before_caller + 1, f"{where} was not traced once"
                event = denied.order_by("-seq").first()
                assert event.detail["path"] == route.url(samples), where
                assert event.detail["status"] == status, where
                assert event.detail["method"] == method.upper(), where
            if case.kind == "other_space":
                # B's calls are B's: A's trail never hears of them.
                assert _api_events(world.space_a).count() == before_a, where
    assert world.holdings_of_a() == holdings, f"{case.id} changed A's space"


def test_every_fhir_route_has_a_sample(world):
    """A new route of a resource type with no sample of A fails here, not silently."""
    samples = world.samples()
    missing = {r.resource for r in ID_ROUTES} - set(samples)
    assert not missing, f"add a sample of A for these FHIR resources: {sorted(missing)}"


def test_the_samples_are_real_objects_their_own_token_reads(world, settings):
    """The walk proves something only if A's own token does read A's ids on those routes."""
    settings.CATALOGUE_API_RATE_PER_MINUTE = 10_000
    connected = connect(world.space_a, scopes=ALL_SCOPES)
    header = f"Bearer {connected.token}"
    samples = world.samples()
    for route in PRIVATE_ROUTES:
        if route.name in SOFTWARE_ROUTES:
            continue
        response = _request(Client(), "get", route.url(samples), header)
        assert response.status_code == 200, f"{route.name}: {response.content[:300]}"
    body = _request(Client(), "get", f"/fhir/Patient/{world.space_a.public_id}", header).json()
    assert body["name"][0]["family"] == A_NAME


def test_the_public_routes_answer_without_a_token(world):
    for route in ROUTES:
        if not route.public:
            continue
        for header in (None, "Bearer inconnu"):
            response = _request(Client(), "get", route.url(world.samples()), header)
            assert response.status_code == 200, route.name
            assert response["Content-Type"].startswith("application/fhir+json")
            assert response.json()["resourceType"] == "CapabilityStatement"
    response = Client().get("/.well-known/smart-configuration")
    assert response.status_code == 200
    assert response.json()["token_endpoint"].endswith("/oauth/token/")
    assert not AuditEvent.objects.filter(action__in=API_ACTIONS).exists()


def test_the_public_routes_take_no_write(world):
    for route in ROUTES:
        if not route.public:
            continue
        for method in ("post", "put", "delete"):
            response = _request(Client(), method, route.url(world.samples()), None, {})
            assert response.status_code == 405, f"{method} {route.name}"
            _assert_outcome(response, route.name)


def test_an_application_token_without_a_connection_is_no_way_in(world):
    """A token of an OAuth2 client that is no service at all (a superuser made it)."""
    application = Application.objects.create(
        name="Client hors catalogue",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://ailleurs.exemple/retour",
        algorithm="",
    )
    raw = secrets.token_urlsafe(30)
    token = AccessToken(
        user=world.space_a.holder.user,
        application=application,
        scope=" ".join(ALL_SCOPES),
        expires=timezone.now() + timedelta(minutes=15),
    )
    set_token_value(token, raw)
    token.save()
    response = _request(Client(), "get", "/fhir/Observation", f"Bearer {raw}")
    assert response.status_code == 401
    assert str(A_WEIGHT) not in response.content.decode()


@pytest.mark.parametrize("path", ["/fhir/Practitioner", "/fhir/Binary", "/fhir/Patient"])
def test_the_catch_all_answers_in_fhir_and_tells_nothing(world, path):
    """Addresses no route serves (a type the API does not know, a type read by id only)."""
    own = f"Bearer {connect(world.space_a, scopes=ALL_SCOPES).token}"
    for header in (None, "Bearer inconnu", own):
        response = _request(Client(), "get", path, header)
        assert response.status_code == 404, path
        _assert_outcome(response, path)
        assert A_NAME not in response.content.decode()


def test_the_consent_page_with_a_real_request_asks_for_a_patients_sign_in(world, agent):
    from tests.catalogue.oauth_helpers import authorize_url, make_service, pkce_pair
    from tests.conftest import sign_in

    service = make_service(slug="consentement-walk")
    _verifier, challenge = pkce_pair()
    url = authorize_url(service, scope="patient/Observation.read", challenge=challenge)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))
    assert "next=" in anonymous["Location"]
    staff = sign_in(Client(), agent).get(url)
    assert staff.status_code == 403
    assert A_NAME not in staff.content.decode()
