"""Walk every URL pattern of the project, for every role, against patient A's objects.

A new route is covered without anyone remembering to add it: a route whose
parameters have no sample here fails `test_every_route_parameter_has_a_sample`.
Each attempt by someone other than A (and A's authorised professional) must be
refused (redirect to sign-in, 403, 404 or 405) or show nothing of A; each
refusal on A's space is traced in A's trail.

The roles that attack A: nobody signed in, another patient (B), a professional
with no relation to A, B's professional (care team on B, none on A), A's
attending physician whom A blocked (after opening A's record and breaking the
glass), a CPAM agent and the technical superuser. A's pharmacist (care team on A) walks the document
routes against a hospital report, which the matrix keeps from pharmacists.
Ids of A and B mixed in one URL are a 404 that shows neither.

The world is built once per test and each role signs in once per test: the walk
costs one request per route and method, not one set-up.
"""

import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from acces import services
from acces.models import AuditEvent, CareRelation, EmergencyAccess
from acces.policy import Action
from agenda.appointments import services as agenda
from agenda.appointments.sealing import Details
from espace_sante import export
from espace_sante.models import ExportJob, User
from espace_sante.tracing import Actor
from messagerie import services as messaging
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

SECRET_NAME = "Zorglubesque"
SECRET_FIRST = "Hyacinthe-Ondine"
# Patient B's identity, which must not show where B's ids are mixed into A's URLs.
B_NAME = "Quetzalcoatlique"
B_FIRST = "Philomène-Aurore"
# The title of A's hospital report, which A's pharmacist must never read.
HOSPITAL_TITLE = "Hospitalisation Xylophonique"
HOSPITAL_REPORT = "34112-3"
B_DOCUMENT_TITLE = "Bilan Brontosaurien"
# A's conversation with A's professional: its subject and body never show to anyone else.
MESSAGE_SUBJECT = "Objet Ptérodactylique"
MESSAGE_BODY = "Corps Ichtyosaurien"
B_MESSAGE_SUBJECT = "Objet Diplodocéen"
# A's appointment: its reason never shows to anyone else, nor in A's content-free feed.
APPOINTMENT_REASON = "Motif Mégalosaurien"
B_APPOINTMENT_REASON = "Motif Tricératopsien"


@dataclass(frozen=True)
class Route:
    name: str
    template: str  # path with <param> placeholders
    params: tuple[str, ...]

    def url(self, samples: dict) -> str:
        url = self.template
        for param in self.params:
            url = url.replace(f"<{param}>", str(samples[param]))
        return "/" + url


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + _route(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            template = prefix + _route(entry.pattern)
            params = tuple(re.findall(r"<([^>]+)>", template))
            yield Route(f"{namespace}{entry.name or entry.lookup_str}", template, params)


def _route(pattern) -> str:
    raw = str(pattern)
    if hasattr(pattern, "regex") and raw.startswith("^"):
        # Regex routes (allauth, admin): turn named groups into <name> placeholders.
        raw = re.sub(r"\(\?P<([^>]+)>[^)]*\)", r"<\1>", raw).lstrip("^").rstrip("$").rstrip("\\Z")
        raw = raw.replace("\\", "")
    return re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", raw)


# The pro portal's namespaces: their owner is A's professional, not A.
PRO_PREFIXES = ("pro:", "pro_documents:", "pro_profil:", "messagerie_pro:", "agenda_pro:")
ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: r.template)
SPACE_ROUTES = [r for r in ROUTES if "space_id" in r.params]
DOCUMENT_ROUTES = [r for r in ROUTES if "document_id" in r.params]
# Routes naming an object of a space besides the space itself.
OBJECT_ROUTES = [
    r
    for r in SPACE_ROUTES
    if {
        "document_id",
        "job_id",
        "relation_id",
        "conversation_id",
        "attachment_id",
        "appointment_id",
        "mark_id",
        "connection_id",
        "grant_id",
    }
    & set(r.params)
]
# The patient's messaging pages (the pro portal's are the pro side's).
PATIENT_MESSAGING_ROUTES = [r for r in SPACE_ROUTES if r.name.startswith("messagerie:")]

