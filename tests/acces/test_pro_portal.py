"""The pro portal, page by page: my patients, finding a patient, consent, the patient's page,
the documents a professional sees and adds, emergencies, the history."""

import html
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateformat import format as date_format

from acces import services, views
from acces.models import AuditEvent, CareRelation, EmergencyAccess, Professional
from acces.policy import Action
from dossier import services as documents
from dossier.models import Document
from espace_sante.models import Notification
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in
from tests.factories import PDF_BYTES, make_document
from tests.mailbox import delivered

pytestmark = pytest.mark.django_db

PRESCRIPTION = "57833-6"
BIOLOGY = "11502-2"
HOSPITAL_REPORT = "34112-3"
OCCUPATIONAL = "11341-5"
ACT_DATE = "2025-06-02"
NEUTRAL_ERROR = "Aucun dossier accessible ne correspond exactement à ces informations."


def _pro(profession="medecin", specialty="medecine_generale", **kwargs):
    professional = factories.ProfessionalFactory(
        profession=profession, specialty=specialty, **kwargs
    )
    factories.TOTPDeviceFactory(user=professional.user)
    return professional


def _relate(space, professional, basis=CareRelation.Basis.CARE_TEAM):
    return factories.CareRelationFactory(space=space, professional=professional, basis=basis)


def _client(user):
    return sign_in(Client(), user)


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _actor(user):
    return Actor(user=user, role=user.kind)


FIRST_NAMES = "Odile-Séraphine"


def _space(last_name):
    return factories.SpaceFactory(holder__last_name=last_name, holder__first_names=FIRST_NAMES)


def _identity(space, **changes):
    holder = space.holder
    return {
        "nir": holder.nir,
        "last_name": holder.last_name,
        "birth_date": holder.birth_date.isoformat(),
    } | changes


def _pro_url(space, rest=""):
    return f"/pro/patients/{space.public_id}/{rest}"


@pytest.fixture
def space():
    return _space("Vautrinière")


@pytest.fixture
def doctor():
    return _pro(user__last_name="Généraliste")


# --- Mes patients ----------------------------------------------------------------------------


def test_dashboard_lists_recent_patients_but_not_those_who_blocked_or_revoked(doctor):
    kept, blocker, revoker = _space("Gardée"), _space("Bloqueuse"), _space("Révoqueuse")
    relations = {s.pk: _relate(s, doctor) for s in (kept, blocker, revoker)}
    client = _client(doctor.user)
    for opened in (kept, blocker, revoker):
        assert client.get(_pro_url(opened)).status_code == 200
    services.block(space=blocker, professional=doctor, by=_actor(blocker.holder.user))
    services.revoke(relation=relations[revoker.pk], by=_actor(revoker.holder.user))

    page = _text(client.get("/pro/"))

    recent = page.split("Mes patients récents")[1].split("Tous mes patients")[0]
    assert "Gardée" in recent
    assert "Bloqueuse" not in page
    assert "Révoqueuse" not in page


def test_dashboard_forgets_an_emergency_access_once_the_patient_blocks(doctor, space):
    services.open_emergency_access(
        space=space,
        professional=doctor,
        mode=EmergencyAccess.Mode.BREAK_GLASS,
        reason="Détresse respiratoire aiguë",
        by=_actor(doctor.user),
    )
    client = _client(doctor.user)
    client.get(_pro_url(space))
    assert "Vautrinière" in _text(client.get("/pro/"))
    services.block(space=space, professional=doctor, by=_actor(space.holder.user))
    assert "Vautrinière" not in _text(client.get("/pro/"))


def test_dashboard_forgets_an_emergency_access_the_patient_switched_off(doctor, space):
    services.open_emergency_access(
        space=space,
        professional=doctor,
        mode=EmergencyAccess.Mode.BREAK_GLASS,
        reason="Détresse respiratoire aiguë",
        by=_actor(doctor.user),
    )
    client = _client(doctor.user)
    client.get(_pro_url(space))
    services.set_emergency_settings(
        space=space, emergency_access=False, by=_actor(space.holder.user)
    )
    assert "Vautrinière" not in _text(client.get("/pro/"))


