"""Bulk enrolment: the insured persons known to the Assurance Maladie, from a CSV file.

`enrol_rows` validates every row first (so representatives may appear anywhere
in the file), then creates the valid ones in batches, each batch in one
transaction: patients and spaces with `bulk_create`, one `space_announced`
audit event per space, the legal representatives of minors. A failure rolls
back its whole batch and never leaves half a record. Persons whose NIR is
already known are skipped, so running the same file again creates nothing.

Announcements (code by email, or by letter) are queued after each batch
commits, unless `announce=False` (benchmarks, or a file loaded ahead of the
campaign).
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from espace_sante.actions import SpaceAction
from espace_sante.csvfile import read_rows
from espace_sante.identity import (
    nir_contradictions,
    normalise_nir,
    validate_carte_vitale_serial,
    validate_nir,
)
from espace_sante.models import CodeRequest, LegalRepresentative, Patient, Space
from espace_sante.tracing import Actor, trace_many

logger = logging.getLogger(__name__)

COLUMNS = (
    "nir",
    "nom",
    "prenoms",
    "date_naissance",
    "sexe",
    "email",
    "adresse",
    "carte_vitale",
    "representants",
)
REQUIRED_COLUMNS = ("nir", "nom", "prenoms", "date_naissance", "sexe", "carte_vitale")
BATCH_SIZE = 5000
MAJORITY = 18
MAX_REPRESENTATIVES = 2
_NAME_MAX = 150
_SEXES = frozenset(Patient.Sex.values)


class EnrolmentFileError(Exception):
    """The file as a whole cannot be read (encoding, header); the message is for the operator."""


@dataclass(frozen=True)
class Rejection:
    """Why one row of the file was not enrolled: line number, column, reason (French)."""

    line: int
    column: str
    reason: str

    def __str__(self):
        where = f"ligne {self.line}"
        if self.column:
            where += f", colonne « {self.column} »"
        return f"{where} : {self.reason}"


@dataclass
class Report:
    """What an enrolment did. `rejected` holds one entry per problem (a row may have several)."""

    created: int = 0
    already_enrolled: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    space_ids: list[int] = field(default_factory=list)

    @property
    def rejected_lines(self) -> int:
        return len({r.line for r in self.rejected})

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        return (
            f"{self.created} espace(s) créé(s), {self.already_enrolled} personne(s) déjà "
            f"inscrite(s), {self.rejected_lines} ligne(s) refusée(s)."
        )


@dataclass
class _Row:
    """A row that passed its own checks; representatives are resolved across the file."""

    line: int
    nir: str
    last_name: str
    first_names: str
    birth_date: date
    sex: str
    carte_vitale_serial: str
    email: str
    postal_address: str
    representatives: tuple[str, ...]
    minor: bool


# --- Reading the file --------------------------------------------------------------------


def _column_name(header: str) -> str:
    """`Prénoms ` → `prenoms`: people edit these files in spreadsheets."""
    plain = unicodedata.normalize("NFKD", header.strip().lower())
    return "".join(ch for ch in plain if not unicodedata.combining(ch)).replace(" ", "_")


def read_csv(source: str | Path | io.TextIOBase) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each record of a UTF-8 CSV file with a header row.

    The delimiter (`;` or `,`) is taken from the header line, which names the
    columns and so contains no other punctuation. The line number is where the
    record starts, as a spreadsheet shows it (quoted addresses may span lines).
    """

    def needs_a_contact(header: list[str]) -> None:
        if "email" not in header and "adresse" not in header:
            raise EnrolmentFileError(
                _("L'en-tête doit comporter une colonne « email » ou « adresse ».")
            )

    for line, _header, row in read_rows(
        source,
        columns=COLUMNS,
        required=REQUIRED_COLUMNS,
        column_name=_column_name,
        error=EnrolmentFileError,
        check_header=needs_a_contact,
    ):
        yield line, row


# --- Checking one row --------------------------------------------------------------------


_DATE_RE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$|^(\d{4})-(\d{2})-(\d{2})$")


def _parse_date(value: str) -> date | None:
    """JJ/MM/AAAA or AAAA-MM-JJ (strptime is slow for a hundred thousand rows)."""
    found = _DATE_RE.match(value)
    if found is None:
        return None
    day, month, year, iso_year, iso_month, iso_day = found.groups()
    try:
        if year:
            return date(int(year), int(month), int(day))
        return date(int(iso_year), int(iso_month), int(iso_day))
    except ValueError:
        return None


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _message(error: ValidationError) -> str:
    return " ".join(str(m) for m in error.messages)


