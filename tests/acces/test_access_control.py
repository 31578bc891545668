"""Issue 5's rules, one by one, through `acces.policy` and the services that change access."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from acces import services
from acces.models import AuditEvent, Block, CareRelation, EmergencyAccess
from acces.policy import Action, Basis, decide, documents_visible_to, spaces_visible_to
from dossier.models import Document
from espace_sante.models import Notification, Space
from espace_sante.tracing import Actor
from tests import factories
from tests.factories import make_document
from tests.mailbox import assert_email_left

pytestmark = pytest.mark.django_db

# Reference types (dossier/migrations/0002) and what the default matrix says of them.
PRESCRIPTION = "57833-6"
BIOLOGY = "11502-2"
IMAGING = "18748-4"
HOSPITAL_REPORT = "34112-3"
PSYCHIATRY = "34788-0"
OCCUPATIONAL = "11341-5"


def _actor(user):
    return Actor(user=user, role=user.kind)


def _pro(profession="medecin", specialty="", **kwargs):
    return factories.ProfessionalFactory(profession=profession, specialty=specialty, **kwargs)


def _relate(space, professional, basis=CareRelation.Basis.CARE_TEAM):
    return factories.CareRelationFactory(space=space, professional=professional, basis=basis)


def _sees(user, document) -> bool:
    """The decision on one document, checked against the list filter (they must agree)."""
    decision = decide(user, Action.VIEW_DOCUMENT, document)
    space_decision = decide(user, Action.VIEW_SPACE, document.space)
    listed = (
        Document.objects.filter(pk=document.pk)
        .filter(documents_visible_to(space_decision))
        .exists()
    )
    assert decision.allowed == listed, "the list filter and the decision disagree"
    return decision.allowed


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def author(space):
    professional = _pro(specialty="medecine_generale")
    _relate(space, professional, CareRelation.Basis.AUTHORISED)
    return professional


# --- Bases -----------------------------------------------------------------------------------


def test_a_professional_without_any_basis_sees_nothing(space):
    stranger = _pro()
    assert decide(stranger.user, Action.VIEW_SPACE, space).reason == "no_basis"
    assert not Space.objects.filter(spaces_visible_to(stranger.user)).exists()


def test_a_block_beats_every_other_basis(space, author):
    doctor = _pro()
    _relate(space, doctor, CareRelation.Basis.ATTENDING)
    services.block(space=space, professional=doctor, by=_actor(space.holder.user))
    decision = decide(doctor.user, Action.VIEW_SPACE, space)
    assert (decision.allowed, decision.reason) == (False, "blocked")
    assert not Space.objects.filter(spaces_visible_to(doctor.user)).exists()
    # An emergency access does not get round it either.
    with pytest.raises(services.AccessError):
        services.open_emergency_access(
            space=space,
            professional=doctor,
            mode=EmergencyAccess.Mode.BREAK_GLASS,
            reason="Patient inconscient aux urgences",
            by=_actor(doctor.user),
        )


def test_lifting_a_block_gives_back_the_previous_basis(space):
    doctor = _pro()
    _relate(space, doctor, CareRelation.Basis.ATTENDING)
    blocked = services.block(space=space, professional=doctor, by=_actor(space.holder.user))
    services.unblock(blocked=blocked, by=_actor(space.holder.user))
    assert decide(doctor.user, Action.VIEW_SPACE, space).basis == Basis.ATTENDING


def test_the_strongest_basis_is_the_one_recorded(space):
    doctor = _pro()
    _relate(space, doctor, CareRelation.Basis.CARE_TEAM)
    _relate(space, doctor, CareRelation.Basis.ATTENDING)
    assert decide(doctor.user, Action.VIEW_SPACE, space).basis == Basis.ATTENDING


def test_a_revoked_professional_loses_access(space):
    doctor = _pro()
    relation = services.authorise(space=space, professional=doctor, by=_actor(space.holder.user))
    assert decide(doctor.user, Action.VIEW_SPACE, space).basis == Basis.AUTHORISED
    services.revoke(relation=relation, by=_actor(space.holder.user))
    assert not decide(doctor.user, Action.VIEW_SPACE, space)


@pytest.mark.parametrize(
    "action",
    [Action.MANAGE_DOCUMENT, Action.MANAGE_ACCESS, Action.EXPORT_SPACE, Action.CLOSE_SPACE],
)
def test_professionals_never_manage_the_patients_space(space, action):
    doctor = _pro()
    _relate(space, doctor, CareRelation.Basis.ATTENDING)
    assert not decide(doctor.user, action, space)


def test_agents_never_see_medical_content(space, agent):
    document = make_document(space)
    for action in Action:
        assert not decide(agent, action, space)
    assert not decide(agent, Action.VIEW_DOCUMENT, document)


# --- The matrix ------------------------------------------------------------------------------


def test_a_pharmacist_sees_prescriptions_and_biology_not_hospital_or_psychiatric_reports(
    space, author
):
    pharmacist = _pro("pharmacien")
    _relate(space, pharmacist)
    seen = {
        code: _sees(pharmacist.user, make_document(space, professional=author, type_code=code))
        for code in (PRESCRIPTION, BIOLOGY, HOSPITAL_REPORT, PSYCHIATRY)
    }
    assert seen == {PRESCRIPTION: True, BIOLOGY: True, HOSPITAL_REPORT: False, PSYCHIATRY: False}
    refused = decide(
        pharmacist.user,
        Action.VIEW_DOCUMENT,
        Document.objects.get(space=space, type_code=HOSPITAL_REPORT),
    )
    assert refused.reason == "document_type_not_allowed"


def test_a_physiotherapist_sees_prescriptions_and_imaging_only(space, author):
    physio = _pro("masseur_kinesitherapeute")
    _relate(space, physio)
    seen = {
        code: _sees(physio.user, make_document(space, professional=author, type_code=code))
        for code in (PRESCRIPTION, IMAGING, BIOLOGY, HOSPITAL_REPORT)
    }
    assert seen == {PRESCRIPTION: True, IMAGING: True, BIOLOGY: False, HOSPITAL_REPORT: False}


def test_a_profession_without_a_row_sees_nothing(space, author):
    from acces.models import DocumentAccessRule

    DocumentAccessRule.objects.filter(profession="infirmier").delete()
    nurse = _pro("infirmier")
    _relate(space, nurse)
    assert decide(nurse.user, Action.VIEW_SPACE, space)  # the space, not its documents
    assert not _sees(nurse.user, make_document(space, professional=author, type_code=PRESCRIPTION))


def test_the_author_always_sees_their_document_whatever_the_matrix(space):
    pharmacist = _pro("pharmacien")
    _relate(space, pharmacist)
    own = make_document(space, professional=pharmacist, type_code=HOSPITAL_REPORT, masked=True)
    assert _sees(pharmacist.user, own)


# --- Masking ---------------------------------------------------------------------------------


def test_masked_documents_show_only_to_attending_and_author(space, author):
    attending = _pro()
    _relate(space, attending, CareRelation.Basis.ATTENDING)
    other = _pro()
    _relate(space, other)
    document = make_document(space, professional=author, type_code=BIOLOGY, masked=True)
    assert _sees(attending.user, document)
    assert _sees(author.user, document)
    assert not _sees(other.user, document)
    assert _sees(space.holder.user, document)


def _break_glass(space, professional, mode=EmergencyAccess.Mode.BREAK_GLASS):
    return services.open_emergency_access(
        space=space,
        professional=professional,
        mode=mode,
        reason="Patient inconscient, accident de la route",
        by=_actor(professional.user),
    )


def test_in_an_emergency_masked_documents_show_unless_masked_from_emergencies(space, author):
    urgentist = _pro(specialty="medecine_urgence")
    document = make_document(space, professional=author, type_code=BIOLOGY, masked=True)
    _break_glass(space, urgentist)
    assert decide(urgentist.user, Action.VIEW_SPACE, space).basis == Basis.EMERGENCY
    assert _sees(urgentist.user, document)
    services.set_emergency_settings(
        space=space, masked_from_emergencies=True, by=_actor(space.holder.user)
    )
    assert not _sees(urgentist.user, document)


# --- Emergencies -----------------------------------------------------------------------------


def test_break_glass_is_time_limited_traced_apart_and_told_at_once(
    space, django_capture_on_commit_callbacks
):
    urgentist = _pro(specialty="medecine_urgence")
    with django_capture_on_commit_callbacks(execute=True):
        access = _break_glass(space, urgentist)
    assert access.expires_at - access.started_at == EmergencyAccess.DURATION
    event = AuditEvent.objects.get(space=space, action="emergency_break_glass")
    assert event.basis == "emergency"
    assert event.detail["reason_given"] == "Patient inconscient, accident de la route"
    told = Notification.objects.get(space=space, kind="emergency_access")
    assert "bris de glace" in told.body
    assert "accident" not in told.body  # the reason stays in the portal's history
    assert_email_left(space.holder.user.email, subject=told.subject, without=("accident",))
    with time_machine.travel(timezone.now() + EmergencyAccess.DURATION + timedelta(minutes=1)):
        assert not decide(urgentist.user, Action.VIEW_SPACE, space)


def test_break_glass_is_refused_and_traced_when_the_patient_switched_it_off(space):
    services.set_emergency_settings(
        space=space, emergency_access=False, by=_actor(space.holder.user)
    )
    urgentist = _pro(specialty="medecine_urgence")
    with pytest.raises(services.AccessError, match="n'autorise pas l'accès en urgence"):
        _break_glass(space, urgentist)
    refused = AuditEvent.objects.get(space=space, action="emergency_break_glass")
    assert (refused.outcome, refused.detail["reason"]) == ("denied", "emergency_access_off")
    assert not EmergencyAccess.objects.exists()
    # The SAMU's access is a separate switch, still on.
    _break_glass(space, urgentist, mode=EmergencyAccess.Mode.SAMU)
    assert decide(urgentist.user, Action.VIEW_SPACE, space).basis == Basis.SAMU


def test_switching_emergency_access_off_ends_live_emergency_accesses(space):
    urgentist = _pro(specialty="medecine_urgence")
    _break_glass(space, urgentist)
    services.set_emergency_settings(
        space=space, emergency_access=False, by=_actor(space.holder.user)
    )
    assert not decide(urgentist.user, Action.VIEW_SPACE, space)


def test_only_regulating_physicians_use_the_samu_access(space):
    generalist = _pro(specialty="medecine_generale")
    with pytest.raises(services.AccessError, match="médecins régulateurs"):
        _break_glass(space, generalist, mode=EmergencyAccess.Mode.SAMU)


def test_a_pharmacist_cannot_break_the_glass(space):
    with pytest.raises(services.AccessError, match="Votre profession"):
        _break_glass(space, _pro("pharmacien"))


def test_a_break_glass_reason_is_mandatory(space):
    with pytest.raises(services.AccessError, match="Décrivez"):
        services.open_emergency_access(
            space=space,
            professional=_pro(),
            mode=EmergencyAccess.Mode.BREAK_GLASS,
            reason="   urgent ",
            by=Actor.system(),
        )


# --- Occupational physician -------------------------------------------------------------------


def test_the_occupational_physician_sees_and_feeds_only_the_occupational_part(space, author):
    occupational = _pro(specialty="medecine_travail")
    services.declare_consent(space=space, professional=occupational, by=_actor(occupational.user))
    decision = decide(occupational.user, Action.VIEW_SPACE, space)
    assert decision.basis == Basis.OCCUPATIONAL
    assert not decide(occupational.user, Action.VIEW_PROFILE, space)
    work = make_document(space, professional=author, type_code=OCCUPATIONAL)
    assert _sees(occupational.user, work)
    assert not _sees(
        occupational.user, make_document(space, professional=author, type_code=PRESCRIPTION)
    )
    # Nobody else among professionals sees the occupational part, not even the attending.
    attending = _pro()
    _relate(space, attending, CareRelation.Basis.ATTENDING)
    assert not _sees(attending.user, work)
    assert _sees(space.holder.user, work)


def test_the_patient_cannot_authorise_the_occupational_physician_on_the_whole_record(space):
    with pytest.raises(services.AccessError, match="volet santé au travail"):
        services.authorise(
            space=space,
            professional=_pro(specialty="medecine_travail"),
            by=_actor(space.holder.user),
        )


# --- Consent and finding a patient -----------------------------------------------------------


def test_declaring_consent_creates_the_care_team_link_and_tells_the_patient(
    space, django_capture_on_commit_callbacks
):
    nurse = _pro("infirmier")
    with django_capture_on_commit_callbacks(execute=True):
        relation = services.declare_consent(space=space, professional=nurse, by=_actor(nurse.user))
    assert (relation.basis, relation.consent_declared_at is not None) == ("care_team", True)
    assert decide(nurse.user, Action.VIEW_SPACE, space).basis == Basis.CARE_TEAM
    assert Notification.objects.filter(space=space, kind="care_team_joined").exists()
    assert_email_left(space.holder.user.email)


def test_a_blocked_professional_cannot_declare_consent(space):
    nurse = _pro("infirmier")
    services.block(space=space, professional=nurse, by=_actor(space.holder.user))
    with pytest.raises(services.AccessError):
        services.declare_consent(space=space, professional=nurse, by=_actor(nurse.user))
    assert not CareRelation.objects.filter(professional=nurse).exists()
    assert AuditEvent.objects.filter(
        space=space, action="consent_declared", outcome="denied"
    ).exists()


@pytest.mark.parametrize(
    "change",
    [
        {"last_name": "AUTRE"},
        {"birth_date_shift": 1},
        {"last_name_prefix": True},
    ],
)
def test_finding_a_patient_needs_an_exact_match(space, change):
    holder = space.holder
    last_name = holder.last_name
    birth_date = holder.birth_date
    if "last_name" in change:
        last_name = change["last_name"]
    if "birth_date_shift" in change:
        birth_date = birth_date + timedelta(days=1)
    if "last_name_prefix" in change:
        last_name = last_name[:3]
    doctor = _pro()
    found = services.find_space(
        actor=_actor(doctor.user), nir=holder.nir, last_name=last_name, birth_date=birth_date
    )
    assert found is None
    assert (
        services.find_space(
            actor=_actor(doctor.user),
            nir=holder.nir,
            last_name=holder.last_name.lower(),
            birth_date=holder.birth_date,
        )
        == space
    )


def test_a_closed_space_is_not_found_like_an_unknown_one(space):
    Space.objects.filter(pk=space.pk).update(state=Space.State.CLOSED)
    doctor = _pro()
    holder = space.holder
    assert (
        services.find_space(
            actor=_actor(doctor.user),
            nir=holder.nir,
            last_name=holder.last_name,
            birth_date=holder.birth_date,
        )
        is None
    )


# --- Changes are traced and told --------------------------------------------------------------


def test_each_access_change_is_traced_and_notified(space, django_capture_on_commit_callbacks):
    holder = _actor(space.holder.user)
    doctor = _pro()
    with django_capture_on_commit_callbacks(execute=True):
        relation = services.authorise(space=space, professional=doctor, by=holder)
        services.revoke(relation=relation, by=holder)
        blocked = services.block(space=space, professional=doctor, by=holder)
        services.unblock(blocked=blocked, by=holder)
        services.set_emergency_settings(space=space, samu_access=False, by=holder)
    actions = list(
        AuditEvent.objects.filter(space=space).order_by("seq").values_list("action", flat=True)
    )
    assert actions == [
        "grant_authorised",
        "access_revoked",
        "professional_blocked",
        "professional_unblocked",
        "emergency_settings_changed",
    ]
    kinds = list(
        Notification.objects.filter(space=space).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds == [
        "access_granted",
        "access_revoked",
        "professional_blocked",
        "professional_unblocked",
        "emergency_settings_changed",
    ]
    assert Block.objects.get().lifted_at is not None
    sent = assert_email_left(space.holder.user.email, count=5)
    assert [m.subject for m in sent] == [
        f"[Mon espace santé] {n.subject}" for n in Notification.objects.order_by("pk")
    ]


# --- Cost ------------------------------------------------------------------------------------


def test_the_decision_for_a_document_list_costs_a_constant_number_of_queries(space, author):
    pharmacist = _pro("pharmacien")
    _relate(space, pharmacist)
    pharmacist.user.refresh_from_db()

    documents_visible_to(decide(pharmacist.user, Action.VIEW_SPACE, space))  # caches the matrix

    def cost(documents):
        for index in range(documents):
            make_document(space, professional=author, title=f"Doc {index}")
        user = type(pharmacist.user).objects.get(pk=pharmacist.user.pk)
        with CaptureQueriesContext(connection) as queries:
            decision = decide(user, Action.VIEW_SPACE, space)
            list(Document.objects.filter(space=space).filter(documents_visible_to(decision)))
        return len(queries)

    assert cost(1) == cost(200)


def test_a_professional_cannot_add_through_the_patients_own_pages(space):
    """The patient's upload form would skip the matrix and the occupational part."""
    occupational = _pro(specialty="medecine_travail")
    services.declare_consent(space=space, professional=occupational, by=_actor(occupational.user))
    attending = _pro()
    _relate(space, attending, CareRelation.Basis.ATTENDING)
    for professional in (occupational, attending):
        decision = decide(professional.user, Action.ADD_OWN_DOCUMENT, space)
        assert (decision.allowed, decision.reason) == (False, "action_not_allowed")
    assert decide(space.holder.user, Action.ADD_OWN_DOCUMENT, space)