@pytest.mark.parametrize(
    ("before", "after", "basis"),
    [
        ("medecine_travail", "medecine_generale", None),
        ("medecine_generale", "medecine_travail", CareRelation.Basis.CARE_TEAM),
    ],
    ids=["was-occupational", "became-occupational"],
)
def test_a_relation_left_from_a_former_specialty_shows_no_patient(space, before, after, basis):
    """The directory may change a specialty: the basis the policy no longer counts must not
    leave the patient's name on the dashboard either."""
    professional = _pro("medecin", before)
    if basis is None:
        services.declare_consent(
            space=space, professional=professional, by=_actor(professional.user)
        )
    else:
        _relate(space, professional, basis)
    client = _client(professional.user)
    assert client.get(_pro_url(space)).status_code == 200
    Professional.objects.filter(pk=professional.pk).update(specialty=after)

    assert client.get(_pro_url(space)).status_code == 403
    assert "Vautrinière" not in _text(client.get("/pro/"))


# --- Finding a patient, consent ---------------------------------------------------------------


def test_an_exact_match_leads_to_the_consent_then_to_the_patient_page(doctor, space):
    client = _client(doctor.user)
    response = client.post("/pro/patients/recherche/", _identity(space))
    assert response.status_code == 302
    assert response["Location"] == _pro_url(space, "consentement/")

    consent_page = _text(client.get(response["Location"]))
    assert "Je déclare que le patient" in consent_page
    # Found by an exact search: the page says who, so the declaration is about that patient.
    found = consent_page.split("Patient trouvé")[1].split("Je déclare")[0]
    assert f"{FIRST_NAMES} Vautrinière" in found
    assert f"né(e) le {date_format(space.holder.birth_date, 'j F Y')}" in found

    declared = client.post(response["Location"], {"consent": "on"})
    assert declared["Location"] == _pro_url(space)
    relation = CareRelation.objects.get(space=space, professional=doctor)
    assert relation.basis == CareRelation.Basis.CARE_TEAM
    assert relation.consent_declared_at is not None
    assert Notification.objects.filter(
        recipient=space.holder.user, kind="care_team_joined"
    ).exists()
    assert delivered(Notification.objects.filter(kind="care_team_joined"), without=("Vautrin",))

    patient_page = _text(client.get(declared["Location"]))
    assert "Vautrinière" in patient_page
    assert "Vous accédez à ce dossier en tant que : Équipe de soins" in patient_page

    # Found again once consented: straight to the patient page.
    again = client.post("/pro/patients/recherche/", _identity(space))
    assert again["Location"] == _pro_url(space)


def test_consent_needs_the_box_ticked(doctor, space):
    client = _client(doctor.user)
    client.post("/pro/patients/recherche/", _identity(space))
    # A browser always posts the form (its CSRF token at least): the box left unticked.
    response = client.post(_pro_url(space, "consentement/"), {"consent": ""})
    assert "Cochez la déclaration de consentement" in _text(response)
    assert not CareRelation.objects.filter(professional=doctor).exists()


@pytest.mark.parametrize(
    "changes",
    [{"last_name": "Vautrin"}, {"last_name": "Autre"}, {"birth_date": "1980-05-18"}],
    ids=["prefix", "other-name", "other-birth-date"],
)
def test_a_wrong_identity_gets_a_neutral_error_and_shows_nothing(doctor, space, changes):
    response = _client(doctor.user).post("/pro/patients/recherche/", _identity(space, **changes))
    page = _text(response)
    assert response.status_code == 200
    assert NEUTRAL_ERROR in page
    # Only what the professional typed comes back: nothing the record adds.
    assert FIRST_NAMES not in page
    assert str(space.public_id) not in page
    event = AuditEvent.objects.filter(actor=doctor.user, action="patient_search").get()
    assert (event.outcome, event.space_id) == ("denied", None)


