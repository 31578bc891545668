"""Who sees the record, in Chromium: the patient's control page, then each professional.

The patient authorises their GP found in the directory and blocks a nurse; then the GP
reads and feeds the record, a pharmacist joins the care team and sees only what the
default matrix gives pharmacists, the blocked nurse is refused, an emergency physician
breaks the glass; finally the patient reads all of it in the trail and the notifications.
"""

import importlib
import re
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.utils import timezone
from django_otp.oath import TOTP

from acces.models import AuditEvent, Block, CareRelation, EmergencyAccess
from dossier.models import Document
from espace_sante.models import Notification
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient
from tests.factories import PASSWORD
from tests.mailbox import assert_email_left

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path("/tmp/journeys")
HOSPITAL_REPORT = "34112-3"
BIOLOGY = "11502-2"
CONSULTATION_REPORT = "11488-4"
PDF = factories.PDF_BYTES
DOCUMENT_ADDED = "Un document a été ajouté à votre espace santé"
REASON = "Patiente inconsciente aux urgences après un accident de la route"


@pytest.fixture
def reference_data():
    """The document types and the default matrix, as their data migrations load them.

    A transactional test flushes every table, the migrations' data with them.
    """
    for module in (
        "dossier.migrations.0002_document_types",
        "acces.migrations.0006_default_document_access_matrix",
    ):
        importlib.import_module(module).load(apps, None)


def _professional(first_name, last_name, profession, specialty="", **extra):
    pro = factories.ProfessionalFactory(
        user__first_name=first_name,
        user__last_name=last_name,
        profession=profession,
        specialty=specialty,
        **extra,
    )
    factories.TOTPDeviceFactory(user=pro.user)
    return pro


def _totp(user):
    device = user.totpdevice_set.get(confirmed=True)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


@contextmanager
def _professional_page(browser, browser_context_args, live_server, professional):
    """A browser of the professional's own, signed in with password and TOTP, on /pro/."""
    context = browser.new_context(**browser_context_args)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/comptes/login/")
        page.get_by_label(re.compile("e-mail", re.I)).fill(professional.user.email)
        page.get_by_label(re.compile("Mot de passe", re.I)).first.fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Se connecter")).click()
        page.wait_for_url(re.compile("/connexion/"))
        page.get_by_label(re.compile("Code", re.I)).fill(_totp(professional.user))
        page.get_by_role("button", name="Valider").click()
        page.wait_for_url(live_server.url + "/pro/")
        assert page.get_by_role("heading", level=1).inner_text() == "Mes patients"
        yield page
    finally:
        context.close()


def _main(page):
    """The page's main content: links there, not the header's menu, which may repeat them."""
    return page.locator("#contenu")


