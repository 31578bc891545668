"""The directory of health professionals: bulk import from an RPPS extract, and search.

Import (`import_rows`, `import_file`; `manage.py import_professionals FILE.csv`):
every row is checked first (RPPS and its Luhn key, names, profession and
specialty by code or French label, email), duplicates within the file are
refused, then the valid rows are written in batches, each in one transaction:
new accounts and professionals with `bulk_create`, changed ones with
`bulk_update`, and one `professionals_imported` audit event per batch naming
every RPPS created or updated (and which fields changed). A known RPPS is
updated in place, never duplicated, so running the same file twice changes
nothing the second time.

Search (`search_professionals`, `DirectorySearchForm`): by name (prefix of
each word, accents and case ignored), by exact RPPS, by profession and town;
active accounts only. It runs on SQLite and PostgreSQL without the `unaccent`
extension: each query letter becomes a class of its accented forms in a
case-insensitive regular expression. That reads every row (fine for tens of
thousands); a stored, normalised search key with an index is the way to scale
(see docs/ANNUAIRE.md).
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django import forms
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from acces.actions import AccessAction
from acces.models import Profession, Professional, Specialty, normalise, words
from acces.validators import validate_rpps
from espace_sante.csvfile import read_rows
from espace_sante.enrolment import Rejection
from espace_sante.models import User
from espace_sante.tracing import Actor, trace

COLUMNS = (
    "rpps",
    "nom",
    "prenom",
    "profession",
    "specialite",
    "lieu_exercice",
    "commune",
    "email",
)
REQUIRED_COLUMNS = ("rpps", "nom", "prenom", "profession")
# Spreadsheet habits: `Prénoms` for `prenom`, and so on.
_COLUMN_ALIASES = {"prenoms": "prenom", "lieu_d_exercice": "lieu_exercice", "ville": "commune"}
BATCH_SIZE = 5000
PLACEHOLDER_DOMAIN = "annuaire.invalid"  # RFC 2606: `.invalid` never delivers
_NAME_MAX = 150
_PRACTICE_NAME_MAX = Professional._meta.get_field("practice_name").max_length
_TOWN_MAX = Professional._meta.get_field("practice_town").max_length
_EMAIL_MAX = User._meta.get_field("email").max_length


class DirectoryFileError(Exception):
    """The file as a whole cannot be read (encoding, header); the message is for the operator."""


# --- Normalising -------------------------------------------------------------------------


def _key(text: str) -> str:
    """`Masseur-Kinésithérapeute` → `masseur_kinesitherapeute`: a label as a code."""
    return re.sub(r"[^a-z0-9]+", "_", normalise(text)).strip("_")


def _lookup(choices: type, aliases: Mapping[str, str]) -> dict[str, str]:
    """Codes and French labels of a TextChoices (as keys), to its codes."""
    table = dict(aliases)
    for value, label in choices.choices:
        table[_key(value)] = value
        table[_key(str(label))] = value
    return table


PROFESSIONS = _lookup(
    Profession,
    {
        # Feminine forms and short names, as people type them.
        "infirmiere": Profession.INFIRMIER,
        "pharmacienne": Profession.PHARMACIEN,
        "chirurgienne_dentiste": Profession.CHIRURGIEN_DENTISTE,
        "dentiste": Profession.CHIRURGIEN_DENTISTE,
        "masseuse_kinesitherapeute": Profession.MASSEUR_KINESITHERAPEUTE,
        "kinesitherapeute": Profession.MASSEUR_KINESITHERAPEUTE,
        "maieuticien": Profession.SAGE_FEMME,
    },
)
SPECIALTIES = _lookup(Specialty, {})
# The RPPS extract names a specialty as the doctor's qualification.
_SPECIALTY_PREFIX = re.compile(r"^(?:qualifiee?|specialiste)_en_")


def profession_code(value: str) -> str | None:
    """The profession code for a code or a French label, whatever the case and accents."""
    return PROFESSIONS.get(_key(value))


def specialty_code(value: str) -> str | None:
    key = _key(value)
    return SPECIALTIES.get(key, SPECIALTIES.get(_SPECIALTY_PREFIX.sub("", key)))


def placeholder_email(rpps: str) -> str:
    """The login of a professional imported without an address, until they activate."""
    return f"rpps-{rpps}@{PLACEHOLDER_DOMAIN}"


# --- Reading the file --------------------------------------------------------------------


def _column_name(header: str) -> str:
    name = _key(header.strip().lstrip("\ufeff"))
    return _COLUMN_ALIASES.get(name, name)


def read_csv(source: str | Path | io.TextIOBase) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each record of a UTF-8 CSV file with a header row.

    The delimiter (`;`, as in the Annuaire Santé extracts, or `,`) is taken from
    the header line. A byte order mark is skipped. Columns beyond those of
    `COLUMNS` are ignored, so an extract with more columns loads as it is. The
    line number is where the record starts, as a spreadsheet shows it.
    """
    present = None
    for line, header, row in read_rows(
        source,
        columns=COLUMNS,
        required=REQUIRED_COLUMNS,
        column_name=_column_name,
        error=DirectoryFileError,
    ):
        if present is None:
            present = ",".join(name for name in COLUMNS if name in header)
        row["__columns__"] = present
        yield line, row


