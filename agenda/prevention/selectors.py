"""What the prevention pages and the other agenda pages read of a person's reminders.

The facts that satisfy items come from the space's profile vaccinations, its current
documents of the rules' LOINC types, its care events of the rules' codes and the person's
own marks; `facts_for` reads them for many spaces at once (one query each), so a page and
a batch of the nightly computation cost the same number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce
from operator import or_

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agenda.models import CareEvent, PreventionMark, PreventionPreference
from agenda.models.prevention import Programme
from agenda.prevention import engine
from agenda.prevention.engine import Answers, Fact, Person
from agenda.prevention.rules import active_rules
from dossier.models import Document, Vaccination

STATE_LABELS = {
    engine.TO_PLAN: _("À planifier"),
    engine.DUE: _("À faire"),
    engine.OVERDUE: _("En retard"),
    engine.DONE: _("Fait"),
    engine.NOT_APPLICABLE: _("Ne vous concerne pas"),
}
SOURCE_LABELS = {
    "vaccination": _("une vaccination de votre profil médical"),
    "document": _("un document de votre dossier"),
    "care": _("un soin remboursé par l'Assurance Maladie"),
    "mark": _("votre réponse"),
}
# Upcoming items further than this are not shown ("à planifier" within N years).
HORIZON_YEARS = 5


@dataclass
class Context:
    """Everything the engine needs for one space (read by `contexts_for`)."""

    person: Person
    facts: tuple[Fact, ...]
    answers: Answers
    marks: list[dict]


def _care_filter(rules) -> Q | None:
    parts = []
    for rule in rules:
        for code in rule.care_codes:
            kind, _sep, prefix = code.partition(":")
            parts.append(Q(kind=kind, code__startswith=prefix))
    return reduce(or_, parts) if parts else None


def contexts_for(spaces: dict[int, tuple[date, str]], rules) -> dict[int, Context]:
    """The engine's inputs for each space id → (birth date, sex): four queries."""
    ids = list(spaces)
    facts: dict[int, list[Fact]] = defaultdict(list)
    for space_id, vaccine, day in Vaccination.objects.filter(space_id__in=ids).values_list(
        "space_id", "vaccine", "date"
    ):
        facts[space_id].append(Fact("vaccination", day, text=vaccine))
    loinc = sorted({code for rule in rules for code in rule.loinc_codes})
    documents = Document.objects.filter(
        space_id__in=ids,
        is_current=True,
        type_code__in=loinc,
        # What the patient does not see must not show through a reminder marked done.
        invisible_to_patient=False,
        invisible_to_representatives=False,
    ).values_list("space_id", "type_code", "act_date")
    for space_id, code, day in documents:
        facts[space_id].append(Fact("document", day, code=code))
    care = _care_filter(rules)
    if care is not None:
        events = CareEvent.objects.filter(care, space_id__in=ids).values_list(
            "space_id", "kind", "code", "date"
        )
        for space_id, kind, code, day in events:
            facts[space_id].append(Fact("care", day, code=f"{kind}:{code}"))
    marks: dict[int, list[dict]] = defaultdict(list)
    declined: dict[int, set[str]] = defaultdict(set)
    for mark in PreventionMark.objects.filter(space_id__in=ids).values(
        "pk", "space_id", "rule_code", "rule_version", "kind", "done_on"
    ):
        marks[mark["space_id"]].append(mark)
        if mark["kind"] == PreventionMark.Kind.DONE:
            facts[mark["space_id"]].append(Fact("mark", mark["done_on"], code=mark["rule_code"]))
        else:
            declined[mark["space_id"]].add(mark["rule_code"])
    preferences = {
        p["space_id"]: p
        for p in PreventionPreference.objects.filter(space_id__in=ids).values(
            "space_id", "programmes_off", "conditions"
        )
    }
    out = {}
    for space_id, (birth, sex) in spaces.items():
        pref = preferences.get(space_id, {})
        out[space_id] = Context(
            person=Person(birth, sex, frozenset(pref.get("conditions") or ())),
            facts=tuple(sorted(facts.get(space_id, ()), key=_fact_key)),
            answers=Answers(
                declined=frozenset(declined.get(space_id, ())),
                programmes_off=frozenset(pref.get("programmes_off") or ()),
            ),
            marks=marks.get(space_id, []),
        )
    return out


def _fact_key(fact: Fact):
    return (fact.day, fact.source, fact.code, fact.text)


def context_of(space, rules) -> Context:
    holder = space.holder
    return contexts_for({space.pk: (holder.birth_date, holder.sex)}, rules)[space.pk]


