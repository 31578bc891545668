"""The demo's prevention reminders: Camille, a woman of 52, and Léo."""

from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from agenda.models import PreventionMark
from agenda.prevention import selectors
from espace_sante.models import Space

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    with time_machine.travel(date(2026, 12, 2), tick=False):
        call_command("demo", stdout=StringIO())
        yield


def _space(first):
    return Space.objects.get(holder__first_names__startswith=first)


def _by_state(space):
    overview = selectors.overview(space)
    return {state: {r.code for r in items} for state, _title, items in overview.groups}


def test_camille_has_the_dtp_booster_to_plan_and_the_hpv_test_due(demo):
    camille = _space("Camille")
    states = _by_state(camille)
    assert "vac-dtp-45" in states["to_plan"]
    assert "vac-dtp-25" in states["done"]  # the booster of her profile (2019)
    due = {r.code: r for r in selectors.due_reminders(camille)}
    assert due["depistage-col-hpv"].state == "due"
    assert due["depistage-col-hpv"].label == "Dépistage du cancer du col de l'utérus"


def test_a_woman_of_52_has_breast_and_colorectal_screening(demo):
    nathalie = _space("Nathalie")
    assert nathalie.holder.birth_date == date(1974, 6, 1)
    due = {r.code: r.state for r in selectors.due_reminders(nathalie)}
    assert due["depistage-sein"] == "due" and due["depistage-colorectal"] == "overdue"


def test_leo_has_the_child_examinations(demo):
    leo = _space("Léo")
    states = _by_state(leo)
    assert "enfant-examen-19" in states["due"]
    assert "enfant-examen-20" in states["to_plan"]


def test_the_prevention_demo_is_idempotent(demo):
    count = PreventionMark.objects.count()
    with time_machine.travel(date(2026, 12, 2), tick=False):
        call_command("demo", stdout=StringIO())
    assert PreventionMark.objects.count() == count == 2
