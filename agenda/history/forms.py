"""The timeline's filters: a kind and a year, from the query string."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from agenda.history.selectors import KIND_LABELS


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Type"),
        required=False,
        error_messages={"invalid_choice": _("Choisissez un type dans la liste.")},
    )
    year = forms.TypedChoiceField(
        label=_("Année"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Choisissez une année dans la liste.")},
    )

    def __init__(self, *args, kinds, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            ("", _("Tous les types")),
            *((kind, KIND_LABELS[kind]) for kind in kinds),
        ]
        self.fields["year"].choices = [
            ("", _("Toutes les années")),
            *((str(y), str(y)) for y in years),
        ]


def requested_year(data) -> int | None:
    """The year asked in the query string, if it is one (the form says why when it is not)."""
    value = (data.get("year") or "").strip()
    if value.isascii() and value.isdigit() and 1900 <= int(value) <= 2100:
        return int(value)
    return None
