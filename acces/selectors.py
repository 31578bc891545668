"""Reads that several views share."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from acces.models import AuditEvent, CareRelation
from acces.policy import (
    Basis,
    Decision,
    relations_in_force,
    spaces_open_in_emergency_to,
    spaces_visible_to,
)
from espace_sante.models import LegalRepresentative, Space, User

# How far back "my recent patients" looks, in the professional's own trail.
RECENT_EVENTS_SCANNED = 300
RECENT_PATIENTS = 10


def spaces_for_patient(user: User) -> QuerySet[Space]:
    """The user's own space and those of the minors they represent, own first."""
    return (
        Space.objects.filter(spaces_visible_to(user))
        .select_related("holder")
        .distinct()
        .order_by("holder__birth_date")
    )


def patients_of(user: User) -> QuerySet[Space]:
    """The spaces a professional may open, most recent relation first."""
    return (
        Space.objects.filter(spaces_visible_to(user))
        .select_related("holder")
        .distinct()
        .order_by("holder__last_name", "holder__first_names")
    )


def care_team(space: Space) -> QuerySet[CareRelation]:
    """The relations through which professionals have access now, as the policy counts them
    (a blocked professional is not listed, whatever their basis)."""
    return (
        CareRelation.objects.filter(relations_in_force(space))
        .select_related("professional__user")
        .order_by("basis", "started_at")
    )


def representatives(space: Space) -> QuerySet[LegalRepresentative]:
    now = timezone.now()
    return space.representatives.current(now).select_related("user")


def history(space: Space) -> QuerySet[AuditEvent]:
    """The space's trail, newest first, for the holder to read."""
    return (
        AuditEvent.objects.filter(space=space)
        .select_related("actor__professional")
        .order_by("-occurred_at", "-seq")
        .only(
            "occurred_at",
            "actor_label",
            "role",
            "basis",
            "action",
            "outcome",
            "detail",
            "seq",
            "actor__id",
            "actor__kind",
            "actor__professional__profession",
            "actor__professional__specialty",
        )
    )


def hidden_from_reader(decision: Decision) -> list[str]:
    """Whom, among `audit.hidden_from`'s values, this patient-side reader counts as."""
    if decision.basis == Basis.HOLDER:
        return ["patient"]
    return ["patient", "representatives"]


def without_hidden(events: QuerySet[AuditEvent], hidden_from: list[str]) -> QuerySet[AuditEvent]:
    """Leave out the events about documents hidden from these readers (`audit.hidden_from`).

    Written so that an event without the key is kept on every database (a bare
    `exclude` on a missing JSON key would compare NULL and drop it).
    """
    return events.exclude(Q(detail__has_key="hidden_from") & Q(detail__hidden_from__in=hidden_from))


# How many documents each professional added to a space, counted on the documents themselves
# by the app that holds them: `dossier` plugs its counter in when it loads (acces uses no app).
AuthoredCounter = Callable[..., dict[int, int]]
_authored_counter: AuthoredCounter | None = None


def register_authored_counter(counter: AuthoredCounter) -> None:
    global _authored_counter
    _authored_counter = counter


def documents_added_by_professionals(space: Space, *, hidden_from: list[str]) -> dict[int, int]:
    """{professional id: documents they added to `space`}, leaving out those hidden from
    these patient-side readers (`hidden_from_reader`); empty when no app holds documents."""
    if _authored_counter is None:
        return {}
    return _authored_counter(space=space, hidden_from=hidden_from)


def history_for(space: Space, user: User, decision: Decision) -> QuerySet[AuditEvent]:
    """The part of the trail `user` may read: all of it for the holder and representatives;
    what professionals did for the attending physician; their own entries for the others."""
    events = history(space)
    if decision.basis in (Basis.HOLDER, Basis.LEGAL_REPRESENTATIVE):
        return without_hidden(events, hidden_from_reader(decision))
    if decision.basis == Basis.ATTENDING:
        return events.filter(role=User.Kind.PROFESSIONAL)
    return events.filter(actor=user)