# --- Checking one row --------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """A row that passed its own checks. None: the column is absent, the value is kept."""

    line: int
    rpps: str
    last_name: str
    first_name: str
    profession: str
    specialty: str | None
    practice_name: str | None
    practice_town: str | None
    email: str

    @property
    def login(self) -> str:
        return self.email or placeholder_email(self.rpps)


def _validate_rpps(value: str) -> None:
    """`validate_rpps`, after refusing digits other than 0-9 (`²` is a digit to isdigit())."""
    if not (value.isascii() and value.isdigit()):
        validate_rpps("")  # raises its "exactly 11 digits" error
    validate_rpps(value)


def _message(error: ValidationError) -> str:
    return " ".join(str(m) for m in error.messages)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _labels(choices: type) -> str:
    return ", ".join(str(label) for value, label in choices.choices if value)


def _check_row(line: int, raw: Mapping[str, str]) -> tuple[_Row | None, list[Rejection]]:
    """The row's own checks (everything that does not need the rest of the file)."""
    errors: list[Rejection] = []
    present = set(raw["__columns__"].split(",")) if "__columns__" in raw else set(raw)

    def reject(column: str, reason: str) -> None:
        errors.append(Rejection(line, column, reason))

    def get(name: str) -> str:
        return _one_line(raw.get(name) or "")

    if raw.get("__extra__"):
        reject("", "la ligne a plus de colonnes que l'en-tête (séparateur dans un champ ?).")

    rpps = "".join(get("rpps").split())
    try:
        _validate_rpps(rpps)
    except ValidationError as exc:
        reject("rpps", _message(exc) if rpps else "le numéro RPPS est obligatoire.")

    last_name, first_name = get("nom"), get("prenom")
    for column, value in (("nom", last_name), ("prenom", first_name)):
        if not value:
            reject(column, "champ obligatoire.")
        elif len(value) > _NAME_MAX:
            reject(column, f"{_NAME_MAX} caractères au plus.")

    profession = profession_code(get("profession"))
    if not get("profession"):
        reject("profession", "champ obligatoire.")
    elif profession is None:
        reject(
            "profession",
            f"profession « {get('profession')} » inconnue : attendu {_labels(Profession)}.",
        )

    specialty: str | None = None
    if "specialite" in present:
        specialty = specialty_code(get("specialite"))
        if specialty is None:
            reject(
                "specialite",
                f"spécialité « {get('specialite')} » inconnue : attendu {_labels(Specialty)}, "
                "ou rien.",
            )
        elif specialty and profession and profession != Profession.MEDECIN:
            reject("specialite", "une spécialité médicale ne s'applique qu'à un médecin.")

    practice_name = get("lieu_exercice") if "lieu_exercice" in present else None
    if practice_name and len(practice_name) > _PRACTICE_NAME_MAX:
        reject("lieu_exercice", f"{_PRACTICE_NAME_MAX} caractères au plus.")
    practice_town = get("commune") if "commune" in present else None
    if practice_town and len(practice_town) > _TOWN_MAX:
        reject("commune", f"{_TOWN_MAX} caractères au plus.")

    email = get("email").lower()
    if email:
        try:
            validate_email(email)
            if len(email) > _EMAIL_MAX:
                raise ValidationError("too long")
        except ValidationError:
            reject("email", f"adresse e-mail « {email} » invalide.")

    if errors:
        return None, errors
    return (
        _Row(
            line=line,
            rpps=rpps,
            last_name=last_name,
            first_name=first_name,
            profession=profession,
            specialty=specialty,
            practice_name=practice_name,
            practice_town=practice_town,
            email=email,
        ),
        [],
    )


