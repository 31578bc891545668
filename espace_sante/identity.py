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


_CARTE_VITALE_RE = re.compile(r"^\d{10,12}$")


def validate_carte_vitale_serial(value: str) -> None:
    if not _CARTE_VITALE_RE.match(value or ""):
        raise ValidationError(
            _("Le numéro de série de la carte Vitale compte de 10 à 12 chiffres."),
            code="carte_vitale_format",
        )
