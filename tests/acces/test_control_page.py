"""The patient's control page, "Qui a accès à mon dossier": as the holder and as a minor's
legal representative, every change through the page, forged requests, and who is refused."""

import html

import pytest
from django.test import Client

from acces import services
from acces.models import AccessSettings, AuditEvent, Block, CareRelation, EmergencyAccess
from dossier.models import Document
from espace_sante.models import Notification
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in
from tests.factories import make_document
from tests.mailbox import delivered

pytestmark = pytest.mark.django_db


def _pro(profession="medecin", specialty="medecine_generale", *, last_name, **kwargs):
    professional = factories.ProfessionalFactory(
        profession=profession,
        specialty=specialty,
        user__first_name="Jeanne",
        user__last_name=last_name,
        **kwargs,
    )
    factories.TOTPDeviceFactory(user=professional.user)
    return professional


def _relate(space, professional, basis, **kwargs):
    return factories.CareRelationFactory(
        space=space, professional=professional, basis=basis, **kwargs
    )


def _client(user):
    return sign_in(Client(), user)


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _actor(user):
    return Actor(user=user, role=user.kind)


def _url(space, rest=""):
    return f"/espace/{space.public_id}/acces/{rest}"


@pytest.fixture(params=["holder", "representative"])
def managed(request):
    """(space, the user who manages it): an adult's own space, or a minor's by a parent."""
    if request.param == "holder":
        space = factories.SpaceFactory()
        return space, space.holder.user
    parent = factories.UserFactory(first_name="Parent")
    space = factories.MinorSpaceFactory()
    factories.LegalRepresentativeFactory(space=space, user=parent)
    return space, parent


@pytest.fixture
def space(managed):
    return managed[0]


@pytest.fixture
def manager(managed):
    return managed[1]


@pytest.fixture
def attending(space):
    professional = _pro(last_name="Traitante")
    _relate(space, professional, CareRelation.Basis.ATTENDING)
    return professional


def _row(page: str, name: str) -> str:
    """The table row that names `name`."""
    return next(row for row in page.split("<tr>") if name in row).split("</tr>")[0]


def _tells(space, kind) -> bool:
    """A notification of `kind` was written and its email really leaves."""
    return delivered(Notification.objects.filter(space=space, kind=kind))


def _traced(space, action, **filters) -> bool:
    return AuditEvent.objects.filter(space=space, action=action, **filters).exists()


# --- What the page shows -----------------------------------------------------------------------


def test_the_page_lists_each_relation_with_its_basis_and_the_documents_added(
    space, manager, attending
):
    nurse = _pro("infirmier", "", last_name="Soignante")
    services.declare_consent(space=space, professional=nurse, by=_actor(nurse.user))
    authorised = _pro("pharmacien", "", last_name="Officinale")
    _relate(space, authorised, CareRelation.Basis.AUTHORISED)
    make_document(space, professional=attending, title="Bilan A")
    make_document(space, professional=attending, title="Bilan B")
    make_document(space, by_user=manager, title="Mon document")

    page = _text(_client(manager).get(_url(space)))

    rows = {name: _row(page, name) for name in ("Traitante", "Soignante", "Officinale")}
    assert "Médecin traitant" in rows["Traitante"]
    assert "2 documents" in rows["Traitante"]
    assert "Équipe de soins" in rows["Soignante"]
    assert "accord déclaré le" in rows["Soignante"]
    assert "Aucun" in rows["Soignante"]
    assert "Autorisation du patient" in rows["Officinale"]
    assert "Retirer l'accès" in rows["Officinale"]
    assert "Bloquer" in rows["Officinale"]
    assert "Vous n'avez pas désigné de médecin traitant" not in page


