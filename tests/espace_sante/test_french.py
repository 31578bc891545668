"""French elision: one helper, used by every phrase built around a name or a noun."""

import pytest

from espace_sante.french import de, le


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Élodie Roux", "d'Élodie Roux"),
        ("Hélène Petit", "d'Hélène Petit"),
        ("Marc Lefebvre", "de Marc Lefebvre"),
        ("Dr Martin Bernard", "du Dr Martin Bernard"),
        ("le compte", "du compte"),
        ("l'assuré", "de l'assuré"),
        ("les assurés", "des assurés"),
    ],
)
def test_de_elides_before_a_vowel_or_h_and_contracts_le(name, expected):
    assert de(name) == expected


def test_le_elides_before_a_vowel_and_takes_the_gender():
    assert le("assuré") == "l'assuré"
    assert le("compte") == "le compte"
    assert le("règle", feminine=True) == "la règle"


def test_de_contracts_a_capitalised_article_of_a_title():
    assert de("Le bilan sanguin") == "du bilan sanguin"
    assert de("Les résultats") == "des résultats"
