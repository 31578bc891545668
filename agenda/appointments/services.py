"""What changes the appointments and the iCalendar feeds of a space.

Every change asks `acces.policy.decide` (MANAGE_AGENDA for the patient and a minor's
legal representatives, ADD_APPOINTMENT for a professional with a basis on the space), is
traced with an `AppointmentAction` in the same transaction, and an appointment added by
a professional notifies the patient with no medical content ("appointment_added").
Refusals raise `AgendaError`, whose message is French and shown as it is; nothing is
stored then.

`by` is the `Actor` who acts; `principal` (optional) is who the policy decides for, from
the request (its sign-in level), by default `by`'s user acting themself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from acces.models import Professional
from acces.policy import Action, Decision, decide
from acces.principal import Principal
from agenda.appointments import sealing
from agenda.appointments.actions import AppointmentAction
from agenda.appointments.sealing import Details
from agenda.models import Appointment, CalendarFeed
from espace_sante import crypto
from espace_sante.models import Space, User
from espace_sante.notifications import notify_space
from espace_sante.tracing import Actor, trace

MIN_DURATION, MAX_DURATION = 5, 12 * 60
MAX_LENGTHS = {"name": 200, "place": 300, "specialty": 100, "reason": 300, "comment": 2000}
TOKEN_BYTES = 32


class AgendaError(Exception):
    """A refused agenda action; `str()` is the French message for the person."""

    def __init__(self, message: str, *, reason: str = "", field: str = ""):
        super().__init__(message)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class AppointmentData:
    """What a person says of an appointment (checked by `_checked`)."""

    starts_at: datetime
    duration_minutes: int = 30
    with_kind: str = Appointment.WithKind.PRACTITIONER
    professional: Professional | None = None
    details: Details = sealing.EMPTY


def _decide(by: Actor, principal, action: Action, target) -> Decision:
    decision = decide(principal or Principal.of_user(by.user), action, target)
    if not decision:
        raise AgendaError(decision.message, reason=decision.reason)
    return decision


def _checked(data: AppointmentData) -> AppointmentData:
    if data.starts_at is None or timezone.is_naive(data.starts_at):
        raise AgendaError(_("Indiquez la date et l'heure du rendez-vous."), field="starts_at")
    if not MIN_DURATION <= data.duration_minutes <= MAX_DURATION:
        raise AgendaError(
            _("La durée doit être comprise entre %(min)s minutes et %(max)s heures.")
            % {"min": MIN_DURATION, "max": MAX_DURATION // 60},
            field="duration_minutes",
        )
    if data.with_kind not in Appointment.WithKind.values:
        raise AgendaError(_("Choisissez avec qui est le rendez-vous."), field="with_kind")
    details = Details(
        **{
            k: " ".join(v.split()) if k != "comment" else v.strip()
            for k, v in data.details.__dict__.items()
        }
    )
    for name, limit in MAX_LENGTHS.items():
        if len(getattr(details, name)) > limit:
            raise AgendaError(
                _("Ce champ ne peut pas dépasser %(max)s caractères.") % {"max": limit},
                field=name,
            )
    professional = data.professional
    if data.with_kind == Appointment.WithKind.DIRECTORY:
        if professional is None:
            raise AgendaError(
                _("Choisissez le professionnel dans l'annuaire (son numéro RPPS)."),
                field="rpps",
            )
    else:
        professional = None
        if not details.name:
            what = (
                _("de l'établissement")
                if data.with_kind == Appointment.WithKind.ESTABLISHMENT
                else _("du professionnel")
            )
            raise AgendaError(_("Indiquez le nom %(what)s.") % {"what": what}, field="name")
    return AppointmentData(
        starts_at=data.starts_at,
        duration_minutes=data.duration_minutes,
        with_kind=data.with_kind,
        professional=professional,
        details=details,
    )


def _detail(appointment: Appointment) -> dict:
    """What the trail says of an appointment: its id and its status, no content."""
    return {"appointment": str(appointment.public_id), "status": appointment.status}


def _create(space, data, *, author_kind, by, source="") -> Appointment:
    appointment = Appointment(
        space=space,
        starts_at=data.starts_at,
        duration_minutes=data.duration_minutes,
        with_kind=data.with_kind,
        professional=data.professional,
        author_kind=author_kind,
        created_by=by.user,
        source=source[:100],
    )
    sealing.seal(appointment, data.details)
    appointment.save()
    return appointment


@transaction.atomic
def add_appointment(
    *,
    space: Space,
    by: Actor,
    data: AppointmentData,
    principal: Principal | None = None,
    source: str = "",
) -> Appointment:
    """The patient (or a minor's representative) adds an appointment to the space's agenda,
    themself or through a connected service (an app `principal`: the appointment is the
    service's, its client id as `source`)."""
    decision = _decide(by, principal, Action.MANAGE_AGENDA, space)
    data = _checked(data)
    if principal is not None and principal.is_app:
        author_kind, source = Appointment.AuthorKind.APP, principal.app_id
    else:
        author_kind, source = Appointment.AuthorKind.PATIENT, source or "portail"
    appointment = _create(space, data, author_kind=author_kind, by=by, source=source)
    trace(
        actor=by,
        action=AppointmentAction.APPOINTMENT_ADDED,
        space=space,
        target=appointment,
        basis=str(decision.basis or ""),
        detail=_detail(appointment),
    )
    return appointment


@transaction.atomic
def add_by_professional(
    *,
    space: Space,
    by: Actor,
    data: AppointmentData,
    principal: Principal | None = None,
) -> Appointment:
    """A professional with a basis on the space adds an appointment with themself (by
    default) or another professional; the patient is told, without content."""
    decision = _decide(by, principal, Action.ADD_APPOINTMENT, space)
    if data.with_kind == Appointment.WithKind.DIRECTORY and data.professional is None:
        data = AppointmentData(**{**data.__dict__, "professional": by.user.professional})
    data = _checked(data)
    appointment = _create(
        space,
        data,
        author_kind=Appointment.AuthorKind.PROFESSIONAL,
        by=by,
        source=f"RPPS {by.user.professional.rpps}",
    )
    trace(
        actor=by,
        action=AppointmentAction.APPOINTMENT_ADDED_BY_PROFESSIONAL,
        space=space,
        target=appointment,
        basis=str(decision.basis or ""),
        detail=_detail(appointment),
    )
    local = timezone.localtime(appointment.starts_at)
    notify_space(
        space=space,
        template="appointment_added",
        context={"day": local.date(), "time": french_time(local)},
        link=reverse("agenda:detail", args=[space.public_id, appointment.public_id]),
    )
    return appointment


@transaction.atomic
def change_appointment(
    *,
    appointment: Appointment,
    by: Actor,
    data: AppointmentData,
    status: str | None = None,
    principal: Principal | None = None,
) -> Appointment:
    """Change what an appointment says (and mark it done); moving it re-arms its reminder."""
    decision = _decide(by, principal, Action.MANAGE_AGENDA, appointment)
    if appointment.status == Appointment.Status.CANCELLED:
        raise AgendaError(_("Ce rendez-vous est annulé : il ne peut plus être modifié."))
    data = _checked(data)
    if status is not None:
        if status not in (Appointment.Status.PLANNED, Appointment.Status.DONE):
            raise AgendaError(_("Choisissez un statut proposé."), field="status")
        appointment.status = status
    if data.starts_at != appointment.starts_at:
        appointment.reminder_sent_at = None
    appointment.starts_at = data.starts_at
    appointment.duration_minutes = data.duration_minutes
    appointment.with_kind = data.with_kind
    appointment.professional = data.professional
    sealing.seal(appointment, data.details)
    appointment.save()
    trace(
        actor=by,
        action=AppointmentAction.APPOINTMENT_CHANGED,
        space=appointment.space,
        target=appointment,
        basis=str(decision.basis or ""),
        detail=_detail(appointment),
    )
    return appointment


@transaction.atomic
def cancel_appointment(
    *, appointment: Appointment, by: Actor, principal: Principal | None = None
) -> Appointment:
    """Cancel an appointment: it stays in the agenda, marked cancelled, and is not reminded."""
    decision = _decide(by, principal, Action.MANAGE_AGENDA, appointment)
    if appointment.status == Appointment.Status.CANCELLED:
        raise AgendaError(_("Ce rendez-vous est déjà annulé."))
    appointment.status = Appointment.Status.CANCELLED
    appointment.cancelled_at = timezone.now()
    appointment.save(update_fields=["status", "cancelled_at", "updated_at"])
    trace(
        actor=by,
        action=AppointmentAction.APPOINTMENT_CANCELLED,
        space=appointment.space,
        target=appointment,
        basis=str(decision.basis or ""),
        detail=_detail(appointment),
    )
    return appointment


def trace_download(*, appointment: Appointment, by: Actor, decision: Decision) -> None:
    with transaction.atomic():
        trace(
            actor=by,
            action=AppointmentAction.APPOINTMENT_DOWNLOADED,
            space=appointment.space,
            target=appointment,
            basis=str(decision.basis or ""),
            detail=_detail(appointment),
        )


# --- The day-before reminder -----------------------------------------------------------------


def french_time(moment: datetime) -> str:
    """« 10 h », « 9 h 05 »: the time as French emails write it."""
    if moment.minute:
        return f"{moment.hour} h {moment.minute:02d}"
    return f"{moment.hour} h"


def _day_bounds(day) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()), tz)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()), tz)
    return start, end