def test_the_documents_added_are_counted_on_the_documents_the_reader_sees(
    space, manager, attending
):
    from dossier import services as dossier_services

    make_document(space, professional=attending, title="Bilan A")
    hidden = make_document(
        space, professional=attending, title="Diagnostic", invisible_to_patient=True
    )
    make_document(
        space, professional=attending, title="Pour l'enfant", invisible_to_representatives=True
    )

    row = _row(_text(_client(manager).get(_url(space))), "Traitante")
    assert ("2 documents" if manager == space.holder.user else "1 document") in row

    # Once announced the document is on the patient's list, so in the count, although the trail's
    # entry of its addition stays hidden from the patient.
    dossier_services.announce_to_patient(document=hidden, by=_actor(attending.user))
    row = _row(_text(_client(manager).get(_url(space))), "Traitante")
    assert ("3 documents" if manager == space.holder.user else "2 documents") in row


def test_the_page_says_when_no_attending_physician_is_designated(space, manager):
    page = _text(_client(manager).get(_url(space)))
    if manager == space.holder.user:
        assert "Vous n'avez pas désigné de médecin traitant" in page
        assert "Aucun professionnel de santé n'a accès à votre dossier" in page
    else:  # a parent is addressed as such, about the child's record
        assert "Aucun médecin traitant n'est désigné pour Enfant" in page
        assert "Aucun professionnel de santé n'a accès au dossier d'Enfant" in page


def test_the_directory_offers_authorise_designate_and_block(space, manager):
    doctor = _pro(last_name="Annuairienne", practice_town="Nantes")
    pharmacist = _pro("pharmacien", "", last_name="Annuairienne-Pharma", practice_town="Nantes")
    blocked = _pro(last_name="Annuairienne-Bloquée", practice_town="Nantes")
    services.block(space=space, professional=blocked, by=_actor(manager))

    page = _text(_client(manager).get(_url(space), {"query": "annuairienne"}))

    results = page.split('id="titre-annuaire"')[1].split('id="titre-bloques"')[0]
    entries = {
        professional.rpps: next(
            entry
            for entry in results.split('<li class="fr-mb-2w">')
            if f"RPPS {professional.rpps}" in entry
        )
        for professional in (doctor, pharmacist, blocked)
    }
    assert "Autoriser" in entries[doctor.rpps]
    assert "Désigner comme médecin traitant" in entries[doctor.rpps]
    assert "Bloquer" in entries[doctor.rpps]
    assert "Autoriser" in entries[pharmacist.rpps]
    assert "Désigner comme médecin traitant" not in entries[pharmacist.rpps]
    assert "Bloqué" in entries[blocked.rpps]
    assert "Autoriser" not in entries[blocked.rpps]


def test_a_directory_search_without_a_match_says_so(space, manager):
    page = _text(_client(manager).get(_url(space), {"query": "personne"}))
    assert "Aucun professionnel ne correspond à cette recherche." in page


# --- Changes -----------------------------------------------------------------------------------


def test_authorising_a_professional(space, manager):
    doctor = _pro(last_name="Autorisée")
    response = _client(manager).post(_url(space, "autoriser/"), {"rpps": doctor.rpps})
    assert response["Location"] == _url(space)
    relation = CareRelation.objects.get(space=space, professional=doctor, ended_at=None)
    assert relation.basis == CareRelation.Basis.AUTHORISED
    assert _traced(space, "grant_authorised", actor=manager)
    assert _tells(space, "access_granted")
    page = _text(_client(manager).get(_url(space)))
    assert "Dr Jeanne Autorisée" in page.split('id="titre-annuaire"')[0]


def test_the_occupational_physician_cannot_be_authorised_on_the_whole_record(space, manager):
    occupational = _pro(specialty="medecine_travail", last_name="Travail")
    client = _client(manager)
    response = client.post(_url(space, "autoriser/"), {"rpps": occupational.rpps}, follow=True)
    assert "volet santé au travail" in _text(response)
    assert not CareRelation.objects.filter(professional=occupational).exists()


