"""The prevention page: what the holder (or a parent) sees and does, each answer traced,
and what everyone else is refused."""

import html
from datetime import date

import pytest
import time_machine
from django.urls import reverse

from acces.models import AuditEvent
from agenda.models import PreventionMark, PreventionPreference
from agenda.prevention import selectors
from agenda.prevention.actions import PreventionAction
from dossier.models import Vaccination
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 2)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(date(2026, 12, 2), tick=False):
        yield


@pytest.fixture
def woman(db):
    """52 years old: breast and colorectal screening, the cervical HPV test."""
    return factories.SpaceFactory(holder__birth_date=date(1974, 6, 1), holder__sex="F")


def page_text(response):
    return html.unescape(response.content.decode())


def url(name, space, *args):
    return reverse(f"agenda:{name}", args=[space.public_id, *args])


def test_the_page_groups_reminders_by_state_with_why_and_source(client, woman):
    body = page_text(sign_in(client, woman.holder.user).get(url("prevention", woman)))
    assert "Mes rappels de prévention" in body
    assert "Mammographie de dépistage du cancer du sein" in body
    assert "Test de dépistage du cancer colorectal" in body
    assert "En retard" in body and "Pourquoi ce rappel ?" in body
    assert "Les femmes de 50 à 74 ans sont invitées tous les 2 ans" in body
    assert "Institut national du cancer (INCa)" in body
    # Child examinations and the infant schedule are long past: not shown.
    assert "Examen obligatoire" not in body and "Rotavirus" not in body
    assert AuditEvent.objects.filter(space=woman, action="view_agenda").exists()


def test_the_breadcrumb_leads_back_to_the_agenda(client, woman):
    body = page_text(sign_in(client, woman.holder.user).get(url("prevention", woman)))
    assert f'href="{url("home", woman)}">Agenda</a>' in body


def test_a_man_sees_no_breast_or_cervical_screening(client):
    man = factories.SpaceFactory(holder__birth_date=date(1974, 6, 1), holder__sex="M")
    body = page_text(sign_in(client, man.holder.user).get(url("prevention", man)))
    assert "Test de dépistage du cancer colorectal" in body
    assert "Mammographie" not in body and "col de l'utérus" not in body.split("Programmes")[0]


def test_marking_done_moves_the_reminder_and_is_traced(client, woman):
    sign_in(client, woman.holder.user)
    page = client.get(url("prevention_done", woman, "depistage-sein"))
    assert "Date à laquelle c'était fait" in page_text(page)
    response = client.post(url("prevention_done", woman, "depistage-sein"), {"day": "2026-03-10"})
    assert response.status_code == 302
    mark = PreventionMark.objects.get(space=woman)
    assert (mark.rule_code, mark.rule_version, mark.done_on) == (
        "depistage-sein",
        "2025",
        date(2026, 3, 10),
    )
    due = {r.code for r in selectors.due_reminders(woman)}
    assert "depistage-sein" not in due and "depistage-colorectal" in due
    body = page_text(client.get(url("prevention", woman)))
    assert "Fait le 10 mars 2026, d'après votre réponse." in body
    assert "Prochaine fois à partir du 10 mars 2028." in body
    assert AuditEvent.objects.filter(space=woman, action=PreventionAction.MARKED_DONE).exists()


def test_a_date_in_the_future_is_refused_in_french(client, woman):
    sign_in(client, woman.holder.user)
    response = client.post(url("prevention_done", woman, "depistage-sein"), {"day": "2027-01-10"})
    assert response.status_code == 200
    assert "La date ne peut pas être dans le futur." in page_text(response)
    assert not PreventionMark.objects.exists()
    response = client.post(url("prevention_done", woman, "depistage-sein"), {"day": "hier"})
    assert "Indiquez une date valide" in page_text(response)


def test_a_vaccination_of_the_profile_satisfies_the_booster(client, woman):
    Vaccination.objects.create(space=woman, vaccine="Repevax (rappel dTcaP)", date=date(2019, 7, 1))
    reminders = selectors.overview(woman, TODAY)
    done = {r.code: r for _state, _t, items in reminders.groups for r in items if r.state == "done"}
    assert done["vac-dtp-45"].satisfied_label == "une vaccination de votre profil médical"
    body = page_text(sign_in(client, woman.holder.user).get(url("prevention", woman)))
    assert "Fait le 1 juillet 2019, d'après une vaccination de votre profil médical." in body


