"""The pages every public service has: accessibility statement, legal notices, personal data.

The footer links to them from every page; they open without signing in and say what the
settings say about the publisher and the host.
"""

import html
import re

import pytest
from django.urls import reverse

from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

PAGES = {
    "espace_sante:accessibility": "Déclaration d'accessibilité",
    "espace_sante:legal_notices": "Mentions légales",
    "espace_sante:personal_data": "Données personnelles",
}


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _footer_links(body: str) -> dict[str, str]:
    footer = body.split('class="fr-footer__bottom-list"')[1].split("</ul>")[0]
    return {
        text.strip(): href
        for href, text in re.findall(
            r'class="fr-footer__bottom-link" href="([^"]+)">([^<]+)<', footer
        )
    }


@pytest.mark.parametrize("signed_in", [False, True])
def test_footer_links_reach_the_three_pages_signed_in_or_not(client, patient_space, signed_in):
    if signed_in:
        sign_in(client, patient_space.holder.user)
    links = _footer_links(_text(client.get("/")))
    assert links == {
        "Accessibilité : non conforme": reverse("espace_sante:accessibility"),
        "Mentions légales": reverse("espace_sante:legal_notices"),
        "Données personnelles": reverse("espace_sante:personal_data"),
    }
    for name, heading in PAGES.items():
        page = _text(client.get(reverse(name)))
        assert f"<h1>{heading}</h1>" in page
        assert 'href="#"' not in page.split("fr-footer__bottom-list")[1]


def test_accessibility_statement_gives_status_tests_gaps_contact_and_recourse(client, settings):
    settings.SITE_CONTACT_EMAIL = "accessibilite@cpam.example.fr"
    page = _text(client.get(reverse("espace_sante:accessibility")))
    assert "est <strong>non conforme</strong> avec le référentiel général" in page
    assert "RGAA" in page and "4.1" in page
    assert "axe-core" in page and "aucun défaut sérieux ou critique" in page
    assert "Non-conformités connues" in page and "PDF" in page
    assert 'href="mailto:accessibilite@cpam.example.fr"' in page
    assert "Défenseur des droits" in page and "Libre réponse 71120" in page


def test_legal_notices_name_the_publisher_and_the_host_from_the_settings(client, settings):
    settings.SITE_PUBLISHER = "CPAM de Loire-Atlantique, 9 rue Gaëtan Rondeau, 44958 Nantes"
    settings.SITE_PUBLICATION_DIRECTOR = "Jeanne Directrice, directrice générale"
    settings.SITE_HOST = "Hébergeur Santé SAS, certifié HDS, 1 rue des Serveurs, 59000 Lille"
    page = _text(client.get(reverse("espace_sante:legal_notices")))
    assert "CPAM de Loire-Atlantique, 9 rue Gaëtan Rondeau" in page
    assert "Jeanne Directrice, directrice générale" in page
    assert "Hébergeur Santé SAS, certifié HDS" in page
    assert "licence etalab-2.0" in page


def test_personal_data_page_says_what_why_how_long_and_how_to_exercise_rights(client, settings):
    settings.SITE_DPO_EMAIL = "dpo@cpam.example.fr"
    page = _text(client.get(reverse("espace_sante:personal_data")))
    for words in (
        "NIR",
        "Traçabilité",
        "dix ans",
        "quarante ans",
        "trente jours",
        "Droit d'accès",
        "Droit de rectification",
        "Droit d'opposition",
        "« Historique des accès »",
        "« Télécharger mes données »",
        "CNIL",
    ):
        assert words in page, words
    assert 'href="mailto:dpo@cpam.example.fr"' in page
    assert f'href="{reverse("espace_sante:oppose")}"' in page
