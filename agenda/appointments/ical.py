"""The agenda as RFC 5545 iCalendar, made with the `icalendar` library.

By default an entry says only « Rendez-vous santé » (« Rappel de prévention » for a due
reminder) and its time: a calendar app, and whoever reads the phone's lock screen, learns
nothing medical. With the person's consent (`CalendarFeed.include_details`) an entry
carries who with, the place, the specialty, the reason and the comment.

Times are written in UTC (`DTSTART:…Z`), so the file needs no VTIMEZONE; UIDs are stable
(the appointment's or the reminder's id), so a calendar app updates an entry in place
and removes a cancelled one (`STATUS:CANCELLED`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from agenda.appointments.selectors import Row
from agenda.models import Appointment

PRODID = "-//Mon espace santé//Agenda santé//FR"
UID_DOMAIN = "agenda.monespacesante.fr"
GENERIC_SUMMARY = "Rendez-vous santé"
GENERIC_REMINDER = "Rappel de prévention"

_STATUS = {
    Appointment.Status.PLANNED: "CONFIRMED",
    Appointment.Status.DONE: "CONFIRMED",
    Appointment.Status.CANCELLED: "CANCELLED",
}


def _absolute(path: str) -> str:
    if not path or path.startswith(("http://", "https://")):
        return path
    return settings.SITE_URL.rstrip("/") + path


def _calendar(name: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    return calendar


def _summary(row: Row, include_details: bool) -> str:
    if not include_details:
        return GENERIC_SUMMARY
    what = row.details.specialty or row.with_label
    return f"{GENERIC_SUMMARY} : {what}" if what else GENERIC_SUMMARY


def _description(row: Row) -> str:
    lines = []
    if row.with_label:
        lines.append(_("Avec : %(who)s") % {"who": row.with_label})
    if row.details.specialty:
        lines.append(_("Spécialité : %(what)s") % {"what": row.details.specialty})
    if row.details.reason:
        lines.append(_("Motif : %(why)s") % {"why": row.details.reason})
    if row.details.comment:
        lines.append(_("Commentaire : %(text)s") % {"text": row.details.comment})
    return "\n".join(lines)


def appointment_event(row: Row, *, include_details: bool, stamp: datetime) -> icalendar.Event:
    appointment = row.appointment
    event = icalendar.Event()
    event.add("uid", f"{appointment.public_id}@{UID_DOMAIN}")
    event.add("dtstamp", stamp)
    event.add("dtstart", appointment.starts_at.astimezone(UTC))
    event.add("dtend", appointment.ends_at.astimezone(UTC))
    event.add("summary", _summary(row, include_details))
    event.add("status", _STATUS[appointment.status])
    event.add("transp", "OPAQUE")
    event.add("class", "PRIVATE")
    event.add("last-modified", appointment.updated_at.astimezone(UTC))
    event.add(
        "url",
        _absolute(
            reverse("agenda:detail", args=[appointment.space.public_id, appointment.public_id])
        ),
    )
    if include_details:
        if row.details.place:
            event.add("location", row.details.place)
        description = _description(row)
        if description:
            event.add("description", description)
    return event


def reminder_todo(item, *, include_details: bool, stamp: datetime) -> icalendar.Todo:
    """A due prevention reminder, as a to-do whose window is its start and due dates."""
    todo = icalendar.Todo()
    todo.add("uid", f"rappel-{item.key}@{UID_DOMAIN}")
    todo.add("dtstamp", stamp)
    if item.window_start:
        todo.add("dtstart", item.window_start)
    if item.window_end:
        todo.add("due", max(item.window_end, item.window_start or item.window_end))
    todo.add(
        "summary", f"{GENERIC_REMINDER} : {item.label}" if include_details else GENERIC_REMINDER
    )
    todo.add("status", "NEEDS-ACTION")
    todo.add("class", "PRIVATE")
    if getattr(item, "url", ""):
        todo.add("url", _absolute(item.url))
    return todo


def feed_calendar(rows, reminders, *, include_details: bool, now=None) -> bytes:
    """The whole feed: every appointment row and every due reminder."""
    stamp = (now or timezone.now()).astimezone(UTC)
    calendar = _calendar(_("Mon espace santé — agenda santé"))
    for row in rows:
        calendar.add_component(appointment_event(row, include_details=include_details, stamp=stamp))
    for item in reminders:
        calendar.add_component(reminder_todo(item, include_details=include_details, stamp=stamp))
    return calendar.to_ical()


def single_appointment(row: Row, *, include_details: bool, now=None) -> bytes:
    """One appointment, for « Ajouter à mon agenda » (a downloaded .ics file)."""
    stamp = (now or timezone.now()).astimezone(UTC)
    calendar = _calendar(GENERIC_SUMMARY)
    calendar.add_component(appointment_event(row, include_details=include_details, stamp=stamp))
    return calendar.to_ical()