def test_the_trail_names_the_professional_an_access_change_was_about(space, client):
    from django.urls import reverse

    from tests.conftest import sign_in

    doctor = _pro()
    services.authorise(space=space, professional=doctor, by=_actor(space.holder.user))
    sign_in(client, space.holder.user)
    url = reverse("espace_sante:history", args=[space.public_id])
    body = client.get(url, {"qui": "moi"}).content.decode()  # the holder's own action
    assert f"Autorisation d&#x27;un professionnel : {doctor.title}" in body


# The trail with the reader's own entries (the page opens on what others did).
EVERYONE = {"qui": "tous"}


def test_the_patients_trail_says_nothing_of_a_document_hidden_from_them(client):
    """Before the announcement, "Dr X added a document" would give the news away."""
    from django.urls import reverse

    from espace_sante import export
    from tests.conftest import sign_in

    space = factories.MinorSpaceFactory()
    parent = factories.LegalRepresentativeFactory(space=space).user
    author = _pro()
    _relate(space, author, CareRelation.Basis.ATTENDING)
    hidden = make_document(space, professional=author, invisible_to_patient=True)
    secret = make_document(space, professional=author, invisible_to_representatives=True)
    for document in (hidden, secret):
        services.check_and_trace(
            actor=_actor(author.user), space=space, action=Action.VIEW_DOCUMENT, target=document
        )
    assert AuditEvent.objects.filter(space=space, detail__hidden_from="patient").count() == 2
    sign_in(client, parent)
    body = client.get(
        reverse("espace_sante:history", args=[space.public_id]), EVERYONE
    ).content.decode()
    assert "Ajout d&#x27;un document" not in body
    assert "Consultation d&#x27;un document" not in body
    assert "Consultation de l&#x27;historique" in body  # the rest of the trail is there
    control = client.get(reverse("acces_patient:page", args=[space.public_id])).content.decode()
    assert "1 document" not in control and "2 documents" not in control
    assert "Aucun" in control  # the attending physician's row: nothing they may be told of
    archive = __import__("zipfile").ZipFile(__import__("io").BytesIO(export.build_archive(space)))
    trail = archive.read("historique.csv").decode("utf-8-sig")
    assert "Ajout d'un document" not in trail
    assert "Consultation de l'historique" in trail
    # The attending physician reads them (professionals' entries), and the parent sees the
    # announcement once it is made.
    from dossier import services as documents

    documents.announce_to_patient(document=hidden, by=_actor(author.user))
    body = client.get(
        reverse("espace_sante:history", args=[space.public_id]), EVERYONE
    ).content.decode()
    assert "Document rendu visible du patient" in body


def test_the_patient_is_told_the_occupational_physician_sees_only_the_occupational_part(
    space, django_capture_on_commit_callbacks
):
    occupational = _pro(specialty="medecine_travail")
    with django_capture_on_commit_callbacks(execute=True):
        services.declare_consent(
            space=space, professional=occupational, by=_actor(occupational.user)
        )
    told = Notification.objects.get(space=space, kind="care_team_joined")
    assert "volet santé au travail" in told.body
    assert "équipe de soins" not in told.body
    (sent,) = assert_email_left(space.holder.user.email)
    assert "volet santé au travail" in sent.body
