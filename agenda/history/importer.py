"""Loading the history of care the Assurance Maladie holds (`manage.py import_care_history`).

The file (docs/AGENDA.md, "Historique des soins"): a UTF-8 CSV with a header row, `;` or
`,`, one care event a line: the person's NIR, the date, the kind (act, drug dispensed,
hospital stay), the code and label, the professional's RPPS or the establishment (FINESS,
name). As the other imports (`acces.directory`, `espace_sante.enrolment`):

- every row is checked on its own first; a bad row is reported with its line number and
  French reasons, and writes nothing; the good ones are loaded;
- the valid rows are written in batches, each in one transaction: the spaces found by NIR
  in one query, the events already there in one query, then `bulk_create`;
- a row is the same event as one already loaded when its natural key matches
  (`natural_key`: date, kind, code, RPPS, FINESS, unique in the space), so running the
  same file again adds nothing; the same event twice in one file is refused the second time;
- each batch appends one `care_history_imported` event to the trail of every space it
  added to (`trace_many`), and the run one `care_history_import_run` event naming the file,
  its batch id and the counts;
- the label and the establishment's name are encrypted under the space's care-history key
  (`agenda.history.sealing`), created with the first event of the space.

The patient is not sent a notification: this is the insurer's routine feed of what it
already holds (reimbursements, the pharmaceutical record), not an access or a change made
by someone; the trail of the space says when it came.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from acces.models import Professional
from acces.validators import validate_rpps
from agenda.history.actions import CareHistoryAction
from agenda.history.sealing import Details, seal
from agenda.models import CareEvent, CareHistoryKey
from espace_sante import crypto
from espace_sante.csvfile import read_rows
from espace_sante.enrolment import Rejection
from espace_sante.identity import normalise_nir, validate_nir
from espace_sante.models import Space
from espace_sante.tracing import Actor, trace, trace_many

COLUMNS = ("nir", "date", "nature", "code", "libelle", "rpps", "finess", "etablissement")
REQUIRED_COLUMNS = ("nir", "date", "nature", "code", "libelle")
_COLUMN_ALIASES = {
    "ins": "nir",
    "date_soin": "date",
    "type": "nature",
    "label": "libelle",
    "libelle_acte": "libelle",
    "numero_rpps": "rpps",
    "numero_finess": "finess",
    "nom_etablissement": "etablissement",
}
BATCH_SIZE = 5000
SOURCE = "assurance_maladie"
# The spaces whose history is fed: the announced ones are not created yet (the person may
# still oppose), the opposed, closed and destroyed ones take nothing in.
FED_STATES = (Space.State.CREATED, Space.State.ACTIVE, Space.State.SUSPENDED)
_STATE_REFUSALS = {
    Space.State.ANNOUNCED: "l'espace santé de cette personne n'est pas encore créé "
    "(délai d'opposition en cours).",
    Space.State.OPPOSED: "cette personne s'est opposée à la création de son espace santé.",
    Space.State.CLOSED: "l'espace santé de cette personne est clôturé.",
    Space.State.DESTROYED: "l'espace santé de cette personne est supprimé.",
}

KINDS = {
    "act": CareEvent.Kind.ACT,
    "acte": CareEvent.Kind.ACT,
    "dispensation": CareEvent.Kind.DISPENSATION,
    "delivrance": CareEvent.Kind.DISPENSATION,
    "medicament": CareEvent.Kind.DISPENSATION,
    "medicament_delivre": CareEvent.Kind.DISPENSATION,
    "stay": CareEvent.Kind.STAY,
    "sejour": CareEvent.Kind.STAY,
    "sejour_hospitalier": CareEvent.Kind.STAY,
    "hospitalisation": CareEvent.Kind.STAY,
}
_CODE_MAX = CareEvent._meta.get_field("code").max_length
_LABEL_MAX = 300
_ESTABLISHMENT_MAX = 200
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_FINESS_RE = re.compile(r"^(?:\d{2}|2A|2B)\d{7}$")
_EARLIEST = date(1900, 1, 1)


class CareHistoryFileError(Exception):
    """The file as a whole cannot be read (encoding, header); the message is for the operator."""


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _column_name(header: str) -> str:
    name = _key(header.strip().lstrip("\ufeff"))
    return _COLUMN_ALIASES.get(name, name)


def read_csv(source: str | Path | io.TextIOBase) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each record (the shared reader: `espace_sante.csvfile`)."""
    for line, _header, row in read_rows(
        source,
        columns=COLUMNS,
        required=REQUIRED_COLUMNS,
        column_name=_column_name,
        error=CareHistoryFileError,
    ):
        yield line, row


