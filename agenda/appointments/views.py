"""The patient's agenda pages (the holder, or a minor's legal representative).

Every view takes the space through `space_view`: VIEW_AGENDA to read, MANAGE_AGENDA to
change. An appointment is looked up within that space (another space's is a 404,
traced); the services ask the policy again and trace what changes.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from acces.access import space_view, trace_refusal
from acces.directory import DirectorySearchForm
from acces.policy import Action
from acces.principal import Principal
from agenda.appointments import ical, selectors, services
from agenda.appointments.forms import AppointmentForm, ConfirmForm, FeedDetailsForm
from agenda.models import Appointment
from agenda.prevention.selectors import due_reminders
from espace_sante.tracing import Actor

VIEWS = {"jour": _lazy("Jour"), "semaine": _lazy("Semaine"), "mois": _lazy("Mois")}
WEEKDAYS = [
    (_lazy("lun."), _lazy("lundi")),
    (_lazy("mar."), _lazy("mardi")),
    (_lazy("mer."), _lazy("mercredi")),
    (_lazy("jeu."), _lazy("jeudi")),
    (_lazy("ven."), _lazy("vendredi")),
    (_lazy("sam."), _lazy("samedi")),
    (_lazy("dim."), _lazy("dimanche")),
]
LIST_LABELS = {"a-venir": _lazy("À venir"), "passes": _lazy("Passés"), "tous": _lazy("Tous")}


def _who(request) -> dict:
    return {"by": Actor.from_request(request), "principal": Principal.from_request(request)}


def _appointment(request, space, appointment_id, action: Action) -> selectors.Row:
    """The appointment of this space, or a traced 404."""
    appointment = (
        Appointment.objects.select_related("professional__user", "data_key", "space")
        .filter(public_id=appointment_id, space=space)
        .first()
    )
    if appointment is None:
        trace_refusal(request, space.public_id, action, "appointment_not_found")
        raise Http404("Rendez-vous introuvable")
    return selectors.rows([appointment])[0]


def _link_if_exists(name: str, space) -> str:
    """The URL of a page of the agenda another sub-part serves, or "" while it has none."""
    try:
        return reverse(name, args=[space.public_id])
    except NoReverseMatch:
        return ""


def _context(request, space, **extra) -> dict:
    return {"space": space, "basis": request.access.basis, **extra}


# --- The agenda's entry page -------------------------------------------------------------------


@space_view(Action.VIEW_AGENDA)
def home(request, space):
    """Coming appointments, due reminders, the links to the history and prevention pages,
    and the person's iCalendar feed."""
    feed = services.live_feed(space, request.user)
    return render(
        request,
        "agenda/appointments/home.html",
        _context(
            request,
            space,
            coming=selectors.coming(space),
            reminders=due_reminders(space, timezone.localdate()),
            history_url=_link_if_exists("agenda:history", space),
            prevention_url=_link_if_exists("agenda:prevention", space),
            feed=feed,
            details_form=FeedDetailsForm(initial={"include_details": feed.include_details})
            if feed
            else None,
        ),
    )


# --- Lists and calendars -----------------------------------------------------------------------


@space_view(Action.VIEW_AGENDA)
def appointment_list(request, space):
    which = request.GET.get("quand", "a-venir")
    if which not in selectors.LIST_FILTERS:
        which = "a-venir"
    page = selectors.appointments_page(space, which=which, number=request.GET.get("page", 1))
    return render(
        request,
        "agenda/appointments/list.html",
        _context(
            request,
            space,
            page=page,
            which=which,
            filters=list(LIST_LABELS.items()),
        ),
    )