# Samples point at patient A's objects wherever a route names one.
SAMPLE_BUILDERS = {
    "space_id": lambda w: w.space_a.public_id,
    "document_id": lambda w: w.document_a.public_id,
    "job_id": lambda w: w.export_a.public_id,
    # The patient's control page: A's authorised professional (a relation of A's space, an RPPS).
    "relation_id": lambda w: w.pro_of_a.professional.care_relations.get().pk,
    "rpps": lambda w: w.pro_of_a.professional.rpps,
    # A's conversation with A's professional, and the PDF attached to its first message.
    "conversation_id": lambda w: w.conversation_a.public_id,
    "attachment_id": lambda w: w.attachment_a.public_id,
    # A's appointment, and the secret of A's live iCalendar feed.
    "appointment_id": lambda w: w.appointment_a.public_id,
    "token": lambda w: w.feed_token_a,
    # The prevention pages: a rule, a programme, and A's answer on a reminder.
    "code": lambda w: "depistage-sein",
    "programme": lambda w: "depistage_sein",
    "mark_id": lambda w: _prevention_mark(w.space_a).pk,
    # A's connection to a referenced service, and one purpose granted on it.
    "connection_id": lambda w: _connection(w.space_a).pk,
    "grant_id": lambda w: _connection(w.space_a).grants.get().pk,
    # The public catalogue: the service A is connected to.
    "slug": lambda w: _connection(w.space_a).service.slug,
    # Django admin and allauth parameters: A's identity where the admin would show it.
    "app_label": lambda w: "espace_sante",
    "object_id": lambda w: w.space_a.holder.pk,
    "id": lambda w: w.holder_a.pk,
    "pk": lambda w: w.holder_a.pk,
    "content_type_id": lambda w: 1,
    "url": lambda w: "",
    "uidb36": lambda w: "1",
    "key": lambda w: "set-password",
    "path": lambda w: "",
    # allauth's OpenID Connect routes (Pro Santé Connect, FranceConnect; off in the walk).
    "provider_id": lambda w: "franceconnect",
    # The FHIR API (Bearer tokens only): A's space as the Patient id.
    "resource_id": lambda w: w.space_a.public_id,
    # Anything else under /fhir/: a resource type the API does not serve.
    "rest": lambda w: "Practitioner",
}


def _prevention_mark(space):
    from agenda.models import PreventionMark

    mark, _created = PreventionMark.objects.get_or_create(
        space=space, rule_code="depistage-sein", kind="not_concerned", rule_version="2025"
    )
    return mark


def _connection(space):
    from catalogue.models import Connection, ConnectionPurpose, Purpose, Service

    connection = Connection.objects.live().filter(space=space).first()
    if connection is None:
        service = Service.objects.filter(slug="service-de-la-marche").first()
        if service is None:
            from tests.catalogue.oauth_helpers import make_service

            service = make_service(slug="service-de-la-marche")
        connection = Connection.objects.create(
            space=space, service=service, connected_by=space.holder.user
        )
        ConnectionPurpose.objects.create(
            connection=connection, purpose=Purpose.objects.filter(service=service).first()
        )
    return connection


def test_every_route_parameter_has_a_sample():
    missing = {p for route in ROUTES for p in route.params} - set(SAMPLE_BUILDERS)
    assert not missing, f"add a sample for these route parameters: {sorted(missing)}"


