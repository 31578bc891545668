"""What the agenda's pages, the feed and the export read of a space's appointments.

Every read is a constant number of queries whatever the size of the agenda: one query for
a page of appointments (with their professional and data key joined), one count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.paginator import Paginator
from django.utils import timezone

from agenda.appointments import sealing
from agenda.appointments.sealing import Details
from agenda.models import Appointment

PER_PAGE = 20
COMING_ON_HOME = 5
# How far back the feed goes: a calendar app keeps what it already read.
FEED_PAST_DAYS = 365
FEED_MAX_ITEMS = 1000


@dataclass
class Row:
    """An appointment as a page shows it, its details decrypted."""

    appointment: Appointment
    details: Details

    @property
    def with_label(self) -> str:
        """Who or where it is with: the directory professional, or the name typed."""
        professional = self.appointment.professional
        if self.appointment.with_kind == Appointment.WithKind.DIRECTORY and professional:
            return professional.title
        return self.details.name

    @property
    def starts_at(self) -> datetime:
        return timezone.localtime(self.appointment.starts_at)

    @property
    def ends_at(self) -> datetime:
        return timezone.localtime(self.appointment.ends_at)


def _base(space):
    return (
        Appointment.objects.of(space)
        .select_related("professional__user", "data_key")
        .order_by("starts_at", "pk")
    )


def rows(appointments) -> list[Row]:
    return [Row(a, sealing.details(a)) for a in appointments]


def coming(space, *, now=None, limit: int = COMING_ON_HOME) -> list[Row]:
    """The next planned appointments (one query)."""
    return rows(_base(space).coming(now)[:limit])


LIST_FILTERS = ("a-venir", "passes", "tous")


def appointments_page(space, *, which: str = "a-venir", number=1, now=None):
    """A Django Page of appointments (coming: soonest first; past: latest first), its rows
    decrypted (a count and one query)."""
    now = now or timezone.now()
    appointments = _base(space)
    if which == "a-venir":
        appointments = appointments.filter(starts_at__gte=now)
    elif which == "passes":
        appointments = appointments.filter(starts_at__lt=now).order_by("-starts_at", "-pk")
    else:
        appointments = appointments.order_by("-starts_at", "-pk")
    page = Paginator(appointments, PER_PAGE).get_page(number)
    page.object_list = rows(page.object_list)
    return page


def between(space, start: datetime, end: datetime) -> list[Row]:
    """The appointments starting in [start, end), for the day, week and month views."""
    return rows(_base(space).between(start, end))


def for_feed(space, *, now=None) -> list[Row]:
    """What the feed carries: the last year and everything to come (cancelled ones too,
    so that a calendar app removes them), at most FEED_MAX_ITEMS."""
    now = now or timezone.now()
    since = now - timedelta(days=FEED_PAST_DAYS)
    return rows(_base(space).filter(starts_at__gte=since)[:FEED_MAX_ITEMS])


def export_all(space):
    """Every appointment of the space, oldest first, for the archive (one query, iterated)."""
    return _base(space).iterator(chunk_size=500)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()), tz)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()), tz)
    return start, end