def appointments_to_remind(now: datetime | None = None):
    """Planned appointments of tomorrow (local time) not reminded yet, in open spaces."""
    now = now or timezone.now()
    start, end = _day_bounds(timezone.localdate(now) + timedelta(days=1))
    return Appointment.objects.planned().filter(
        starts_at__gte=start,
        starts_at__lt=end,
        reminder_sent_at__isnull=True,
        space__state__in=[Space.State.CREATED, Space.State.ACTIVE],
    )


def remind(appointment_id: int, *, now: datetime | None = None) -> bool:
    """Send one appointment's reminder, once: claimed by a conditional update, notified
    (content-free) and traced in the same transaction. False if it was not ours to send."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = Appointment.objects.filter(
            pk=appointment_id,
            reminder_sent_at__isnull=True,
            status=Appointment.Status.PLANNED,
        ).update(reminder_sent_at=now)
        if not claimed:
            return False
        appointment = Appointment.objects.select_related("space__holder").get(pk=appointment_id)
        local = timezone.localtime(appointment.starts_at)
        notify_space(
            space=appointment.space,
            template="appointment_reminder",
            context={"time": french_time(local)},
            link=reverse(
                "agenda:detail", args=[appointment.space.public_id, appointment.public_id]
            ),
        )
        trace(
            actor=Actor.system(),
            action=AppointmentAction.APPOINTMENT_REMINDED,
            space=appointment.space,
            target=appointment,
            detail=_detail(appointment),
        )
    return True


def send_reminders(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """The beat's sweep: remind every appointment of tomorrow not reminded yet, by batches
    of ids (a second run, or a second worker, finds them claimed and sends nothing)."""
    sent = 0
    last = 0
    while True:
        ids = list(
            appointments_to_remind(now)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return sent
        for pk in ids:
            sent += remind(pk, now=now)
        last = ids[-1]


# --- The iCalendar feed ----------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def live_feed(space: Space, user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.live().filter(space=space, user=user).first()


def _new_feed(space, user, include_details) -> tuple[CalendarFeed, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed.objects.create(
        space=space, user=user, token_hash=hash_token(token), include_details=include_details
    )
    return feed, token


@transaction.atomic
def create_feed(
    *, space: Space, by: Actor, principal: Principal | None = None, include_details: bool = False
) -> tuple[CalendarFeed, str]:
    """The person's secret feed address for this space (a new one replaces a live one).

    Returns the feed and its token: the token is never stored (only its hash), so this is
    the only moment it can be shown.
    """
    decision = _decide(by, principal, Action.MANAGE_AGENDA, space)
    old = CalendarFeed.objects.select_for_update().live().filter(space=space, user=by.user).first()
    if old is not None:
        old.revoked_at = timezone.now()
        old.save(update_fields=["revoked_at"])
        include_details = old.include_details
    feed, token = _new_feed(space, by.user, include_details)
    trace(
        actor=by,
        action=AppointmentAction.FEED_RENEWED if old else AppointmentAction.FEED_CREATED,
        space=space,
        target=feed,
        basis=str(decision.basis or ""),
        detail={"feed": str(feed.public_id), "details": feed.include_details},
    )
    return feed, token


@transaction.atomic
def revoke_feed(*, space: Space, by: Actor, principal: Principal | None = None) -> bool:
    """Revoke the person's live feed: its address answers 404 from now on."""
    decision = _decide(by, principal, Action.MANAGE_AGENDA, space)
    feed = live_feed(space, by.user)
    if feed is None:
        return False
    feed.revoked_at = timezone.now()
    feed.save(update_fields=["revoked_at"])
    trace(
        actor=by,
        action=AppointmentAction.FEED_REVOKED,
        space=space,
        target=feed,
        basis=str(decision.basis or ""),
        detail={"feed": str(feed.public_id)},
    )
    return True


