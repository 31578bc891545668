"""A professional whose access the patient withdrew may declare consent again (the law's
model), but the patient hears of it at once, with a one-click way to block them."""

import html
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client

from acces.models import AuditEvent, Block, CareRelation
from espace_sante.models import Notification
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))


def _text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def space():
    return factories.SpaceFactory(holder__last_name="Peyrelevade")


@pytest.fixture
def doctor(space):
    professional = factories.ProfessionalFactory(user__last_name="Revenant")
    factories.TOTPDeviceFactory(user=professional.user)
    factories.CareRelationFactory(
        space=space, professional=professional, basis=CareRelation.Basis.AUTHORISED
    )
    return professional


def _declare_again(doctor, space, capture):
    client = sign_in(Client(), doctor.user)
    holder = space.holder
    identity = {
        "nir": holder.nir,
        "last_name": holder.last_name,
        "birth_date": holder.birth_date.isoformat(),
    }
    found = client.post("/pro/patients/recherche/", identity)
    assert found["Location"].endswith("/consentement/")
    with capture(execute=True):
        declared = client.post(found["Location"], {"consent": "on"})
    assert declared.status_code == 302
    return client


@time_machine.travel(MORNING, tick=False)
def test_a_declaration_after_a_withdrawal_is_told_at_once_with_a_way_to_block(
    space, doctor, django_capture_on_commit_callbacks
):
    patient = sign_in(Client(), space.holder.user)
    pro = sign_in(Client(), doctor.user)
    # The doctor opened the record this morning: their later accesses today are not "first".
    assert pro.get(f"/pro/patients/{space.public_id}/").status_code == 200
    relation = CareRelation.objects.get(space=space, professional=doctor)
    patient.post(f"/espace/{space.public_id}/acces/retirer/{relation.pk}/", {"confirm": "1"})
    assert pro.get(f"/pro/patients/{space.public_id}/").status_code == 403
    mail.outbox.clear()

    with time_machine.travel(MORNING.replace(hour=11), tick=False):
        _declare_again(doctor, space, django_capture_on_commit_callbacks)

    block_path = f"/espace/{space.public_id}/acces/bloquer/{doctor.rpps}/"
    sent = [m for m in mail.outbox if m.to == [space.holder.user.email]]
    assert len(sent) == 1
    assert "retiré l'accès" in sent[0].subject
    assert doctor.title in sent[0].body
    assert "10 mars 2026" in sent[0].body and "bloquez ce professionnel" in sent[0].body
    assert block_path in sent[0].body
    notice = Notification.objects.get(space=space, kind="care_team_rejoined")
    assert notice.link == block_path
    assert not Notification.objects.filter(space=space, kind="care_team_joined").exists()
    event = AuditEvent.objects.filter(space=space, action="consent_declared").latest("seq")
    assert event.detail["after_withdrawal"]

    # One click from the notification: a confirmation page; GET changes nothing.
    question = patient.get(block_path)
    assert question.status_code == 200
    assert "Oui, bloquer" in _text(question)
    assert not Block.objects.filter(space=space, professional=doctor).exists()
    patient.post(block_path, {"confirm": "1"})
    assert Block.objects.filter(space=space, professional=doctor, lifted_at=None).exists()
    assert pro.get(f"/pro/patients/{space.public_id}/").status_code == 403


def test_a_first_declaration_is_told_as_a_joining_not_as_a_return(
    space, django_capture_on_commit_callbacks
):
    newcomer = factories.ProfessionalFactory()
    factories.TOTPDeviceFactory(user=newcomer.user)
    _declare_again(newcomer, space, django_capture_on_commit_callbacks)
    assert Notification.objects.filter(space=space, kind="care_team_joined").exists()
    assert not Notification.objects.filter(space=space, kind="care_team_rejoined").exists()
    assert [m.to for m in mail.outbox] == [[space.holder.user.email]]


def test_the_control_page_says_withdrawing_does_not_prevent_a_new_declaration(space, doctor):
    page = _text(sign_in(Client(), space.holder.user).get(f"/espace/{space.public_id}/acces/"))
    assert "Retirer l'accès n'empêche pas un professionnel de déclarer de nouveau votre accord" in (
        page
    )
    assert "Bloquer un professionnel l'en empêche" in page
    relation = CareRelation.objects.get(space=space, professional=doctor)
    question = _text(
        sign_in(Client(), space.holder.user).get(
            f"/espace/{space.public_id}/acces/retirer/{relation.pk}/"
        )
    )
    assert "pour l'en empêcher, bloquez-le" in question
