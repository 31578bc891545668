"""Walk every URL pattern of the project, for every role, against patient A's objects.

A new route is covered without anyone remembering to add it: a route whose
parameters have no sample here fails `test_every_route_parameter_has_a_sample`.
Each attempt by someone other than A (and A's authorised professional) must be
refused (redirect to sign-in, 403, 404 or 405) or show nothing of A.
"""

import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from acces.models import AuditEvent, CareRelation
from espace_sante import export
from espace_sante.models import ExportJob
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

SECRET_NAME = "Zorglubesque"
SECRET_FIRST = "Hyacinthe-Ondine"


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


ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: r.template)

# Samples point at patient A's objects wherever a route names one.
SAMPLE_BUILDERS = {
    "space_id": lambda w: w.space_a.public_id,
    "document_id": lambda w: w.document_a.public_id,
    "job_id": lambda w: w.export_a.public_id,
    # The patient's control page: A's attending physician (a relation of A's space, an RPPS).
    "relation_id": lambda w: w.pro_of_a.professional.care_relations.get().pk,
    "rpps": lambda w: w.pro_of_a.professional.rpps,
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
}


def test_every_route_parameter_has_a_sample():
    missing = {p for route in ROUTES for p in route.params} - set(SAMPLE_BUILDERS)
    assert not missing, f"add a sample for these route parameters: {sorted(missing)}"


@dataclass
class World:
    space_a: object
    holder_a: object
    patient_b: object
    pro_outsider: object
    pro_of_a: object
    agent: object
    document_a: object
    export_a: object


@pytest.fixture
def world(agent):
    space_a = factories.SpaceFactory(
        holder__last_name=SECRET_NAME, holder__first_names=SECRET_FIRST
    )
    pro_of_a = factories.ProfessionalFactory()
    factories.TOTPDeviceFactory(user=pro_of_a.user)
    factories.CareRelationFactory(
        space=space_a, professional=pro_of_a, basis=CareRelation.Basis.ATTENDING
    )
    outsider = factories.ProfessionalFactory()
    factories.TOTPDeviceFactory(user=outsider.user)
    document_a = factories.make_document(
        space_a, professional=pro_of_a, title=f"Compte rendu {SECRET_NAME}"
    )
    export_a = ExportJob.objects.create(space=space_a, requested_by=space_a.holder.user)
    export.run_job(export_a.pk)
    return World(
        export_a=export_a,
        document_a=document_a,
        space_a=space_a,
        holder_a=space_a.holder.user,
        patient_b=factories.SpaceFactory().holder.user,
        pro_outsider=outsider.user,
        pro_of_a=pro_of_a.user,
        agent=agent,
    )


ATTACKERS = ["anonymous", "patient_b", "pro_outsider", "agent"]


def _client(world, role):
    client = Client()
    if role == "anonymous":
        return client
    return sign_in(client, getattr(world, role))


def _markers(world):
    holder = world.space_a.holder
    return [SECRET_NAME, SECRET_FIRST, holder.nir]


def _refused_or_blank(response, markers, route, role, method):
    body = response.content.decode(errors="replace")
    leaked = [m for m in markers if m in body]
    assert not leaked, f"{method} {route.name} as {role} shows {leaked}"
    if response.status_code in (302, 303):
        assert SECRET_NAME not in response.get("Location", "")
        return
    assert response.status_code in (200, 400, 403, 404, 405, 429), (
        f"{method} {route.name} as {role}: unexpected {response.status_code}"
    )


@pytest.mark.parametrize("role", ATTACKERS)
def test_no_role_reaches_another_patients_data(world, role):
    samples = {name: build(world) for name, build in SAMPLE_BUILDERS.items()}
    markers = _markers(world)
    for route in ROUTES:
        is_admin = route.name.startswith("admin:")
        if is_admin and role == "agent":
            continue  # agents see identities there by design; the admin has its own test
        url = route.url(samples)
        for method in ("get", "post"):
            response = getattr(_client(world, role), method)(url)
            _refused_or_blank(response, markers, route, role, method)


@pytest.mark.parametrize("role", ["patient_b", "pro_outsider", "agent"])
def test_each_refusal_on_a_space_is_traced_in_that_space(world, role):
    samples = {name: build(world) for name, build in SAMPLE_BUILDERS.items()}
    space_routes = [r for r in ROUTES if "space_id" in r.params]
    assert space_routes
    for route in space_routes:
        before = AuditEvent.objects.filter(space=world.space_a, outcome="denied").count()
        # POST: it reaches views that only accept POST too; the policy answers first.
        response = _client(world, role).post(route.url(samples))
        assert response.status_code == 403, f"{route.name} as {role}"
        after = AuditEvent.objects.filter(space=world.space_a, outcome="denied").count()
        assert after == before + 1, f"{route.name} as {role} was not traced"


def test_the_samples_reach_real_pages_for_their_owners(world):
    """The walk proves something only if A (or A's doctor) does see those pages."""
    samples = {name: build(world) for name, build in SAMPLE_BUILDERS.items()}
    for route in ROUTES:
        if "space_id" not in route.params:
            continue
        owner = (
            world.pro_of_a if route.name.startswith(("pro:", "pro_documents:")) else world.holder_a
        )
        response = sign_in(Client(), owner).get(route.url(samples))
        if response.status_code == 405:
            continue  # an action that only takes POST: the page itself is checked elsewhere
        assert response.status_code == 200, route.name
        if response.get("Content-Type", "").startswith("text/html"):
            assert SECRET_NAME in response.content.decode(), route.name