def recent_patients(user: User) -> list[Space]:
    """The spaces the professional opened lately and may still open, most recent first.

    Read from the professional's own trail (indexed by actor and date), so the cost
    does not grow with the size of the trail.
    """
    recent = (
        AuditEvent.objects.filter(
            actor=user, outcome=AuditEvent.Outcome.ALLOWED, space__isnull=False
        )
        .order_by("-occurred_at")
        .values_list("space_id", "occurred_at")[:RECENT_EVENTS_SCANNED]
    )
    last_seen: dict[int, object] = {}
    for space_id, occurred_at in recent:
        last_seen.setdefault(space_id, occurred_at)
    if not last_seen:
        return []
    spaces = (
        Space.objects.filter(pk__in=list(last_seen))
        .filter(spaces_visible_to(user) | spaces_open_in_emergency_to(user))
        .select_related("holder")
        .distinct()
    )
    ordered = sorted(spaces, key=lambda space: last_seen[space.pk], reverse=True)
    for space in ordered:
        space.last_seen = last_seen[space.pk]
    return ordered[:RECENT_PATIENTS]


# The kinds of action the trail page filters on, as prefixes of the audit codes.
ACTION_KINDS = {
    "consultations": ("view_",),
    "documents": ("document", "add_document", "manage_document", "announce_document"),
    "profil": ("profile_",),
    "acces": (
        "grant_",
        "access_",
        "professional_",
        "consent_",
        "designate_",
        "emergency_settings",
        "manage_access",
        "patient_search",
    ),
    "urgences": ("emergency_break_glass", "emergency_samu"),
    "espace": ("space_", "export", "close_", "request_deletion", "sign_", "code_", "death_"),
}


# The "who" filter's values that are not a role: the reader's own entries, or everyone's.
OWN_ENTRIES = "moi"
EVERYONE = "tous"


# A connected service's calls (the catalogue's API) are traced with the person who connected
# it as their actor, since its token acts for them, and the service in `detail.via`: they
# are what the service did, not what the person did.
SERVICE_CALL_PREFIXES = ("catalogue_api_",)


def _service_calls() -> Q:
    calls = Q(detail__has_key="via")
    for prefix in SERVICE_CALL_PREFIXES:
        calls |= Q(action__startswith=prefix)
    return calls


def filter_history(
    events: QuerySet[AuditEvent], data: dict, *, reader: User | None = None
) -> QuerySet[AuditEvent]:
    """Apply the trail page's filters (who, kind of action, outcome, dates).

    With a `reader` (the holder or a representative reading their space's trail), the
    trail opens on what others did: the reader's own entries only when asked for
    (`OWN_ENTRIES`) or with everyone's (`EVERYONE`). Nothing is left out of the trail itself.
    A connected service's calls on the reader's behalf are among what others did, never
    among the reader's own entries nor "you and your representatives".
    """
    who = data.get("qui") or ""
    if reader is not None and who == "":
        events = events.exclude(Q(actor=reader) & ~_service_calls())
    elif reader is not None and who == OWN_ENTRIES:
        events = events.filter(actor=reader).exclude(_service_calls())
    elif who == User.Kind.PATIENT:
        events = events.filter(role=who).exclude(_service_calls())
    elif who and who not in (OWN_ENTRIES, EVERYONE):
        events = events.filter(role=who)
    if data.get("type") in ACTION_KINDS:
        kind = Q()
        for prefix in ACTION_KINDS[data["type"]]:
            kind |= Q(action__startswith=prefix)
        events = events.filter(kind)
    if data.get("resultat"):
        events = events.filter(outcome=data["resultat"])
    if data.get("du"):
        events = events.filter(occurred_at__date__gte=data["du"])
    if data.get("au"):
        events = events.filter(occurred_at__date__lte=data["au"])
    return events


# --- A page of the trail, by keyset -------------------------------------------------------------

OLDER, NEWER = "avant", "apres"  # the query parameters: entries before / after a cursor


@dataclass
class TrailPage:
    """Entries of the trail, newest first, and the cursors of the pages around them.

    Read by keyset on (occurred_at, seq), the order of `history`: a page costs the same
    whether it is the first or the thousandth, and the trail's rows are never counted
    (22,000 for a busy space, issue 16). `older` and `newer` are the cursors of the next
    pages, None at either end; `first` says that this page holds the newest entries.
    """

    object_list: list = field(default_factory=list)
    older: str | None = None
    newer: str | None = None
    first: bool = True

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def cursor_of(event: AuditEvent) -> str:
    """An entry's place in the trail: its time in microseconds (integer arithmetic, no
    float rounding) and its chain number."""
    return f"{(event.occurred_at - _EPOCH) // _MICROSECOND}.{event.seq}"


