"""The prevention engine on the rules the data migration loads, travelling in time to the
edges of each window (the day before, the day of, the last day, the day after)."""

from datetime import date

import pytest
import time_machine

from agenda.models import PreventionMark, PreventionRule
from agenda.prevention import engine, selectors
from agenda.prevention.engine import Fact, Person
from agenda.prevention.rules import active_rules
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules():
    return active_rules()


def states(rules, birth, sex, on, facts=(), conditions=(), answers=None):
    """Each rule code → its item, for a person born `birth`, on the day `on` (time-travelled:
    the engine's default day is today)."""
    with time_machine.travel(on, tick=False):
        assert date.today() == on
        result = engine.compute(Person(birth, sex, frozenset(conditions)), rules, facts, answers)
    return {item.rule.code: item for item in result.items}


def state(rules, code, birth, sex, on, **kwargs):
    return states(rules, birth, sex, on, **kwargs)[code].state


def vaccine(name, day):
    return Fact("vaccination", day, text=name)


# --- Screenings: sex, age band, interval ---------------------------------------------------

BORN_1976 = date(1976, 3, 15)


@pytest.mark.parametrize(
    "on, expected",
    [
        (date(2026, 3, 14), engine.TO_PLAN),  # the day before 50
        (date(2026, 3, 15), engine.DUE),  # the day of
        (date(2028, 3, 14), engine.DUE),  # the last day of the first two years
        (date(2028, 3, 15), engine.OVERDUE),
        (date(2051, 3, 14), engine.OVERDUE),  # 74 years and 364 days
        (date(2051, 3, 15), engine.NOT_APPLICABLE),  # 75
    ],
)
def test_breast_screening_at_the_edges_of_50_to_74(rules, on, expected):
    assert state(rules, "depistage-sein", BORN_1976, "F", on) == expected
    assert state(rules, "depistage-sein", BORN_1976, "M", on) == engine.NOT_APPLICABLE


def test_breast_screening_comes_back_two_years_after_a_mammography(rules):
    facts = [Fact("care", date(2030, 5, 2), code="act:QEQK004")]
    items = states(rules, BORN_1976, "F", date(2032, 5, 1), facts=facts)
    assert items["depistage-sein"].state == engine.DONE
    assert items["depistage-sein"].window_start == date(2032, 5, 2)
    assert state(rules, "depistage-sein", BORN_1976, "F", date(2032, 5, 2), facts=facts) == (
        engine.DUE
    )
    # A mammography done at 73 lasts until the end of the band.
    late = [Fact("document", date(2049, 6, 1), code="24606-6")]
    assert state(rules, "depistage-sein", BORN_1976, "F", date(2051, 3, 14), facts=late) == (
        engine.DONE
    )


def test_colorectal_screening_for_both_sexes_every_two_years(rules):
    for sex in "FM":
        assert state(rules, "depistage-colorectal", BORN_1976, sex, date(2026, 3, 14)) == (
            engine.TO_PLAN
        )
        assert state(rules, "depistage-colorectal", BORN_1976, sex, date(2026, 3, 15)) == (
            engine.DUE
        )
    facts = [Fact("document", date(2027, 1, 10), code="57905-2")]
    assert state(rules, "depistage-colorectal", BORN_1976, "M", date(2029, 1, 9), facts=facts) == (
        engine.DONE
    )
    assert state(rules, "depistage-colorectal", BORN_1976, "M", date(2029, 1, 10), facts=facts) == (
        engine.DUE
    )