def test_the_walk_sees_the_pro_portal_and_the_documents():
    """A resolver change that hid these routes from the walk would make it prove nothing."""
    names = {route.name for route in ROUTES}
    assert {
        "pro:patient",
        "pro:consent",
        "pro:history",
        "pro_documents:list",
        "pro_documents:detail",
        "pro_documents:download",
        "pro_documents:announce",
        "pro_documents:add",
        "pro_profil:profile",
        "dossier:detail",
        "dossier:download",
        "acces_patient:page",
        "espace_sante:history",
        "messagerie:inbox",
        "messagerie:conversation",
        "messagerie:download",
        "messagerie:add_to_documents",
        "messagerie:delete",
        "agenda:home",
        "agenda:detail",
        "agenda:cancel",
        "agenda:download",
        "agenda:feed_revoke",
        "agenda_pro:add_appointment",
        "agenda_feed:feed",
        "agenda:history",
        "agenda_pro:history",
        "catalogue:list",
        "catalogue:detail",
        "catalogue:report",
        "connections:list",
        "connections:disconnect",
        "connections:reapprove",
        "connections:withdraw",
        "oauth2_provider:authorize",
        "agenda:prevention",
        "agenda:prevention_remove",
    } <= names
    assert len(DOCUMENT_ROUTES) >= 8


@dataclass
class World:
    space_a: object
    holder_a: object
    space_b: object
    patient_b: object
    pro_outsider: object
    pro_of_a: object
    pro_of_b: object
    blocked_pro: object
    pharmacist_of_a: object
    agent: object
    superuser: object
    document_a: object
    hospital_report_a: object
    export_a: object
    conversation_a: object
    attachment_a: object
    refused_pro: object
    appointment_a: object = None
    feed_token_a: str = ""

    def samples(self, **overrides) -> dict:
        return {name: build(self) for name, build in SAMPLE_BUILDERS.items()} | overrides


def _tomorrow_at_ten():
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    day = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


def _pro(**kwargs):
    professional = factories.ProfessionalFactory(**kwargs)
    factories.TOTPDeviceFactory(user=professional.user)
    return professional


@pytest.fixture
def world(agent):
    space_a = factories.SpaceFactory(
        holder__last_name=SECRET_NAME, holder__first_names=SECRET_FIRST
    )
    space_b = factories.SpaceFactory(holder__last_name=B_NAME, holder__first_names=B_FIRST)
    pro_of_a = _pro()
    factories.CareRelationFactory(
        space=space_a, professional=pro_of_a, basis=CareRelation.Basis.AUTHORISED
    )
    # A's attending physician, who opened A's record and broke the glass before A blocked
    # them: neither their old basis, nor their history, nor a live emergency access helps.
    blocked_pro = _pro(user__last_name="Bloqué")
    factories.CareRelationFactory(
        space=space_a, professional=blocked_pro, basis=CareRelation.Basis.ATTENDING
    )
    services.check_and_trace(
        actor=Actor(user=blocked_pro.user, role="professional"),
        space=space_a,
        action=Action.VIEW_SPACE,
    )
    services.open_emergency_access(
        space=space_a,
        professional=blocked_pro,
        mode=EmergencyAccess.Mode.BREAK_GLASS,
        reason="Malaise en salle d'attente",
        by=Actor(user=blocked_pro.user, role="professional"),
    )
    services.block(
        space=space_a, professional=blocked_pro, by=Actor(space_a.holder.user, "patient")
    )
    pharmacist = _pro(profession="pharmacien", specialty="")
    factories.CareRelationFactory(
        space=space_a, professional=pharmacist, basis=CareRelation.Basis.CARE_TEAM
    )
    pro_of_b = _pro()
    factories.CareRelationFactory(
        space=space_b, professional=pro_of_b, basis=CareRelation.Basis.CARE_TEAM
    )
    document_a = factories.make_document(
        space_a, professional=pro_of_a, title=f"Compte rendu {SECRET_NAME}"
    )
    hospital_report_a = factories.make_document(
        space_a, professional=pro_of_a, type_code=HOSPITAL_REPORT, title=HOSPITAL_TITLE
    )
    export_a = ExportJob.objects.create(space=space_a, requested_by=space_a.holder.user)
    export.run_job(export_a.pk)
    superuser = factories.UserFactory(kind=User.Kind.ADMIN, is_staff=True, is_superuser=True)
    factories.TOTPDeviceFactory(user=superuser)
    conversation_a = messaging.start_conversation(
        by=Actor(pro_of_a.user, "professional"),
        space=space_a,
        subject=MESSAGE_SUBJECT,
        body=MESSAGE_BODY,
        attachments=[messaging.NewAttachment("resultat.pdf", factories.PDF_BYTES)],
    )
    # A professional of A's care team who wrote to A, and whose messages A then refused.
    refused_pro = _pro(user__last_name="Refusé")
    factories.CareRelationFactory(
        space=space_a, professional=refused_pro, basis=CareRelation.Basis.AUTHORISED
    )
    messaging.start_conversation(
        by=Actor(refused_pro.user, "professional"), space=space_a, subject="Rappel", body="Rdv"
    )
    messaging.refuse_sender(
        by=Actor(space_a.holder.user, "patient"), space=space_a, professional=refused_pro
    )
    appointment_a = agenda.add_appointment(
        space=space_a,
        by=Actor(space_a.holder.user, "patient"),
        data=agenda.AppointmentData(
            starts_at=_tomorrow_at_ten(),
            details=Details(name="Dr Rendez-Vous", reason=APPOINTMENT_REASON),
        ),
    )
    _feed, feed_token_a = agenda.create_feed(
        space=space_a, by=Actor(space_a.holder.user, "patient")
    )
    return World(
        appointment_a=appointment_a,
        feed_token_a=feed_token_a,
        space_a=space_a,
        holder_a=space_a.holder.user,
        space_b=space_b,
        patient_b=space_b.holder.user,
        pro_outsider=_pro().user,
        pro_of_a=pro_of_a.user,
        pro_of_b=pro_of_b.user,
        blocked_pro=blocked_pro.user,
        pharmacist_of_a=pharmacist.user,
        agent=agent,
        superuser=superuser,
        document_a=document_a,
        hospital_report_a=hospital_report_a,
        export_a=export_a,
        conversation_a=conversation_a,
        attachment_a=conversation_a.messages.get().attachments.get(),
        refused_pro=refused_pro.user,
    )