def _parse_day(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        return timezone.localdate()


def _bounds(view: str, day: date) -> tuple[date, date, date, date]:
    """(first day, day after the last, previous period's day, next period's day)."""
    if view == "jour":
        return day, day + timedelta(days=1), day - timedelta(days=1), day + timedelta(days=1)
    if view == "semaine":
        monday = day - timedelta(days=day.weekday())
        return (
            monday,
            monday + timedelta(days=7),
            monday - timedelta(days=7),
            monday + timedelta(days=7),
        )
    first = day.replace(day=1)
    last = calendar.monthrange(first.year, first.month)[1]
    after = first + timedelta(days=last)
    previous = (first - timedelta(days=1)).replace(day=1)
    return first, after, previous, after


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


@space_view(Action.VIEW_AGENDA)
def calendar_view(request, space):
    """The day, week or month around `date` (default: today), in one query."""
    view = request.GET.get("vue", "semaine")
    if view not in VIEWS:
        view = "semaine"
    day = _parse_day(request.GET.get("date"))
    start, end, previous, following = _bounds(view, day)
    by_day: dict[date, list] = {}
    for row in selectors.between(space, _aware(start), _aware(end)):
        by_day.setdefault(row.starts_at.date(), []).append(row)
    days = [start + timedelta(days=n) for n in range((end - start).days)]
    weeks = []
    if view == "mois":
        grid_start = start - timedelta(days=start.weekday())
        grid_end = end + timedelta(days=(7 - end.weekday()) % 7)
        cells = [grid_start + timedelta(days=n) for n in range((grid_end - grid_start).days)]
        weeks = [
            [(cell, cell.month == start.month, by_day.get(cell, [])) for cell in cells[i : i + 7]]
            for i in range(0, len(cells), 7)
        ]
    return render(
        request,
        "agenda/appointments/calendar.html",
        _context(
            request,
            space,
            view=view,
            view_label=VIEWS[view],
            views=list(VIEWS.items()),
            day=day,
            start=start,
            last=end - timedelta(days=1),
            previous=previous,
            following=following,
            today=timezone.localdate(),
            days=[(d, by_day.get(d, [])) for d in days],
            weeks=weeks,
            weekday_names=WEEKDAYS,
            count=sum(len(v) for v in by_day.values()),
        ),
    )


# --- One appointment ---------------------------------------------------------------------------


@space_view(Action.VIEW_AGENDA)
def detail(request, space, appointment_id):
    row = _appointment(request, space, appointment_id, Action.VIEW_AGENDA)
    return render(request, "agenda/appointments/detail.html", _context(request, space, row=row))


def _form_page(request, space, form, *, row=None, **extra):
    return render(
        request,
        "agenda/appointments/form.html",
        _context(request, space, form=form, row=row, **extra),
    )


def _apply_error(form, exc: services.AgendaError) -> None:
    field = {"starts_at": "day"}.get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, str(exc))


@space_view(Action.MANAGE_AGENDA)
def add(request, space):
    form = AppointmentForm(request.POST or None, initial=_prefill(request))
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.add_appointment(
                space=space, data=form.appointment_data(), **_who(request)
            )
        except services.AgendaError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Le rendez-vous est ajouté à votre agenda."))
            return redirect("agenda:detail", space.public_id, appointment.public_id)
    search = DirectorySearchForm(request.GET if "query" in request.GET else None)
    return _form_page(
        request,
        space,
        form,
        search=search,
        found=list(search.results(limit=SEARCH_LIMIT)) if search.is_bound else None,
    )


SEARCH_LIMIT = 10


def _prefill(request) -> dict:
    """A date picked on a calendar (`?date=`), or a professional picked in the directory."""
    initial = {}
    if request.GET.get("date"):
        initial["day"] = _parse_day(request.GET["date"])
    if request.GET.get("rpps"):
        initial |= {"with_kind": Appointment.WithKind.DIRECTORY, "rpps": request.GET["rpps"][:20]}
    return initial


