"""The medical profile's parts, the reads its pages share, BMI and the measurement charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from acces.policy import Decision, documents_visible_to
from acces.selectors import care_team
from dossier.models import (
    Allergy,
    Document,
    EmergencyContact,
    HistoryEntry,
    Measurement,
    MedicalProfile,
    Treatment,
    Vaccination,
)
from espace_sante.models import Space, User

ADVANCE_DIRECTIVES_TYPE = "42348-3"  # LOINC "Directives anticipées"


@dataclass(frozen=True)
class EntryPart:
    """A repeating part: one model row per entry."""

    key: str  # in audit actions: profile_<key>_<added|changed|removed>
    slug: str  # in URLs
    model: type[models.Model]
    label: str
    add_label: str


@dataclass(frozen=True)
class SinglePart:
    """A single-valued part: some fields of the space's MedicalProfile."""

    key: str
    slug: str
    fields: tuple[str, ...]
    label: str


ENTRY_PARTS = {
    p.key: p
    for p in (
        EntryPart("allergy", "allergies", Allergy, _("Allergies"), _("Ajouter une allergie")),
        EntryPart(
            "history", "antecedents", HistoryEntry, _("Antécédents"), _("Ajouter un antécédent")
        ),
        EntryPart(
            "treatment",
            "traitements",
            Treatment,
            _("Traitements en cours"),
            _("Ajouter un traitement"),
        ),
        EntryPart(
            "vaccination",
            "vaccinations",
            Vaccination,
            _("Vaccinations"),
            _("Ajouter une vaccination"),
        ),
        EntryPart("measurement", "mesures", Measurement, _("Mesures"), _("Ajouter une mesure")),
        EntryPart(
            "emergency_contact",
            "contacts-urgence",
            EmergencyContact,
            _("Personnes à prévenir en cas d'urgence"),
            _("Ajouter une personne à prévenir"),
        ),
    )
}

SINGLE_PARTS = {
    p.key: p
    for p in (
        SinglePart("blood_group", "groupe-sanguin", ("blood_group",), _("Groupe sanguin")),
        SinglePart("disabilities", "handicaps", ("disabilities",), _("Handicaps")),
        SinglePart(
            "trusted_person",
            "personne-de-confiance",
            ("trusted_person_name", "trusted_person_phone", "trusted_person_relation"),
            _("Personne de confiance"),
        ),
        SinglePart(
            "advance_directives",
            "directives-anticipees",
            ("advance_directives",),
            _("Directives anticipées"),
        ),
        SinglePart(
            "organ_donation",
            "don-organes",
            ("donation_choice", "donation_date"),
            _("Don d'organes et de tissus"),
        ),
    )
}

PART_LABELS = {key: part.label for key, part in (ENTRY_PARTS | SINGLE_PARTS).items()}


# --- BMI -----------------------------------------------------------------------------------


def bmi(weight_kg: Decimal | float | None, height_cm: Decimal | float | None) -> Decimal | None:
    """Body mass index, kg/m², to one decimal; None without both values."""
    if not weight_kg or not height_cm:
        return None
    metres = Decimal(str(height_cm)) / 100
    value = Decimal(str(weight_kg)) / (metres * metres)
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def latest_by_kind(measurements) -> dict[str, Measurement]:
    """The latest measurement of each kind, from measurements in date order."""
    latest: dict[str, Measurement] = {}
    for m in measurements:
        latest[m.kind] = m
    return latest


def bmi_of(latest: dict[str, Measurement]) -> Decimal | None:
    weight, height = latest.get(Measurement.Kind.WEIGHT), latest.get(Measurement.Kind.HEIGHT)
    return bmi(weight and weight.value, height and height.value)


# --- Reads ---------------------------------------------------------------------------------


def profile_of(space: Space) -> MedicalProfile:
    """The space's profile row, or an unsaved empty one (a GET never writes)."""
    return MedicalProfile.objects.filter(space=space).first() or MedicalProfile(space=space)


def profile_page(space: Space, user: User, decision: Decision) -> dict:
    """Everything the profile page shows, in a fixed number of queries whatever the entries."""
    measurements = list(space.profile_measurements.all())
    latest = latest_by_kind(measurements)
    history = list(space.profile_history.all())
    attending = [r for r in care_team(space) if r.basis == "attending"]
    directives = list(
        Document.objects.filter(space=space, is_current=True, type_code=ADVANCE_DIRECTIVES_TYPE)
        .filter(documents_visible_to(decision))
        .only("public_id", "title", "act_date")
    )
    return {
        "profile": profile_of(space),
        "allergies": list(space.profile_allergies.all()),
        "personal_history": [h for h in history if h.kind == HistoryEntry.Kind.PERSONAL],
        "family_history": [h for h in history if h.kind == HistoryEntry.Kind.FAMILY],
        "treatments": list(space.profile_treatments.all()),
        "vaccinations": list(space.profile_vaccinations.all()),
        "latest_measurements": [latest[k] for k in Measurement.Kind.values if k in latest],
        "bmi": bmi_of(latest),
        "emergency_contacts": list(space.profile_emergency_contacts.all()),
        "attending": attending[0] if attending else None,
        "directive_documents": directives,
        "directives_type": ADVANCE_DIRECTIVES_TYPE,
    }