def _parse_cursor(value: str | None) -> tuple[datetime, int] | None:
    micros, _sep, seq = (value or "").partition(".")
    if not (micros.isdigit() and seq.isdigit()) or len(micros) > 17:
        return None  # a damaged link shows the newest entries
    return _EPOCH + int(micros) * _MICROSECOND, int(seq)


def trail_page(events: QuerySet[AuditEvent], params, size: int) -> TrailPage:
    """The page of `events` (ordered as `history`) that the query `params` ask for:
    the newest, those before `avant`, or those after `apres`."""
    older, newer = _parse_cursor(params.get(OLDER)), _parse_cursor(params.get(NEWER))
    if newer is not None:
        at, seq = newer
        after = events.filter(Q(occurred_at__gt=at) | Q(occurred_at=at, seq__gt=seq))
        rows = list(after.order_by("occurred_at", "seq")[: size + 1])
        if len(rows) <= size:
            return trail_page(events, {}, size)  # those are among the newest: the first page
        rows = rows[:size][::-1]
        return TrailPage(rows, older=cursor_of(rows[-1]), newer=cursor_of(rows[0]), first=False)
    if older is None:
        rows = list(events[: size + 1])
        return TrailPage(rows[:size], older=cursor_of(rows[size - 1]) if len(rows) > size else None)
    at, seq = older
    before = events.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, seq__lt=seq))
    rows = list(before[: size + 1])
    return TrailPage(
        rows[:size],
        older=cursor_of(rows[size - 1]) if len(rows) > size else None,
        newer=cursor_of(rows[0]) if rows else None,
        first=False,
    )


def name_subjects(events) -> None:
    """Give each event about a professional (authorised, blocked…) the name of that
    professional, read in one query for the page: the trail stores their RPPS."""
    from acces.models import Professional

    events = list(events)
    numbers = {e.detail.get("professional") for e in events if isinstance(e.detail, dict)}
    numbers.discard(None)
    titles = {
        p.rpps: p.title
        for p in Professional.objects.filter(rpps__in=numbers).select_related("user")
    }
    for event in events:
        detail = event.detail if isinstance(event.detail, dict) else {}
        event.subject_label = titles.get(detail.get("professional"), "")


# --- Sections other apps add to the patient's control page ----------------------------------


# A section: (template name, context) for "Qui a accès à mon dossier", or None to show nothing.
AccessPageSection = Callable[[object, Space, Decision], "tuple[str, dict] | None"]
_access_page_sections: list[AccessPageSection] = []


def register_access_page_section(section: AccessPageSection) -> None:
    """Add a section to the control page (messaging's refused senders), from an app's
    `AppConfig.ready`: `acces` never imports the apps that show their part of control there.
    `section(request, space, decision)` returns a template and its context, in constant
    queries."""
    if section not in _access_page_sections:
        _access_page_sections.append(section)


def access_page_sections(request, space: Space, decision: Decision) -> list[tuple[str, dict]]:
    """The registered sections' (template, context) for this page, in registration order."""
    shown = (section(request, space, decision) for section in _access_page_sections)
    return [s for s in shown if s is not None]


def patient_nav_space(request) -> Space | None:
    """The space a signed-in patient's navigation entries point to: the page's space if
    they may see it, else their own, else the first one they represent; None for anyone
    else. One query a request, shared by the entries (messaging, agenda)."""
    if hasattr(request, "_patient_nav_space"):
        return request._patient_nav_space
    user = request.user
    verified = getattr(user, "is_verified", None)  # set by django-otp's middleware
    space = None
    decided = getattr(request, "access", None)
    decided_space = getattr(request, "access_space", None)
    if user.is_authenticated and user.kind == User.Kind.PATIENT and verified and verified():
        patient_side = (Basis.HOLDER, Basis.LEGAL_REPRESENTATIVE)
        if decided and decided_space is not None and decided.basis in patient_side:
            # The page's own space, which the policy just let them see: the first choice.
            request._patient_nav_space = decided_space
            return decided_space
        order = [Case(When(holder__user=user, then=Value(0)), default=Value(1)), "pk"]
        match = getattr(request, "resolver_match", None)
        current = match.kwargs.get("space_id") if match else None
        if current is not None:
            order.insert(0, Case(When(public_id=current, then=Value(0)), default=Value(1)))
        space = (
            Space.objects.filter(spaces_visible_to(user))
            .order_by(*order)
            .only("pk", "public_id")
            .first()
        )
    request._patient_nav_space = space
    return space