def natural_key(
    *, day: date, kind: str, code: str, rpps: str = "", finess: str = "", establishment: str = ""
) -> str:
    """What makes a row the same event as one already loaded, within a space. Without an
    RPPS nor a FINESS, the establishment's name tells two stays apart."""
    place = finess or ("" if rpps else _key(establishment))
    raw = f"v1|{day.isoformat()}|{kind}|{code.upper()}|{rpps}|{place}"
    return hashlib.sha256(raw.encode()).hexdigest()


# --- Checking one row ----------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    line: int
    nir: str
    day: date
    kind: str
    code: str
    label: str
    rpps: str
    finess: str
    establishment: str
    key: str


def _one_line(value: str) -> str:
    return " ".join((value or "").split())


def _parse_date(value: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def _check_row(line: int, raw: Mapping[str, str], today: date) -> tuple[_Row | None, list]:
    errors: list[Rejection] = []

    def reject(column: str, reason: str) -> None:
        errors.append(Rejection(line, column, reason))

    def get(name: str) -> str:
        return _one_line(raw.get(name) or "")

    if raw.get("__extra__"):
        reject("", "la ligne a plus de colonnes que l'en-tête (séparateur dans un champ ?).")

    nir = normalise_nir(get("nir"))
    if not nir:
        reject("nir", "le NIR est obligatoire.")
    else:
        try:
            validate_nir(nir)
        except ValidationError as exc:
            reject("nir", " ".join(str(m) for m in exc.messages))

    day = None
    if not get("date"):
        reject("date", "la date est obligatoire.")
    else:
        day = _parse_date(get("date"))
        if day is None:
            reject("date", f"date « {get('date')} » illisible : attendu AAAA-MM-JJ ou JJ/MM/AAAA.")
        elif day > today:
            reject("date", "la date est dans le futur.")
        elif day < _EARLIEST:
            reject("date", "la date est antérieure à 1900.")

    kind = KINDS.get(_key(get("nature")))
    if not get("nature"):
        reject("nature", "la nature est obligatoire.")
    elif kind is None:
        reject(
            "nature",
            f"nature « {get('nature')} » inconnue : attendu acte, médicament délivré ou "
            "séjour hospitalier.",
        )

    code = get("code")
    if not code:
        reject("code", "le code est obligatoire.")
    elif len(code) > _CODE_MAX:
        reject("code", f"{_CODE_MAX} caractères au plus.")
    elif not _CODE_RE.match(code):
        reject("code", f"code « {code} » invalide : lettres, chiffres, points et tirets.")

    label = get("libelle")
    if not label:
        reject("libelle", "le libellé est obligatoire.")
    elif len(label) > _LABEL_MAX:
        reject("libelle", f"{_LABEL_MAX} caractères au plus.")

    rpps = "".join(get("rpps").split())
    if rpps:
        try:
            if not (rpps.isascii() and rpps.isdigit()):
                validate_rpps("")
            validate_rpps(rpps)
        except ValidationError as exc:
            reject("rpps", " ".join(str(m) for m in exc.messages))
    finess = "".join(get("finess").split()).upper()
    if finess and not _FINESS_RE.match(finess):
        reject("finess", f"numéro FINESS « {finess} » invalide : 9 caractères (ex. 440000289).")
    establishment = get("etablissement")
    if len(establishment) > _ESTABLISHMENT_MAX:
        reject("etablissement", f"{_ESTABLISHMENT_MAX} caractères au plus.")
    if not (rpps or finess or establishment):
        reject(
            "rpps",
            "indiquez le RPPS du professionnel ou l'établissement (FINESS ou nom).",
        )

    if errors:
        return None, errors
    return (
        _Row(
            line=line,
            nir=nir,
            day=day,
            kind=kind,
            code=code,
            label=label,
            rpps=rpps,
            finess=finess,
            establishment=establishment,
            key=natural_key(
                day=day,
                kind=kind,
                code=code,
                rpps=rpps,
                finess=finess,
                establishment=establishment,
            ),
        ),
        [],
    )


# --- Importing -----------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do); one rejection per problem found."""

    created: int = 0
    already_loaded: int = 0
    spaces: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    batch: uuid.UUID = field(default_factory=uuid.uuid4)
    dry_run: bool = False

    @property
    def rejected_lines(self) -> int:
        return len({r.line for r in self.rejected})

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        text = (
            f"{self.created} événement(s) de soins ajouté(s) dans {self.spaces} espace(s), "
            f"{self.already_loaded} déjà présent(s), {self.rejected_lines} ligne(s) refusée(s)."
        )
        if self.dry_run:
            text = f"Simulation, rien n'a été enregistré : {text}"
        return text


def import_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    by: Actor,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    source: str = "",
    today: date | None = None,
) -> ImportReport:
    """Add a care event for every valid row whose NIR has a fed space; report the others.

    Guarantees: a rejected row writes nothing; each batch is written whole or not at all
    (events, keys, trail); an event already loaded (same natural key in the space) is
    counted, never duplicated; with `dry_run`, everything is checked against the database
    and nothing is written.
    """
    today = today or timezone.localdate()
    report = ImportReport(dry_run=dry_run)
    pending: list[_Row] = []
    seen: dict[tuple[str, str], int] = {}
    spaces_touched: set[int] = set()

    def flush() -> None:
        if pending:
            _write_batch(
                pending, by=by, report=report, source=source, spaces_touched=spaces_touched
            )
            pending.clear()

    for line, raw in rows:
        row, errors = _check_row(line, raw, today)
        if errors:
            report.rejected.extend(errors)
            continue
        first = seen.get((row.nir, row.key))
        if first is not None:
            report.rejected.append(
                Rejection(line, "", f"même événement que la ligne {first} du fichier.")
            )
            continue
        seen[(row.nir, row.key)] = line
        pending.append(row)
        if len(pending) >= batch_size:
            flush()
    flush()
    report.spaces = len(spaces_touched)
    report.rejected.sort(key=lambda r: r.line)
    if not dry_run and report.created:
        with transaction.atomic():
            detail = {
                "batch": str(report.batch),
                "created": report.created,
                "already_loaded": report.already_loaded,
                "rejected_lines": report.rejected_lines,
                "spaces": report.spaces,
            }
            if source:
                detail["source"] = source
            trace(
                actor=by,
                action=CareHistoryAction.CARE_HISTORY_IMPORT_RUN,
                target=("agenda.careevent", str(report.batch)),
                detail=detail,
            )
    return report


