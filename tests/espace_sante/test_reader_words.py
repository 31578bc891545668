"""Each reader gets words for them: a parent on a child's space is addressed as the
child's representative (« le dossier de Léo »), never as the child."""

import html
from datetime import date

import pytest
from django.core import mail
from django.test import Client

from acces.models import AuditEvent, CareRelation
from espace_sante.models import Notification, Space
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


# --- A representative activates the child's space from their own account ---------------------


@pytest.fixture
def announced_leo():
    from espace_sante import services
    from espace_sante.tracing import Actor

    return services.enrol_person(
        nir=factories.next_nir(sex="1", born=date(2016, 2, 1)),
        last_name="Durand",
        first_names="Léo",
        birth_date=date(2016, 2, 1),
        sex="M",
        carte_vitale_serial="1002003099",
        announce=False,
        by=Actor.system(),
    )


@pytest.fixture
def leos_parent(announced_leo):
    user = factories.PatientFactory(first_names="Camille", last_name="Durand").user
    factories.LegalRepresentativeFactory(space=announced_leo, user=user)
    return user


def _code(space):
    from espace_sante import lifecycle
    from espace_sante.tracing import Actor

    return lifecycle.issue_code(space=space, channel="letter", by=Actor.system())


def test_a_parent_activates_the_childs_space_with_its_code_then_manages_it(
    announced_leo, leos_parent, django_capture_on_commit_callbacks
):
    code = _code(announced_leo)
    client = sign_in(Client(), leos_parent)
    url = f"/espace/{announced_leo.public_id}/"
    page = _text(client.get(url))
    assert "Activer l'espace de Léo" in page
    assert f"/espace/{announced_leo.public_id}/acces/" not in page  # not open: nothing to manage
    assert client.get(url + "acces/").status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        done = _text(client.post(url + "activer/", {"code": code}, follow=True))
    assert "L'espace de Léo est activé" in done
    announced_leo.refresh_from_db()
    assert announced_leo.state == Space.State.ACTIVE
    assert announced_leo.holder.user is None  # Léo gets his account at majority
    assert "Activer l'espace de Léo" not in done
    assert "Qui a accès au dossier de Léo : gérer les accès" in done
    assert _text(client.get(url + "acces/")).count("Qui a accès au dossier de Léo") >= 1
    event = AuditEvent.objects.get(space=announced_leo, action="space_activated")
    assert (event.actor, event.detail["by"]) == (leos_parent, "legal_representative")
    told = Notification.objects.get(recipient=leos_parent, kind="legal_representative_activated")
    assert "Léo" in told.body
    assert any("Léo" in m.body for m in mail.outbox)


def test_a_wrong_code_does_not_activate_the_childs_space(announced_leo, leos_parent):
    _code(announced_leo)
    client = sign_in(Client(), leos_parent)
    url = f"/espace/{announced_leo.public_id}/activer/"
    page = _text(client.post(url, {"code": "ABCD-EFGH-JKLM"}, follow=True))
    assert "fr-alert--error" in page or "Les informations saisies" in page
    announced_leo.refresh_from_db()
    assert announced_leo.state == Space.State.ANNOUNCED


def test_only_a_representative_may_activate_a_childs_space(announced_leo, leos_parent):
    code = _code(announced_leo)
    stranger = factories.SpaceFactory().holder.user
    response = sign_in(Client(), stranger).post(
        f"/espace/{announced_leo.public_id}/activer/", {"code": code}
    )
    assert response.status_code == 403
    announced_leo.refresh_from_db()
    assert announced_leo.state == Space.State.ANNOUNCED


def test_the_child_come_of_age_activates_their_own_account_on_the_space(announced_leo, leos_parent):
    from espace_sante import lifecycle
    from espace_sante.tracing import Actor

    lifecycle.activate_for_minor(
        space=announced_leo, code=_code(announced_leo), by=Actor(leos_parent, "patient")
    )
    holder = announced_leo.holder
    user = lifecycle.activate(
        claim=lifecycle.Claim(
            nir=holder.nir,
            carte_vitale_serial=holder.carte_vitale_serial,
            code=_code(announced_leo),
        ),
        email="leo@exemple.fr",
        password="Un-mot-de-passe-solide-2026",
        by=Actor.system(),
    )
    announced_leo.refresh_from_db()
    assert announced_leo.state == Space.State.ACTIVE
    assert announced_leo.holder.user == user


def test_the_demo_gives_leo_a_code_that_camille_activates_his_space_with():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("demo", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if "espace d'un enfant" in line)
    code = line.split("code ")[1].strip()
    leo = Space.objects.get(holder__first_names="Léo")
    assert f"/espace/{leo.public_id}/" in line
    camille = leo.representatives.get().user
    client = sign_in(Client(), camille)
    page = _text(client.post(f"/espace/{leo.public_id}/activer/", {"code": code}, follow=True))
    assert "L'espace de Léo est activé" in page
    leo.refresh_from_db()
    assert leo.state == Space.State.ACTIVE