def test_designating_the_attending_physician_ends_the_previous_one(space, manager, attending):
    successor = _pro(last_name="Successeure")
    response = _client(manager).post(_url(space, "medecin-traitant/"), {"rpps": successor.rpps})
    assert response["Location"] == _url(space)
    current = CareRelation.objects.get(
        space=space, basis=CareRelation.Basis.ATTENDING, ended_at=None
    )
    assert current.professional == successor
    previous = CareRelation.objects.get(space=space, professional=attending)
    assert previous.ended_at is not None
    assert _traced(space, "designate_attending", actor=manager)
    assert _tells(space, "attending_designated")
    page = _text(_client(manager).get(_url(space)))
    assert "Successeure" in page
    assert "Traitante" not in page


def test_a_pharmacist_cannot_be_designated_attending_physician(space, manager):
    pharmacist = _pro("pharmacien", "", last_name="Officinale")
    response = _client(manager).post(
        _url(space, "medecin-traitant/"), {"rpps": pharmacist.rpps}, follow=True
    )
    assert "Seul un médecin peut être désigné médecin traitant." in _text(response)
    assert not CareRelation.objects.filter(space=space).exists()


def test_revoking_asks_first_and_does_nothing_without_confirmation(space, manager, attending):
    relation = CareRelation.objects.get(space=space, professional=attending)
    client = _client(manager)
    url = _url(space, f"retirer/{relation.pk}/")

    question = _text(client.get(url))
    assert "Retirer l'accès du Dr Jeanne Traitante" in question
    assert "Oui, retirer l'accès" in question

    unconfirmed = client.post(url, {})
    assert unconfirmed.status_code == 200
    relation.refresh_from_db()
    assert relation.ended_at is None

    confirmed = client.post(url, {"confirm": "1"})
    assert confirmed["Location"] == _url(space)
    relation.refresh_from_db()
    assert relation.ended_at is not None
    assert _traced(space, "access_revoked", actor=manager)
    assert _tells(space, "access_revoked")
    assert _client(attending.user).get(f"/pro/patients/{space.public_id}/").status_code == 403


def test_blocking_asks_first_and_does_nothing_without_confirmation(space, manager, attending):
    client = _client(manager)
    url = _url(space, f"bloquer/{attending.rpps}/")

    question = _text(client.get(url))
    assert "Bloquer Dr Jeanne Traitante — Médecin, médecine générale ?" in question
    assert "Oui, bloquer" in question

    assert client.post(url, {}).status_code == 200
    assert not Block.objects.exists()

    confirmed = client.post(url, {"confirm": "1"})
    assert confirmed["Location"] == _url(space)
    assert Block.objects.filter(space=space, professional=attending, lifted_at=None).exists()
    assert _traced(space, "professional_blocked", actor=manager)
    assert _tells(space, "professional_blocked")
    # The block beats the attending physician's basis.
    refused = _client(attending.user).get(f"/pro/patients/{space.public_id}/")
    assert refused.status_code == 403
    page = _text(client.get(_url(space)))
    assert "Dr Jeanne Traitante" in page.split('id="titre-bloques"')[1]


def test_unblocking_gives_back_the_previous_basis(space, manager, attending):
    blocked = services.block(space=space, professional=attending, by=_actor(manager))
    response = _client(manager).post(_url(space, "debloquer/"), {"block": blocked.pk})
    assert response["Location"] == _url(space)
    blocked.refresh_from_db()
    assert blocked.lifted_at is not None
    assert _traced(space, "professional_unblocked", actor=manager)
    assert _tells(space, "professional_unblocked")
    assert _client(attending.user).get(f"/pro/patients/{space.public_id}/").status_code == 200