def test_searches_are_rate_limited(doctor, space, monkeypatch):
    monkeypatch.setattr(views, "SEARCHES_PER_WINDOW", 3)
    client = _client(doctor.user)
    for _ in range(3):
        client.post("/pro/patients/recherche/", _identity(space, last_name="Autre"))
    response = client.post("/pro/patients/recherche/", _identity(space))
    assert response.status_code == 200
    assert "Trop de recherches en peu de temps" in _text(response)
    # The fourth search, though exact, was not run.
    assert AuditEvent.objects.filter(actor=doctor.user, action="patient_search").count() == 3


@pytest.mark.parametrize("who", ["patient", "agent"])
def test_only_professionals_search_for_patients(space, agent, who):
    user = space.holder.user if who == "patient" else agent
    client = _client(user)
    for url in ("/pro/", "/pro/patients/recherche/", "/pro/patients/urgence/"):
        assert client.get(url).status_code == 403, url
        assert client.post(url, _identity(space)).status_code == 403, url
    assert not AuditEvent.objects.filter(action="patient_search").exists()


def test_the_consent_page_is_refused_for_a_space_not_found_by_searching(doctor, space):
    client = _client(doctor.user)
    response = client.get(_pro_url(space, "consentement/"))
    assert response.status_code == 403
    assert "Vautrinière" not in _text(response)
    posted = client.post(_pro_url(space, "consentement/"), {"consent": "on"})
    assert posted.status_code == 403
    assert not CareRelation.objects.filter(professional=doctor).exists()
    refusals = AuditEvent.objects.filter(space=space, actor=doctor.user, outcome="denied")
    assert [e.detail["reason"] for e in refusals] == ["not_searched", "not_searched"]


def test_finding_another_patient_does_not_open_this_ones_consent(doctor, space):
    other = _space("Autrepatiente")
    client = _client(doctor.user)
    client.post("/pro/patients/recherche/", _identity(other))
    assert client.get(_pro_url(space, "consentement/")).status_code == 403
    assert client.get(_pro_url(other, "consentement/")).status_code == 200


def test_a_blocked_professional_who_finds_the_patient_cannot_declare_consent(doctor, space):
    services.block(space=space, professional=doctor, by=_actor(space.holder.user))
    client = _client(doctor.user)
    client.post("/pro/patients/recherche/", _identity(space))
    response = client.post(_pro_url(space, "consentement/"), {"consent": "on"})
    assert response.status_code == 403
    assert "Le patient ne vous a pas autorisé" in _text(response)
    assert "Je déclare" not in _text(response)  # no form to resubmit
    assert not CareRelation.objects.filter(professional=doctor).exists()
    assert client.get(_pro_url(space)).status_code == 403
    assert AuditEvent.objects.filter(
        space=space, action="consent_declared", outcome="denied", detail__reason="blocked"
    ).exists()


# --- The patient's page ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "label"),
    [
        (CareRelation.Basis.ATTENDING, "Médecin traitant"),
        (CareRelation.Basis.AUTHORISED, "Autorisation du patient"),
        (CareRelation.Basis.CARE_TEAM, "Équipe de soins"),
    ],
)
def test_the_patient_page_shows_the_basis(doctor, space, basis, label):
    _relate(space, doctor, basis)
    page = _text(_client(doctor.user).get(_pro_url(space)))
    assert f"Vous accédez à ce dossier en tant que : {label}" in page
    assert "Profil médical" in page


# --- Documents: what a professional sees -------------------------------------------------------


@pytest.fixture
def author(space):
    professional = _pro(user__last_name="Auteure")
    _relate(space, professional, CareRelation.Basis.AUTHORISED)
    return professional