def _lower_first(message) -> str:
    message = str(message)
    return message[:1].lower() + message[1:]


def _check_row(line: int, raw: Mapping[str, str], today: date) -> tuple[_Row | None, list]:
    """The row's own checks (everything that does not need the rest of the file)."""
    errors: list[Rejection] = []

    def reject(column: str, reason: str) -> None:
        errors.append(Rejection(line, column, reason))

    def get(name: str) -> str:
        return (raw.get(name) or "").strip()

    if raw.get("__extra__"):
        reject("", "la ligne a plus de colonnes que l'en-tête (séparateur dans un champ ?).")

    nir = normalise_nir(get("nir"))
    try:
        validate_nir(nir)
    except ValidationError as exc:
        reject("nir", _message(exc) if nir else "le NIR est obligatoire.")
        nir = ""

    last_name, first_names = get("nom"), " ".join(get("prenoms").split())
    for column, value in (("nom", last_name), ("prenoms", first_names)):
        if not value:
            reject(column, "champ obligatoire.")
        elif len(value) > _NAME_MAX:
            reject(column, f"{_NAME_MAX} caractères au plus.")

    birth_date = _parse_date(get("date_naissance"))
    if birth_date is None:
        reject(
            "date_naissance",
            f"date « {get('date_naissance')} » invalide : attendu JJ/MM/AAAA ou AAAA-MM-JJ.",
        )
    elif birth_date > today or birth_date.year < 1890:
        reject("date_naissance", f"date de naissance invraisemblable ({birth_date:%d/%m/%Y}).")
    elif "birth_date" in (found := nir_contradictions(nir, birth_date=birth_date, sex="")):
        reject("date_naissance", _lower_first(found["birth_date"]))

    sex = get("sexe").upper()
    if sex not in _SEXES:
        reject("sexe", "attendu F ou M.")
    elif "sex" in (found := nir_contradictions(nir, birth_date=None, sex=sex)):
        reject("sexe", _lower_first(found["sex"]))

    serial = "".join(get("carte_vitale").split())
    try:
        validate_carte_vitale_serial(serial)
    except ValidationError as exc:
        reject("carte_vitale", _message(exc))

    email, address = get("email"), (raw.get("adresse") or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            reject("email", f"adresse e-mail « {email} » invalide.")
    if not email and not address:
        reject("adresse", "il faut une adresse e-mail ou une adresse postale pour envoyer le code.")

    representatives: list[str] = []
    for value in get("representants").split("|"):
        rep = normalise_nir(value)
        if not rep:
            continue
        try:
            validate_nir(rep)
        except ValidationError as exc:
            reject("representants", f"NIR de représentant « {value.strip()} » : {_message(exc)}")
            continue
        if rep == nir:
            reject("representants", "une personne ne peut pas être son propre représentant.")
        elif rep not in representatives:
            representatives.append(rep)
    if len(representatives) > MAX_REPRESENTATIVES:
        reject("representants", f"{MAX_REPRESENTATIVES} représentants légaux au plus.")

    minor = birth_date is not None and _age_on(birth_date, today) < MAJORITY
    if birth_date is not None and not any(e.column == "representants" for e in errors):
        if minor and not representatives:
            reject("representants", "un mineur doit avoir au moins un représentant légal.")
        elif not minor and representatives:
            reject("representants", "une personne majeure n'a pas de représentant légal ici.")

    if errors:
        return None, errors
    return (
        _Row(
            line=line,
            nir=nir,
            last_name=last_name,
            first_names=first_names,
            birth_date=birth_date,
            sex=sex,
            carte_vitale_serial=serial,
            email=email,
            postal_address=address,
            representatives=tuple(representatives),
            minor=minor,
        ),
        [],
    )


# --- Enrolling ---------------------------------------------------------------------------


def _existing_nirs(nirs: Iterable[str], chunk: int = 5000) -> set[str]:
    return {nir for nir, *_ in _identities(nirs, chunk=chunk)}


def _identities(nirs: Iterable[str], chunk: int = 5000) -> list[tuple[str, int, int | None]]:
    """(nir, patient pk, user pk) of the known NIRs among `nirs`.

    On PostgreSQL the NIRs travel as one array parameter: thousands of `IN (%s, …)`
    placeholders cost more to build than the query costs to run.
    """
    nirs = list(nirs)
    found: list[tuple[str, int, int | None]] = []
    table = Patient._meta.db_table
    for start in range(0, len(nirs), chunk):
        part = nirs[start : start + chunk]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT nir, id, user_id FROM {table} WHERE nir = ANY(%s)",  # noqa: S608
                    [part],
                )
                found += cursor.fetchall()
        else:
            found += Patient.objects.filter(nir__in=part).values_list("nir", "pk", "user_id")
    return found


