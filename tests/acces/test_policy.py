from datetime import timedelta

import pytest
from django.utils import timezone

from acces.models import CareRelation
from acces.policy import Action, Basis, decide, spaces_visible_to
from espace_sante.models import Space
from tests import factories

pytestmark = pytest.mark.django_db


def _visible(user, space):
    return Space.objects.filter(spaces_visible_to(user)).filter(pk=space.pk).exists()


def test_holder_sees_their_space_as_holder(patient_space):
    decision = decide(patient_space.holder.user, Action.VIEW_SPACE, patient_space)
    assert decision.allowed and decision.basis == Basis.HOLDER
    assert _visible(patient_space.holder.user, patient_space)


def test_another_patient_sees_nothing(patient_space):
    other = factories.SpaceFactory().holder.user
    assert not decide(other, Action.VIEW_SPACE, patient_space)
    assert not decide(other, Action.VIEW_HISTORY, patient_space)
    assert not _visible(other, patient_space)


def test_legal_representative_manages_the_minor_space():
    representation = factories.LegalRepresentativeFactory()
    decision = decide(representation.user, Action.VIEW_HISTORY, representation.space)
    assert decision.allowed and decision.basis == Basis.LEGAL_REPRESENTATIVE
    assert _visible(representation.user, representation.space)


def test_former_legal_representative_loses_access():
    representation = factories.LegalRepresentativeFactory(until=timezone.now() - timedelta(days=1))
    assert not decide(representation.user, Action.VIEW_SPACE, representation.space)
    assert not _visible(representation.user, representation.space)


@pytest.mark.parametrize("basis", [b.value for b in CareRelation.Basis])
def test_professional_with_a_live_relation_sees_the_space_on_that_basis(basis):
    specialty = "medecine_travail" if basis == "occupational" else ""
    relation = factories.CareRelationFactory(basis=basis, professional__specialty=specialty)
    decision = decide(relation.professional.user, Action.VIEW_SPACE, relation.space)
    assert decision.allowed and decision.basis == basis
    assert _visible(relation.professional.user, relation.space)


def test_professional_without_relation_sees_nothing(patient_space, professional):
    assert not decide(professional.user, Action.VIEW_SPACE, patient_space)
    assert not _visible(professional.user, patient_space)


def test_ended_relation_gives_nothing():
    relation = factories.CareRelationFactory(ended_at=timezone.now())
    assert not decide(relation.professional.user, Action.VIEW_SPACE, relation.space)
    assert not _visible(relation.professional.user, relation.space)


def test_professionals_read_only_the_entries_of_the_trail_that_concern_them():
    from acces import audit, selectors
    from espace_sante.tracing import Actor

    space = factories.SpaceFactory()
    attending = factories.CareRelationFactory(space=space, basis=CareRelation.Basis.ATTENDING)
    other = factories.CareRelationFactory(space=space, basis=CareRelation.Basis.CARE_TEAM)
    holder = space.holder.user
    for user in (holder, attending.professional.user, other.professional.user):
        audit.record(actor=Actor(user=user, role=user.kind), action="view_space", space=space)

    def readers_of(user):
        decision = decide(user, Action.VIEW_HISTORY, space)
        assert decision
        return {e.actor_id for e in selectors.history_for(space, user, decision)}

    assert readers_of(holder) == {
        holder.pk,
        attending.professional.user.pk,
        other.professional.user.pk,
    }
    assert readers_of(attending.professional.user) == {
        attending.professional.user.pk,
        other.professional.user.pk,
    }
    assert readers_of(other.professional.user) == {other.professional.user.pk}


@pytest.mark.parametrize(
    "state", [Space.State.CLOSED, Space.State.SUSPENDED, Space.State.DESTROYED]
)
def test_professional_sees_nothing_of_a_space_that_is_not_open(state):
    relation = factories.CareRelationFactory(basis=CareRelation.Basis.ATTENDING, space__state=state)
    assert not decide(relation.professional.user, Action.VIEW_SPACE, relation.space)
    assert not _visible(relation.professional.user, relation.space)


def test_destroyed_space_is_gone_even_for_its_holder():
    space = factories.SpaceFactory(state=Space.State.DESTROYED)
    assert not decide(space.holder.user, Action.VIEW_SPACE, space)


def test_agent_never_sees_medical_content(patient_space, agent):
    assert not decide(agent, Action.VIEW_SPACE, patient_space)
    assert not _visible(agent, patient_space)


def test_anonymous_is_denied(patient_space):
    from django.contrib.auth.models import AnonymousUser

    assert not decide(AnonymousUser(), Action.VIEW_SPACE, patient_space)
    assert not decide(None, Action.VIEW_SPACE, patient_space)


def test_a_patient_holding_and_representing_sees_both_spaces_through_one_in():
    """The patient's list filter is one `IN` over a UNION, not an OR across the holder's
    join: that OR made PostgreSQL read every space on every patient page (bench/http.py)."""
    representation = factories.LegalRepresentativeFactory()
    parent = representation.user
    own = factories.SpaceFactory(holder__user=parent)
    factories.SpaceFactory()  # someone else's
    spaces = Space.objects.filter(spaces_visible_to(parent))
    assert set(spaces) == {own, representation.space}
    assert " OR " not in str(spaces.query)