# --- Importing ---------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do); one rejection per problem found."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rejected_lines(self) -> int:
        return len({r.line for r in self.rejected})

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        text = (
            f"{self.created} professionnel(s) créé(s), {self.updated} mis à jour, "
            f"{self.unchanged} inchangé(s), {self.rejected_lines} ligne(s) refusée(s)."
        )
        if self.dry_run:
            text = f"Simulation, rien n'a été enregistré : {text}"
        return text


_USER_FIELDS = ("first_name", "last_name")


def import_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    by: Actor,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    source: str = "",
) -> ImportReport:
    """Create or update a professional for every valid row; report the others, line by line.

    Guarantees: a rejected row writes nothing; each batch is written whole or
    not at all (accounts, professionals, audit event); a known RPPS is updated
    in place when something changed and never duplicated; a new professional
    gets an account of kind `professional` with an unusable password (they
    activate it later) and, without an email in the file, the placeholder
    login `rpps-<rpps>@annuaire.invalid`; an email that already belongs to
    another account refuses the row. Each batch that wrote anything appends
    one `professionals_imported` event listing the RPPS created and updated.
    With `dry_run`, everything is checked against the database and nothing
    is written.
    """
    report = ImportReport(dry_run=dry_run)
    valid: dict[str, _Row] = {}
    logins: dict[str, int] = {}
    for line, raw in rows:
        row, errors = _check_row(line, raw)
        if errors:
            report.rejected.extend(errors)
        elif row.rpps in valid:
            report.rejected.append(
                Rejection(
                    line,
                    "rpps",
                    f"numéro RPPS déjà présent ligne {valid[row.rpps].line} du fichier.",
                )
            )
        elif row.login in logins:
            report.rejected.append(
                Rejection(
                    line,
                    "email",
                    f"adresse e-mail déjà présente ligne {logins[row.login]} du fichier.",
                )
            )
        else:
            valid[row.rpps] = row
            logins[row.login] = line

    ordered = list(valid.values())
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        try:
            outcome = _write_batch(batch, by=by, dry_run=dry_run, source=source)
        except IntegrityError:
            # Another import created some of these RPPS or emails meanwhile: look again.
            outcome = _write_batch(batch, by=by, dry_run=dry_run, source=source)
        created, updated, unchanged, rejected = outcome
        report.created += created
        report.updated += updated
        report.unchanged += unchanged
        report.rejected.extend(rejected)
    report.rejected.sort(key=lambda r: r.line)
    return report


def _changes(professional: Professional, row: _Row) -> dict[str, str]:
    """The fields of `professional` that `row` changes (absent columns keep their value)."""
    wanted = {
        "first_name": row.first_name,
        "last_name": row.last_name,
        "profession": row.profession,
        "specialty": row.specialty,
        "practice_name": row.practice_name,
        "practice_town": row.practice_town,
    }
    if row.specialty is None and row.profession != Profession.MEDECIN:
        wanted["specialty"] = ""  # a medical specialty does not outlive the profession
    changed = {}
    for name, value in wanted.items():
        holder = professional.user if name in _USER_FIELDS else professional
        if value is not None and getattr(holder, name) != value:
            changed[name] = value
    return changed