def test_not_concerned_asks_for_confirmation_then_hides_the_reminder(client, woman):
    sign_in(client, woman.holder.user)
    page = client.get(url("prevention_decline", woman, "depistage-colorectal"))
    assert "Ce rappel ne vous concerne pas ?" in page_text(page)
    assert not PreventionMark.objects.exists()  # a GET changes nothing
    client.post(url("prevention_decline", woman, "depistage-colorectal"))
    assert "depistage-colorectal" not in {r.code for r in selectors.due_reminders(woman)}
    body = page_text(client.get(url("prevention", woman)))
    assert "Proposer de nouveau" in body
    mark = PreventionMark.objects.get(space=woman)
    client.post(url("prevention_remove", woman, mark.pk))
    assert "depistage-colorectal" in {r.code for r in selectors.due_reminders(woman)}
    actions = set(AuditEvent.objects.filter(space=woman).values_list("action", flat=True))
    assert {PreventionAction.DECLINED, PreventionAction.MARK_REMOVED} <= actions


def test_a_programme_turned_off_and_on_again(client, woman):
    sign_in(client, woman.holder.user)
    confirm = client.get(url("prevention_programme", woman, "depistage_sein"))
    assert "Désactiver ces rappels ?" in page_text(confirm)
    client.post(url("prevention_programme", woman, "depistage_sein"), {"on": "0"})
    assert PreventionPreference.objects.get(space=woman).programmes_off == ["depistage_sein"]
    assert "depistage-sein" not in {r.code for r in selectors.due_reminders(woman)}
    body = page_text(client.get(url("prevention", woman)))
    assert "rappels désactivés" in body and "Réactiver" in body
    client.post(url("prevention_programme", woman, "depistage_sein"), {"on": "1"})
    assert "depistage-sein" in {r.code for r in selectors.due_reminders(woman)}
    assert client.get(url("prevention_programme", woman, "inconnu")).status_code == 404


def test_declaring_a_condition_brings_the_flu_vaccine_earlier(client, woman):
    assert "vac-grippe" not in {r.code for r in selectors.due_reminders(woman)}
    sign_in(client, woman.holder.user)
    client.post(url("prevention_conditions", woman), {"conditions": ["diabete"]})
    assert PreventionPreference.objects.get(space=woman).conditions == ["diabete"]
    assert "vac-grippe" in {r.code for r in selectors.due_reminders(woman)}
    event = AuditEvent.objects.get(space=woman, action=PreventionAction.CONDITIONS_DECLARED)
    assert "diabete" not in str(event.detail)  # the trail says it changed, not what
    response = client.post(url("prevention_conditions", woman), {"conditions": ["inventee"]})
    assert response.status_code == 200 and "fr-error-text" in page_text(response)


def test_a_representative_sees_and_answers_for_a_minor(client):
    rep = factories.LegalRepresentativeFactory(space__holder__birth_date=date(2015, 6, 3))
    sign_in(client, rep.user)
    body = page_text(client.get(url("prevention", rep.space)))
    assert "Examen obligatoire entre 11 et 13 ans" in body
    client.post(url("prevention_done", rep.space, "enfant-examen-19"), {"day": "2026-07-01"})
    assert PreventionMark.objects.get(space=rep.space).by == rep.user


def test_others_are_refused(client, woman, professional):
    other = factories.SpaceFactory()
    sign_in(client, other.holder.user)
    assert client.get(url("prevention", woman)).status_code == 403
    assert client.post(url("prevention_decline", woman, "depistage-sein")).status_code == 403
    sign_in(client, professional.user)
    assert client.get(url("prevention", woman)).status_code == 403
    assert not PreventionMark.objects.exists()


def test_unknown_rule_is_404(client, woman):
    sign_in(client, woman.holder.user)
    assert client.get(url("prevention_done", woman, "nexiste-pas")).status_code == 404


def _answers(space, count):
    for day in range(count):
        PreventionMark.objects.create(
            space=space,
            rule_code="depistage-sein",
            rule_version="2025",
            kind="done",
            done_on=date(2000, 1, 1 + day % 28),
        )
        Vaccination.objects.create(
            space=space, vaccine="Vaxigrip", date=date(2001, 1, 1 + day % 28)
        )


@pytest.mark.parametrize("count", [1, 30])
def test_due_reminders_reads_in_six_queries(woman, django_assert_num_queries, count):
    _answers(woman, count)
    with django_assert_num_queries(6):
        selectors.due_reminders(woman)


def test_the_page_uses_the_same_number_of_queries_whatever_the_size(client, woman):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = factories.SpaceFactory(holder__birth_date=date(1974, 6, 1))
    _answers(woman, 40)
    _answers(small, 1)
    counts = []
    for space in (small, woman):
        sign_in(client, space.holder.user)
        client.get(url("prevention", space))  # the session and the navigation warmed
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("prevention", space)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