ATTACKERS = [
    "anonymous",
    "patient_b",
    "pro_outsider",
    "pro_of_b",
    "blocked_pro",
    "agent",
    "superuser",
]
# Signed-in attackers: each refusal on A's space is traced in A's trail.
TRACED_ATTACKERS = ["patient_b", "pro_outsider", "pro_of_b", "blocked_pro", "agent", "superuser"]
# Staff see identities in the admin by design; tests/security/test_admin_walk.py walks it.
ADMIN_STAFF = {"agent", "superuser"}


class Visitor:
    """One role's browser for a whole walk: signed in once, signed in again if a route
    (the sign-out, say) ended the session, so every request is made as that role."""

    def __init__(self, user):
        self.user = user
        self.client = self._fresh()

    def _fresh(self):
        return Client() if self.user is None else sign_in(Client(), self.user)

    def request(self, method: str, url: str):
        response = getattr(self.client, method)(url)
        if self.user is not None and "_auth_user_id" not in self.client.session:
            self.client = self._fresh()
        return response


def _visitor(world, role):
    return Visitor(None if role == "anonymous" else getattr(world, role))


def _markers(world):
    holder = world.space_a.holder
    return [
        SECRET_NAME,
        SECRET_FIRST,
        holder.nir,
        HOSPITAL_TITLE,
        MESSAGE_SUBJECT,
        MESSAGE_BODY,
        APPOINTMENT_REASON,
    ]


def _refused_or_blank(response, markers, route, role, method):
    body = response.content.decode(errors="replace")
    leaked = [m for m in markers if m in body]
    assert not leaked, f"{method} {route.name} as {role} shows {leaked}"
    if response.status_code in (302, 303):
        assert SECRET_NAME not in response.get("Location", "")
        return
    # The FHIR API knows no session: without a Bearer token it answers 401.
    allowed = (200, 400, 403, 404, 405, 429) + (
        (401,) if route.name.startswith(("fhir:", "fhir_transaction:")) else ()
    )
    assert response.status_code in allowed, (
        f"{method} {route.name} as {role}: unexpected {response.status_code}"
    )


