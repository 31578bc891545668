"""What the pages say is what holds: who has access comes from the policy (a block beats
every basis), the directory says who already has access, the notifications page says
exactly what is notified."""

import html

import pytest
from django.test import Client
from django.utils.html import strip_tags

from acces import services
from acces.models import Block, CareRelation
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def _pro(last_name, profession="medecin", specialty="medecine_generale"):
    professional = factories.ProfessionalFactory(
        profession=profession, specialty=specialty, user__last_name=last_name
    )
    factories.TOTPDeviceFactory(user=professional.user)
    return professional


def _text(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _section(page: str, start: str, end: str) -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


@pytest.fixture
def space():
    return factories.SpaceFactory(holder__last_name="Vautrinière")


@pytest.fixture
def blocked_attending(space):
    """The attending physician, then blocked by the patient: the relation stays, the block wins."""
    professional = _pro("Bloquée")
    factories.CareRelationFactory(
        space=space, professional=professional, basis=CareRelation.Basis.ATTENDING
    )
    services.block(space=space, professional=professional, by=Actor(space.holder.user, "patient"))
    return professional


def test_a_blocked_professional_is_not_listed_as_having_access_on_the_space_page(
    space, blocked_attending
):
    kept = _pro("Gardée")
    factories.CareRelationFactory(space=space, professional=kept)
    page = _text(sign_in(Client(), space.holder.user).get(f"/espace/{space.public_id}/"))
    team = _section(page, "Professionnels qui ont accès à mon dossier", "gérer les accès")
    assert "Gardée" in team
    assert "Bloquée" not in team


def test_the_control_page_lists_a_blocked_professional_only_under_blocked(space, blocked_attending):
    page = _text(sign_in(Client(), space.holder.user).get(f"/espace/{space.public_id}/acces/"))
    having_access = _section(page, "Professionnels qui ont accès", "titre-annuaire")
    blocked = _section(page, "Professionnels bloqués", "titre-urgence")
    assert "Bloquée" not in having_access
    assert "Aucun professionnel de santé n'a accès à votre dossier" in having_access
    assert "Bloquée" in blocked
    # The block is lifted: the relation, never ended, gives access again and is listed again.
    services.unblock(
        blocked=Block.objects.get(professional=blocked_attending),
        by=Actor(space.holder.user, "patient"),
    )
    page = _text(sign_in(Client(), space.holder.user).get(f"/espace/{space.public_id}/acces/"))
    assert "Bloquée" in _section(page, "Professionnels qui ont accès", "titre-annuaire")


def test_the_pro_care_team_leaves_out_a_blocked_professional(space, blocked_attending):
    colleague = _pro("Collègue")
    factories.CareRelationFactory(space=space, professional=colleague)
    page = _text(sign_in(Client(), colleague.user).get(f"/pro/patients/{space.public_id}/"))
    team = _section(page, "Équipe de soins", "</section>")
    assert "Collègue" in team
    assert "Bloquée" not in team


def test_the_directory_says_who_has_access_and_offers_only_what_changes_something(space):
    attending = _pro("Traitante")
    factories.CareRelationFactory(
        space=space, professional=attending, basis=CareRelation.Basis.ATTENDING
    )
    authorised = _pro("Autorisée")
    factories.CareRelationFactory(
        space=space, professional=authorised, basis=CareRelation.Basis.AUTHORISED
    )
    _pro("Inconnue")
    client = sign_in(Client(), space.holder.user)

    def result(name):
        page = _text(client.get(f"/espace/{space.public_id}/acces/", {"query": name}))
        return _section(page, "portail-annuaire", "titre-bloques")

    authorise, designate = "/acces/autoriser/", "/acces/medecin-traitant/"
    traitante = result("Traitante")
    assert "A déjà accès au dossier : médecin traitant" in strip_tags(traitante)
    assert authorise not in traitante
    assert designate not in traitante
    assert "Bloquer" in traitante

    autorisee = result("Autorisée")
    assert "A déjà accès au dossier : autorisation du patient" in strip_tags(autorisee)
    assert authorise not in autorisee
    assert designate in autorisee  # becoming the attending physician changes something

    inconnue = result("Inconnue")
    assert "A déjà accès" not in inconnue
    assert authorise in inconnue
    assert designate in inconnue


def test_the_directory_offers_no_authorisation_to_the_occupational_physician(space):
    _pro("Dutravail", specialty="medecine_travail")
    page = _text(
        sign_in(Client(), space.holder.user).get(
            f"/espace/{space.public_id}/acces/", {"query": "Dutravail"}
        )
    )
    found = _section(page, "portail-annuaire", "titre-bloques")
    assert "n'accède qu'au volet santé au travail" in found
    assert "/acces/autoriser/" not in found
    assert "/acces/medecin-traitant/" not in found


def test_the_notifications_page_says_exactly_what_is_notified(space):
    page = _text(sign_in(Client(), space.holder.user).get("/notifications/"))
    assert "chaque accès d'un professionnel" not in page
    assert (
        "première consultation de votre dossier par un professionnel de santé dans la journée"
        in page
    )
    for told in (
        "accès en urgence",
        "déclaration de votre accord",
        "document ajouté",
        "changement des accès",
    ):
        assert told in page


def test_the_pro_portal_does_not_promise_a_notification_of_every_access(space):
    doctor = _pro("Généraliste")
    factories.CareRelationFactory(space=space, professional=doctor)
    client = sign_in(Client(), doctor.user)
    for url in ("/pro/", f"/pro/patients/{space.public_id}/"):
        page = _text(client.get(url))
        assert "qui en est informé" not in page
        assert "première ouverture de son dossier dans la journée" in page


# --- The occupational physician: what she can do, and nothing else ---------------------------


@pytest.fixture
def occupational():
    return _pro("Dutravail", specialty="medecine_travail")


def test_the_occupational_physicians_home_offers_no_authorisation_and_no_emergency(occupational):
    page = _text(sign_in(Client(), occupational.user).get("/pro/"))
    assert "volet santé au travail" in page
    assert "un patient peut aussi vous autoriser" not in page
    assert "/pro/patients/urgence/" not in page  # neither the button nor the menu entry


def test_the_emergency_page_tells_the_occupational_physician_it_is_not_hers(space, occupational):
    client = sign_in(Client(), occupational.user)
    page = _text(client.get("/pro/patients/urgence/"))
    assert "L'accès en urgence ne fait pas partie de votre exercice" in page
    assert "<form" not in page.split("<main", 1)[1]
    data = {
        "nir": space.holder.nir,
        "last_name": space.holder.last_name,
        "birth_date": space.holder.birth_date.isoformat(),
        "mode": "break_glass",
        "reason": "Malaise sur le lieu de travail",
    }
    client.post("/pro/patients/urgence/", data)
    assert not space.emergency_accesses.exists()


def test_a_pharmacist_is_not_offered_an_emergency_access():
    pharmacist = _pro("Officine", profession="pharmacien", specialty="")
    client = sign_in(Client(), pharmacist.user)
    assert "/pro/patients/urgence/" not in _text(client.get("/pro/"))
    assert "Seuls un médecin, une sage-femme" in _text(client.get("/pro/patients/urgence/"))


def test_after_consent_the_occupational_physician_is_told_what_she_accesses(space, occupational):
    client = sign_in(Client(), occupational.user)
    identity = {
        "nir": space.holder.nir,
        "last_name": space.holder.last_name,
        "birth_date": space.holder.birth_date.isoformat(),
    }
    consent_url = client.post("/pro/patients/recherche/", identity)["Location"]
    page = _text(client.get(consent_url))
    assert "vous n'accédez qu'au volet santé au travail" in page
    assert "Vous rejoignez son équipe de soins" not in page
    assert "le volet santé au travail de son dossier" in page  # the declaration's wording
    opened = client.post(consent_url, {"consent": "on"}, follow=True)
    text = _text(opened)
    assert "vous accédez au volet santé au travail de ce patient" in text
    assert "vous faites partie de l'équipe de soins" not in text