def test_a_pharmacist_sees_biology_but_not_a_hospital_report(space, author):
    pharmacist = _pro("pharmacien", "")
    _relate(space, pharmacist)
    make_document(space, professional=author, type_code=BIOLOGY, title="Ionogramme sanguin")
    report = make_document(
        space, professional=author, type_code=HOSPITAL_REPORT, title="Séjour en cardiologie"
    )
    client = _client(pharmacist.user)
    page = _text(client.get(_pro_url(space, "documents/")))
    assert "Ionogramme sanguin" in page
    assert "Séjour en cardiologie" not in page
    assert "1 document" in page
    refused = client.get(_pro_url(space, f"documents/{report.public_id}/"))
    assert refused.status_code == 403
    assert "Séjour en cardiologie" not in _text(refused)


def test_a_masked_document_shows_only_to_the_attending_physician_and_its_author(space, author):
    attending = _pro(user__last_name="Traitante")
    _relate(space, attending, CareRelation.Basis.ATTENDING)
    colleague = _pro(user__last_name="Collègue")
    _relate(space, colleague)
    masked = make_document(space, professional=author, title="Bilan confidentiel", masked=True)
    for professional, shown in ((attending, True), (author, True), (colleague, False)):
        client = _client(professional.user)
        page = _text(client.get(_pro_url(space, "documents/")))
        assert ("Bilan confidentiel" in page) is shown, professional.user.last_name
        detail = client.get(_pro_url(space, f"documents/{masked.public_id}/"))
        assert detail.status_code == (200 if shown else 403)
    attending_view = _text(
        _client(attending.user).get(_pro_url(space, f"documents/{masked.public_id}/"))
    )
    assert "Document masqué par le patient" in attending_view


def test_banners_say_who_may_not_see_a_document(author):
    minor = factories.MinorSpaceFactory()
    factories.LegalRepresentativeFactory(space=minor)
    _relate(minor, author, CareRelation.Basis.AUTHORISED)
    make_document(minor, professional=author, title="Annonce à faire", invisible_to_patient=True)
    make_document(
        minor, professional=author, title="Consultation secrète", invisible_to_representatives=True
    )
    make_document(minor, professional=author, title="Bilan ordinaire")
    client = _client(author.user)
    page = _text(client.get(_pro_url(minor, "documents/")))
    rows = {
        title: page.split(title)[1].split("</tr>")[0]
        for title in ("Annonce à faire", "Consultation secrète", "Bilan ordinaire")
    }
    assert "Ce document n'est pas visible du patient" in rows["Annonce à faire"]
    assert "représentants légaux" not in rows["Annonce à faire"]
    assert "Ce document n'est pas visible des représentants légaux" in rows["Consultation secrète"]
    assert "n'est pas visible du patient" not in rows["Consultation secrète"]
    assert "n'est pas visible" not in rows["Bilan ordinaire"]


def test_the_documents_page_costs_the_same_queries_for_1_and_200_documents(space, author):
    pharmacist = _pro("pharmacien", "")
    _relate(space, pharmacist)
    client = _client(pharmacist.user)
    url = _pro_url(space, "documents/")
    make_document(space, professional=author, title="Bilan 0", invisible_to_patient=True)
    client.get(url)  # the day's first access tells the patient: not part of the page's cost

    def cost():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    one = cost()
    for index in range(1, 200):
        make_document(
            space,
            professional=author,
            title=f"Bilan {index}",
            masked=index % 3 == 0,
            invisible_to_patient=index % 5 == 0 and index % 3 != 0,
        )
    assert cost() == one


# --- Documents: adding one ---------------------------------------------------------------------


def _upload(type_code, *, title="Résultat déposé", data=PDF_BYTES, name="resultat.pdf", **extra):
    return {
        "type_code": type_code,
        "title": title,
        "act_date": ACT_DATE,
        "file": SimpleUploadedFile(name, data, content_type="application/pdf"),
        **extra,
    }


def _options(page: str) -> set[str]:
    select = page.split('name="type_code"')[1].split("</select>")[0]
    return {value for value in _values(select) if value}