@pytest.mark.parametrize("role", ATTACKERS)
def test_no_role_reaches_another_patients_data(world, role):
    samples = world.samples()
    markers = _markers(world)
    visitor = _visitor(world, role)
    for route in ROUTES:
        is_admin = route.name.startswith("admin:")
        if is_admin and role in ADMIN_STAFF:
            continue  # staff see identities there by design; the admin has its own tests
        url = route.url(samples)
        for method in ("get", "post"):
            response = visitor.request(method, url)
            _refused_or_blank(response, markers, route, role, method)


def _denied_on(space):
    return AuditEvent.objects.filter(space=space, outcome="denied")


@pytest.mark.parametrize("role", TRACED_ATTACKERS)
def test_each_refusal_on_a_space_is_traced_in_that_space(world, role):
    samples = world.samples()
    visitor = _visitor(world, role)
    assert SPACE_ROUTES
    for route in SPACE_ROUTES:
        # POST reaches views that only accept POST too; the policy answers first.
        for method in ("post", "get"):
            before = _denied_on(world.space_a).count()
            response = visitor.request(method, route.url(samples))
            if method == "get" and response.status_code == 405:
                continue  # an action that only takes POST: refused before reading anything
            assert response.status_code == 403, f"{method} {route.name} as {role}"
            events = list(_denied_on(world.space_a).order_by("-seq")[:2])
            assert _denied_on(world.space_a).count() == before + 1, (
                f"{method} {route.name} as {role} was not traced once"
            )
            assert events[0].actor_id == getattr(world, role).pk
            if role == "blocked_pro":
                assert events[0].detail["reason"] == "blocked", route.name


def test_a_blocked_professional_is_told_nothing_of_the_patient(world):
    """Blocked after a live emergency access: not on the dashboard, not on any page."""
    client = sign_in(Client(), world.blocked_pro)
    dashboard = client.get("/pro/").content.decode()
    assert SECRET_NAME not in dashboard
    assert EmergencyAccess.objects.filter(professional__user=world.blocked_pro).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_pharmacist_of_the_patient_never_reads_a_hospital_report(world, method):
    """A's pharmacist is in A's care team, but the matrix keeps hospital reports from them."""
    samples = world.samples(document_id=world.hospital_report_a.public_id)
    visitor = _visitor(world, "pharmacist_of_a")
    for route in DOCUMENT_ROUTES:
        before = _denied_on(world.space_a).count()
        response = visitor.request(method, route.url(samples))
        if method == "get" and response.status_code == 405:
            continue
        assert response.status_code == 403, f"{method} {route.name}"
        assert HOSPITAL_TITLE not in response.content.decode(), route.name
        assert _denied_on(world.space_a).count() == before + 1, f"{route.name} not traced"
        event = _denied_on(world.space_a).order_by("-seq").first()
        assert event.actor_id == world.pharmacist_of_a.pk
        assert event.detail["reason"] in ("document_type_not_allowed", "action_not_allowed")
    # The lists do not name it either; the biology result beside it is there.
    for url in (
        f"/pro/patients/{world.space_a.public_id}/documents/",
        f"/espace/{world.space_a.public_id}/documents/",
    ):
        page = visitor.request("get", url).content.decode()
        assert HOSPITAL_TITLE not in page
        assert world.document_a.title in page


def test_the_pharmacist_does_read_the_documents_of_their_profession(world):
    """The refusals above come from the document's type, not from a broken sample."""
    client = sign_in(Client(), world.pharmacist_of_a)
    url = f"/pro/patients/{world.space_a.public_id}/documents/{world.document_a.public_id}/"
    response = client.get(url)
    assert response.status_code == 200
    assert world.document_a.title in response.content.decode()