def _write_batch(
    batch: list[_Row], *, by: Actor, report: ImportReport, source: str, spaces_touched: set
) -> None:
    """One batch, in one transaction: find the spaces, skip what is loaded, write the rest."""
    with transaction.atomic():
        spaces = {
            space.holder.nir: space
            for space in Space.objects.select_related("holder")
            .filter(holder__nir__in={row.nir for row in batch})
            .only("pk", "public_id", "state", "holder__nir")
        }
        wanted: list[tuple[_Row, Space]] = []
        for row in batch:
            space = spaces.get(row.nir)
            if space is None:
                report.rejected.append(
                    Rejection(row.line, "nir", "aucun espace santé ne correspond à ce NIR.")
                )
            elif space.state not in FED_STATES:
                report.rejected.append(Rejection(row.line, "nir", _STATE_REFUSALS[space.state]))
            else:
                wanted.append((row, space))
        if not wanted:
            return
        loaded = set(
            CareEvent.objects.filter(
                space_id__in={space.pk for _, space in wanted},
                natural_key__in={row.key for row, _ in wanted},
            ).values_list("space_id", "natural_key")
        )
        new = [(row, space) for row, space in wanted if (space.pk, row.key) not in loaded]
        report.already_loaded += len(wanted) - len(new)
        if report.dry_run:
            report.created += len(new)
            spaces_touched.update(space.pk for _, space in new)
            return
        if not new:
            return
        keys = _data_keys({space.pk for _, space in new})
        professionals = dict(
            Professional.objects.filter(
                rpps__in={row.rpps for row, _ in new if row.rpps}
            ).values_list("rpps", "pk")
        )
        now = timezone.now()
        events = []
        for row, space in new:
            public_id = uuid.uuid4()
            data_key = keys[space.pk]
            events.append(
                CareEvent(
                    space_id=space.pk,
                    date=row.day,
                    kind=row.kind,
                    code=row.code,
                    public_id=public_id,
                    data_key=data_key,
                    details_ciphertext=seal(
                        Details(label=row.label, establishment=row.establishment),
                        data_key=data_key,
                        public_id=public_id,
                    ),
                    professional_rpps=row.rpps,
                    professional_id=professionals.get(row.rpps),
                    establishment_finess=row.finess,
                    source=(source or SOURCE)[:100],
                    import_batch=report.batch,
                    natural_key=row.key,
                    imported_at=now,
                )
            )
        _insert(events)
        report.created += len(events)
        touched = {space.pk: space for _, space in new}
        spaces_touched.update(touched)
        trace_many(
            actor=by,
            action=CareHistoryAction.CARE_HISTORY_IMPORTED,
            spaces=list(touched.values()),
            detail={"batch": str(report.batch), **({"source": source} if source else {})},
        )


