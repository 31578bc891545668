"""The audit vocabulary: every action the code traces has a French label, one app per code."""

import ast
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from acces import audit
from acces.actions import AccessAction
from acces.models import AuditEvent, CareRelation, EmergencyAccess
from acces.policy import Action
from dossier.actions import DossierAction, profile_action
from dossier.models import ProfileChange
from dossier.profile import ENTRY_PARTS, SINGLE_PARTS
from espace_sante import actions
from espace_sante.actions import AuditAction, SpaceAction
from espace_sante.labels import action_label
from espace_sante.tracing import Actor
from messagerie.actions import MessagingAction

ROOT = Path(__file__).resolve().parents[2]
APPS = ("espace_sante", "acces", "dossier", "messagerie", "agenda", "catalogue")
VOCABULARIES = (SpaceAction, AccessAction, DossierAction, MessagingAction)
# The calls that write an action to the trail, and the helpers that pass theirs on.
TRACING_CALLS = {"trace", "trace_many", "record", "record_many", "_move", "_trace_rule"}


def _source_files():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_no_action_is_traced_as_a_bare_string():
    bare = []
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call) or _called_name(node) not in TRACING_CALLS:
                continue
            arguments = [kw.value for kw in node.keywords if kw.arg == "action"]
            if _called_name(node) == "_trace_rule" and len(node.args) > 1:
                arguments.append(node.args[1])
            for value in arguments:
                for leaf in ast.walk(value):
                    if isinstance(leaf, ast.Constant | ast.JoinedStr) and (
                        not isinstance(leaf, ast.Constant) or isinstance(leaf.value, str)
                    ):
                        bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bare == []


@pytest.mark.parametrize("member", [m for enum in VOCABULARIES for m in enum], ids=str)
def test_every_action_has_a_french_label(member):
    with translation.override("fr"):
        label = action_label(member)
    assert label != member.value
    assert label[0].isupper() and "_" not in label
    assert actions.lookup(member.value) is member


def test_every_action_the_policy_decides_has_a_label():
    for action in Action:
        assert actions.lookup(action.value) is not None, action


def test_every_basis_granted_and_emergency_mode_has_its_action():
    assert AccessAction.grant(CareRelation.Basis.AUTHORISED) == "grant_authorised"
    assert AccessAction.grant(CareRelation.Basis.CARE_TEAM) == "grant_care_team"
    for mode in EmergencyAccess.Mode:
        assert actions.lookup(f"emergency_{mode.value}") is AccessAction.emergency(mode)


def test_every_profile_change_has_a_label():
    for part in (*ENTRY_PARTS, *SINGLE_PARTS):
        for change in ProfileChange.Action:
            assert action_label(profile_action(part, change)) == "Modification du profil médical"


def test_an_unknown_action_is_shown_as_its_code():
    assert action_label("something_new") == "something_new"
    assert actions.lookup("something_new") is None


def test_no_code_belongs_to_two_apps():
    values = [m.value for enum in VOCABULARIES for m in enum]
    assert len(values) == len(set(values))

    class Clash(AuditAction):
        SPACE_CLOSED = "space_closed", _("Autre chose")

    with pytest.raises(ImproperlyConfigured, match="space_closed"):
        actions.register(Clash)
    assert actions.lookup("space_closed") is SpaceAction.SPACE_CLOSED


def test_registering_the_same_vocabulary_again_is_harmless():
    actions.register(SpaceAction)
    assert actions.lookup("space_closed") is SpaceAction.SPACE_CLOSED


def test_the_agents_read_the_lifecycle_in_their_own_words():
    agent = {m.value: str(m.agent_label) for m in actions.agent_actions()}
    assert agent["space_suspended"] == "Suspension (suspicion de fraude)"
    assert action_label("space_suspended") == "Suspension de l'espace"
    assert set(agent) <= {m.value for m in SpaceAction}
    assert "view_document" not in agent and "document_added" not in agent


@pytest.mark.django_db
def test_an_action_is_stored_as_its_plain_code():
    audit.record(actor=Actor.system(), action=SpaceAction.DEMO_RESET)
    event = AuditEvent.objects.get(action="demo_reset")
    assert type(event.action) is str and event.action == SpaceAction.DEMO_RESET
