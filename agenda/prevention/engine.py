"""The prevention engine: pure, without the database.

Given a person (birth date, sex, declared conditions), the facts that can satisfy items
(vaccinations of the profile, documents by LOINC type, care events by kind and code, the
person's own marks), the rules and a day, `compute` says for each item its state, its
window and what satisfied it, and `next_change` the next day anything would change.

States: to plan (window not open), due, overdue (recommended window passed, catch-up
still open), done, not applicable (not for this person, declined, programme turned off,
or the catch-up is over).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

TO_PLAN = "to_plan"
DUE = "due"
OVERDUE = "overdue"
DONE = "done"
NOT_APPLICABLE = "not_applicable"

# Why an item does not apply (shown to the person when they chose it).
DECLINED = "declined"
PROGRAMME_OFF = "programme_off"

CLOSING_DAYS = 30  # "before its window closes": this many days before its end
FLU_SEASON = ((10, 15), (1, 31))  # campaign: 15 October to 31 January


@dataclass(frozen=True)
class Rule:
    code: str
    version: str
    programme: str
    series: str
    order: int
    label: str
    requirement: str
    why: str
    source_title: str
    source_date: date
    source_url: str = ""
    sex: str = ""
    start_months: int = 0
    start_days: int = 0
    end_months: int | None = None
    end_days: int = 0
    catchup_months: int | None = None
    conditions: tuple[str, ...] = ()
    condition_start_months: int | None = None
    condition_only: bool = False
    interval_months: int | None = None
    first_interval_months: int | None = None
    seasonal: bool = False
    doses: int = 1
    after_previous_months: int | None = None
    previous_series: str = ""
    after_previous_series_months: int | None = None
    vaccine_terms: tuple[str, ...] = ()
    loinc_codes: tuple[str, ...] = ()
    care_codes: tuple[str, ...] = ()

    @property
    def vaccine_pattern(self):
        return _pattern(self.vaccine_terms)


@dataclass(frozen=True)
class Person:
    birth_date: date
    sex: str
    conditions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fact:
    """Something that happened: `source` is vaccination (text = the vaccine's name),
    document (code = LOINC type), care (code = "kind:code") or mark (code = rule code)."""

    source: str
    day: date
    code: str = ""
    text: str = ""


@dataclass(slots=True)
class Item:
    rule: Rule
    state: str
    window_start: date | None
    window_end: date | None
    satisfied_by: Fact | None = None
    reason: str = ""

    @property
    def key(self) -> str:
        start = self.window_start.isoformat() if self.window_start else ""
        return (
            f"{self.rule.code}:{start}"
            if self.rule.interval_months or self.rule.seasonal
            else (self.rule.code)
        )


@dataclass
class Answers:
    """The person's choices: rule codes declined, programmes turned off."""

    declined: frozenset[str] = frozenset()
    programmes_off: frozenset[str] = frozenset()


@dataclass
class Result:
    items: list[Item] = field(default_factory=list)
    next_change: date | None = None


# --- Dates ---------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months, the 29 February landing on the 28th."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    if day.day <= 28:
        return date(year, month, day.day)
    for d in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=d)
        except ValueError:
            continue
    raise ValueError(day)


def at_age(birth: date, months: int, days: int = 0) -> date:
    return add_months(birth, months) + timedelta(days=days)


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


@lru_cache(maxsize=512)
def _pattern(terms: tuple[str, ...]):
    if not terms:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(fold(t)) for t in terms) + ")")


# --- Matching ------------------------------------------------------------------------------


def matches(rule: Rule, fact: Fact) -> bool:
    if fact.source == "mark":
        return fact.code == rule.code
    if fact.source == "vaccination":
        pattern = rule.vaccine_pattern
        return bool(pattern and pattern.search(fact.text))
    if fact.source == "document":
        return fact.code in rule.loinc_codes
    if fact.source == "care":
        return any(fact.code.startswith(code) for code in rule.care_codes)
    return False


def prepare_facts(facts) -> list[Fact]:
    """Facts sorted by day, vaccine names folded once."""
    out = [
        Fact(f.source, f.day, f.code, fold(f.text)) if f.source == "vaccination" else f
        for f in facts
    ]
    out.sort(key=lambda f: f.day)
    return out


