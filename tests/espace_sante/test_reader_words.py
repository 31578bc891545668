"""Each reader gets words for them: a parent on a child's space is addressed as the
child's representative (« le dossier de Léo »), never as the child."""

import html

import pytest
from django.test import Client

from acces.models import CareRelation
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.fixture
def leo():
    return factories.MinorSpaceFactory(holder__first_names="Léo", holder__last_name="Durand")


@pytest.fixture
def parent(leo):
    user = factories.PatientFactory(first_names="Camille", last_name="Durand").user
    factories.LegalRepresentativeFactory(space=leo, user=user)
    return user


def test_a_parent_reads_the_childs_control_page_about_the_child(leo, parent):
    page = _text(sign_in(Client(), parent).get(f"/espace/{leo.public_id}/acces/"))
    assert "<h1>Qui a accès au dossier de Léo</h1>" in page
    assert "Qui a accès à mon dossier" not in page
    assert "Autoriser un professionnel ou désigner le médecin traitant de Léo" in page
    assert "Aucun médecin traitant n'est désigné pour Léo" in page
    assert "votre dossier" not in page


def test_a_parent_reads_the_childs_space_page_about_the_child(leo, parent):
    factories.CareRelationFactory(space=leo, basis=CareRelation.Basis.ATTENDING)
    page = _text(sign_in(Client(), parent).get(f"/espace/{leo.public_id}/"))
    assert "Professionnels qui ont accès au dossier de Léo" in page
    assert "Le médecin traitant de Léo voit l'ensemble du dossier" in page
    assert "Votre médecin traitant" not in page
    assert "Qui a accès au dossier de Léo : gérer les accès" in page
    assert "à mon dossier" not in page


def test_the_holder_still_reads_about_their_own_record():
    space = factories.SpaceFactory()
    page = _text(sign_in(Client(), space.holder.user).get(f"/espace/{space.public_id}/acces/"))
    assert "<h1>Qui a accès à mon dossier</h1>" in page


def test_an_elided_first_name_reads_d_apostrophe():
    space = factories.MinorSpaceFactory(holder__first_names="Élodie Anne")
    user = factories.PatientFactory().user
    factories.LegalRepresentativeFactory(space=space, user=user)
    page = _text(sign_in(Client(), user).get(f"/espace/{space.public_id}/acces/"))
    assert "<h1>Qui a accès au dossier d'Élodie</h1>" in page


def test_messages_after_a_change_speak_of_the_childs_record(leo, parent):
    doctor = factories.ProfessionalFactory(user__last_name="Traitante")
    client = sign_in(Client(), parent)
    response = client.post(
        f"/espace/{leo.public_id}/acces/medecin-traitant/", {"rpps": doctor.rpps}, follow=True
    )
    assert "est désormais le médecin traitant de Léo" in _text(response)
