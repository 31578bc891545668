from datetime import date

import pytest
from django.core.exceptions import ValidationError

from espace_sante.identity import nir_contradictions, nir_key, validate_nir, with_key


def test_nir_key_is_97_minus_number_mod_97():
    assert nir_key("1850575056123") == 97 - (1850575056123 % 97)


def test_valid_nir_with_spaces_is_accepted():
    nir = with_key("2850475056123")
    spaced = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    validate_nir(spaced)


@pytest.mark.parametrize(("department", "substitute"), [("2A", "19"), ("2B", "18")])
def test_corsican_department_is_replaced_before_computing_the_key(department, substitute):
    nir13 = f"11506{department}004077"
    expected = 97 - int(f"11506{substitute}004077") % 97
    assert nir_key(nir13) == expected
    validate_nir(f"{nir13}{expected:02d}")


def test_wrong_key_is_refused_with_a_french_message():
    nir = with_key("2850475056123")
    wrong = f"{nir[:13]}{(int(nir[13:]) % 97) + 1:02d}"
    with pytest.raises(ValidationError) as error:
        validate_nir(wrong)
    assert "clé" in error.value.messages[0]


@pytest.mark.parametrize(
    "value",
    ["", "12345", "2850475056123", "385047505612345", "28504750561234567", "2850475X5612345"],
)
def test_malformed_nir_is_refused(value):
    with pytest.raises(ValidationError):
        validate_nir(value)


@pytest.mark.parametrize(
    ("nir13", "born", "sex", "fields"),
    [
        ("2850475056123", date(1985, 4, 12), "F", set()),
        ("2850475056123", date(1985, 5, 12), "F", {"birth_date"}),  # month
        ("2850475056123", date(1986, 4, 12), "F", {"birth_date"}),  # year
        ("2850475056123", date(1985, 4, 12), "M", {"sex"}),
        ("2852075056123", date(1985, 9, 1), "F", set()),  # 20: month not known
        ("2853575056123", date(1985, 9, 1), "F", set()),  # 30-42: fictitious month
        ("2859975056123", date(1985, 9, 1), "F", set()),  # 50-99: incomplete civil status
        ("7850475056123", date(1990, 1, 1), "M", set()),  # provisional number: no check
    ],
)
def test_nir_contradictions_follow_insee_rules(nir13, born, sex, fields):
    assert set(nir_contradictions(with_key(nir13), birth_date=born, sex=sex)) == fields
