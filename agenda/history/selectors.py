"""The history of care as one timeline: what the pages read, in a constant number of queries.

Four sources, one list, newest first: past appointments, the acts behind the DMP's
documents (as `acces.policy.documents_visible_to` lets the reader see them), the
vaccinations of the medical profile and the care events the Assurance Maladie holds
(for a professional, only the kinds their profession's rules allow,
`CareEventAccessRule`). The sources are one SQL `UNION ALL` of (date, kind, pk), sorted
and paginated in the database; the page's rows are then read, one query per source
present on the page. Whatever the size of the history: a count, a page, the years for the
filter and at most four reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.paginator import Page, Paginator
from django.db.models import CharField, DateField, F, Q, QuerySet, Value
from django.db.models.functions import ExtractYear, TruncDate
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acces.policy import PATIENT_BASES, Basis, Decision, documents_visible_to
from agenda.appointments import sealing
from agenda.history.sealing import details_of
from agenda.models import Appointment, CareEvent, CareEventAccessRule
from dossier.models import Document, Vaccination

PER_PAGE = 20

APPOINTMENT = "appointment"
DOCUMENT = "document"
VACCINATION = "vaccination"
EVENT_KINDS = tuple(CareEvent.Kind.values)

KIND_LABELS = {
    APPOINTMENT: _("Rendez-vous"),
    DOCUMENT: _("Document du dossier"),
    VACCINATION: _("Vaccination"),
    **dict(CareEvent.Kind.choices),
}
PATIENT_KINDS = (APPOINTMENT, DOCUMENT, VACCINATION, *EVENT_KINDS)
PRO_KINDS = (DOCUMENT, *EVENT_KINDS)

# The names an appointment's own page may have (`agenda.appointments`); without one, an
# appointment links to the agenda's home page.
APPOINTMENT_URL_NAMES = ("agenda:detail", "agenda:appointment", "agenda:appointment_detail")
AGENDA_HOME_URL_NAMES = ("agenda:home", "agenda:index")


def event_kinds_for(decision: Decision) -> frozenset[str]:
    """The kinds of care event the reader sees: every kind for the patient's side, their
    profession's rules for a professional (none without a rule, none in occupational
    health), nothing for a refused decision. One small query for a professional."""
    if not decision:
        return frozenset()
    if decision.basis in PATIENT_BASES:
        return frozenset(EVENT_KINDS)
    if decision.basis == Basis.OCCUPATIONAL or not decision.profession:
        return frozenset()
    return frozenset(
        CareEventAccessRule.objects.filter(profession=decision.profession).values_list(
            "kind", flat=True
        )
    )


def care_events_visible_to(decision: Decision) -> Q:
    """A filter on a space's care events matching `event_kinds_for`, as a subquery (no query
    of its own), for counts and exports."""
    if not decision:
        return Q(pk__in=[])
    if decision.basis in PATIENT_BASES:
        return Q()
    if decision.basis == Basis.OCCUPATIONAL or not decision.profession:
        return Q(pk__in=[])
    return Q(
        kind__in=CareEventAccessRule.objects.filter(profession=decision.profession).values("kind")
    )


@dataclass
class Entry:
    """One line of the timeline, as the page shows it."""

    day: date
    kind: str
    title: str
    detail: str = ""
    code: str = ""
    url: str = ""
    link_label: str = ""
    status: str = ""
    time: object = None

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


@dataclass
class Timeline:
    page: Page
    entries: list[Entry]
    years: list[int]
    kinds: tuple[str, ...]


def _rows(qs: QuerySet, day, kind) -> QuerySet:
    """`qs` with the timeline's columns: its date, its kind (a constant, or a column) and pk."""
    if isinstance(kind, str):
        kind = Value(kind, output_field=CharField())
    return qs.order_by().annotate(entry_date=day, entry_kind=kind, entry_pk=F("pk"))


def _sources(space, decision: Decision, *, kinds, year: int | None, now) -> list[QuerySet]:
    """One (date, kind, pk) queryset per source the reader sees, filtered."""
    sources = []
    if APPOINTMENT in kinds and decision.basis in PATIENT_BASES:
        appointments = Appointment.objects.filter(space=space, starts_at__lte=now).exclude(
            status=Appointment.Status.CANCELLED
        )
        if year:
            appointments = appointments.filter(starts_at__year=year)
        sources.append(
            _rows(appointments, TruncDate("starts_at", output_field=DateField()), APPOINTMENT)
        )
    if DOCUMENT in kinds:
        documents = Document.objects.filter(space=space, is_current=True).filter(
            documents_visible_to(decision)
        )
        if year:
            documents = documents.filter(act_date__year=year)
        sources.append(_rows(documents, F("act_date"), DOCUMENT))
    if VACCINATION in kinds and decision.basis in PATIENT_BASES:
        vaccinations = Vaccination.objects.filter(space=space)
        if year:
            vaccinations = vaccinations.filter(date__year=year)
        sources.append(_rows(vaccinations, F("date"), VACCINATION))
    event_kinds = [k for k in kinds if k in EVENT_KINDS]
    if event_kinds:
        events = CareEvent.objects.filter(space=space, kind__in=event_kinds).filter(
            care_events_visible_to(decision)
        )
        if year:
            events = events.filter(date__year=year)
        sources.append(_rows(events, F("date"), F("kind")))
    return sources


def _union(sources: list[QuerySet]) -> QuerySet | None:
    if not sources:
        return None
    first, *rest = (qs.values_list("entry_date", "entry_kind", "entry_pk") for qs in sources)
    return first.union(*rest, all=True) if rest else first


