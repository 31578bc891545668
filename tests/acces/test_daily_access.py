"""The patient hears of a professional's first access of the day: decided on its own table."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from acces import services
from acces.models import AuditEvent, CareRelation, DailyAccess, EmergencyAccess
from acces.policy import Action
from espace_sante.models import Notification
from espace_sante.tracing import Actor
from tests import factories

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def _actor(user):
    return Actor(user=user, role=user.kind)


def _told(space) -> int:
    return Notification.objects.filter(recipient=space.holder.user, kind="space_accessed").count()


def test_the_first_access_of_each_day_is_told_once():
    relation = factories.CareRelationFactory(basis=CareRelation.Basis.AUTHORISED)
    space, pro = relation.space, relation.professional
    with time_machine.travel(datetime(2026, 3, 2, 23, 30, tzinfo=PARIS), tick=False):
        services.check_and_trace(actor=_actor(pro.user), space=space, action=Action.VIEW_SPACE)
        services.check_and_trace(actor=_actor(pro.user), space=space, action=Action.VIEW_HISTORY)
    assert _told(space) == 1
    # Past midnight in Paris (still the 2nd in UTC): a new day.
    with time_machine.travel(datetime(2026, 3, 3, 0, 30, tzinfo=PARIS), tick=False):
        services.check_and_trace(actor=_actor(pro.user), space=space, action=Action.VIEW_SPACE)
    assert _told(space) == 2
    days = DailyAccess.objects.filter(space=space, professional=pro).values_list("day", flat=True)
    assert sorted(str(day) for day in days) == ["2026-03-02", "2026-03-03"]


def test_a_refused_access_is_not_the_days_access():
    space = factories.SpaceFactory()
    outsider = factories.ProfessionalFactory()
    services.check_and_trace(actor=_actor(outsider.user), space=space, action=Action.VIEW_SPACE)
    assert not DailyAccess.objects.exists()
    assert AuditEvent.objects.filter(space=space, outcome="denied").exists()


def test_an_emergency_access_already_told_is_the_days_access():
    space = factories.SpaceFactory()
    doctor = factories.ProfessionalFactory()
    services.open_emergency_access(
        space=space,
        professional=doctor,
        mode=EmergencyAccess.Mode.BREAK_GLASS,
        reason="Patient inconscient aux urgences",
        by=_actor(doctor.user),
    )
    services.check_and_trace(actor=_actor(doctor.user), space=space, action=Action.VIEW_SPACE)
    assert Notification.objects.filter(space=space, kind="emergency_access").count() == 1
    assert _told(space) == 0