def test_cervix_two_cytologies_a_year_apart_then_three_years_then_hpv(rules):
    born = date(2000, 1, 10)
    assert state(rules, "depistage-col-cytologie", born, "F", date(2025, 1, 9)) == engine.TO_PLAN
    assert state(rules, "depistage-col-cytologie", born, "F", date(2025, 1, 10)) == engine.DUE
    assert state(rules, "depistage-col-cytologie", born, "M", date(2025, 1, 10)) == (
        engine.NOT_APPLICABLE
    )
    first = [Fact("document", date(2025, 2, 1), code="10524-7")]
    items = states(rules, born, "F", date(2025, 6, 1), facts=first)
    assert items["depistage-col-cytologie"].state == engine.DONE
    assert items["depistage-col-cytologie"].window_start == date(2026, 2, 1)  # a year later
    second = [*first, Fact("document", date(2026, 2, 1), code="10524-7")]
    items = states(rules, born, "F", date(2026, 6, 1), facts=second)
    assert items["depistage-col-cytologie"].window_start == date(2029, 2, 1)  # three years
    # From 30, the HPV test, 3 years after the last normal cytology.
    items = states(rules, born, "F", date(2030, 1, 10), facts=second)
    assert items["depistage-col-cytologie"].state == engine.NOT_APPLICABLE
    assert items["depistage-col-hpv"].state == engine.DUE
    third = [*second, Fact("document", date(2029, 3, 1), code="10524-7")]
    items = states(rules, born, "F", date(2030, 1, 10), facts=third)
    assert items["depistage-col-hpv"].state == engine.TO_PLAN
    assert items["depistage-col-hpv"].window_start == date(2032, 3, 1)
    # Then every 5 years, until 65 included.
    hpv = [*third, Fact("care", date(2032, 4, 1), code="act:5301")]
    items = states(rules, born, "F", date(2037, 3, 31), facts=hpv)
    assert items["depistage-col-hpv"].state == engine.DONE
    assert state(rules, "depistage-col-hpv", born, "F", date(2037, 4, 1), facts=hpv) == engine.DUE
    assert state(rules, "depistage-col-hpv", born, "F", date(2066, 1, 10)) == engine.NOT_APPLICABLE


# --- Vaccinations ---------------------------------------------------------------------------


def test_the_infant_schedule_has_the_mandatory_vaccines_by_age_in_months(rules):
    mandatory = {r.series for r in rules if r.programme == "vaccination"} & {
        r.series for r in rules if r.requirement == "obligatoire"
    }
    # Diphtheria, tetanus, polio, pertussis, Hib, hepatitis B (one hexavalent vaccine),
    # pneumococcus, meningococcus (ACWY, and B since 2025), measles, mumps, rubella.
    assert mandatory == {
        "vac-hexa",
        "vac-pneumo-nourrisson",
        "vac-menb-nourrisson",
        "vac-acwy-nourrisson",
        "vac-ror",
    }
    ages = {r.code: r.start_months for r in rules if r.series in mandatory}
    assert [ages[f"vac-hexa-{n}"] for n in (1, 2, 3)] == [2, 4, 11]
    assert [ages[f"vac-menb-nourrisson-{n}"] for n in (1, 2, 3)] == [3, 5, 12]
    assert [ages[f"vac-acwy-nourrisson-{n}"] for n in (1, 2)] == [6, 12]
    assert [ages["vac-ror-1"], ages["vac-ror-2"]] == [12, 16]
    born = date(2026, 1, 15)
    assert state(rules, "vac-hexa-1", born, "M", date(2026, 3, 14)) == engine.TO_PLAN
    assert state(rules, "vac-hexa-1", born, "M", date(2026, 3, 15)) == engine.DUE
    assert state(rules, "vac-hexa-1", born, "M", date(2026, 4, 15)) == engine.OVERDUE
    facts = [vaccine("Vaxelis", date(2026, 3, 20)), vaccine("Vaxelis", date(2026, 5, 18))]
    items = states(rules, born, "M", date(2026, 6, 1), facts=facts)
    assert items["vac-hexa-1"].satisfied_by.day == date(2026, 3, 20)
    assert items["vac-hexa-2"].satisfied_by.day == date(2026, 5, 18)
    assert items["vac-hexa-3"].state == engine.TO_PLAN