def entries_of(space: Space, part: EntryPart):
    return part.model.objects.filter(space=space)


# --- Charts --------------------------------------------------------------------------------

WIDTH, HEIGHT, PAD_X, PAD_Y = 800, 240, 56, 28


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    points: str  # "x,y x,y ..." for <polyline points=...>
    dots: list[tuple[float, float, str]]


@dataclass(frozen=True)
class Chart:
    kind: str
    title: str
    unit: str
    series: list[Series]
    rows: list[Measurement]
    y_min: Decimal
    y_max: Decimal
    first: date
    last: date
    width: int = WIDTH
    height: int = HEIGHT
    pad_x: int = PAD_X
    pad_y: int = PAD_Y

    @property
    def plot_right(self) -> int:
        return self.width - self.pad_x

    @property
    def plot_bottom(self) -> int:
        return self.height - self.pad_y

    @property
    def plot_centre(self) -> int:
        return self.width // 2

    @property
    def one_day(self) -> bool:
        """All measurements on one day: the axis shows that day once, under the points."""
        return self.first == self.last


UNITS = {
    Measurement.Kind.WEIGHT: "kg",
    Measurement.Kind.HEIGHT: "cm",
    Measurement.Kind.BLOOD_PRESSURE: "mmHg",
    Measurement.Kind.GLYCAEMIA: "g/L",
}


def _fmt(value: Decimal) -> str:
    text = f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}".rstrip("0")
    return text.replace(".", ",")


def chart(kind: str, measurements: list[Measurement]) -> Chart | None:
    """A line chart of one kind of measurement, as coordinates for an inline SVG."""
    rows = [m for m in measurements if m.kind == kind]
    if not rows:
        return None
    values = [m.value for m in rows] + [m.value2 for m in rows if m.value2 is not None]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    first, last = rows[0].measured_on, rows[-1].measured_on
    days = (last - first).days
    plot_w, plot_h = WIDTH - 2 * PAD_X, HEIGHT - 2 * PAD_Y

    def x(i: int, m: Measurement) -> float:
        if days:
            return round(PAD_X + plot_w * (m.measured_on - first).days / days, 1)
        # All on one day: spread them evenly (or centre a single one).
        return round(PAD_X + (plot_w * i / (len(rows) - 1) if len(rows) > 1 else plot_w / 2), 1)

    def y(v: Decimal) -> float:
        return round(float(PAD_Y + plot_h * (high - v) / (high - low)), 1)

    def series(label: str, colour: str, attr: str) -> Series:
        dots = [
            (
                x(i, m),
                y(getattr(m, attr)),
                f"{date_format(m.measured_on, 'j F Y')} : {_fmt(getattr(m, attr))}",
            )
            for i, m in enumerate(rows)
            if getattr(m, attr) is not None
        ]
        return Series(label, colour, " ".join(f"{dx},{dy}" for dx, dy, _t in dots), dots)

    if kind == Measurement.Kind.BLOOD_PRESSURE:
        lines = [
            series(str(_("Systolique")), "#000091", "value"),
            series(str(_("Diastolique")), "#c9191e", "value2"),
        ]
    else:
        lines = [series(str(Measurement.Kind(kind).label), "#000091", "value")]
    return Chart(
        kind=kind,
        title=str(Measurement.Kind(kind).label),
        unit=UNITS[kind],
        series=lines,
        rows=rows,
        y_min=low,
        y_max=high,
        first=first,
        last=last,
    )


def charts(measurements: list[Measurement]) -> list[Chart]:
    return [c for k in Measurement.Kind.values if (c := chart(k, measurements)) is not None]


# --- History -------------------------------------------------------------------------------


def _model_of(part: str) -> type[models.Model]:
    return ENTRY_PARTS[part].model if part in ENTRY_PARTS else MedicalProfile


def describe(change) -> list[str]:
    """A ProfileChange's recorded values as readable French lines (choices by their label)."""
    model = _model_of(change.part)
    lines = []
    for name, value in (change.summary or {}).items():
        if value in ("", None):
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a field since removed: show the raw value
            lines.append(str(value))
            continue
        shown = dict(field.choices).get(value, value) if field.choices else value
        if isinstance(field, models.DateField) and isinstance(value, str):
            shown = date_format(date.fromisoformat(value), "j F Y")
        elif isinstance(field, models.DecimalField):
            shown = str(shown).replace(".", ",")
        name = str(field.verbose_name)
        lines.append(f"{name[:1].upper()}{name[1:]} : {shown}")
    return lines