# --- The engine ----------------------------------------------------------------------------


class SortedRules(tuple):
    """Rules in the engine's order (a series' doses in turn; `previous_series` first)."""


def sort_rules(rules) -> SortedRules:
    if isinstance(rules, SortedRules):
        return rules
    return SortedRules(sorted(rules, key=lambda r: (r.programme, r.series, r.order, r.code)))


def compute(person: Person, rules, facts=(), answers: Answers | None = None, today=None) -> Result:
    """Each item of `rules` for `person` on `today`, and the next day anything changes."""
    today = today or date.today()
    rules = sort_rules(rules)
    answers = answers or Answers()
    facts = prepare_facts(facts)
    result = Result()
    used: dict[str, set[int]] = {}  # series -> facts already assigned to an earlier dose
    done_on: dict[str, date] = {}  # series -> the last dose's day (for the next dose)
    series_last: dict[str, date] = {}  # series -> last time done (for `previous_series`)
    changes: list[date] = []
    ages: dict[tuple[int, int], date] = {}  # the person's birth date plus months and days
    for rule in rules:
        item, change = _item(person, rule, facts, answers, today, used, done_on, series_last, ages)
        result.items.append(item)
        if change is not None:
            changes.append(change)
    result.next_change = min((d for d in changes if d > today), default=None)
    return result


def _applies(person: Person, rule: Rule) -> tuple[bool, int]:
    """Whether `rule` is for `person`, and the age (months) it starts at for them."""
    if rule.sex and rule.sex != person.sex:
        return False, 0
    declared = bool(rule.conditions) and not person.conditions.isdisjoint(rule.conditions)
    if rule.condition_only and not declared:
        return False, 0
    if declared and rule.condition_start_months is not None:
        return True, min(rule.condition_start_months, rule.start_months)
    return True, rule.start_months


def _age(ages, birth, months, days=0) -> date:
    key = (months, days)
    day = ages.get(key)
    if day is None:
        day = ages[key] = at_age(birth, months, days)
    return day


def _item(person, rule, facts, answers, today, used, done_on, series_last, ages):
    applies, start_months = _applies(person, rule)
    birth = person.birth_date
    start = _age(ages, birth, start_months, rule.start_days)
    end = _age(ages, birth, rule.end_months, rule.end_days) if rule.end_months is not None else None
    catchup = _age(ages, birth, rule.catchup_months) if rule.catchup_months is not None else end
    if not applies:
        return Item(rule, NOT_APPLICABLE, start, end), None
    if rule.seasonal:
        item, change = _seasonal(rule, facts, start, end, today)
    elif rule.interval_months:
        item, change = _recurring(rule, facts, start, end, today, series_last)
    else:
        item, change = _once(rule, facts, start, end, catchup, today, used, done_on)
    if item.state == DONE and item.satisfied_by is not None and not rule.interval_months:
        last = series_last.get(rule.series)
        if last is None or item.satisfied_by.day > last:
            series_last[rule.series] = item.satisfied_by.day
    if item.state != DONE:
        if rule.code in answers.declined:
            return Item(
                rule, NOT_APPLICABLE, item.window_start, item.window_end, None, DECLINED
            ), None
        if rule.programme in answers.programmes_off:
            return Item(
                rule, NOT_APPLICABLE, item.window_start, item.window_end, None, PROGRAMME_OFF
            ), change
    return item, change