def _in_creation_order(
    rows: dict[str, _Row], refused_lines: dict[str, int], report: Report
) -> list[_Row]:
    """Order rows so that representatives are created before the minors they represent.

    A minor whose representative was refused (or is missing from both the file
    and the database) is refused in turn, and so on down the line.
    """
    depth: dict[str, int] = {}
    refused: dict[str, Rejection] = {}
    known = _existing_nirs({rep for row in rows.values() for rep in row.representatives})

    def resolve(nir: str, visiting: frozenset[str]) -> int | None:
        if nir in depth:
            return depth[nir]
        if nir in refused:
            return None
        row = rows[nir]
        level = 0
        for rep in row.representatives:
            if rep in rows:
                if rep in visiting:
                    refused[nir] = Rejection(
                        row.line, "representants", "représentation circulaire dans le fichier."
                    )
                    return None
                rep_level = resolve(rep, visiting | {nir})
                if rep_level is None:
                    refused[nir] = Rejection(
                        row.line,
                        "representants",
                        f"le représentant {rep} (ligne {rows[rep].line}) a été refusé.",
                    )
                    return None
                level = max(level, rep_level + 1)
            elif rep in refused_lines and rep not in known:
                refused[nir] = Rejection(
                    row.line,
                    "representants",
                    f"le représentant {rep} (ligne {refused_lines[rep]}) a été refusé.",
                )
                return None
            elif rep not in known:
                refused[nir] = Rejection(
                    row.line,
                    "representants",
                    f"le représentant {rep} n'est ni dans le fichier ni déjà inscrit.",
                )
                return None
        depth[nir] = level
        return level

    for nir in rows:
        resolve(nir, frozenset())
    report.rejected.extend(refused.values())
    ordered = [rows[nir] for nir in rows if nir not in refused]
    ordered.sort(key=lambda row: depth[row.nir])  # stable: file order within a level
    return ordered


def enrol_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    by: Actor,
    announce: bool = True,
    batch_size: int = BATCH_SIZE,
    today: date | None = None,
) -> Report:
    """Enrol every valid row in the announced state; report the others, line by line.

    Guarantees: a rejected row creates nothing; each batch of valid rows is
    created whole or not at all (patients, spaces, audit events, legal
    representatives); a NIR already known is skipped and counted, never
    duplicated; each new space gets its `space_announced` event in its chain
    and, with `announce`, its provisional code after commit.
    """
    today = today or timezone.localdate()
    report = Report()
    valid: dict[str, _Row] = {}
    refused_lines: dict[str, int] = {}
    for line, raw in rows:
        row, errors = _check_row(line, raw, today)
        if errors:
            report.rejected.extend(errors)
            refused_lines.setdefault(normalise_nir(raw.get("nir") or ""), line)
        elif row.nir in valid:
            report.rejected.append(
                Rejection(line, "nir", f"NIR déjà présent ligne {valid[row.nir].line} du fichier.")
            )
        else:
            valid[row.nir] = row

    known = _existing_nirs(valid)
    report.already_enrolled = len(known)
    ordered = _in_creation_order(
        {n: r for n, r in valid.items() if n not in known}, refused_lines, report
    )
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        try:
            space_ids, skipped = _create_batch(batch, by=by, announce=announce)
        except IntegrityError:
            # Another enrolment inserted some of these NIRs meanwhile: retry once, skipping them.
            space_ids, skipped = _create_batch(batch, by=by, announce=announce)
        report.created += len(space_ids)
        report.already_enrolled += skipped
        report.space_ids.extend(space_ids)
    report.rejected.sort(key=lambda r: r.line)
    return report


