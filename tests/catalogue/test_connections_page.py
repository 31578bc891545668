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