def test_the_samples_reach_real_pages_for_their_owners(world):
    """The walk proves something only if A (or A's doctor) does see those pages."""
    samples = world.samples()
    owners = {
        True: sign_in(Client(), world.pro_of_a),
        False: sign_in(Client(), world.holder_a),
    }
    for route in SPACE_ROUTES:
        client = owners[route.name.startswith(PRO_PREFIXES)]
        response = client.get(route.url(samples))
        if response.status_code == 405:
            continue  # an action that only takes POST: the page itself is checked elsewhere
        assert response.status_code == 200, route.name
        if response.get("Content-Type", "").startswith("text/html"):
            assert SECRET_NAME in response.content.decode(), route.name


# --- Ids of two spaces mixed in one URL ---------------------------------------------------------


@pytest.fixture
def objects_of_b(world):
    """B's own document, archive and care relation, to mix into A's URLs (and A's into B's)."""
    document_b = factories.make_document(
        world.space_b, professional=world.pro_of_b.professional, title=B_DOCUMENT_TITLE
    )
    export_b = ExportJob.objects.create(space=world.space_b, requested_by=world.patient_b)
    export.run_job(export_b.pk)
    conversation_b = messaging.start_conversation(
        by=Actor(world.pro_of_b, "professional"),
        space=world.space_b,
        subject=B_MESSAGE_SUBJECT,
        body="Texte",
        attachments=[messaging.NewAttachment("b.pdf", factories.PDF_BYTES)],
    )
    appointment_b = agenda.add_appointment(
        space=world.space_b,
        by=Actor(world.patient_b, "patient"),
        data=agenda.AppointmentData(
            starts_at=_tomorrow_at_ten(),
            details=Details(name="Dr B", reason=B_APPOINTMENT_REASON),
        ),
    )
    return {
        "appointment_id": appointment_b.public_id,
        "conversation_id": conversation_b.public_id,
        "attachment_id": conversation_b.messages.get().attachments.get().public_id,
        "document_id": document_b.public_id,
        "job_id": export_b.public_id,
        "relation_id": world.pro_of_b.professional.care_relations.get().pk,
        "mark_id": _prevention_mark(world.space_b).pk,
        "connection_id": _connection(world.space_b).pk,
        "grant_id": _connection(world.space_b).grants.get().pk,
    }


def _mixed_case(world, objects_of_b, side):
    """(owner of the space in the URL, pro of that space, samples, markers that must not show)."""
    if side == "a_space_b_ids":
        return (
            world.holder_a,
            world.pro_of_a,
            world.samples(**objects_of_b),
            [
                B_NAME,
                B_FIRST,
                world.space_b.holder.nir,
                B_DOCUMENT_TITLE,
                B_MESSAGE_SUBJECT,
                B_APPOINTMENT_REASON,
            ],
        )
    return (
        world.patient_b,
        world.pro_of_b,
        world.samples(space_id=world.space_b.public_id),
        [*_markers(world), f"Compte rendu {SECRET_NAME}"],
    )


@pytest.mark.parametrize("side", ["a_space_b_ids", "b_space_a_ids"])
def test_one_spaces_id_with_another_spaces_object_is_a_404_that_shows_nothing(
    world, objects_of_b, side
):
    holder, professional, samples, markers = _mixed_case(world, objects_of_b, side)
    assert OBJECT_ROUTES
    visitors = {True: Visitor(professional), False: Visitor(holder)}
    for route in OBJECT_ROUTES:
        user_is_pro = route.name.startswith(PRO_PREFIXES)
        visitor = visitors[user_is_pro]
        for method in ("post", "get"):
            before = AuditEvent.objects.filter(actor=visitor.user, outcome="denied").count()
            response = visitor.request(method, route.url(samples))
            if method == "get" and response.status_code == 405:
                continue
            assert response.status_code == 404, f"{method} {route.name} ({side})"
            body = response.content.decode()
            leaked = [m for m in markers if m in body]
            assert not leaked, f"{method} {route.name} ({side}) shows {leaked}"
            after = AuditEvent.objects.filter(actor=visitor.user, outcome="denied").count()
            assert after == before + 1, f"{method} {route.name} ({side}) was not traced"


# --- The pro portal's messaging, role by role ---------------------------------------------------

MESSAGING_PRO_ROUTES = [r for r in ROUTES if r.name.startswith("messagerie_pro:") and r.params]


