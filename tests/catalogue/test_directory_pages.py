"""The public catalogue pages: what anyone sees, search, filters, pagination, queries."""

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalogue.models import Service, Theme
from tests import factories
from tests.catalogue.directory_helpers import make_service
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def _names(response):
    return [service.name for service in response.context["services"]]


def test_anonymous_visitor_sees_only_online_services(client):
    make_service(name="GlucoSuivi")
    make_service(name="Hors ligne", status=Service.Status.OFFLINE)
    make_service(name="Suspendu", status=Service.Status.SUSPENDED)
    make_service(name="Retiré", status=Service.Status.DEREFERENCED)

    response = client.get(reverse("catalogue:list"))

    assert response.status_code == 200
    assert _names(response) == ["GlucoSuivi"]
    body = response.content.decode()
    assert "GlucoSuivi" in body
    assert "Hors ligne" not in body and "Suspendu" not in body and "Retiré" not in body
    assert "1 service" in body


def test_search_by_name_editor_and_description(client):
    make_service(name="GlucoSuivi", editor="Diabéto SAS")
    make_service(name="RDV Santé", description="Prenez rendez-vous chez votre dentiste.")
    make_service(name="Autre")

    assert _names(client.get("/catalogue/", {"q": "gluco"})) == ["GlucoSuivi"]
    assert _names(client.get("/catalogue/", {"q": "diabéto"})) == ["GlucoSuivi"]
    assert _names(client.get("/catalogue/", {"q": "dentiste"})) == ["RDV Santé"]
    response = client.get("/catalogue/", {"q": "introuvable"})
    assert _names(response) == []
    assert "Aucun service ne correspond à votre recherche" in response.content.decode()


def test_filter_by_theme_and_by_data(client):
    make_service(
        name="Gluco", themes=[Theme.DEVICES, Theme.CHRONIC], scopes=[("Observation", "write")]
    )
    make_service(name="Vaccins", themes=[Theme.CHILDREN], scopes=[("Immunization", "read")])
    make_service(name="Sans données", themes=[Theme.CHILDREN])

    assert _names(client.get("/catalogue/", {"theme": "children"})) == ["Sans données", "Vaccins"]
    assert _names(client.get("/catalogue/", {"donnees": "Observation"})) == ["Gluco"]
    assert _names(client.get("/catalogue/", {"theme": "children", "donnees": "Immunization"})) == [
        "Vaccins"
    ]
    # An unknown filter value is ignored, not an error.
    assert len(_names(client.get("/catalogue/", {"theme": "nope", "donnees": "x"}))) == 3


def test_a_service_with_two_matching_scopes_is_listed_once(client):
    make_service(name="Gluco", scopes=[("Observation", "read"), ("Observation", "write")])

    assert _names(client.get("/catalogue/", {"donnees": "Observation"})) == ["Gluco"]


def test_pagination_twelve_per_page_keeps_filters(client):
    for _ in range(14):
        make_service(themes=[Theme.PREVENTION])

    first = client.get("/catalogue/", {"theme": "prevention"})
    second = client.get("/catalogue/", {"theme": "prevention", "page": 2})

    assert len(_names(first)) == 12
    assert len(_names(second)) == 2
    assert not set(_names(first)) & set(_names(second))
    body = html.unescape(first.content.decode())
    assert "fr-pagination" in body
    assert "theme=prevention&page=2" in body or "page=2&theme=prevention" in body


def _list_queries(client, number):
    for _index in range(number):
        make_service(themes=[Theme.PREVENTION, Theme.DEVICES], scopes=[("Patient", "read")])
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/catalogue/").status_code == 200
    Service.objects.all().delete()
    return len(queries)


def test_list_queries_do_not_grow_with_services(client):
    assert _list_queries(client, 1) == _list_queries(client, 30)


def test_service_page_shows_everything_a_patient_needs(client):
    service = make_service(
        name="GlucoSuivi",
        editor="Diabéto SAS",
        themes=[Theme.DEVICES],
        scopes=[("Observation", "read"), ("Observation", "write")],
        regions="Bretagne, Normandie",
        website_url="https://gluco.exemple.fr/",
        ios_url="https://apps.apple.com/gluco",
        android_url="https://play.google.com/gluco",
        device_kind=Service.DeviceKind.MEDICAL_DEVICE,
        economic_model=Service.EconomicModel.REIMBURSED,
        meets_security=True,
    )

    response = client.get(reverse("catalogue:detail", args=[service.slug]))

    body = html.unescape(response.content.decode())
    assert response.status_code == 200
    for text in (
        "GlucoSuivi",
        "Diabéto SAS",
        "Objets connectés",
        "Bretagne, Normandie",
        "https://gluco.exemple.fr/",
        "https://apps.apple.com/gluco",
        "https://play.google.com/gluco",
        "https://exemple.fr/cgu",
        "https://exemple.fr/confidentialite",
        "Dispositif médical",
        "Pris en charge par l'Assurance Maladie",
        "15 janvier 2025",
        "Échanger vos données",
        "Lire vos mesures (poids, taille, tension, glycémie)",
        "Ajouter des mesures (poids, taille, tension, glycémie)",
        "Connectez-vous pour le signaler",
    ):
        assert text in body, text
    assert "respectés" in body and "non évalués" in body
    assert "indisponible" not in body


def test_suspended_service_page_says_it_is_unavailable(client):
    service = make_service(name="Suspendu", status=Service.Status.SUSPENDED)

    body = client.get(reverse("catalogue:detail", args=[service.slug])).content.decode()

    assert "Ce service est actuellement indisponible" in body


@pytest.mark.parametrize("slug", ["retire", "inconnu"])
def test_dereferenced_or_unknown_service_is_not_found(client, slug):
    make_service(slug="retire", status=Service.Status.DEREFERENCED)

    assert client.get(reverse("catalogue:detail", args=[slug])).status_code == 404


def test_detail_queries_do_not_grow_with_purposes(client):
    small = make_service(scopes=[("Patient", "read")])
    big = make_service(
        themes=list(Theme.values),
        scopes=[("Patient", "read"), ("Observation", "read"), ("Observation", "write")],
    )
    counts = []
    for service in (small, big):
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("catalogue:detail", args=[service.slug]))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_signed_in_patient_has_a_catalogue_entry_and_a_report_button(client):
    space = factories.SpaceFactory()
    service = make_service()
    sign_in(client, space.holder.user)

    home = client.get(reverse("espace_sante:home"), follow=True).content.decode()
    page = client.get(reverse("catalogue:detail", args=[service.slug])).content.decode()

    assert 'href="/catalogue/"' in home and "Catalogue" in home
    assert reverse("catalogue:report", args=[service.slug]) in page
    assert "Signaler ce service" in page