def _years(space, decision: Decision, *, kinds, now) -> list[int]:
    """The years that have something the reader sees, newest first (one query)."""
    sources = [
        qs.annotate(entry_year=ExtractYear("entry_date")).values_list("entry_year")
        for qs in _sources(space, decision, kinds=kinds, year=None, now=now)
    ]
    if not sources:
        return []
    first, *rest = sources
    years = first.union(*rest) if rest else first.distinct()
    return sorted({row[0] for row in years if row[0]}, reverse=True)


def timeline(
    space,
    decision: Decision,
    *,
    kind: str = "",
    year: int | None = None,
    page: int | str | None = 1,
    pro: bool = False,
    per_page: int = PER_PAGE,
) -> Timeline:
    """The page `page` of the reader's timeline of `space`, of `kind` (or every kind they
    see) in `year` (or every year), newest first."""
    now = timezone.now()
    if pro:
        allowed = event_kinds_for(decision)
        seen = tuple(k for k in PRO_KINDS if k not in EVENT_KINDS or k in allowed)
    else:
        seen = PATIENT_KINDS
    kinds = (kind,) if kind in seen else seen
    union = _union(_sources(space, decision, kinds=kinds, year=year, now=now))
    if union is None:
        paginator = Paginator([], per_page)
    else:
        paginator = Paginator(union.order_by("-entry_date", "-entry_pk"), per_page)
    current = paginator.get_page(page)
    rows = list(current.object_list)
    entries = _entries(space, rows, pro=pro)
    return Timeline(
        page=current,
        entries=entries,
        years=_years(space, decision, kinds=seen, now=now),
        kinds=seen,
    )


def _first_url(names, *args) -> str:
    for name in names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return ""


def agenda_home_url(space) -> str:
    """The agenda's home page of `space` ("" while `agenda.appointments` has none)."""
    return _first_url(AGENDA_HOME_URL_NAMES, space.public_id)


def _appointment_with(appointment, *, pro: bool) -> str:
    """Who the appointment is with: the directory professional, else, on the patient's own
    pages, the name typed by hand (sealed: decrypted here, no query). A professional's
    history page does not open the sealed details."""
    if appointment.professional:
        return appointment.professional.title
    if pro:
        return ""
    return sealing.details(appointment).name


def _entries(space, rows, *, pro: bool) -> list[Entry]:
    """The page's rows, read: at most one query per source on the page."""
    by_kind: dict[str, list[int]] = {}
    for _day, kind, pk in rows:
        source = kind if kind in (APPOINTMENT, DOCUMENT, VACCINATION) else "event"
        by_kind.setdefault(source, []).append(pk)
    built: dict[tuple[str, int], Entry] = {}
    if APPOINTMENT in by_kind:
        agenda_home = _first_url(AGENDA_HOME_URL_NAMES, space.public_id)
        for appointment in Appointment.objects.filter(pk__in=by_kind[APPOINTMENT]).select_related(
            "professional__user", "data_key"
        ):
            url = _first_url(APPOINTMENT_URL_NAMES, space.public_id, appointment.public_id)
            who = _appointment_with(appointment, pro=pro)
            built[(APPOINTMENT, appointment.pk)] = Entry(
                day=timezone.localtime(appointment.starts_at).date(),
                time=timezone.localtime(appointment.starts_at),
                kind=APPOINTMENT,
                title=str(_("Rendez-vous avec %(who)s") % {"who": who})
                if who
                else str(_("Rendez-vous")),
                # A past appointment still "planned" says nothing sure: no badge for it.
                status=appointment.get_status_display()
                if appointment.status == Appointment.Status.DONE
                else "",
                url=url or agenda_home,
                link_label=str(_("Voir le rendez-vous") if url else _("Voir l'agenda")),
            )
    if DOCUMENT in by_kind:
        detail_name = "pro_documents:detail" if pro else "dossier:detail"
        for document in (
            Document.objects.filter(pk__in=by_kind[DOCUMENT])
            .select_related("type")
            .only("pk", "public_id", "act_date", "title", "author_label", "type__label")
        ):
            built[(DOCUMENT, document.pk)] = Entry(
                day=document.act_date,
                kind=DOCUMENT,
                title=document.type.label,
                detail=document.author_label,
                url=reverse(detail_name, args=[space.public_id, document.public_id]),
                link_label=str(_("Voir le document « %(title)s »") % {"title": document.title}),
            )
    if VACCINATION in by_kind:
        profile = reverse("profil:profile", args=[space.public_id]) + "#vaccination"
        for vaccination in Vaccination.objects.filter(pk__in=by_kind[VACCINATION]):
            built[(VACCINATION, vaccination.pk)] = Entry(
                day=vaccination.date,
                kind=VACCINATION,
                title=vaccination.vaccine,
                detail=vaccination.given_by,
                url=profile,
                link_label=str(_("Voir le profil médical")),
            )
    if "event" in by_kind:
        for event in CareEvent.objects.filter(pk__in=by_kind["event"]).select_related(
            "data_key", "professional__user"
        ):
            details = details_of(event)
            who = []
            if event.professional:
                who.append(event.professional.title)
            elif event.professional_rpps:
                who.append(str(_("RPPS %(rpps)s") % {"rpps": event.professional_rpps}))
            if details.establishment:
                who.append(details.establishment)
            elif event.establishment_finess:
                who.append(str(_("FINESS %(finess)s") % {"finess": event.establishment_finess}))
            built[(event.kind, event.pk)] = Entry(
                day=event.date,
                kind=event.kind,
                title=details.label or event.code,
                code=event.code,
                detail=" — ".join(who),
            )
    return [built[(kind, pk)] for _day, kind, pk in rows if (kind, pk) in built]


def count_events(space, decision: Decision) -> int:
    """The care events of `space` the reader sees (one query)."""
    return CareEvent.objects.filter(space=space).filter(care_events_visible_to(decision)).count()