def _create_batch(batch: list[_Row], *, by: Actor, announce: bool) -> tuple[list[int], int]:
    """Create one batch in one transaction; returns the new space ids and the rows skipped."""
    with transaction.atomic():
        known = _existing_nirs(row.nir for row in batch)
        batch = [row for row in batch if row.nir not in known]
        patients = [
            Patient(
                nir=row.nir,
                last_name=row.last_name,
                first_names=row.first_names,
                birth_date=row.birth_date,
                sex=row.sex,
                carte_vitale_serial=row.carte_vitale_serial,
                email=row.email,
                postal_address=row.postal_address,
            )
            for row in batch
        ]
        _insert(patients)
        deadline = timezone.now() + Space.OPPOSITION_WINDOW
        spaces = [Space(holder=patient, opposition_deadline=deadline) for patient in patients]
        _insert(spaces)
        trace_many(actor=by, action=SpaceAction.SPACE_ANNOUNCED, spaces=spaces)
        _link_representatives(batch, spaces, by=by)
        space_ids = [space.pk for space in spaces]
        if announce and space_ids:
            # Durable, in the batch's transaction: the sweep re-queues what the broker lost.
            requests = [CodeRequest(space=space, kind="announcement") for space in spaces]
            _insert(requests)
            request_ids = [request.pk for request in requests]
            transaction.on_commit(
                lambda: queue_announcements(space_ids, request_ids=request_ids), robust=True
            )
    return space_ids, len(known)


def _link_representatives(batch: list[_Row], spaces: list[Space], *, by: Actor) -> None:
    minors = [(row, space) for row, space in zip(batch, spaces, strict=True) if row.representatives]
    if not minors:
        return
    wanted = {rep for row, _ in minors for rep in row.representatives}
    identities = {nir: (pk, user_id) for nir, pk, user_id in _identities(wanted)}
    _insert(
        [
            LegalRepresentative(
                space=space, patient_id=identities[rep][0], user_id=identities[rep][1]
            )
            for row, space in minors
            for rep in row.representatives
        ]
    )
    trace_many(
        actor=by,
        action=SpaceAction.LEGAL_REPRESENTATIVE_ADDED,
        spaces=[space for _, space in minors],
        detail={"source": "enrolment"},
    )


def _insert(objs: list[Model]) -> None:
    """Insert new rows of one model and set their primary keys.

    On PostgreSQL the keys are drawn from the table's sequence in one query and
    the rows sent with COPY: several times faster than INSERT for thousands of
    rows. Values are taken as Python holds them (defaults and `auto_now_add`
    applied), which psycopg adapts; JSON fields go through their own preparation.
    Elsewhere, `bulk_create`.
    """
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    for f in fields:
        if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            for obj in objs:
                f.pre_save(obj, add=True)
    prepared = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in [meta.pk.column, *(f.column for f in fields)])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        statement = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for pk, obj in zip(ids, objs, strict=True):
                obj.pk = pk
                copy.write_row(
                    (
                        pk,
                        *(
                            f.get_db_prep_save(getattr(obj, f.attname), connection)
                            if f.attname in prepared
                            else getattr(obj, f.attname)
                            for f in fields
                        ),
                    )
                )
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def queue_announcements(
    space_ids: list[int], kind: str = "announcement", request_ids: list[int] | None = None
) -> int:
    """Queue one code delivery (email, or letter without email) per space.

    Called after the batch commits. One failing queue (or, in eager mode, one
    failing delivery) does not stop the others: the failure is logged, and with
    `request_ids` (the `CodeRequest` of each space, in the same order) the beat
    sweep queues the delivery again.
    """
    from espace_sante.tasks import deliver_code, publish

    queued = 0
    for index, space_id in enumerate(space_ids):
        if request_ids is not None:
            what = f"space {space_id}: the {kind}"
            if not publish(deliver_code, space_id, kind, request_ids[index], what=what):
                break  # the broker is away: the sweep queues the rest, no need to wait here
            queued += 1
            continue
        try:
            deliver_code.delay(space_id, kind)
            queued += 1
        except Exception:
            logger.exception("space %s: the %s could not be queued", space_id, kind)
    return queued


def enrol_file(path: str | Path, *, by: Actor, announce: bool = True, **options) -> Report:
    return enrol_rows(read_csv(path), by=by, announce=announce, **options)
