"""The appointments part of a space, registered with `espace_sante.parts` (`setup.register`).

"appointments": the appointments of the agenda and the person's iCalendar feeds.

- export: `agenda/rendez-vous.ics` (every appointment, with its details: it is the
  person's own archive) and `agenda/rendez-vous.csv`, decrypted as they are written;
- counts: coming appointments, one `count()` query;
- has_professional_content: a professional added an appointment;
- destroy: each appointment's data key destroyed, then the rows and the feeds
  (`services.destroy_appointments`); nothing belongs to the occupational-health part.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from acces.policy import PATIENT_BASES
from agenda.appointments import ical, selectors, services
from agenda.appointments.actions import AppointmentAction
from agenda.models import Appointment
from espace_sante.export import csv_file, iso
from espace_sante.parts import Part

ICS_PATH = "agenda/rendez-vous.ics"
CSV_PATH = "agenda/rendez-vous.csv"
CSV_HEADER = [
    "debut",
    "fin",
    "statut",
    "avec",
    "lieu",
    "specialite",
    "motif",
    "commentaire",
    "ajoute_par",
    "source",
]


def export_appointments(space, decision) -> Iterator[tuple[str, bytes]]:
    """The space's appointments as one iCalendar file and one CSV (holder's and legal
    representatives' archive alike: the agenda hides nothing from them)."""
    if not decision or decision.basis not in PATIENT_BASES:
        return
    all_rows = selectors.rows(selectors.export_all(space))
    yield ICS_PATH, ical.feed_calendar(all_rows, [], include_details=True)
    yield (
        CSV_PATH,
        csv_file(
            CSV_HEADER,
            (
                [
                    iso(row.appointment.starts_at),
                    iso(row.appointment.ends_at),
                    str(row.appointment.get_status_display()),
                    row.with_label,
                    row.details.place,
                    row.details.specialty,
                    row.details.reason,
                    row.details.comment,
                    str(row.appointment.get_author_kind_display()),
                    row.appointment.source,
                ]
                for row in all_rows
            ),
        ),
    )


def count_appointments(space, decision):
    """("Rendez-vous à venir", n) for the patient's side of the space page (one query)."""
    if not decision or decision.basis not in PATIENT_BASES:
        return []
    return [(_("Rendez-vous à venir"), Appointment.objects.of(space).coming().count())]


def has_professional_appointments(space) -> bool:
    return (
        Appointment.objects.of(space)
        .filter(author_kind=Appointment.AuthorKind.PROFESSIONAL)
        .exists()
    )


APPOINTMENTS = Part(
    name="appointments",
    label=_("Rendez-vous"),
    export=export_appointments,
    export_steps=lambda space, decision: 2,
    counts=count_appointments,
    destroy=services.destroy_appointments,
    has_professional_content=has_professional_appointments,
    actions=AppointmentAction,
)