@pytest.mark.parametrize(
    ("posted", "expected"),
    [
        ({"samu_access": "on"}, {"emergency_access": False, "samu_access": True}),
        ({"emergency_access": "on"}, {"emergency_access": True, "samu_access": False}),
    ],
    ids=["break-glass-off", "samu-off"],
)
def test_each_emergency_switch_goes_off_on_its_own(space, manager, posted, expected):
    response = _client(manager).post(_url(space, "urgence/"), posted)
    assert response["Location"] == _url(space)
    settings = AccessSettings.objects.get(space=space)
    assert {
        "emergency_access": settings.emergency_access,
        "samu_access": settings.samu_access,
    } == expected
    changed = AuditEvent.objects.get(space=space, action="emergency_settings_changed")
    assert changed.actor == manager
    assert changed.detail == {name: value for name, value in expected.items() if not value}
    assert _tells(space, "emergency_settings_changed")


def test_posting_the_same_switches_again_changes_and_tells_nothing(space, manager):
    client = _client(manager)
    client.post(_url(space, "urgence/"), {"emergency_access": "on", "samu_access": "on"})
    assert not _traced(space, "emergency_settings_changed")
    assert not _tells(space, "emergency_settings_changed")


def test_mask_everything_emergencies_included(space, manager, attending):
    document = make_document(space, professional=attending, title="Bilan hépatique")
    urgentist = _pro(specialty="medecine_urgence", last_name="Urgentiste")
    services.open_emergency_access(
        space=space,
        professional=urgentist,
        mode=EmergencyAccess.Mode.BREAK_GLASS,
        reason="Patient inconscient aux urgences",
        by=_actor(urgentist.user),
    )
    urgentist_client = _client(urgentist.user)
    documents_url = f"/pro/patients/{space.public_id}/documents/"
    assert "Bilan hépatique" in _text(urgentist_client.get(documents_url))

    response = _client(manager).post(
        f"/espace/{space.public_id}/documents/masquer-tout/",
        {"masked": "1", "emergencies": "1", "confirm": "1"},
    )

    assert response["Location"] == _url(space)
    document.refresh_from_db()
    assert document.masked
    assert AccessSettings.objects.get(space=space).masked_from_emergencies
    assert _traced(space, "documents_masked_all", actor=manager)
    assert "Bilan hépatique" not in _text(urgentist_client.get(documents_url))
    detail = urgentist_client.get(f"{documents_url}{document.public_id}/")
    assert detail.status_code == 403
    # The attending physician and the author still see it.
    assert "Bilan hépatique" in _text(_client(attending.user).get(documents_url))
    page = _text(_client(manager).get(_url(space)))
    assert "Tout rendre de nouveau visible" in page


# --- Forged requests ---------------------------------------------------------------------------


@pytest.fixture
def elsewhere():
    """Another space, with its own attending physician (a relation) and a blocked professional."""
    other = factories.SpaceFactory()
    doctor = _pro(last_name="Dailleurs")
    relation = _relate(other, doctor, CareRelation.Basis.ATTENDING)
    blocked = services.block(
        space=other, professional=_pro(last_name="Bloquée"), by=_actor(other.holder.user)
    )
    return {"relation": relation, "block": blocked}


def _denied_reasons(space, user):
    return list(
        AuditEvent.objects.filter(space=space, actor=user, outcome="denied").values_list(
            "detail__reason", flat=True
        )
    )


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_spaces_relation_is_a_traced_404_and_stays(space, manager, elsewhere, method):
    relation = elsewhere["relation"]
    response = getattr(_client(manager), method)(
        _url(space, f"retirer/{relation.pk}/"), {"confirm": "1"}
    )
    assert response.status_code == 404
    assert "Dailleurs" not in _text(response)
    relation.refresh_from_db()
    assert relation.ended_at is None
    assert _denied_reasons(space, manager) == ["relation_not_found"]


def test_another_spaces_block_is_a_traced_404_and_stays(space, manager, elsewhere):
    blocked = elsewhere["block"]
    response = _client(manager).post(_url(space, "debloquer/"), {"block": blocked.pk})
    assert response.status_code == 404
    blocked.refresh_from_db()
    assert blocked.lifted_at is None
    assert _denied_reasons(space, manager) == ["block_not_found"]