def _messaging_role(world, role):
    """The roles the walk above lacks: a professional of A whom A refused as a sender (a
    basis on A's record, refused messages), and a legal representative of A."""
    if role == "refused_pro":
        professional = _pro(user__last_name="Refusé")
        factories.CareRelationFactory(
            space=world.space_a, professional=professional, basis=CareRelation.Basis.AUTHORISED
        )
        messaging.refuse_sender(
            by=Actor(world.holder_a, "patient"), space=world.space_a, professional=professional
        )
        return professional.user
    if role == "representative":
        return factories.LegalRepresentativeFactory(space=world.space_a).user
    return None if role == "anonymous" else getattr(world, role)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", {302}),
        ("patient_b", {403}),
        ("representative", {403}),  # the patient's side has its own pages
        ("pro_outsider", {403}),
        ("pro_of_b", {403}),
        ("blocked_pro", {403}),
        ("refused_pro", {403}),
        ("agent", {403}),
        ("superuser", {403}),
    ],
)
def test_each_pro_messaging_route_refuses_each_other_role_and_shows_nothing(world, role, expected):
    assert {r.name for r in MESSAGING_PRO_ROUTES} >= {
        "messagerie_pro:compose",
        "messagerie_pro:conversation",
        "messagerie_pro:reply",
        "messagerie_pro:end",
        "messagerie_pro:download",
        "messagerie_pro:file",
    }
    samples = world.samples()
    markers = _markers(world)
    visitor = Visitor(_messaging_role(world, role))
    for route in MESSAGING_PRO_ROUTES:
        for method in ("get", "post"):
            response = visitor.request(method, route.url(samples))
            if method == "get" and response.status_code == 405:
                continue
            assert response.status_code in expected, f"{method} {route.name} as {role}"
            body = response.content.decode(errors="replace")
            assert not [m for m in markers if m in body], f"{method} {route.name} as {role}"
    world.conversation_a.refresh_from_db()
    assert world.conversation_a.ended_at is None
    assert world.conversation_a.messages.count() == 1


def test_the_pro_messaging_routes_open_for_the_patients_professional(world):
    samples = world.samples()
    client = sign_in(Client(), world.pro_of_a)
    for route in MESSAGING_PRO_ROUTES:
        response = client.get(route.url(samples))
        assert response.status_code in (200, 405), route.name


# --- The patient's messaging pages, role by role ------------------------------------------------


# Who is refused the patient's messaging pages of A, and on which ground: the correspondent
# of A's conversation (pro_of_a) reads it in the pro portal, never through A's pages.
MESSAGING_REFUSALS = [
    ("patient_b", {"no_basis"}),
    ("pro_outsider", {"unknown_target", "no_basis"}),
    ("pro_of_a", {"unknown_target", "action_not_allowed"}),
    ("blocked_pro", {"blocked"}),
    ("refused_pro", {"unknown_target", "action_not_allowed"}),
    ("agent", {"no_basis"}),
]


@pytest.mark.parametrize(("role", "reasons"), MESSAGING_REFUSALS)
def test_the_patients_messaging_pages_refuse_every_other_role(world, role, reasons):
    assert len(PATIENT_MESSAGING_ROUTES) >= 10
    samples = world.samples()
    markers = _markers(world)
    visitor = _visitor(world, role)
    for route in PATIENT_MESSAGING_ROUTES:
        for method in ("post", "get"):
            before = _denied_on(world.space_a).count()
            response = visitor.request(method, route.url(samples))
            if method == "get" and response.status_code == 405:
                continue
            assert response.status_code == 403, f"{method} {route.name} as {role}"
            body = response.content.decode()
            assert not [m for m in markers if m in body], f"{method} {route.name} as {role}"
            assert _denied_on(world.space_a).count() == before + 1
            event = _denied_on(world.space_a).order_by("-seq").first()
            assert event.detail["reason"] in reasons, f"{route.name} as {role}"
    assert not world.conversation_a.members.filter(unread=0, mailbox__space=world.space_a)


