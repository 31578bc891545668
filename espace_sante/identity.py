"""Validation of the French identifiers the seeds use: NIR / INS and Carte Vitale."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_CORSICA = {"2A": "19", "2B": "18"}
_NIR_RE = re.compile(r"^[12378]\d{4}(?:\d{2}|2A|2B)\d{6}\d{2}$")


def normalise_nir(value: str) -> str:
    """Upper-case and strip the spaces people type between the groups of digits."""
    return re.sub(r"[\s.-]", "", value or "").upper()


def nir_key(nir13: str) -> int:
    """The control key of a 13-character NIR: 97 − (number mod 97).

    Corsican departments are replaced before the computation, as INSEE does:
    2A by 19 and 2B by 18.
    """
    nir13 = nir13.upper()
    department = nir13[5:7]
    digits = nir13[:5] + _CORSICA.get(department, department) + nir13[7:]
    return 97 - (int(digits) % 97)


def with_key(nir13: str) -> str:
    """Append the control key to a 13-character NIR (used by factories and the demo)."""
    return f"{nir13.upper()}{nir_key(nir13):02d}"


def validate_nir(value: str) -> None:
    """Raise ValidationError unless value is a 15-character NIR/INS with a valid key."""
    nir = normalise_nir(value)
    if not _NIR_RE.match(nir):
        raise ValidationError(
            _(
                "Le numéro de sécurité sociale doit compter 13 caractères suivis de la clé à 2 "
                "chiffres (15 au total)."
            ),
            code="nir_format",
        )
    if int(nir[13:]) != nir_key(nir[:13]):
        raise ValidationError(
            _("La clé du numéro de sécurité sociale ne correspond pas au numéro."),
            code="nir_key",
        )


# INSEE: the sex digit is 1 (man) or 2 (woman) for a number from the civil register;
# 3, 7 and 8 are provisional or foreign-born numbers, whose digits say nothing certain.
_SEX_DIGITS = {"1": "M", "2": "F"}


def nir_contradictions(nir: str, *, birth_date, sex: str) -> dict[str, str]:
    """What in the NIR contradicts the birth date and sex given beside it, by field.

    Checked only on a well-formed NIR from the civil register (sex digit 1 or 2): the
    sex, the year (digits 2-3) and the month (digits 4-5). INSEE writes a month it does
    not know precisely as 20, 30 to 42 or 50 to 99: such a month contradicts nothing.
    Returns {} when everything agrees, or {"birth_date": message, "sex": message}.
    """
    nir = normalise_nir(nir)
    if not _NIR_RE.match(nir) or nir[0] not in _SEX_DIGITS:
        return {}
    errors: dict[str, str] = {}
    if sex and sex != _SEX_DIGITS[nir[0]]:
        errors["sex"] = _("Le sexe ne correspond pas au premier chiffre du NIR (%(digit)s).") % {
            "digit": nir[0]
        }
    if birth_date is not None:
        year, month = nir[1:3], int(nir[3:5])
        if year != f"{birth_date:%y}":
            errors["birth_date"] = _(
                "L'année de naissance ne correspond pas à celle du NIR (%(year)s)."
            ) % {"year": year}
        elif 1 <= month <= 12 and month != birth_date.month:
            errors["birth_date"] = _(
                "Le mois de naissance ne correspond pas à celui du NIR (%(month)s)."
            ) % {"month": nir[3:5]}
    return errors


_CARTE_VITALE_RE = re.compile(r"^\d{10,12}$")


def validate_carte_vitale_serial(value: str) -> None:
    if not _CARTE_VITALE_RE.match(value or ""):
        raise ValidationError(
            _("Le numéro de série de la carte Vitale compte de 10 à 12 chiffres."),
            code="carte_vitale_format",
        )