@pytest.mark.parametrize(
    ("rest", "data"),
    [
        ("autoriser/", {"rpps": "10000000008"}),
        ("medecin-traitant/", {"rpps": "10000000008"}),
        ("autoriser/", {}),
        ("bloquer/10000000008/", {"confirm": "1"}),
    ],
    ids=["authorise", "designate", "authorise-without-rpps", "block"],
)
def test_an_rpps_that_does_not_exist_is_a_traced_404(space, manager, rest, data):
    response = _client(manager).post(_url(space, rest), data)
    assert response.status_code == 404
    assert not CareRelation.objects.filter(space=space).exists()
    assert not Block.objects.exists()
    assert _denied_reasons(space, manager) == ["professional_not_found"]


# --- Who is refused ----------------------------------------------------------------------------


def _control_urls(space, attending, blocked):
    relation = CareRelation.objects.get(space=space, professional=attending)
    return [
        _url(space),
        _url(space, "autoriser/"),
        _url(space, "medecin-traitant/"),
        _url(space, f"retirer/{relation.pk}/"),
        _url(space, f"bloquer/{attending.rpps}/"),
        _url(space, "debloquer/"),
        _url(space, "urgence/"),
    ], {"rpps": attending.rpps, "confirm": "1", "block": blocked.pk}


@pytest.mark.parametrize("who", ["other_patient", "attending", "care_team", "agent"])
def test_nobody_but_the_holder_and_representatives_reaches_the_control_page(
    space, manager, attending, agent, who
):
    blocked = services.block(
        space=space, professional=_pro(last_name="Bloquée"), by=_actor(manager)
    )
    nurse = _pro("infirmier", "", last_name="Soignante")
    _relate(space, nurse, CareRelation.Basis.CARE_TEAM)
    user = {
        "other_patient": factories.SpaceFactory().holder.user,
        "attending": attending.user,
        "care_team": nurse.user,
        "agent": agent,
    }[who]
    urls, data = _control_urls(space, attending, blocked)
    client = _client(user)
    state = (
        list(CareRelation.objects.order_by("pk").values_list("pk", "ended_at")),
        list(Block.objects.order_by("pk").values_list("pk", "lifted_at")),
        AccessSettings.objects.filter(space=space).exists(),
    )
    for url in urls:
        for method in ("get", "post"):
            before = AuditEvent.objects.filter(space=space, outcome="denied").count()
            response = getattr(client, method)(url, data)
            if method == "get" and response.status_code == 405:
                continue
            assert response.status_code == 403, f"{method} {url}"
            assert space.holder.last_name not in _text(response)
            after = AuditEvent.objects.filter(space=space, outcome="denied").count()
            assert after == before + 1, f"{method} {url} was not traced"
    assert state == (
        list(CareRelation.objects.order_by("pk").values_list("pk", "ended_at")),
        list(Block.objects.order_by("pk").values_list("pk", "lifted_at")),
        AccessSettings.objects.filter(space=space).exists(),
    )
    assert not Document.objects.filter(space=space, masked=True).exists()


def test_revoking_a_professional_whose_name_starts_with_a_vowel_elides_de(space, manager):
    pharmacist = factories.ProfessionalFactory(
        profession="pharmacien", specialty="", user__first_name="Élodie", user__last_name="Roux"
    )
    relation = _relate(space, pharmacist, CareRelation.Basis.CARE_TEAM)
    client = _client(manager)
    url = _url(space, f"retirer/{relation.pk}/")
    question = _text(client.get(url))
    assert "Retirer l'accès d'Élodie Roux" in question
    assert "de Élodie" not in question
    done = _text(client.post(url, {"confirm": "1"}, follow=True))
    assert "L'accès d'Élodie Roux" in done