def _values(select: str):
    for part in select.split('value="')[1:]:
        yield part.split('"')[0]


def test_a_pharmacist_is_offered_only_the_types_of_their_profession(space):
    pharmacist = _pro("pharmacien", "")
    _relate(space, pharmacist)
    options = _options(_text(_client(pharmacist.user).get(_pro_url(space, "documents/ajouter/"))))
    assert {PRESCRIPTION, BIOLOGY} <= options
    assert HOSPITAL_REPORT not in options
    assert OCCUPATIONAL not in options


@pytest.mark.parametrize(
    ("profession", "specialty", "type_code"),
    [
        ("pharmacien", "", HOSPITAL_REPORT),
        ("medecin", "medecine_travail", PRESCRIPTION),
        ("medecin", "medecine_generale", OCCUPATIONAL),
    ],
    ids=["pharmacist-hospital-report", "occupational-prescription", "generalist-occupational"],
)
def test_a_forged_post_with_a_type_not_allowed_stores_nothing(
    space, profession, specialty, type_code
):
    professional = _pro(profession, specialty)
    services.declare_consent(space=space, professional=professional, by=_actor(professional.user))
    response = _client(professional.user).post(
        _pro_url(space, "documents/ajouter/"), _upload(type_code)
    )
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in _text(response)
    assert not Document.objects.filter(space=space).exists()
    assert not AuditEvent.objects.filter(space=space, action="document_added").exists()


def test_the_occupational_physician_is_offered_only_the_occupational_part(space):
    occupational = _pro("medecin", "medecine_travail")
    services.declare_consent(space=space, professional=occupational, by=_actor(occupational.user))
    client = _client(occupational.user)
    assert _options(_text(client.get(_pro_url(space, "documents/ajouter/")))) == {OCCUPATIONAL}
    response = client.post(_pro_url(space, "documents/ajouter/"), _upload(OCCUPATIONAL))
    assert response.status_code == 302
    assert Document.objects.get(space=space).category == "occupational"


def test_html_renamed_pdf_is_refused(space, doctor):
    _relate(space, doctor)
    response = _client(doctor.user).post(
        _pro_url(space, "documents/ajouter/"),
        _upload(BIOLOGY, data=b"<html><script>alert(1)</script></html>", name="bilan.pdf"),
    )
    assert response.status_code == 200
    assert "Les pages web, images SVG et scripts sont refusés" in _text(response)
    assert not Document.objects.exists()


def test_a_document_invisible_to_the_patient_is_stored_so_and_not_announced(space, doctor):
    _relate(space, doctor)
    response = _client(doctor.user).post(
        _pro_url(space, "documents/ajouter/"),
        _upload(HOSPITAL_REPORT, title="Diagnostic à annoncer", invisible_to_patient="on"),
    )
    document = Document.objects.get(space=space)
    assert response["Location"] == _pro_url(space, f"documents/{document.public_id}/")
    assert document.invisible_to_patient
    assert document.author_professional == doctor
    assert not Notification.objects.filter(space=space, kind="document_added").exists()
    holder_list = _text(_client(space.holder.user).get(f"/espace/{space.public_id}/documents/"))
    assert "Diagnostic à annoncer" not in holder_list


def test_a_visible_document_is_announced_to_the_patient(space, doctor):
    _relate(space, doctor)
    response = _client(doctor.user).post(
        _pro_url(space, "documents/ajouter/"), _upload(BIOLOGY, title="Glycémie à jeun")
    )
    assert response.status_code == 302
    document = Document.objects.get(space=space)
    assert not document.invisible_to_patient
    told = Notification.objects.get(space=space, kind="document_added")
    assert told.recipient == space.holder.user
    assert "Glycémie" not in told.body  # emails never carry medical content
    assert delivered([told], without=("Glycémie",))


