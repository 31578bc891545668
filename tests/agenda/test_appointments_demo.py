"""The demo's appointments: Camille has past and coming ones, one added by her
cardiologist; loading the demo again adds nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from agenda.appointments import selectors
from agenda.models import Appointment
from espace_sante.models import Space

pytestmark = pytest.mark.django_db


def test_camille_has_past_and_coming_appointments_once():
    call_command("demo", stdout=StringIO())
    space = Space.objects.get(holder__first_names__startswith="Camille")
    appointments = Appointment.objects.filter(space=space)
    now = timezone.now()
    assert appointments.filter(starts_at__lt=now, status="done").count() == 2
    assert appointments.filter(starts_at__gte=now, status="planned").count() == 3
    by_pro = appointments.get(author_kind="professional")
    assert by_pro.professional.specialty == "cardiologie"
    coming = selectors.coming(space)
    assert coming[0].details.reason == "Suivi de la tension"
    assert any("CHU de Nantes" in row.with_label for row in coming)
    call_command("demo", stdout=StringIO())
    assert Appointment.objects.filter(space=space).count() == 5