def _insert(events: list[CareEvent]) -> None:
    """Write the batch's events: one COPY on PostgreSQL (a statement of thousands of rows
    costs more to build and parse than to run), `bulk_create` elsewhere. Another run may
    have loaded some of them meanwhile: COPY then fails on the natural key and the batch is
    written again skipping those (the constraint keeps one)."""
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                _copy(events)
            return
        except IntegrityError:
            pass
    CareEvent.objects.bulk_create(events, batch_size=250, ignore_conflicts=True)


def _copy(events: list[CareEvent]) -> None:
    fields = [f for f in CareEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(CareEvent._meta.db_table)
    # COPY goes to psycopg itself: its errors are made Django's (IntegrityError) here.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for event in events:
            copy.write_row(
                [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
            )


def _data_keys(space_ids: set[int]) -> dict:
    """The care-history data key of each space, created for those that have none yet."""
    found = {
        key.space_id: key.data_key
        for key in CareHistoryKey.objects.select_related("data_key").filter(space_id__in=space_ids)
    }
    missing = sorted(space_ids - set(found))
    created = CareHistoryKey.objects.bulk_create(
        [
            CareHistoryKey(space_id=space_id, data_key=data_key)
            for space_id, data_key in zip(missing, crypto.new_data_keys(len(missing)), strict=True)
        ]
    )
    found.update((key.space_id, key.data_key) for key in created)
    return found


def import_file(path: str | Path, *, by: Actor, dry_run: bool = False, **options) -> ImportReport:
    return import_rows(read_csv(path), by=by, dry_run=dry_run, source=Path(path).name, **options)