def _write_batch(
    batch: list[_Row], *, by: Actor, dry_run: bool, source: str
) -> tuple[int, int, int, list[Rejection]]:
    """Write one batch in one transaction: (created, updated, unchanged, rejections)."""
    rejected: list[Rejection] = []
    with transaction.atomic():
        known = {
            p.rpps: p
            for p in Professional.objects.select_related("user")
            .select_for_update(of=("self", "user"))
            .filter(rpps__in=[row.rpps for row in batch])
        }
        new_rows = [row for row in batch if row.rpps not in known]
        taken = set(
            User.objects.filter(email__in=[row.login for row in new_rows]).values_list(
                "email", flat=True
            )
        )
        to_create: list[_Row] = []
        for row in new_rows:
            if row.login not in taken:
                to_create.append(row)
            elif row.email:
                rejected.append(
                    Rejection(
                        row.line,
                        "email",
                        f"l'adresse e-mail « {row.email} » est déjà celle d'un autre compte.",
                    )
                )
            else:
                rejected.append(
                    Rejection(
                        row.line,
                        "email",
                        f"l'identifiant provisoire « {row.login} » est déjà celui d'un autre "
                        "compte : indiquez une adresse e-mail.",
                    )
                )

        to_update: dict[str, dict[str, str]] = {}
        for row in batch:
            professional = known.get(row.rpps)
            if professional is not None:
                changed = _changes(professional, row)
                if changed:
                    to_update[row.rpps] = changed
        unchanged = len(known) - len(to_update)
        if dry_run or not (to_create or to_update):
            return len(to_create), len(to_update), unchanged, rejected

        _create(to_create)
        _update([known[rpps] for rpps in to_update], to_update)
        detail: dict = {
            "created": [row.rpps for row in to_create],
            "updated": {rpps: sorted(changed) for rpps, changed in to_update.items()},
        }
        if source:
            detail["source"] = source
        trace(
            actor=by,
            action=AccessAction.PROFESSIONALS_IMPORTED,
            target=("acces.professional", ""),
            detail=detail,
        )
    return len(to_create), len(to_update), unchanged, rejected


def _create(rows: list[_Row]) -> None:
    if not rows:
        return
    users = User.objects.bulk_create(
        [
            User(
                email=row.login,
                first_name=row.first_name,
                last_name=row.last_name,
                kind=User.Kind.PROFESSIONAL,
                # What set_unusable_password() stores, without its per-character
                # random draws (a hundred thousand of them show in the timing).
                password=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30),
            )
            for row in rows
        ],
        batch_size=1000,
    )
    Professional.objects.bulk_create(
        [
            _with_search_keys(
                Professional(
                    user=user,
                    rpps=row.rpps,
                    profession=row.profession,
                    specialty=row.specialty or "",
                    practice_name=row.practice_name or "",
                    practice_town=row.practice_town or "",
                )
            )
            for user, row in zip(users, rows, strict=True)
        ],
        batch_size=1000,
    )


def _with_search_keys(professional: Professional) -> Professional:
    professional.refresh_search_keys()  # bulk_create does not call save()
    return professional