def test_the_representatives_checkbox_is_offered_on_a_minors_space_only(space, doctor):
    _relate(space, doctor)
    minor = factories.MinorSpaceFactory()
    factories.LegalRepresentativeFactory(space=minor)
    _relate(minor, doctor)
    client = _client(doctor.user)
    adult_page = _text(client.get(_pro_url(space, "documents/ajouter/")))
    minor_page = _text(client.get(_pro_url(minor, "documents/ajouter/")))
    assert "Invisible des représentants légaux" not in adult_page
    assert "Invisible des représentants légaux" in minor_page


@pytest.mark.parametrize("page", ["documents/ajouter/", "documents/rediger/"])
def test_a_professional_cannot_add_through_the_patients_own_pages(space, page):
    """The patient's pages add the patient's own documents: a professional going through
    them would escape the matrix (the occupational physician would feed the whole record)
    and pass for the patient."""
    occupational = _pro("medecin", "medecine_travail")
    services.declare_consent(space=space, professional=occupational, by=_actor(occupational.user))
    data = _upload(PRESCRIPTION, title="Ordonnance glissée")
    data["text"] = "Ordonnance glissée par la médecine du travail"
    response = _client(occupational.user).post(f"/espace/{space.public_id}/{page}", data)
    # Refused by the policy (the patient's own pages are the patient's), or else by the
    # service, which stores a professional's document only under their name.
    if response.status_code == 200:
        assert "ajoute ses documents depuis l'espace professionnel" in _text(response)
    else:
        assert response.status_code == 403
        assert AuditEvent.objects.filter(
            space=space, actor=occupational.user, outcome="denied"
        ).exists()
    assert not Document.objects.filter(space=space).exists()


# --- Announcing a document ---------------------------------------------------------------------


def test_only_the_author_announces_a_document(space, author):
    other = _pro(user__last_name="Autre")
    _relate(space, other, CareRelation.Basis.ATTENDING)
    document = make_document(
        space, professional=author, type_code=HOSPITAL_REPORT, invisible_to_patient=True
    )
    url = _pro_url(space, f"documents/{document.public_id}/annoncer/")

    refused = _client(other.user).post(url)
    assert refused.status_code == 403
    document.refresh_from_db()
    assert document.invisible_to_patient
    assert AuditEvent.objects.filter(
        space=space, actor=other.user, action=Action.ANNOUNCE_DOCUMENT, outcome="denied"
    ).exists()
    other_view = _text(_client(other.user).get(_pro_url(space, f"documents/{document.public_id}/")))
    assert "Je l'ai annoncé au patient" not in other_view

    author_client = _client(author.user)
    author_view = _text(author_client.get(_pro_url(space, f"documents/{document.public_id}/")))
    assert "Je l'ai annoncé au patient" in author_view
    assert author_client.post(url).status_code == 302
    document.refresh_from_db()
    assert not document.invisible_to_patient
    assert Notification.objects.filter(space=space, kind="document_added").exists()
    assert delivered(Notification.objects.filter(space=space, kind="document_added"))


# --- Emergencies -------------------------------------------------------------------------------


def _emergency(space, mode="break_glass", reason="Patient inconscient, polytraumatisé"):
    return _identity(space) | {"mode": mode, "reason": reason}


def test_break_glass_is_refused_with_a_message_when_the_patient_switched_it_off(space, doctor):
    services.set_emergency_settings(
        space=space, emergency_access=False, by=_actor(space.holder.user)
    )
    response = _client(doctor.user).post("/pro/patients/urgence/", _emergency(space))
    assert response.status_code == 200
    assert "Le patient n'autorise pas l'accès en urgence à son dossier." in _text(response)
    assert not EmergencyAccess.objects.exists()
    refused = AuditEvent.objects.get(space=space, action="emergency_break_glass")
    assert (refused.outcome, refused.detail["reason"]) == ("denied", "emergency_access_off")