def _once(rule, facts, start, end, catchup, today, used, done_on):
    """One dose or one examination in an age window (a series' doses in their order)."""
    taken = used.setdefault(rule.series, set())
    previous = done_on.get(rule.series)
    if rule.after_previous_months and previous is not None:
        start = max(start, add_months(previous, rule.after_previous_months))
        if end is not None and end <= start:
            end = add_months(start, 12)
            catchup = max(catchup or end, end)
    # A fact counts from a year before the window (an early dose is a dose) to its catch-up.
    earliest = add_months(start, -12) if facts else start
    late = add_months(catchup, 12) if facts and catchup is not None else None
    for index, fact in enumerate(facts):
        if index in taken or fact.day > today:
            continue
        # The person's own mark on this item holds whatever the window (a later calendar
        # may move it); other facts count near the window only.
        if fact.source != "mark" and (fact.day < earliest or (late and fact.day >= late)):
            continue
        if matches(rule, fact):
            taken.add(index)
            done_on[rule.series] = fact.day
            return Item(rule, DONE, start, end, fact), None
    if rule.after_previous_months and previous is None:
        # The next dose waits for the previous one.
        return Item(
            rule,
            TO_PLAN if today < (catchup or today + timedelta(1)) else NOT_APPLICABLE,
            start,
            end,
        ), None
    if today < start:
        return Item(rule, TO_PLAN, start, end), start
    if end is None or today < end:
        closing = end - timedelta(days=CLOSING_DAYS) if end else None
        return Item(rule, DUE, start, end), closing if closing and closing > today else end
    if catchup is not None and today < catchup:
        return Item(rule, OVERDUE, start, end), catchup
    return Item(rule, NOT_APPLICABLE, start, end), None


def _recurring(rule, facts, band_start, band_end, today, series_last):
    """Every `interval_months` within the age band, from the last time it was done."""
    interval = rule.interval_months
    last = None
    count = 0
    for fact in facts:
        if fact.day <= today and matches(rule, fact):
            count += 1
            last = fact
    if last is not None:
        series_last[rule.series] = max(series_last.get(rule.series, last.day), last.day)
    after = None
    if last is not None:
        months = (
            rule.first_interval_months
            if (count == 1 and rule.first_interval_months)
            else (interval)
        )
        after = add_months(last.day, months)
    previous = series_last.get(rule.previous_series) if rule.previous_series else None
    if previous is not None and rule.after_previous_series_months:
        candidate = add_months(previous, rule.after_previous_series_months)
        if last is None or last.day < previous:
            after = candidate
            last = None
    start = max(band_start, after) if after else band_start
    if band_end is not None and today >= band_end:
        return Item(rule, NOT_APPLICABLE, start, band_end), None
    if band_end is not None and start >= band_end:
        # Done recently enough for the rest of the band.
        return Item(rule, DONE, start, band_end, last), band_end
    window_end = add_months(start, interval)
    if band_end is not None:
        window_end = min(window_end, band_end)
    if today < start:
        if last is not None:
            return Item(rule, DONE, start, window_end, last), start
        return Item(rule, TO_PLAN, start, window_end), start
    if today < window_end:
        closing = window_end - timedelta(days=CLOSING_DAYS)
        return Item(rule, DUE, start, window_end), closing if closing > today else window_end
    return Item(rule, OVERDUE, start, window_end), band_end


def season_of(today: date) -> tuple[date, date]:
    """The flu campaign running on `today`, else the next one (first and last day)."""
    (sm, sd), (em, ed) = FLU_SEASON
    if today <= date(today.year, em, ed):
        return date(today.year - 1, sm, sd), date(today.year, em, ed)
    return date(today.year, sm, sd), date(today.year + 1, em, ed)


def _seasonal(rule, facts, band_start, band_end, today):
    """Each autumn's campaign, from the age the rule starts at."""
    if band_end is not None and today >= band_end:
        return Item(rule, NOT_APPLICABLE, band_start, band_end), None
    start, end = season_of(today)
    while end < band_start:
        start, end = season_of(end + timedelta(days=1))
    if today < start:  # between two campaigns: the last one's vaccine, then the next one
        for fact in reversed(facts):
            if fact.day <= today and fact.day >= add_months(start, -12) and matches(rule, fact):
                return Item(rule, DONE, start, end, fact), start
        return Item(rule, TO_PLAN, max(start, band_start), end), max(start, band_start)
    for fact in reversed(facts):
        if fact.day < start:
            break
        if fact.day <= today and matches(rule, fact):
            return Item(rule, DONE, start, end, fact), end + timedelta(days=1)
    if today < band_start:
        return Item(rule, TO_PLAN, band_start, end), band_start
    closing = end - timedelta(days=CLOSING_DAYS)
    return Item(rule, DUE, max(start, band_start), end), closing if closing > today else end