def _shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _table_fits(page):
    """The page's tables show every column without scrolling sideways (desktop width)."""
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('.fr-table__container')]
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => e.getAttribute('aria-label'))"""
    )
    assert not overflowing, f"{page.url}: tables wider than the page: {overflowing}"


def _find_patient(page, space):
    holder = space.holder
    page.fill("#id_nir", holder.nir)
    page.fill("#id_last_name", holder.last_name)
    page.fill("#id_birth_date", holder.birth_date.isoformat())


def test_patient_controls_access_and_each_professional_sees_what_the_rules_give(
    page, browser, browser_context_args, live_server, tmp_path, reference_data
):
    SCREENSHOTS.mkdir(exist_ok=True)
    space = factories.SpaceFactory(
        holder__last_name="Fontaine",
        holder__first_names="Inès Marie",
        holder__user__first_name="Inès",
    )
    gp = _professional("Hélène", "Marchand", "medecin", "medecine_generale", practice_town="Nantes")
    _professional("Julien", "Marchand", "masseur_kinesitherapeute", practice_town="Rezé")
    nurse = _professional("Sophie", "Lefèvre", "infirmier", practice_town="Nantes")
    pharmacist = _professional("Marc", "Dubois", "pharmacien", practice_town="Nantes")
    emergency_physician = _professional(
        "Claire", "Roussel", "medecin", "medecine_urgence", practice_name="CHU de Nantes"
    )
    # What the hospital and the laboratory sent earlier.
    cardiologist = _professional("Antoine", "Besson", "medecin", "cardiologie")
    biologist = _professional("Nadia", "Haddad", "pharmacien")
    factories.make_document(
        space,
        professional=cardiologist,
        type_code=HOSPITAL_REPORT,
        title="Hospitalisation en cardiologie",
    )
    factories.make_document(
        space, professional=biologist, type_code=BIOLOGY, title="Bilan lipidique"
    )

    # --- The patient: "Qui a accès à mon dossier" ------------------------------------------
    sign_in_patient(page, live_server, space.holder.user.email)
    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    _main(page).get_by_role("link", name=re.compile("Qui a accès à mon dossier")).click()
    page.wait_for_url(re.compile(r"/acces/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Qui a accès à mon dossier"
    assert "Aucun professionnel de santé n'a accès à votre dossier" in page.content()
    assert "Vous n'avez pas désigné de médecin traitant" in page.content()
    # The emergency switches are on (the defaults).
    assert page.is_checked("#id_emergency_access")
    assert page.is_checked("#id_samu_access")
    assert "Aucun accès en urgence à votre dossier." in page.content()
    assert_accessible(page)

    # Search the directory by name: two Marchand, the GP is authorised.
    page.fill("#id_query", "marchand")
    page.get_by_role("button", name="Rechercher dans l'annuaire").click()
    page.wait_for_url(re.compile(r"query=marchand"))
    results = page.locator(".portail-annuaire > li")
    assert results.count() == 2
    assert "Dr Hélène Marchand — Médecin, médecine générale" in results.first.inner_text()
    assert "Julien Marchand — Masseur-kinésithérapeute" in results.nth(1).inner_text()
    # Only a doctor may be designated attending physician.
    assert results.nth(1).get_by_role("button", name=re.compile("Désigner")).count() == 0
    _shot(page, "patient-access-search")
    assert_accessible(page)
    page.get_by_role("button", name=f"Autoriser {gp.title}").click()
    page.wait_for_url(re.compile(r"/acces/$"))
    assert f"{gp.title} peut désormais consulter votre dossier." in page.content()
    row = page.get_by_role("row", name=re.compile("Hélène Marchand"))
    assert "Autorisation du patient" in row.inner_text()

    # Block the nurse, after the confirmation page.
    page.fill("#id_query", "lefevre")
    page.get_by_role("button", name="Rechercher dans l'annuaire").click()
    page.wait_for_url(re.compile(r"query=lefevre"))
    page.get_by_role("link", name=f"Bloquer {nurse.title}").click()
    page.wait_for_url(re.compile(rf"/acces/bloquer/{nurse.rpps}/$"))
    assert page.get_by_role("heading", level=1).inner_text() == f"Bloquer {nurse.title} ?"
    assert "ni en consultation ni en urgence" in page.content()
    _shot(page, "patient-block-confirm")
    assert_accessible(page)
    page.get_by_role("button", name="Oui, bloquer").click()
    page.wait_for_url(re.compile(r"/acces/$"))
    assert f"Accès bloqué pour {nurse.title}" in page.content()
    blocked = page.locator("section", has=page.locator("#titre-bloques"))
    assert "Sophie Lefèvre" in blocked.inner_text()
    assert page.get_by_role("button", name=f"Débloquer {nurse.title}").is_visible()
    assert page.is_checked("#id_emergency_access")
    _shot(page, "patient-access")
    assert_accessible(page)
    assert Block.objects.filter(space=space, professional=nurse, lifted_at=None).exists()

    # --- The GP, authorised: from "Mes patients" to the documents, then adds one ----------
    with _professional_page(browser, browser_context_args, live_server, gp) as pro:
        _main(pro).get_by_role("link", name="Fontaine Inès Marie").first.click()
        pro.wait_for_url(re.compile(rf"/pro/patients/{space.public_id}/$"))
        assert "Vous accédez à ce dossier en tant que : Autorisation du patient" in pro.content()
        _main(pro).get_by_role("link", name="Documents", exact=True).click()
        pro.wait_for_url(re.compile(r"/documents/$"))
        assert pro.get_by_role("heading", level=1).inner_text() == "Documents du dossier"
        assert pro.get_by_role("heading", name="2 documents").is_visible()
        for title in ("Hospitalisation en cardiologie", "Bilan lipidique"):
            assert pro.get_by_role("row", name=re.compile(title)).count() == 1
        assert "Compte rendu d'hospitalisation" in pro.content()
        _shot(pro, "gp-documents")
        assert_accessible(pro)

        _main(pro).get_by_role("link", name="Ajouter un document").click()
        pro.wait_for_url(re.compile(r"/documents/ajouter/$"))
        assert_accessible(pro)
        report = tmp_path / "consultation.pdf"
        report.write_bytes(PDF)
        pro.set_input_files("#id_file", str(report))
        pro.select_option("#id_type_code", CONSULTATION_REPORT)
        pro.fill("#id_title", "Consultation du 3 mars")
        pro.fill("#id_act_date", (timezone.localdate() - timedelta(days=2)).isoformat())
        pro.check("#id_invisible_to_patient", force=True)
        _shot(pro, "gp-add-document")
        pro.get_by_role("button", name="Ajouter le document").click()
        pro.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
        assert "Le document est ajouté au dossier. Il n'est pas visible du patient." in (
            pro.content()
        )
        banner = pro.get_by_role("heading", name="Ce document n'est pas visible du patient")
        assert banner.is_visible()
        assert pro.get_by_role("button", name=re.compile("Je l'ai annoncé au patient")).is_visible()
        _shot(pro, "gp-document-invisible")
        assert_accessible(pro)
    added = Document.objects.get(title="Consultation du 3 mars")
    assert added.invisible_to_patient and added.author_professional == gp

    # --- The pharmacist: finds the patient, declares consent, sees biology only -----------
    with _professional_page(browser, browser_context_args, live_server, pharmacist) as pro:
        _main(pro).get_by_role("link", name="Rechercher un patient").click()
        pro.wait_for_url(re.compile(r"/pro/patients/recherche/$"))
        assert_accessible(pro)
        _find_patient(pro, space)
        pro.get_by_role("button", name="Rechercher", exact=True).click()
        pro.wait_for_url(re.compile(r"/consentement/$"))
        assert pro.get_by_role("heading", level=1).inner_text() == (
            "Première consultation de ce dossier"
        )
        _shot(pro, "pharmacist-consent")
        assert_accessible(pro)
        # Without the box ticked, a French error and still no access.
        pro.get_by_role("button", name="Déclarer le consentement et ouvrir le dossier").click()
        error = pro.get_by_text("Cochez la déclaration de consentement pour continuer.").first
        error.wait_for()
        assert error.is_visible()
        assert not CareRelation.objects.filter(professional=pharmacist).exists()
        pro.check("#id_consent", force=True)
        pro.get_by_role("button", name="Déclarer le consentement et ouvrir le dossier").click()
        pro.wait_for_url(re.compile(rf"/pro/patients/{space.public_id}/$"))
        assert "vous faites partie de l'équipe de soins" in pro.content()
        assert pro.get_by_role("heading", level=1).inner_text() == "Fontaine Inès Marie"
        _main(pro).get_by_role("link", name="Documents", exact=True).click()
        pro.wait_for_url(re.compile(r"/documents/$"))
        assert pro.get_by_role("heading", name="1 document", exact=True).is_visible()
        assert pro.get_by_role("row", name=re.compile("Bilan lipidique")).count() == 1
        assert "Hospitalisation en cardiologie" not in pro.content()
        assert "Consultation du 3 mars" not in pro.content()
        _shot(pro, "pharmacist-documents")
        assert_accessible(pro)

    # --- The blocked nurse: found, but the consent is refused; nothing is shown ------------
    with _professional_page(browser, browser_context_args, live_server, nurse) as pro:
        pro.goto(live_server.url + "/pro/patients/recherche/")
        _find_patient(pro, space)
        pro.get_by_role("button", name="Rechercher", exact=True).click()
        pro.wait_for_url(re.compile(r"/consentement/$"))
        pro.check("#id_consent", force=True)
        pro.get_by_role("button", name="Déclarer le consentement et ouvrir le dossier").click()
        pro.wait_for_load_state()
        alert = pro.get_by_role("alert").filter(has_text="ne vous a pas autorisé")
        assert "Le patient ne vous a pas autorisé à accéder à son dossier." in alert.inner_text()
        assert pro.url.endswith("/consentement/")
        assert "Inès" not in pro.content()
        _shot(pro, "nurse-refused")
        assert_accessible(pro)
        # The record's address alone opens nothing either.
        response = pro.goto(f"{live_server.url}/pro/patients/{space.public_id}/documents/")
        assert response.status == 403
        assert pro.get_by_role("heading", level=1).inner_text() == "Accès refusé"
        assert "Fontaine" not in pro.content() and "Bilan lipidique" not in pro.content()
    assert not CareRelation.objects.filter(professional=nurse).exists()

    # --- The emergency physician breaks the glass ------------------------------------------
    with _professional_page(browser, browser_context_args, live_server, emergency_physician) as pro:
        _main(pro).get_by_role("link", name="Accès en urgence").click()
        pro.wait_for_url(re.compile(r"/pro/patients/urgence/$"))
        assert "Réservé aux situations d'urgence" in pro.content()
        assert_accessible(pro)
        _find_patient(pro, space)
        assert pro.is_checked("#id_mode_0")  # "bris de glace", the default
        pro.fill("#id_reason", REASON)
        _shot(pro, "emergency-form")
        pro.get_by_role("button", name="Accéder au dossier en urgence").click()
        pro.wait_for_url(re.compile(rf"/pro/patients/{space.public_id}/$"))
        access = EmergencyAccess.objects.get(space=space)
        until = timezone.localtime(access.expires_at)
        assert f"Accès en urgence ouvert jusqu'à {until:%H:%M}" in pro.content()
        warning = pro.locator(".fr-alert--warning").filter(has_text="Motif déclaré")
        title = warning.get_by_role("heading").inner_text()
        assert re.fullmatch(r"Accès en urgence \(bris de glace\) jusqu'au .+ à \d\d:\d\d", title)
        assert title.endswith(f"à {until:%H:%M}")
        assert REASON in warning.inner_text()
        _table_fits(pro)
        _shot(pro, "emergency-patient")
        assert_accessible(pro)

    # --- The patient reads the trail, filters it, and the notifications --------------------
    page.goto(f"{live_server.url}/espace/{space.public_id}/")
    _main(page).get_by_role("link", name="Historique des accès").click()
    page.wait_for_url(re.compile(r"/historique/$"))
    rows = page.get_by_role("row")
    gp_rows = rows.filter(has_text="Hélène Marchand")
    assert gp_rows.filter(has_text="Consultation de l'espace").count() >= 1
    assert gp_rows.filter(has_text="Ajout d'un document").count() >= 1
    consent = rows.filter(has_text="Marc Dubois").filter(
        has_text="Déclaration du consentement du patient"
    )
    assert consent.count() == 1 and "Autorisé" in consent.text_content()
    refused = rows.filter(has_text="Sophie Lefèvre").filter(
        has_text="Déclaration du consentement du patient"
    )
    assert refused.count() == 1 and "Refusé" in refused.text_content()
    glass = rows.filter(has_text="Claire Roussel").filter(has_text="Motif :")
    assert glass.count() == 1
    assert "Accès en urgence (bris de glace)" in glass.inner_text()
    assert f"Motif : « {REASON} »" in glass.inner_text()
    # The professional is named once, by their title (name, profession, specialty).
    assert glass.inner_text().count("Médecin, médecine d'urgence") == 1
    _table_fits(page)
    _shot(page, "patient-history")
    assert_accessible(page)

    page.select_option("#id_type", "urgences")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"type=urgences"))
    body_rows = page.locator("table tbody tr")
    assert body_rows.count() == 1
    assert "Claire Roussel" in body_rows.first.inner_text()
    assert REASON in body_rows.first.inner_text()
    assert page.get_by_role("link", name="Effacer les filtres").is_visible()
    _shot(page, "patient-history-emergencies")
    assert_accessible(page)

    page.select_option("#id_type", "")
    page.select_option("#id_resultat", "denied")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"resultat=denied"))
    texts = body_rows.all_text_contents()  # the badges are upper-cased by CSS only
    assert texts and all("Refusé" in text for text in texts)
    assert any("Sophie Lefèvre" in t and "Déclaration du consentement" in t for t in texts)
    assert not any("Claire Roussel" in t for t in texts)
    denied = AuditEvent.objects.filter(space=space, outcome=AuditEvent.Outcome.DENIED).count()
    assert len(texts) == denied
    _shot(page, "patient-history-denied")
    assert_accessible(page)

    page.get_by_role("link", name="Notifications").first.click()
    page.wait_for_url(re.compile(r"/notifications/$"))
    cards = page.locator(".fr-card")
    glass_card = cards.filter(has_text="Accès en urgence à votre dossier médical partagé")
    assert glass_card.count() == 1
    assert "Dr Claire Roussel" in glass_card.inner_text()
    assert REASON not in glass_card.inner_text()  # the reason is in the trail, not in messages
    team_card = cards.filter(has_text="Un professionnel de santé a rejoint votre équipe de soins")
    assert team_card.count() == 1 and "Marc Dubois" in team_card.inner_text()
    assert cards.filter(has_text="Un professionnel de santé a été autorisé").count() == 1
    assert cards.filter(has_text="Un professionnel de santé a été bloqué").count() == 1
    # The hospital's and the laboratory's documents were announced; the GP's is not, yet.
    assert cards.filter(has_text=DOCUMENT_ADDED).count() == 2
    # Each of them also left by email (the live server commits: the tasks ran at commit).
    emailed = Notification.objects.filter(recipient=space.holder.user).exclude(email_state="none")
    assert emailed.count() >= 5
    for told in emailed:
        assert told.email_state == "sent", told.email_error
        assert_email_left(
            space.holder.user.email, subject=told.subject, count=None, without=[REASON]
        )
    _shot(page, "patient-notifications")
    assert_accessible(page)