@space_view(Action.MANAGE_AGENDA)
def edit(request, space, appointment_id):
    row = _appointment(request, space, appointment_id, Action.MANAGE_AGENDA)
    if row.appointment.status == Appointment.Status.CANCELLED:
        messages.info(request, _("Ce rendez-vous est annulé : il ne peut plus être modifié."))
        return redirect("agenda:detail", space.public_id, appointment_id)
    form = AppointmentForm(
        request.POST or None, initial=AppointmentForm.initial_for(row), with_status=True
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.change_appointment(
                appointment=row.appointment,
                data=form.appointment_data(),
                status=form.cleaned_data["status"],
                **_who(request),
            )
        except services.AgendaError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Le rendez-vous est modifié."))
            return redirect("agenda:detail", space.public_id, appointment_id)
    return _form_page(request, space, form, row=row)


@space_view(Action.MANAGE_AGENDA)
def cancel(request, space, appointment_id):
    """A confirmation page, then the cancellation (POST)."""
    row = _appointment(request, space, appointment_id, Action.MANAGE_AGENDA)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_appointment(appointment=row.appointment, **_who(request))
        except services.AgendaError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Le rendez-vous est annulé."))
        return redirect("agenda:detail", space.public_id, appointment_id)
    return render(
        request,
        "agenda/appointments/cancel_confirm.html",
        _context(request, space, row=row, form=form),
    )


@space_view(Action.VIEW_AGENDA)
def download(request, space, appointment_id):
    """One appointment as an .ics file; its details only if asked (`?details=1`)."""
    row = _appointment(request, space, appointment_id, Action.VIEW_AGENDA)
    include_details = request.GET.get("details") == "1"
    body = ical.single_appointment(row, include_details=include_details)
    services.trace_download(
        appointment=row.appointment, by=Actor.from_request(request), decision=request.access
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    day = row.starts_at.strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="rendez-vous-sante-{day}.ics"'
    response["Cache-Control"] = "no-store"
    return response


# --- The iCalendar feed --------------------------------------------------------------------------


def _feed_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("agenda_feed:feed", args=[token]))


def _feed_created(request, space, feed, token):
    url = _feed_url(request, token)
    return render(
        request,
        "agenda/appointments/feed_created.html",
        _context(
            request,
            space,
            feed=feed,
            feed_url=url,
            webcal_url="webcal://" + url.split("://", 1)[1],
        ),
    )


@require_POST
@space_view(Action.MANAGE_AGENDA)
def feed_create(request, space):
    try:
        feed, token = services.create_feed(space=space, **_who(request))
    except services.AgendaError as exc:
        messages.error(request, str(exc))
        return redirect("agenda:home", space.public_id)
    return _feed_created(request, space, feed, token)


@space_view(Action.MANAGE_AGENDA)
def feed_renew(request, space):
    """Confirm, then replace the feed's address by a new one (the old one stops working)."""
    feed = services.live_feed(space, request.user)
    if feed is None:
        return redirect("agenda:home", space.public_id)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        feed, token = services.create_feed(space=space, **_who(request))
        return _feed_created(request, space, feed, token)
    return render(
        request,
        "agenda/appointments/feed_confirm.html",
        _context(request, space, form=form, feed=feed, renew=True),
    )


@space_view(Action.MANAGE_AGENDA)
def feed_revoke(request, space):
    """Confirm, then revoke the feed: its address answers nothing from now on."""
    feed = services.live_feed(space, request.user)
    if feed is None:
        return redirect("agenda:home", space.public_id)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.revoke_feed(space=space, **_who(request))
        messages.success(
            request, _("Le flux est révoqué : son adresse ne donne plus accès à votre agenda.")
        )
        return redirect("agenda:home", space.public_id)
    return render(
        request,
        "agenda/appointments/feed_confirm.html",
        _context(request, space, form=form, feed=feed, renew=False),
    )


@require_POST
@space_view(Action.MANAGE_AGENDA)
def feed_details(request, space):
    form = FeedDetailsForm(request.POST)
    form.is_valid()
    try:
        services.set_feed_details(
            space=space,
            include_details=bool(form.cleaned_data.get("include_details")),
            **_who(request),
        )
    except services.AgendaError as exc:
        messages.error(request, str(exc))
    else:
        if form.cleaned_data.get("include_details"):
            messages.success(request, _("Votre flux inclut désormais les détails des rendez-vous."))
        else:
            messages.success(
                request,
                _(
                    "Votre flux n'indique plus que « Rendez-vous santé » et l'heure de chaque "
                    "rendez-vous."
                ),
            )
    return redirect("agenda:home", space.public_id)
