"""PDF summary of the medical profile and emergency card: what they show, who may take them."""

import io
import subprocess
import zipfile
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from acces.models import AuditEvent, CareRelation
from dossier.models import (
    Allergy,
    EmergencyContact,
    HistoryEntry,
    Measurement,
    MedicalProfile,
    Treatment,
    Vaccination,
)
from dossier.profile import ADVANCE_DIRECTIVES_TYPE
from dossier.summary import render_emergency_card_pdf, render_summary_pdf
from espace_sante.export import build_archive
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 14, 5, tzinfo=ZoneInfo("Europe/Paris"))
SECRET = "Zéphyrine"


def pdf_text(pdf: bytes) -> str:
    """The PDF's text in drawing order (which follows the HTML), whitespace collapsed."""
    out = subprocess.run(
        ["/usr/bin/pdftotext", "-raw", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout.decode()
    return " ".join(out.split())


def _url(space, name):
    return reverse(f"profil:{name}", kwargs={"space_id": space.public_id})


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def filled(frozen):
    """A space whose profile holds something in every part, and an attending physician."""
    space = factories.SpaceFactory(
        holder__last_name="Martinot",
        holder__first_names=f"Camille {SECRET}",
        holder__birth_date=date(1980, 5, 17),
    )
    doctor = factories.ProfessionalFactory(user__first_name="Sophie", user__last_name="Laurent")
    factories.CareRelationFactory(
        space=space, professional=doctor, basis=CareRelation.Basis.ATTENDING
    )
    MedicalProfile.objects.create(
        space=space,
        blood_group="AB+",
        disabilities="Malentendant, appareillé des deux oreilles",
        trusted_person_name="Jeanne Martinot",
        trusted_person_phone="06 11 22 33 44",
        trusted_person_relation="sœur",
        advance_directives="Pas d'acharnement thérapeutique.",
        donation_choice="accepte",
        donation_date=date(2024, 9, 1),
    )
    # Alphabetical order would put the mild allergy first: the card must not.
    Allergy.objects.create(space=space, substance="Arachide", severity="mild")
    Allergy.objects.create(space=space, substance="Latex", severity="moderate")
    Allergy.objects.create(
        space=space, substance="Pénicilline", reaction="Œdème de Quincke", severity="severe"
    )
    HistoryEntry.objects.create(
        space=space, kind="personal", condition="Appendicectomie", year=1995
    )
    HistoryEntry.objects.create(space=space, kind="family", condition="Diabète de type 2")
    Treatment.objects.create(space=space, medicine="Levothyrox", dosage="75 µg le matin")
    Vaccination.objects.create(space=space, vaccine="DTP", date=date(2021, 6, 15), lot="AB123")
    Measurement.objects.create(
        space=space, kind="weight", value=Decimal("70"), measured_on=date(2025, 1, 10)
    )
    Measurement.objects.create(
        space=space, kind="height", value=Decimal("175"), measured_on=date(2025, 1, 10)
    )
    EmergencyContact.objects.create(
        space=space, name="Paul Durand", phone="06 12 34 56 78", relation="Frère"
    )
    return space


# --- What the PDFs show ----------------------------------------------------------------------


def test_summary_shows_everything_the_profile_holds_in_french(filled):
    pdf = render_summary_pdf(filled)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in [
        "Synthèse de mon profil médical",
        "Édité le 4 mars 2026 à 14 h 05",
        "MARTINOT",
        f"Camille {SECRET}",
        "17 mai 1980",
        filled.holder.nir[:1],
        "GROUPE SANGUIN AB+",
        "Pénicilline Œdème de Quincke Sévère",
        "Arachide",
        "Appendicectomie (1995)",
        "Diabète de type 2",
        "Levothyrox 75 µg le matin — —",
        "DTP 15 juin 2021 AB123",
        "Poids (kg) 70",
        "Taille (cm) 175",
        "22,9",  # BMI: 70 / 1.75²
        "Malentendant, appareillé des deux oreilles",
        "Jeanne Martinot (sœur) — 06 11 22 33 44",
        "Paul Durand (Frère) — 06 12 34 56 78",
        "Pas d'acharnement thérapeutique.",
        "J'accepte le don d'organes et de tissus — choix exprimé le 1 septembre 2024",
        "MÉDECIN TRAITANT Dr Sophie Laurent — Médecin, médecine générale",
        "Document personnel contenant des données de santé",
        "Page 1 / 2",
    ]:
        assert expected in text, expected


def test_summary_shows_the_nir_grouped_as_on_the_carte_vitale(filled):
    nir = filled.holder.nir
    grouped = f"{nir[:1]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    assert grouped in pdf_text(render_summary_pdf(filled))


def test_summary_mentions_an_advance_directives_document(filled):
    factories.make_document(
        filled, type_code=ADVANCE_DIRECTIVES_TYPE, title="Mes directives signées"
    )
    text = pdf_text(render_summary_pdf(filled))
    assert "Un document de directives anticipées est enregistré dans Mon espace santé" in text
    assert "Mes directives signées (15 janvier 2026)" in text


def test_emergency_card_lists_severe_allergies_first(filled):
    text = pdf_text(render_emergency_card_pdf(filled))
    severe, moderate, mild = (text.index(s) for s in ("Pénicilline", "Latex", "Arachide"))
    assert severe < moderate < mild
    assert "SÉVÈRE Pénicilline" in text


@pytest.mark.parametrize("render", [render_summary_pdf, render_emergency_card_pdf])
def test_an_emoji_in_an_allergy_is_drawn_with_an_emoji_font_not_a_box(filled, render):
    Allergy.objects.create(space=filled, substance="Cacahuète 🥜", severity="severe")
    pdf = render(filled)
    assert "Cacahuète 🥜" in pdf_text(pdf)
    fonts = subprocess.run(
        ["/usr/bin/pdffonts", "-"], input=pdf, capture_output=True, check=True, timeout=30
    ).stdout.decode()
    assert "Emoji" in fonts  # the glyph comes from a font that has it, not .notdef


def test_rendering_a_pdf_prints_no_weasyprint_or_fonttools_lines(filled, caplog):
    render_summary_pdf(filled)
    noisy = [r for r in caplog.records if r.name.split(".")[0] in ("weasyprint", "fontTools")]
    assert noisy == []


def test_emergency_card_shows_what_helps_in_an_emergency(filled):
    pdf = render_emergency_card_pdf(filled)
    text = pdf_text(pdf)
    for expected in [
        "Carte d'urgence",
        f"Camille {SECRET} MARTINOT",
        "ALLERGIES SÉVÈRE Pénicilline — Œdème de Quincke Latex (modérée) Arachide (légère)",
        "Né(e) le 17 mai 1980",
        "Groupe sanguin AB+",
        "Levothyrox — 75 µg le matin",
        "Paul Durand (Frère) — 06 12 34 56 78",
        "Jeanne Martinot (sœur) — 06 11 22 33 44",
        "MÉDECIN TRAITANT Dr Sophie Laurent",
        "Don d'organes et de tissus : accepte le don",
        "Directives anticipées : oui",
        "Urgences : 15 (SAMU) ou 112",
        "Carte éditée le 4 mars 2026",
        "Édité le 4 mars 2026 à 14 h 05",
    ]:
        assert expected in text, expected
    # The card carries no social security number, grouped or not.
    nir = filled.holder.nir
    assert nir not in text
    assert f"{nir[:1]} {nir[1:3]} {nir[3:5]}" not in text
    assert "Page 1 / 1" in text


def test_emergency_card_stays_one_page_and_counts_what_it_leaves_out(filled):
    for i in range(12):
        Allergy.objects.create(
            space=filled, substance=f"Substance {i:02d} " + "x" * 150, severity="severe"
        )
        Treatment.objects.create(space=filled, medicine=f"Médicament {i:02d} " + "y" * 150)
    text = pdf_text(render_emergency_card_pdf(filled))
    assert "Page 1 / 1" in text
    # 15 allergies and 13 treatments: the card shows 10 and 8, and says what it left out.
    assert "… et 5 autres allergies : voir la synthèse." in text
    assert "… et 5 autres traitements : voir la synthèse." in text
    assert "Carte éditée le 4 mars 2026" in text


def test_empty_profile_says_so_in_each_section(frozen):
    space = factories.SpaceFactory()
    summary = pdf_text(render_summary_pdf(space))
    for expected in [
        "Aucune allergie renseignée.",
        "Aucun antécédent personnel renseigné.",
        "Aucun antécédent familial renseigné.",
        "Aucun traitement en cours renseigné.",
        "Aucune vaccination renseignée.",
        "Aucune mesure renseignée.",
        "Aucun handicap renseigné.",
        "Aucune personne de confiance renseignée.",
        "Aucune personne à prévenir renseignée.",
        "Aucune directive anticipée renseignée.",
        "Aucun choix renseigné.",
        "Aucun médecin traitant déclaré.",
    ]:
        assert expected in summary, expected
    card = pdf_text(render_emergency_card_pdf(space))
    for expected in [
        "Aucune allergie renseignée.",
        "Aucun traitement en cours renseigné.",
        "Aucune personne à prévenir renseignée.",
        "Directives anticipées : non",
        "Aucun médecin traitant déclaré.",
    ]:
        assert expected in card, expected


# --- Downloads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stem", "action", "shows"),
    [
        ("summary_pdf", "synthese-profil-medical", "medical_summary_downloaded", "Levothyrox"),
        ("emergency_card_pdf", "carte-urgence", "emergency_card_downloaded", "Pénicilline"),
    ],
)
def test_holder_downloads_the_pdf_and_the_trail_says_so(filled, name, stem, action, shows):
    response = sign_in(Client(), filled.holder.user).get(_url(filled, name))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{stem}-2026-03-04.pdf"'
    assert response["Cache-Control"] == "no-store"
    assert shows in pdf_text(response.content)
    event = AuditEvent.objects.get(space=filled, action=action)
    assert (event.outcome, event.basis) == ("allowed", "holder")
    assert event.actor_id == filled.holder.user.pk


def test_legal_representative_downloads_a_minors_summary(frozen):
    link = factories.LegalRepresentativeFactory()
    Allergy.objects.create(space=link.space, substance="Pollen de bouleau", severity="severe")
    response = sign_in(Client(), link.user).get(_url(link.space, "summary_pdf"))
    assert response.status_code == 200
    assert "Pollen de bouleau" in pdf_text(response.content)


def test_profile_page_links_to_both_pdfs_for_the_holder(filled):
    page = sign_in(Client(), filled.holder.user).get(_url(filled, "profile")).content.decode()
    assert _url(filled, "summary_pdf") in page
    assert _url(filled, "emergency_card_pdf") in page


def test_profile_page_offers_no_pdf_to_the_attending_physician(filled):
    relation = CareRelation.objects.get(space=filled)
    factories.TOTPDeviceFactory(user=relation.professional.user)
    client = sign_in(Client(), relation.professional.user)
    page = client.get(_url(filled, "profile"))
    assert page.status_code == 200
    assert _url(filled, "summary_pdf") not in page.content.decode()


def _patient_b(world):
    return factories.SpaceFactory().holder.user


def _pro_without_relation(world):
    pro = factories.ProfessionalFactory()
    factories.TOTPDeviceFactory(user=pro.user)
    return pro.user


def _attending_physician(world):
    relation = CareRelation.objects.get(space=world)
    factories.TOTPDeviceFactory(user=relation.professional.user)
    return relation.professional.user


def _cpam_agent(world):
    from acces.services import agent_group

    user = factories.AgentFactory()
    user.groups.add(agent_group())
    factories.TOTPDeviceFactory(user=user)
    return user


# The PDFs are taken away: only the holder and the legal representatives may (EXPORT_SPACE).
OUTSIDERS = [_patient_b, _pro_without_relation, _attending_physician, _cpam_agent]


@pytest.mark.parametrize("name", ["summary_pdf", "emergency_card_pdf"])
@pytest.mark.parametrize("who", OUTSIDERS, ids=lambda f: f.__name__.strip("_"))
def test_others_are_refused_and_see_nothing_of_the_patient(filled, name, who):
    user = who(filled)
    response = sign_in(Client(), user).get(_url(filled, name))
    assert response.status_code in (403, 404)
    body = response.content.decode(errors="replace")
    for secret in (SECRET, "Martinot", "Pénicilline", "Levothyrox", filled.holder.nir):
        assert secret not in body
    assert not body.startswith("%PDF")
    assert AuditEvent.objects.filter(space=filled, actor=user, outcome="denied").exists()
    assert not AuditEvent.objects.filter(
        space=filled, action__in=["medical_summary_downloaded", "emergency_card_downloaded"]
    ).exists()


def test_signed_out_visitor_is_sent_to_sign_in(filled):
    response = Client().get(_url(filled, "summary_pdf"))
    assert response.status_code == 302
    assert SECRET not in response.content.decode()


# --- Full download ---------------------------------------------------------------------------


def test_full_download_holds_the_summary_pdf(filled):
    archive = zipfile.ZipFile(io.BytesIO(build_archive(filled)))
    pdf = archive.read("synthese-profil-medical.pdf")
    assert pdf.startswith(b"%PDF")
    assert "Levothyrox" in pdf_text(pdf)
    assert "synthese-profil-medical.pdf" in archive.read("LISEZMOI.txt").decode()


@pytest.mark.parametrize("render", [render_summary_pdf, render_emergency_card_pdf])
def test_digits_are_drawn_with_the_text_font_not_the_emoji_one(filled, render):
    # Noto Color Emoji has digits too (keycaps): named in the CSS, it drew every date.
    fonts = subprocess.run(
        ["/usr/bin/pdffonts", "-"],
        input=render(filled),
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout.decode()
    assert "DejaVu" in fonts
    assert "Emoji" not in fonts