@dataclass
class Reminder:
    """One item as the pages show it (also readable as a mapping: `item["key"]`)."""

    key: str
    code: str
    label: str
    state: str
    state_label: str
    window_start: date | None
    window_end: date | None
    url: str
    programme: str
    programme_label: str
    requirement: str
    requirement_label: str
    why: str
    source_title: str
    source_url: str
    source_date: date
    satisfied_by: Fact | None = None
    satisfied_label: str = ""
    reason: str = ""
    mark_id: int | None = None  # the person's answer behind it, which they can take back

    @property
    def last_day(self) -> date | None:
        """The window's last day (`window_end` is the first day after it)."""
        return self.window_end - timedelta(days=1) if self.window_end else None

    def __getitem__(self, name):
        return getattr(self, name)


def present(item: engine.Item, url: str) -> Reminder:
    rule = item.rule
    fact = item.satisfied_by
    return Reminder(
        key=item.key,
        code=rule.code,
        label=rule.label,
        state=item.state,
        state_label=str(STATE_LABELS[item.state]),
        window_start=item.window_start,
        window_end=item.window_end,
        url=f"{url}#rappel-{rule.code}",
        programme=rule.programme,
        programme_label=str(Programme(rule.programme).label),
        requirement=rule.requirement,
        requirement_label="Obligatoire" if rule.requirement == "obligatoire" else "Recommandé",
        why=rule.why,
        source_title=rule.source_title,
        source_url=rule.source_url,
        source_date=rule.source_date,
        satisfied_by=fact,
        satisfied_label=str(SOURCE_LABELS.get(fact.source, "")) if fact else "",
        reason=item.reason,
    )


def visible(item: engine.Item, today: date) -> bool:
    """Whether the page shows an item: not the ones for someone else or long past, nor
    the ones planned beyond the horizon."""
    if item.state == engine.NOT_APPLICABLE:
        return item.reason in (engine.DECLINED, engine.PROGRAMME_OFF)
    if item.state == engine.TO_PLAN:
        return item.window_start is not None and (
            item.window_start.year - today.year <= HORIZON_YEARS
        )
    return True


@dataclass
class Overview:
    groups: list[tuple[str, str, list[Reminder]]]  # (state, French title, reminders)
    declined: list[Reminder]
    programmes_off: list[str]
    conditions: list[str]
    marks: list[dict]


GROUPS = [
    (engine.OVERDUE, _("En retard")),
    (engine.DUE, _("À faire maintenant")),
    (engine.TO_PLAN, _("À planifier")),
    (engine.DONE, _("Déjà fait")),
]


def overview(space, today: date | None = None) -> Overview:
    """The prevention page of `space` on `today`: its items grouped by state (six queries)."""
    today = today or timezone.localdate()
    rules = active_rules()
    context = context_of(space, rules)
    result = engine.compute(context.person, rules, context.facts, context.answers, today)
    url = reverse("agenda:prevention", args=[space.public_id])
    shown = [present(item, url) for item in result.items if visible(item, today)]
    shown.sort(key=lambda r: (r.window_start or today, r.label))
    groups = [
        (state, str(title), [r for r in shown if r.state == state]) for state, title in GROUPS
    ]
    by_answer = {(m["rule_code"], m["kind"], m["done_on"]): m["pk"] for m in context.marks}
    for reminder in shown:
        fact = reminder.satisfied_by
        if fact is not None and fact.source == "mark":
            reminder.mark_id = by_answer.get((reminder.code, "done", fact.day))
        elif reminder.reason == engine.DECLINED:
            reminder.mark_id = by_answer.get((reminder.code, "not_concerned", None))
    declined = [r for r in shown if r.reason == engine.DECLINED]
    return Overview(
        groups=groups,
        declined=declined,
        programmes_off=sorted(context.answers.programmes_off),
        conditions=sorted(context.person.conditions),
        marks=context.marks,
    )


def due_reminders(space, today=None) -> list:
    """The reminders of `space` that are due or overdue on `today` (default: today), for
    the agenda page and the iCalendar feed, in a constant number of queries.

    Each item has: `key` (stable, for an iCalendar UID), `label` (the programme's French
    label, e.g. "Dépistage du cancer du col de l'utérus"), `state` and `state_label`,
    `window_start` and `window_end` (dates), `url` (its page).
    """
    today = today or timezone.localdate()
    rules = active_rules()
    context = context_of(space, rules)
    result = engine.compute(context.person, rules, context.facts, context.answers, today)
    url = reverse("agenda:prevention", args=[space.public_id])
    due = [
        present(item, url) for item in result.items if item.state in (engine.DUE, engine.OVERDUE)
    ]
    due.sort(key=lambda r: (r.state != engine.OVERDUE, r.window_start or today, r.label))
    for reminder in due:
        if reminder.programme != Programme.VACCINATION:
            reminder.label = reminder.programme_label
    return due
