"""The appointments demo data: Camille's past and coming appointments, through the
services (encrypted, traced; the one her cardiologist adds notifies her).

Loaded once: nothing is written when Camille already has appointments. Dates are relative
to the day the demo is loaded, so there is always something past and something to come.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from agenda.appointments import services
from agenda.appointments.sealing import Details
from agenda.appointments.services import AppointmentData
from agenda.models import Appointment
from espace_sante.tracing import Actor

DEMO_SOURCE = "démonstration"


def _at(days: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def load(spaces, pros):
    space = spaces.get("camille")
    if space is None or Appointment.objects.filter(space=space).exists():
        return
    camille = Actor(user=space.holder.user, role="patient", ip="192.0.2.10")
    gp, cardiologist = pros.get("generaliste"), pros.get("cardiologue")
    entries = [
        (-90, 9, 30, "directory", gp, Details(reason="Renouvellement d'ordonnance")),
        (
            -21,
            14,
            0,
            "practitioner",
            None,
            Details(
                name="Dr Sophie Lemoine",
                specialty="Chirurgien-dentiste",
                place="8 rue Crébillon, 44000 Nantes",
                reason="Contrôle annuel",
            ),
        ),
        (
            2,
            10,
            0,
            "directory",
            gp,
            Details(reason="Suivi de la tension", comment="Apporter le carnet de tension."),
        ),
        (
            24,
            8,
            15,
            "establishment",
            None,
            Details(
                name="CHU de Nantes — service de radiologie",
                place="1 place Alexis-Ricordeau, 44000 Nantes",
                specialty="Radiologie",
                reason="Échographie",
            ),
        ),
    ]
    for days, hour, minute, kind, professional, details in entries:
        if kind == "directory" and professional is None:
            continue
        appointment = services.add_appointment(
            space=space,
            by=camille,
            data=AppointmentData(
                starts_at=_at(days, hour, minute),
                with_kind=kind,
                professional=professional,
                details=details,
            ),
            source=DEMO_SOURCE,
        )
        if days < 0:
            Appointment.objects.filter(pk=appointment.pk).update(
                status=Appointment.Status.DONE, reminder_sent_at=timezone.now()
            )
    if cardiologist is not None:
        services.add_by_professional(
            space=space,
            by=Actor(user=cardiologist.user, role="professional", ip="192.0.2.20"),
            data=AppointmentData(
                starts_at=_at(10, 16, 30),
                duration_minutes=45,
                with_kind="directory",
                details=Details(
                    place="Clinique Jules-Verne, 2 route de Paris, 44300 Nantes",
                    specialty="Cardiologie",
                    reason="Échographie cardiaque de contrôle",
                ),
            ),
        )