def test_a_representative_reaches_the_messaging_pages_of_the_minor(world):
    """The same routes open for a parent on a minor's space, on that space's objects."""
    from tests.messagerie.cast import minor_space_with_representative

    space, parent = minor_space_with_representative()
    gp = _pro()
    factories.CareRelationFactory(space=space, professional=gp, basis=CareRelation.Basis.ATTENDING)
    conversation = messaging.start_conversation(
        by=Actor(gp.user, "professional"),
        space=space,
        subject="Rappel de vaccin",
        body="Texte",
        attachments=[messaging.NewAttachment("r.pdf", factories.PDF_BYTES)],
    )
    samples = world.samples(
        space_id=space.public_id,
        conversation_id=conversation.public_id,
        attachment_id=conversation.messages.get().attachments.get().public_id,
        rpps=gp.rpps,
    )
    visitor = Visitor(parent)
    for route in PATIENT_MESSAGING_ROUTES:
        response = visitor.request("get", route.url(samples))
        assert response.status_code in (200, 405), route.name
        if response.status_code == 200 and route.name == "messagerie:inbox":
            assert "Rappel de vaccin" in response.content.decode()


# --- A conversation taken back from an archive (`import_dmp`) -----------------------------------

IMPORTED_SUBJECT = "Reprise confidentielle Xérophtalmie"


@pytest.mark.parametrize("role", ["pro_of_a", "pro_outsider", "blocked_pro", "agent"])
def test_an_imported_conversation_is_no_professionals_own_and_shows_nothing(world, role, tmp_path):
    """Its correspondents are names: even A's professional, named in it, reads nothing."""
    from tests.messagerie.cast import imported_conversation

    conversation = imported_conversation(
        world.space_a, tmp_path, subject=IMPORTED_SUBJECT, sender=str(world.pro_of_a)
    )
    attachment = conversation.messages.get().attachments.get()
    samples = world.samples(
        conversation_id=conversation.public_id, attachment_id=attachment.public_id
    )
    visitor = Visitor(getattr(world, role))
    for route in MESSAGING_PRO_ROUTES:
        if "conversation_id" not in route.params:
            continue
        for method in ("get", "post"):
            response = visitor.request(method, route.url(samples))
            if method == "get" and response.status_code == 405:
                continue
            assert response.status_code == 403, f"{method} {route.name} as {role}"
            assert IMPORTED_SUBJECT not in response.content.decode(errors="replace")
    assert conversation.messages.count() == 1


# --- The agenda's iCalendar feed ----------------------------------------------------------------


def test_the_feed_of_a_shows_nothing_of_b_and_a_revoked_or_unknown_token_is_a_404(
    world, objects_of_b
):
    """The feed's token is the whole of its access: A's shows A's agenda (content-free by
    default) and nothing of B's; revoked, it is a 404 for everyone, traced in A's trail."""
    url = f"/agenda/{world.feed_token_a}.ics"
    body = Client().get(url).content.decode().replace("\r\n ", "")
    assert str(world.appointment_a.public_id) in body
    assert str(objects_of_b["appointment_id"]) not in body
    for marker in [*_markers(world), B_APPOINTMENT_REASON, B_NAME]:
        assert marker not in body
    _feed_b, token_b = agenda.create_feed(space=world.space_b, by=Actor(world.patient_b, "patient"))
    body_b = Client().get(f"/agenda/{token_b}.ics").content.decode()
    assert str(world.appointment_a.public_id) not in body_b
    agenda.revoke_feed(space=world.space_a, by=Actor(world.holder_a, "patient"))
    for role in ATTACKERS:
        response = _visitor(world, role).request("get", url)
        assert response.status_code == 404, role
        assert str(world.appointment_a.public_id) not in response.content.decode()
    assert Client().get(f"/agenda/{world.feed_token_a[:-1]}x.ics").status_code == 404
    refused = _denied_on(world.space_a).filter(action="calendar_feed_opened")
    assert refused.count() == len(ATTACKERS)