def _update(professionals: list[Professional], changes: dict[str, dict[str, str]]) -> None:
    if not professionals:
        return
    user_fields: set[str] = set()
    professional_fields: set[str] = set()
    rekeyed: set[str] = set()
    for professional in professionals:
        for name, value in changes[professional.rpps].items():
            if name in _USER_FIELDS:
                setattr(professional.user, name, value)
                user_fields.add(name)
            else:
                setattr(professional, name, value)
                professional_fields.add(name)
        if {"first_name", "last_name", "practice_town"} & set(changes[professional.rpps]):
            # Names or town changed: the search keys follow (bulk_update does not call save()).
            professional.refresh_search_keys()
            rekeyed.add(professional.rpps)
            professional_fields |= {"search_name", "search_town"}
    # Small batches: bulk_update writes one CASE per row and field.
    if user_fields:
        users = [p.user for p in professionals if user_fields & set(changes[p.rpps])]
        User.objects.bulk_update(users, sorted(user_fields), batch_size=500)
    if professional_fields:
        changed = [
            p
            for p in professionals
            if p.rpps in rekeyed or professional_fields & set(changes[p.rpps])
        ]
        Professional.objects.bulk_update(changed, sorted(professional_fields), batch_size=500)


def import_file(path: str | Path, *, by: Actor, dry_run: bool = False, **options) -> ImportReport:
    return import_rows(read_csv(path), by=by, dry_run=dry_run, source=Path(path).name, **options)


# --- Searching ---------------------------------------------------------------------------

RPPS_QUERY = re.compile(r"^\d{11}$")


def _words(text: str) -> list[str]:
    return words(text)


def search_professionals(
    *, query: str = "", profession: str = "", town: str = "", limit: int | None = None
) -> QuerySet[Professional]:
    """Active professionals matching every criterion given, by last name then first name.

    - `query`: an RPPS number (11 digits, spaces allowed) is matched exactly;
      otherwise each word must begin a word of the last name or the first name
      (`mart` finds Martin, `dupont jean` finds Jean Dupont, `helene` finds
      Hélène), whatever the case and accents;
    - `profession`: a code of `Profession` (or its label); an unknown one finds
      nobody;
    - `town`: the start of the town, accents, case, hyphens and spaces ignored
      (`saint etienne` finds Saint-Étienne).
    """
    found = Professional.objects.filter(user__is_active=True).select_related("user")
    compact = "".join(query.split())
    if RPPS_QUERY.match(compact):
        found = found.filter(rpps=compact)
    else:
        # " dupont jean " contains " jean" and " dup": each word begins a word of the name.
        for word in _words(query):
            found = found.filter(search_name__contains=f" {word}")
    if profession:
        code = profession_code(profession)
        if code is None:
            return Professional.objects.none()
        found = found.filter(profession=code)
    town_words = _words(town)
    if town_words:
        found = found.filter(search_town__startswith=" ".join(town_words))
    # The normalised key sorts Élodie with the E's, whatever the database's collation.
    found = found.order_by("search_name", "rpps")
    if limit is not None:
        found = found[:limit]
    return found


class DirectorySearchForm(forms.Form):
    """The directory's search form; `results()` gives the matching professionals."""

    query = forms.CharField(
        label=_("Nom ou numéro RPPS"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    profession = forms.ChoiceField(
        label=_("Profession"),
        choices=[("", _("Toutes les professions")), *Profession.choices],
        required=False,
    )
    town = forms.CharField(
        label=_("Commune"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )

    def clean_query(self) -> str:
        query = _one_line(self.cleaned_data["query"])
        compact = "".join(query.split())
        if compact.isdigit():
            # Digits only: an RPPS number, whose typing mistakes the Luhn key catches.
            _validate_rpps(compact)
            return compact
        if query and not _words(query):
            raise ValidationError(
                _("Saisissez un nom (au moins une lettre) ou un numéro RPPS."), code="query"
            )
        return query

    def clean_town(self) -> str:
        return _one_line(self.cleaned_data["town"])

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not any(cleaned.get(name) for name in self.fields):
            raise ValidationError(
                _("Indiquez un nom, un numéro RPPS, une profession ou une commune."),
                code="empty",
            )
        return cleaned

    def results(self, *, limit: int | None = None) -> QuerySet[Professional]:
        """The matching professionals, or none while the form is not valid."""
        if not self.is_valid():
            return Professional.objects.none()
        return search_professionals(
            query=self.cleaned_data["query"],
            profession=self.cleaned_data["profession"],
            town=self.cleaned_data["town"],
            limit=limit,
        )
