from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def luhn_is_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit to `prefix` (used by factories and the demo)."""
    for digit in "0123456789":
        if luhn_is_valid(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable")


def validate_rpps(value: str) -> None:
    """An RPPS number: 11 digits, the last one a Luhn check digit."""
    if not (value and value.isascii() and value.isdigit() and len(value) == 11):
        raise ValidationError(
            _("Le numéro RPPS compte exactement 11 chiffres."), code="rpps_format"
        )
    if not luhn_is_valid(value):
        raise ValidationError(_("La clé du numéro RPPS n'est pas valide."), code="rpps_key")