@transaction.atomic
def set_feed_details(
    *, space: Space, by: Actor, include_details: bool, principal: Principal | None = None
) -> CalendarFeed:
    """Choose whether the feed carries the appointments' details or only « Rendez-vous
    santé » and the time."""
    decision = _decide(by, principal, Action.MANAGE_AGENDA, space)
    feed = live_feed(space, by.user)
    if feed is None:
        raise AgendaError(_("Créez d'abord l'adresse de votre flux."), reason="no_feed")
    feed.include_details = include_details
    feed.save(update_fields=["include_details"])
    trace(
        actor=by,
        action=AppointmentAction.FEED_SETTINGS_CHANGED,
        space=space,
        target=feed,
        basis=str(decision.basis or ""),
        detail={"feed": str(feed.public_id), "details": include_details},
    )
    return feed


@dataclass(frozen=True)
class FeedActor(Actor):
    """The feed itself, opened by a calendar app with no session: the trail names it."""

    @property
    def label(self) -> str:
        return _("Flux iCalendar")


FEED_ROLE = "calendar_feed"


def open_feed(token: str, *, ip: str | None = None) -> tuple[CalendarFeed, Decision] | None:
    """The live feed of `token` if its person may still read the space's agenda, traced in
    the space's trail (actor: the feed); None (a 404 for the caller) otherwise.

    A revoked feed, or one whose person lost the right (a representative no longer, a
    closed space), is refused and the refusal traced; an unknown token is not traced: it
    names no space.
    """
    feed = (
        CalendarFeed.objects.select_related("space__holder", "user")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if feed is None:
        return None
    actor = FeedActor(user=None, role=FEED_ROLE, ip=ip)
    decision = decide(Principal.of_user(feed.user), Action.VIEW_AGENDA, feed.space)
    if feed.revoked_at is not None:
        decision = Decision(False, reason="feed_revoked")
    with transaction.atomic():
        trace(
            actor=actor,
            action=AppointmentAction.FEED_OPENED,
            space=feed.space,
            target=feed,
            outcome="allowed" if decision else "denied",
            basis=str(decision.basis or ""),
            detail={"feed": str(feed.public_id)}
            | ({} if decision else {"reason": decision.reason}),
        )
        if decision:
            CalendarFeed.objects.filter(pk=feed.pk).update(last_opened_at=timezone.now())
    return (feed, decision) if decision else None


# --- The space's lifecycle -------------------------------------------------------------------


def destroy_appointments(space: Space, *, keep_occupational: bool) -> int:
    """Crypto-shred every appointment of `space` (the part's `destroy`): each data key,
    then the rows, and the feeds. Nothing belongs to the occupational-health part."""
    appointments = Appointment.objects.filter(space=space)
    keys = list(appointments.filter(data_key__isnull=False).select_related("data_key"))
    for appointment in keys:
        crypto.destroy_data_key(appointment.data_key)
    count, _ = appointments.delete()
    CalendarFeed.objects.filter(space=space).delete()
    return count
