"""« Mes services connectés » as the patient finds it: in the navigation, and a page whose
queries do not grow with the number of services connected."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def _main_menu(html: str) -> str:
    start = html.index('id="navigation"')
    return html[start : html.index("</nav>", start)]


def test_the_signed_in_patients_menu_links_the_catalogue_and_the_connected_services():
    space = factories.SpaceFactory()
    client = sign_in(Client(), space.holder.user)
    menu = _main_menu(client.get(reverse("espace_sante:space", args=[space.public_id])).text)
    assert f'href="{reverse("catalogue:list")}"' in menu and ">Catalogue</a>" in menu
    services = reverse("connections:list", args=[space.public_id])
    assert f'href="{services}"' in menu and ">Mes services connectés</a>" in menu


def test_a_representative_menu_points_at_the_space_of_the_page():
    representative = factories.LegalRepresentativeFactory()
    client = sign_in(Client(), representative.user)
    space = representative.space
    menu = _main_menu(client.get(reverse("connections:list", args=[space.public_id])).text)
    services = reverse("connections:list", args=[space.public_id])
    assert f'href="{services}" aria-current="page"' in menu


def test_no_connected_services_entry_for_a_visitor():
    html = Client().get(reverse("catalogue:list")).text
    assert "Mes services connectés" not in html


# --- No N+1 ----------------------------------------------------------------------------------


def _connect_services(space, count: int) -> None:
    """`count` services connected to `space`, each with its purposes granted, a new version
    asking one more purpose, and more activity in the trail than the page shows."""
    from acces.policy import Action
    from catalogue.connections.actions import ConnectionAction
    from catalogue.models import Connection, ConnectionPurpose, Purpose, PurposeScope
    from espace_sante.tracing import Actor, trace
    from tests.catalogue.oauth_helpers import make_service

    holder = space.holder.user
    actor = Actor(user=holder, role=holder.kind)
    for n in range(count):
        service = make_service(slug=f"service-{space.pk}-{n}")
        connection = Connection.objects.create(space=space, service=service, connected_by=holder)
        for purpose in service.purposes.all():
            ConnectionPurpose.objects.create(connection=connection, purpose=purpose)
        service.version = 2
        service.save(update_fields=["version"])
        extra = Purpose.objects.create(
            service=service,
            code="agenda",
            label="Vos rendez-vous",
            description="…",
            since_version=2,
        )
        PurposeScope.objects.create(purpose=extra, resource="Observation", access="read")
        for _ in range(7):
            trace(
                actor=actor,
                action=ConnectionAction.SERVICE_REAPPROVED,
                space=space,
                target=connection,
                detail={"service": service.slug, "connection": connection.pk},
            )
    trace(actor=actor, action=Action.VIEW_SPACE, space=space, target=space)


def _queries_of_the_page(count: int) -> tuple[int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    space = factories.SpaceFactory()
    _connect_services(space, count)
    client = sign_in(Client(), space.holder.user)
    url = reverse("connections:list", args=[space.public_id])
    client.get(url)  # the first page view of a session may set things up
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    assert page.status_code == 200
    return len(queries), page.text


def test_the_page_reads_in_the_same_queries_for_one_or_ten_services():
    one, _html = _queries_of_the_page(1)
    ten, html = _queries_of_the_page(10)
    assert html.count("Vos rendez-vous") == 10  # each card, its new purpose to approve
    assert html.count("Approbation de la nouvelle version d&#x27;un service") == 10 * 5
    assert html.count("Suivre vos mesures") == 10 * 2  # the grant, its « Retirer » link
    assert ten == one, f"{one} requêtes pour 1 service, {ten} pour 10"