@pytest.mark.parametrize(
    "on, expected",
    [
        (date(2010, 4, 11), engine.TO_PLAN),  # the day before 25
        (date(2010, 4, 12), engine.DUE),
        (date(2011, 4, 12), engine.OVERDUE),  # catch-up, with pertussis, until 39
        (date(2025, 4, 12), engine.NOT_APPLICABLE),  # 40: the next booster is at 45
    ],
)
def test_dtp_booster_at_25_with_pertussis(rules, on, expected):
    assert state(rules, "vac-dtp-25", date(1985, 4, 12), "F", on) == expected


def test_dtp_boosters_at_45_and_65_then_every_ten_years(rules):
    born = date(1985, 4, 12)
    facts = [vaccine("DTP (rappel)", date(2019, 6, 2))]
    items = states(rules, born, "F", date(2026, 12, 2), facts=facts)
    assert items["vac-dtp-25"].state == engine.DONE  # late, but done
    assert items["vac-dtp-45"].state == engine.TO_PLAN
    assert items["vac-dtp-45"].window_start == date(2030, 4, 12)
    assert "coqueluche" in items["vac-dtp-25"].rule.label
    starts = {r.code: r.start_months // 12 for r in rules if r.series == "vac-dtp-adulte"}
    assert sorted(starts.values()) == [25, 45, 65, 75, 85, 95]
    assert state(rules, "vac-dtp-75", born, "F", date(2060, 4, 12)) == engine.DUE


def test_hpv_two_doses_from_11_to_14_the_second_months_after_the_first(rules):
    born = date(2015, 6, 3)
    for sex in "FM":
        assert state(rules, "vac-hpv-1", born, sex, date(2026, 6, 2)) == engine.TO_PLAN
        assert state(rules, "vac-hpv-1", born, sex, date(2026, 6, 3)) == engine.DUE
    facts = [vaccine("Gardasil 9", date(2026, 7, 1))]
    items = states(rules, born, "M", date(2026, 11, 1), facts=facts)
    assert items["vac-hpv-1"].state == engine.DONE
    assert items["vac-hpv-2"].state == engine.TO_PLAN
    assert items["vac-hpv-2"].window_start == date(2026, 12, 1)  # 5 months after
    assert state(rules, "vac-hpv-2", born, "M", date(2026, 11, 30), facts=facts) == engine.TO_PLAN
    assert state(rules, "vac-hpv-2", born, "M", date(2026, 12, 1), facts=facts) == engine.DUE
    assert state(rules, "vac-hpv-1", born, "M", date(2035, 6, 3)) == engine.NOT_APPLICABLE


def test_meningococcus_acwy_11_to_14_catch_up_to_24_and_b_15_to_24(rules):
    born = date(2005, 9, 1)
    assert state(rules, "vac-acwy-ado", born, "F", date(2016, 9, 1)) == engine.DUE
    assert state(rules, "vac-acwy-ado", born, "F", date(2020, 9, 1)) == engine.OVERDUE
    assert state(rules, "vac-acwy-ado", born, "F", date(2030, 8, 31)) == engine.OVERDUE
    assert state(rules, "vac-acwy-ado", born, "F", date(2030, 9, 1)) == engine.NOT_APPLICABLE
    assert state(rules, "vac-menb-jeune", born, "M", date(2020, 8, 31)) == engine.TO_PLAN
    assert state(rules, "vac-menb-jeune", born, "M", date(2020, 9, 1)) == engine.DUE
    assert state(rules, "vac-menb-jeune", born, "M", date(2030, 9, 1)) == engine.NOT_APPLICABLE


def test_flu_every_autumn_from_65_and_earlier_with_a_declared_condition(rules):
    born = date(1960, 5, 1)
    assert state(rules, "vac-grippe", born, "M", date(2024, 10, 20)) == engine.TO_PLAN  # 64
    assert state(rules, "vac-grippe", born, "M", date(2025, 5, 1)) == engine.TO_PLAN  # no campaign
    assert state(rules, "vac-grippe", born, "M", date(2025, 10, 15)) == engine.DUE
    shot = [vaccine("Efluelda", date(2025, 11, 3))]
    assert state(rules, "vac-grippe", born, "M", date(2026, 1, 31), facts=shot) == engine.DONE
    assert state(rules, "vac-grippe", born, "M", date(2026, 6, 1), facts=shot) == engine.DONE
    assert state(rules, "vac-grippe", born, "M", date(2026, 10, 15), facts=shot) == engine.DUE
    young = date(1990, 1, 1)
    assert state(rules, "vac-grippe", young, "F", date(2026, 11, 1)) == engine.TO_PLAN
    assert (
        state(rules, "vac-grippe", young, "F", date(2026, 11, 1), conditions=["diabete"])
        == engine.DUE
    )


def test_shingles_two_doses_two_months_apart_from_65(rules):
    born = date(1961, 2, 1)
    assert state(rules, "vac-zona-1", born, "F", date(2026, 1, 31)) == engine.TO_PLAN
    assert state(rules, "vac-zona-1", born, "F", date(2026, 2, 1)) == engine.DUE
    facts = [vaccine("Shingrix", date(2026, 3, 1))]
    items = states(rules, born, "F", date(2026, 4, 30), facts=facts)
    assert items["vac-zona-2"].state == engine.TO_PLAN
    assert items["vac-zona-2"].window_start == date(2026, 5, 1)
    assert state(rules, "vac-zona-2", born, "F", date(2026, 5, 1), facts=facts) == engine.DUE


def test_pneumococcus_once_from_65(rules):
    born = date(1961, 2, 1)
    assert state(rules, "vac-pneumo-65", born, "M", date(2026, 1, 31)) == engine.TO_PLAN
    assert state(rules, "vac-pneumo-65", born, "M", date(2040, 1, 1)) == engine.DUE
    facts = [Fact("care", date(2026, 3, 1), code="dispensation:J07AL02")]
    assert state(rules, "vac-pneumo-65", born, "M", date(2040, 1, 1), facts=facts) == engine.DONE


def test_rsv_from_75_or_65_to_74_with_a_chronic_respiratory_or_cardiac_disease(rules):
    born = date(1955, 6, 1)
    assert state(rules, "vac-vrs", born, "F", date(2026, 6, 1)) == engine.TO_PLAN  # 71
    for condition in ("respiratoire_chronique", "cardiaque_chronique"):
        assert (
            state(rules, "vac-vrs", born, "F", date(2026, 6, 1), conditions=[condition])
            == engine.DUE
        )
    assert state(rules, "vac-vrs", born, "F", date(2026, 6, 1), conditions=["diabete"]) == (
        engine.TO_PLAN
    )
    assert state(rules, "vac-vrs", born, "F", date(2030, 5, 31)) == engine.TO_PLAN
    assert state(rules, "vac-vrs", born, "F", date(2030, 6, 1)) == engine.DUE  # 75


# --- Mon bilan prévention, child examinations, M'T dents -----------------------------------


@pytest.mark.parametrize("low, high", [(18, 25), (45, 50), (60, 65), (70, 75)])
def test_mon_bilan_prevention_once_in_each_band(rules, low, high):
    born = date(1950, 7, 1)
    code = f"bilan-{low}-{high}"
    assert state(rules, code, born, "M", date(1950 + low, 6, 30)) == engine.TO_PLAN
    assert state(rules, code, born, "F", date(1950 + low, 7, 1)) == engine.DUE
    assert state(rules, code, born, "F", date(1950 + high + 1, 6, 30)) == engine.DUE
    assert state(rules, code, born, "F", date(1950 + high + 1, 7, 1)) == engine.NOT_APPLICABLE
    mark = [Fact("mark", date(1950 + low, 9, 1), code=code)]
    assert state(rules, code, born, "F", date(1950 + low, 10, 1), facts=mark) == engine.DONE


def test_the_twenty_child_examinations_from_birth_to_16(rules):
    exams = [r for r in rules if r.programme == "examens_enfant"]
    assert len(exams) == 20 and all(r.requirement == "obligatoire" for r in exams)
    born = date(2026, 1, 1)
    assert state(rules, "enfant-examen-01", born, "F", date(2026, 1, 1)) == engine.DUE
    assert state(rules, "enfant-examen-01", born, "F", date(2026, 1, 8)) == engine.DUE
    assert state(rules, "enfant-examen-02", born, "F", date(2026, 1, 8)) == engine.TO_PLAN
    assert state(rules, "enfant-examen-02", born, "F", date(2026, 1, 9)) == engine.DUE
    leo = date(2015, 6, 3)
    items = states(rules, leo, "M", date(2026, 12, 2))
    assert items["enfant-examen-19"].state == engine.DUE  # 11 to 13
    assert items["enfant-examen-20"].state == engine.TO_PLAN
    assert items["enfant-examen-20"].window_start == date(2030, 6, 3)
    assert state(rules, "enfant-examen-20", leo, "M", date(2032, 6, 3)) == engine.NOT_APPLICABLE


def test_mt_dents_every_three_years_from_3_to_24(rules):
    ages = sorted(r.start_months // 12 for r in rules if r.programme == "mt_dents")
    assert ages == [3, 6, 9, 12, 15, 18, 21, 24]
    born = date(2002, 3, 1)
    assert state(rules, "mt-dents-24", born, "M", date(2026, 2, 28)) == engine.TO_PLAN
    assert state(rules, "mt-dents-24", born, "M", date(2026, 3, 1)) == engine.DUE
    assert state(rules, "mt-dents-24", born, "M", date(2027, 3, 1)) == engine.NOT_APPLICABLE


# --- Rules as data -------------------------------------------------------------------------


def test_every_rule_says_why_and_on_whose_word(rules):
    assert len(rules) >= 60
    for rule in rules:
        assert rule.why and rule.source_title and rule.source_date, rule.code
        assert rule.requirement in ("obligatoire", "recommande")
    titles = {rule.programme: rule.source_title for rule in rules}
    assert titles["vaccination"].startswith(
        "Calendrier des vaccinations et recommandations vaccinales 2025"
    )
    assert "INCa" in titles["depistage_sein"] and "HAS" in titles["depistage_col"]
    assert "Assurance Maladie" in titles["mt_dents"] + titles["bilan_prevention"]


def test_a_later_calendar_does_not_rewrite_what_was_done():
    space = factories.SpaceFactory(holder__birth_date=date(1985, 4, 12))
    PreventionMark.objects.create(
        space=space,
        rule_code="vac-dtp-45",
        rule_version="2025",
        kind="done",
        done_on=date(2026, 1, 5),
    )
    # A 2027 calendar moves the booster to 46: the old rule is retired, a new one loaded.
    old = PreventionRule.objects.get(code="vac-dtp-45")
    PreventionRule.objects.filter(pk=old.pk).update(active=False)
    old.pk, old.version, old.start_months = None, "2027", 46 * 12
    old.save()
    with time_machine.travel(date(2026, 12, 2), tick=False):
        overview = selectors.overview(space)
    done = {r.code: r for _s, _t, items in overview.groups for r in items if r.state == "done"}
    assert done["vac-dtp-45"].satisfied_by.day == date(2026, 1, 5)
    assert PreventionMark.objects.get(space=space).rule_version == "2025"


def test_next_change_is_the_next_day_anything_moves(rules):
    result = engine.compute(Person(date(1975, 3, 15), "F"), rules, today=date(2026, 1, 1))
    assert result.next_change == date(2026, 2, 13)  # 30 days before the bilan 45-50 closes
    result = engine.compute(Person(date(1976, 3, 15), "F"), rules, today=date(2026, 2, 14))
    assert result.next_change == date(2026, 3, 15)  # the bilan 45-50 closes (51)
