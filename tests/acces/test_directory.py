"""Searching the professionals directory: `search_professionals` and its form."""

import itertools

import pytest

from acces.directory import DirectorySearchForm, search_professionals
from acces.validators import luhn_complete
from espace_sante.models import User
from tests import factories

pytestmark = pytest.mark.django_db

_counter = itertools.count(1)


def rpps() -> str:
    """A fresh RPPS number with a valid Luhn key (factories use the 2… range, we use 3…)."""
    return luhn_complete(f"{3000000000 + next(_counter)}")


def pro(first, last, *, profession="medecin", town="Nantes", active=True, **extra):
    return factories.ProfessionalFactory(
        user__first_name=first,
        user__last_name=last,
        user__is_active=active,
        rpps=extra.pop("rpps", None) or rpps(),
        profession=profession,
        specialty="medecine_generale" if profession == "medecin" else "",
        practice_town=town,
        **extra,
    )


def names(found):
    return [p.user.get_full_name() for p in found]


@pytest.fixture
def directory():
    return {
        "martin": pro("Claire", "Martin"),
        "martineau": pro("Luc", "Martineau", profession="infirmier", town="Rezé"),
        "dupont": pro("Jean", "Dupont", town="Saint-Étienne"),
        "dupont_marie": pro("Marie", "Dupont", profession="pharmacien", town="Nantes"),
        "helene": pro("Hélène", "Lefèvre", profession="sage_femme", town="Angers"),
        "le_gall": pro("Jean-Pierre", "Le Gall", profession="masseur_kinesitherapeute"),
        "laetitia": pro("Lætitia", "Œuvray", town="Évreux"),
        "former": pro("Martine", "Marty", active=False),
    }


def test_name_prefix_finds_last_names_ordered_by_last_then_first_name(directory):
    assert names(search_professionals(query="mart")) == ["Claire Martin", "Luc Martineau"]
    assert names(search_professionals(query="MARTIN")) == ["Claire Martin", "Luc Martineau"]
    assert names(search_professionals(query="dupont")) == ["Jean Dupont", "Marie Dupont"]


def test_every_word_must_begin_the_first_or_the_last_name(directory):
    assert names(search_professionals(query="dupont jean")) == ["Jean Dupont"]
    assert names(search_professionals(query="Jean Dupont")) == ["Jean Dupont"]
    assert names(search_professionals(query="jean")) == ["Jean Dupont", "Jean-Pierre Le Gall"]
    # Inside a word is not the start of a word.
    assert names(search_professionals(query="artin")) == []


def test_accents_case_and_ligatures_are_ignored(directory):
    assert names(search_professionals(query="helene")) == ["Hélène Lefèvre"]
    assert names(search_professionals(query="HÉLÈNE lefe")) == ["Hélène Lefèvre"]
    assert names(search_professionals(query="laetitia")) == ["Lætitia Œuvray"]
    assert names(search_professionals(query="oeuvr")) == ["Lætitia Œuvray"]


def test_words_of_compound_names_are_found(directory):
    assert names(search_professionals(query="pierre")) == ["Jean-Pierre Le Gall"]
    assert names(search_professionals(query="gall")) == ["Jean-Pierre Le Gall"]


def test_eleven_digits_find_the_professional_by_exact_rpps(directory):
    number = directory["dupont"].rpps
    assert names(search_professionals(query=number)) == ["Jean Dupont"]
    spaced = f"{number[:3]} {number[3:7]} {number[7:]}"
    assert names(search_professionals(query=spaced)) == ["Jean Dupont"]
    assert names(search_professionals(query=number[:10])) == []


def test_profession_filter_takes_the_code(directory):
    assert names(search_professionals(profession="pharmacien")) == ["Marie Dupont"]
    assert names(search_professionals(query="dupont", profession="medecin")) == ["Jean Dupont"]
    assert names(search_professionals(profession="inconnue")) == []


def test_town_filter_is_a_prefix_ignoring_accents_case_and_hyphens(directory):
    assert names(search_professionals(town="nan")) == [
        "Marie Dupont",
        "Jean-Pierre Le Gall",
        "Claire Martin",
    ]
    assert names(search_professionals(town="saint etienne")) == ["Jean Dupont"]
    assert names(search_professionals(town="SAINT-ÉT")) == ["Jean Dupont"]
    assert names(search_professionals(town="evreux")) == ["Lætitia Œuvray"]
    assert names(search_professionals(town="reze")) == ["Luc Martineau"]
    assert names(search_professionals(town="antes")) == []


def test_inactive_accounts_are_not_in_the_directory(directory):
    assert names(search_professionals(query="marty")) == []
    assert names(search_professionals(query=directory["former"].rpps)) == []
    assert "Martine Marty" not in names(search_professionals())


def test_limit_cuts_the_ordered_list(directory):
    assert names(search_professionals(town="nantes", limit=2)) == [
        "Marie Dupont",
        "Jean-Pierre Le Gall",
    ]


def test_search_runs_in_one_query(directory, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = list(search_professionals(query="dupont"))
        assert [p.user.last_name for p in found] == ["Dupont", "Dupont"]


def test_form_returns_the_matching_professionals(directory):
    form = DirectorySearchForm(data={"query": "  dupont   jean ", "profession": "", "town": ""})

    assert names(form.results()) == ["Jean Dupont"]
    assert form.cleaned_data["query"] == "dupont jean"


def test_form_filters_by_profession_and_town(directory):
    form = DirectorySearchForm(data={"profession": "medecin", "town": "nantes"})
    assert names(form.results()) == ["Claire Martin"]


def test_form_labels_are_french():
    form = DirectorySearchForm()
    assert [str(f.label) for f in form] == ["Nom ou numéro RPPS", "Profession", "Commune"]
    assert str(form.fields["profession"].choices[0][1]) == "Toutes les professions"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "__all__", "Indiquez un nom, un numéro RPPS, une profession ou une commune."),
        ({"query": "1234"}, "query", "Le numéro RPPS compte exactement 11 chiffres."),
        ({"query": "10000000002"}, "query", "La clé du numéro RPPS n'est pas valide."),
        ({"query": "1000000000²"}, "query", "Le numéro RPPS compte exactement 11 chiffres."),
        ({"query": "--"}, "query", "Saisissez un nom (au moins une lettre) ou un numéro RPPS."),
        ({"profession": "astrologue"}, "profession", "Sélectionnez un choix valide."),
    ],
)
def test_form_refuses_bad_input_with_a_french_message(data, field, message):
    factories.ProfessionalFactory()
    form = DirectorySearchForm(data=data)

    assert not form.is_valid()
    assert any(message in error for error in form.errors[field])
    assert list(form.results()) == []


def test_form_accepts_a_valid_rpps_with_spaces(directory):
    number = directory["helene"].rpps
    form = DirectorySearchForm(data={"query": f"{number[:5]} {number[5:]}"})

    assert names(form.results()) == ["Hélène Lefèvre"]


def test_professional_accounts_only_come_from_professionals(directory):
    factories.UserFactory(first_name="Jean", last_name="Dupontel", kind=User.Kind.PATIENT)
    assert names(search_professionals(query="dupont")) == ["Jean Dupont", "Marie Dupont"]