def test_break_glass_with_a_reason_opens_the_record_with_a_warning_until_its_end(space, doctor):
    client = _client(doctor.user)
    response = client.post("/pro/patients/urgence/", _emergency(space))
    assert response["Location"] == _pro_url(space)
    access = EmergencyAccess.objects.get(space=space, professional=doctor)
    page = _text(client.get(response["Location"]))
    until = date_format(timezone.localtime(access.expires_at), "j F Y à H:i")
    assert f"Accès en urgence (bris de glace) jusqu'au {until}" in page
    assert "Patient inconscient, polytraumatisé" in page
    assert "Accès en urgence (bris de glace)" in page  # the basis badge
    told = Notification.objects.get(space=space, kind="emergency_access")
    assert told.recipient == space.holder.user
    assert "polytraumatisé" not in told.body
    assert delivered([told], without=("polytraumatisé", "inconscient"))


def test_break_glass_needs_a_reason(space, doctor):
    response = _client(doctor.user).post("/pro/patients/urgence/", _emergency(space, reason="vite"))
    assert "Décrivez la situation d'urgence" in _text(response)
    assert not EmergencyAccess.objects.exists()


def test_break_glass_with_a_wrong_identity_shows_nothing(space, doctor):
    data = _emergency(space) | {"birth_date": date(1981, 1, 1).isoformat()}
    page = _text(_client(doctor.user).post("/pro/patients/urgence/", data))
    assert "Aucun dossier accessible ne correspond exactement" in page
    assert FIRST_NAMES not in page
    assert not EmergencyAccess.objects.exists()


def test_the_samu_mode_is_for_regulating_physicians_only(space, doctor):
    client = _client(doctor.user)
    assert 'value="samu"' not in _text(client.get("/pro/patients/urgence/"))  # not offered
    refused = client.post("/pro/patients/urgence/", _emergency(space, mode="samu"))
    assert "Sélectionnez un choix valide" in _text(refused)
    assert not EmergencyAccess.objects.exists()
    with pytest.raises(services.AccessError, match="réservé aux médecins régulateurs du SAMU"):
        services.open_emergency_access(
            space=space,
            professional=doctor,
            mode="samu",
            reason="Appel au 15, douleur thoracique",
            by=_actor(doctor.user),
        )

    regulator = _pro(specialty="medecine_urgence")
    client = _client(regulator.user)
    accepted = client.post("/pro/patients/urgence/", _emergency(space, mode="samu"))
    assert accepted["Location"] == _pro_url(space)
    assert EmergencyAccess.objects.get().mode == "samu"
    assert "Régulation du SAMU" in _text(client.get(_pro_url(space)))


# --- The occupational physician ----------------------------------------------------------------


def test_the_occupational_physician_sees_only_the_occupational_part(space, author):
    psychiatrist = _pro(specialty="psychiatrie", user__last_name="Psychiatre")
    _relate(space, psychiatrist, CareRelation.Basis.AUTHORISED)
    make_document(space, professional=author, type_code=BIOLOGY, title="Bilan lipidique")
    occupational = _pro("medecin", "medecine_travail")
    services.declare_consent(space=space, professional=occupational, by=_actor(occupational.user))
    make_document(space, professional=occupational, type_code=OCCUPATIONAL, title="Visite")
    client = _client(occupational.user)

    patient_page = _text(client.get(_pro_url(space)))
    assert "Médecine du travail" in patient_page
    assert "Volet santé au travail" in patient_page
    assert "Profil médical" not in patient_page
    assert "Psychiatre" not in patient_page  # the care team says too much
    assert client.get(f"/espace/{space.public_id}/profil/").status_code == 403

    documents = _text(client.get(_pro_url(space, "documents/")))
    assert "Visite" in documents
    assert "Bilan lipidique" not in documents


def test_the_occupational_physician_does_not_read_the_care_team_on_the_space_page(space):
    psychiatrist = _pro(specialty="psychiatrie", user__last_name="Psychiatre")
    _relate(space, psychiatrist, CareRelation.Basis.AUTHORISED)
    occupational = _pro("medecin", "medecine_travail")
    services.declare_consent(space=space, professional=occupational, by=_actor(occupational.user))
    response = _client(occupational.user).get(f"/espace/{space.public_id}/")
    assert response.status_code == 200
    assert "Psychiatre" not in _text(response)
    assert "psychiatrie" not in _text(response)


