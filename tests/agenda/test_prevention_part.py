"""The prevention part of a space: its answers in the full download, its count on the
space page, its rows gone at destruction, its actions known to the trail."""

import json
from datetime import date

import pytest
import time_machine

from acces.policy import Action, decide
from agenda.models import PreventionMark, PreventionPreference, PreventionStatus
from agenda.prevention import parts as prevention
from agenda.prevention.actions import PreventionAction
from espace_sante import actions, parts
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def space():
    space = factories.SpaceFactory(holder__birth_date=date(1974, 6, 1))
    PreventionMark.objects.create(
        space=space,
        rule_code="depistage-sein",
        rule_version="2025",
        kind="done",
        done_on=date(2025, 3, 1),
    )
    PreventionMark.objects.create(
        space=space, rule_code="depistage-colorectal", rule_version="2025", kind="not_concerned"
    )
    PreventionPreference.objects.create(
        space=space, programmes_off=["mt_dents"], conditions=["diabete"]
    )
    return space


def test_the_part_is_registered_with_its_actions():
    assert "prevention" in [part.name for part in parts.parts()]
    assert actions.label(PreventionAction.MARKED_DONE) == "Rappel de prévention indiqué comme fait"


def test_the_download_holds_the_persons_answers_and_choices(space):
    decision = decide(space.holder.user, Action.VIEW_AGENDA, space)
    [(path, content)] = list(prevention.export_prevention(space, decision))
    assert path == "agenda/prevention.json"
    data = json.loads(content)
    assert data["programmes_desactives"] == ["mt_dents"]
    assert data["situations_declarees"] == ["diabete"]
    assert [(m["rappel"], m["reponse"], m["date"], m["calendrier"]) for m in data["reponses"]] == [
        ("depistage-sein", "fait", "2025-03-01", "2025"),
        ("depistage-colorectal", "ne_me_concerne_pas", None, "2025"),
    ]


def test_the_space_page_counts_the_reminders_due_for_the_patients_side_only(space, professional):
    with time_machine.travel(date(2026, 12, 2), tick=False):
        decision = decide(space.holder.user, Action.VIEW_AGENDA, space)
        [(label, count)] = prevention.count_prevention(space, decision)
    assert label == "Rappels de prévention à faire" and count >= 1
    factories.CareRelationFactory(space=space, professional=professional, basis="attending")
    pro_decision = decide(professional.user, Action.VIEW_SPACE, space)
    assert prevention.count_prevention(space, pro_decision) == []
    assert list(prevention.export_prevention(space, pro_decision)) == []


def test_destruction_deletes_the_answers_choices_and_status(space):
    PreventionStatus.objects.create(
        space=space, next_check_on=date(2027, 1, 1), computed_on=date(2026, 12, 2)
    )
    prevention.destroy_prevention(space, keep_occupational=False)
    assert not PreventionMark.objects.filter(space=space).exists()
    assert not PreventionPreference.objects.filter(space=space).exists()
    assert not PreventionStatus.objects.filter(space=space).exists()
