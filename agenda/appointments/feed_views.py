"""The iCalendar feed: opened by a calendar app with no session, its secret token says
whose it is. A token that names no live feed is a 404; every opening is traced in the
space's trail, its actor the feed itself (`services.open_feed`)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from agenda.appointments import ical, selectors, services
from agenda.prevention.selectors import due_reminders
from espace_sante.tracing import client_ip


@require_safe
def feed(request, token):
    opened = services.open_feed(token, ip=client_ip(request))
    if opened is None:
        raise Http404("Flux introuvable")
    feed, _decision = opened
    space = feed.space
    body = ical.feed_calendar(
        selectors.for_feed(space),
        due_reminders(space, timezone.localdate()),
        include_details=feed.include_details,
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="agenda-sante.ics"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