# --- The professional's history ----------------------------------------------------------------


def test_the_pro_history_shows_only_what_concerns_the_professional(space, doctor):
    colleague = _pro(user__last_name="Collègue")
    _relate(space, doctor)
    _relate(space, colleague)
    _client(colleague.user).get(_pro_url(space, "documents/"))
    _client(space.holder.user).get(f"/espace/{space.public_id}/")
    client = _client(doctor.user)
    client.get(_pro_url(space))
    page = _text(client.get(_pro_url(space, "historique/")))
    assert "Dr Paul Généraliste" in page
    assert "Collègue" not in page
    assert "Vous voyez les accès et actions que vous avez faits" in page
    patient_name = space.holder.user.get_full_name()
    assert patient_name not in page.split("<table")[1]


def test_the_attending_physician_sees_every_professionals_entries(space, doctor):
    colleague = _pro(user__last_name="Collègue")
    _relate(space, doctor, CareRelation.Basis.ATTENDING)
    _relate(space, colleague)
    _client(colleague.user).get(_pro_url(space, "documents/"))
    _client(space.holder.user).get(f"/espace/{space.public_id}/")
    page = _text(_client(doctor.user).get(_pro_url(space, "historique/")))
    table = page.split("<table")[1]
    assert "Collègue" in table
    assert "Dr Paul Généraliste" in table
    assert space.holder.user.get_full_name() not in table
    assert "accès et actions des professionnels de santé" in page


# --- Versions ----------------------------------------------------------------------------------


def test_masking_a_document_hides_its_earlier_versions_too(space):
    pharmacist = _pro("pharmacien", "")
    _relate(space, pharmacist)
    holder = _actor(space.holder.user)
    first = make_document(space, by_user=space.holder.user, type_code=BIOLOGY, title="Bilan")
    second = documents.add_document(
        space=space,
        type_code=BIOLOGY,
        title="Bilan",
        act_date=date(2025, 6, 2),
        data=PDF_BYTES + b"v2",
        by=holder,
        replaces=first,
    )
    client = _client(pharmacist.user)
    # Before the masking, the record's page of the document links to its earlier version.
    page = _text(client.get(f"/espace/{space.public_id}/documents/{second.public_id}/"))
    assert str(first.public_id) in page

    documents.set_masked(document=second, masked=True, by=holder)

    for version in (second, first):
        for rest in ("", "telecharger/"):
            url = _pro_url(space, f"documents/{version.public_id}/{rest}")
            assert client.get(url).status_code == 403, url
    documents.set_masked(document=second, masked=False, by=holder)
    assert client.get(_pro_url(space, f"documents/{first.public_id}/")).status_code == 200


def test_the_trail_says_on_what_basis_a_professional_added_a_document(doctor, space):
    from acces.models import CareRelation as Relation

    factories.CareRelationFactory(space=space, professional=doctor, basis=Relation.Basis.ATTENDING)
    client = _client(doctor.user)
    response = client.post(_pro_url(space, "documents/ajouter/"), _upload("11488-4"))
    assert response.status_code == 302
    assert AuditEvent.objects.get(space=space, action="document_added").basis == "attending"


def test_the_consent_page_of_a_professional_who_has_access_is_a_traced_read(doctor, space):
    from acces.models import CareRelation as Relation

    factories.CareRelationFactory(space=space, professional=doctor, basis=Relation.Basis.CARE_TEAM)
    before = AuditEvent.objects.filter(space=space, actor=doctor.user, outcome="allowed").count()
    response = _client(doctor.user).get(_pro_url(space, "consentement/"))
    assert space.holder.display_name in _text(response)
    after = AuditEvent.objects.filter(space=space, actor=doctor.user, outcome="allowed").count()
    assert after == before + 1
