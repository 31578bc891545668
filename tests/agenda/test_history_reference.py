"""The default care-event rules survive a flush, as the document matrix does."""

import pytest
from django.core.management import call_command

from agenda.models import CareEvent, CareEventAccessRule


@pytest.mark.django_db(transaction=True)
def test_a_flush_loads_the_default_care_event_rules_again():
    before = set(CareEventAccessRule.objects.values_list("profession", "kind"))
    assert ("pharmacien", CareEvent.Kind.DISPENSATION) in before
    call_command("flush", interactive=False, verbosity=0)
    assert set(CareEventAccessRule.objects.values_list("profession", "kind")) == before
