"""The lost-code service: its per-space limit counts the codes sent, not the audit trail."""

import pytest
from django.core.cache import cache

from acces.models import AuditEvent
from espace_sante import lifecycle, lostcode
from espace_sante.models import CodeRequest, Space
from espace_sante.tracing import Actor, trace
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_ip_window():
    cache.clear()


def _created_space():
    return factories.SpaceFactory(state=Space.State.CREATED, holder__user=None)


def _ask(space, ip="198.51.100.7"):
    lostcode.request_new_code(
        nir=space.holder.nir,
        carte_vitale_serial=space.holder.carte_vitale_serial,
        by=Actor(user=None, role=Actor.ANONYMOUS, ip=ip),
    )


def test_codes_sent_by_an_agent_count_toward_the_space_limit():
    space = _created_space()
    agent = factories.AgentFactory()
    for _ in range(lostcode.PER_SPACE):
        lifecycle.send_new_code(
            space=space, by=Actor(user=agent, role=agent.kind), reason="code perdu"
        )

    _ask(space)

    assert CodeRequest.objects.filter(space=space, kind="new_code").count() == lostcode.PER_SPACE
    refusal = AuditEvent.objects.get(space=space, action="code_requested", outcome="denied")
    assert refusal.detail == {"reason": "rate_limited"}


def test_the_space_limit_does_not_read_the_trail():
    """Events alone (evidence) do not make a code request: the limit counts what was sent."""
    space = _created_space()
    for _ in range(lostcode.PER_SPACE):
        trace(actor=Actor.system(), action="code_requested", space=space, target=space)

    _ask(space)

    assert CodeRequest.objects.filter(space=space, kind="new_code").count() == 1
    assert not AuditEvent.objects.filter(space=space, outcome="denied").exists()


def test_an_unknown_identity_writes_nothing():
    space = _created_space()
    lostcode.request_new_code(
        nir=factories.next_nir(),
        carte_vitale_serial=space.holder.carte_vitale_serial,
        by=Actor(user=None, role=Actor.ANONYMOUS, ip="198.51.100.8"),
    )
    assert not CodeRequest.objects.exists()
    assert not AuditEvent.objects.filter(action="code_requested").exists()
