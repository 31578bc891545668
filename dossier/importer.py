"""Taking a DMP back from an archive in the download's format (`manage.py import_dmp`).

The archive is a ZIP or its unzipped directory, as `espace_sante.export` writes it:
a FHIR R4 Bundle (`dmp.fhir.json`, see `dossier.fhir`) whose DocumentReferences
point at the documents' files with a path relative to the Bundle's own folder.
Every file named `*.fhir.json` is read as a Bundle.

What it guarantees:

- everything goes through the services: documents through `add_document`
  (checked by content, encrypted under their own key, traced), profile entries
  through `profile_services.add_entry` (validated, traced, kept in the profile's
  history). The actor is the one given (the command: the system); a document has no
  `added_by` account (nobody here added it), it is marked `source=import` with the
  author named as the old record named them, and it imports into a space whose holder
  has not activated it yet as well as into an active one. It is never
  linked to a professional of this service: an archive is not proof of authorship,
  and authorship opens masked documents;
- idempotent: a document already in the space with the same content (SHA-256 of the
  file, the digest every Document keeps) is not imported again, whatever its
  identifiers (they differ from one space to another: the masterIdentifier is the
  source space's, not ours); a profile entry is not imported again when one with the
  same natural key is there (allergy: substance; history: kind, condition and year;
  treatment: medicine and start; vaccination: vaccine and date; measurement: kind,
  date and values), compared without regard to case. The BMI is derived, never read;
- each document and each entry in its own transaction: one refused file does not
  undo the others. A problem (unreadable JSON, a resource missing what it needs, a
  file missing from the archive or refused for its content, an unknown LOINC type, a
  path leaving the archive) is recorded in the report with the file's name and the
  reason, and the rest goes on;
- the resources other parts add to the Bundle are handed to the importer that part
  registered (`fhir.register_importer`: messaging takes its Communications back as
  "reprise" conversations, `messagerie.importer`), with an `ImportContext` (the space,
  the actor, the archive's files read as the documents' are, the report's line); a type
  nobody registered is counted (NOT_TAKEN_BACK) or reported as not supported;
- `attachment.url` is a path inside the archive: absolute paths, `..`, drive letters,
  URL schemes and backslashes are refused, and in a directory a path that resolves
  outside it (a symbolic link) too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from dossier import fhir, profile_services
from dossier.models import Allergy, Document, DocumentType, HistoryEntry, Measurement
from dossier.services import add_document, set_masked
from dossier.validation import MAX_SIZE
from espace_sante.identity import normalise_nir
from espace_sante.models import Space, SpaceError
from espace_sante.notifications import notify_space
from espace_sante.tracing import Actor

MAX_BUNDLE_SIZE = 200 * 1024 * 1024
IDENTITY_FILE = "identite.json"

PROFILE_PARTS = {
    "allergy": ("allergie", "allergies"),
    "history": ("antécédent", "antécédents"),
    "treatment": ("traitement", "traitements"),
    "vaccination": ("vaccination", "vaccinations"),
    "measurement": ("mesure", "mesures"),
}


# Resources other parts of the space add to the Bundle (`fhir.register_resources`), when
# no importer is registered for them (`fhir.register_importer`; messaging registers one
# for its Communications): counted in the report, not problems (the archive is ours).
NOT_TAKEN_BACK = {"Communication": "Messages"}


class DmpImportError(SpaceError):
    """The archive as a whole cannot be imported; the message is for the operator."""


class Malformed(Exception):
    """One file or one resource that cannot be imported; the message says why (French)."""


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count < 2 else many}"


@dataclass
class ImportReport:
    """What an import did, and every problem met (one line each: where, then why)."""

    space: Space | None = None
    documents_imported: int = 0
    documents_present: int = 0
    documents_skipped: int = 0
    entries_imported: Counter = field(default_factory=Counter)
    entries_present: int = 0
    entries_skipped: int = 0
    problems: list[str] = field(default_factory=list)
    not_taken_back: Counter = field(default_factory=Counter)
    # What the importers of other parts took back, by their label: imported, present, skipped.
    taken_back: dict[str, Counter] = field(default_factory=dict)

    def problem(self, where: str, reason: str) -> None:
        self.problems.append(f"{where} : {reason}")

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def imported(self) -> int:
        return (
            self.documents_imported
            + sum(self.entries_imported.values())
            + sum(c["imported"] for c in self.taken_back.values())
        )

    def summary(self) -> str:
        documents = (
            f"Documents : {_plural(self.documents_imported, 'importé', 'importés')}, "
            f"{_plural(self.documents_present, 'déjà présent', 'déjà présents')}, "
            f"{_plural(self.documents_skipped, 'ignoré', 'ignorés')}."
        )
        total = sum(self.entries_imported.values())
        detail = ", ".join(
            _plural(self.entries_imported[part], *PROFILE_PARTS[part])
            for part in PROFILE_PARTS
            if self.entries_imported[part]
        )
        profile = (
            f"Profil médical : {_plural(total, 'entrée importée', 'entrées importées')}"
            f"{f' ({detail})' if detail else ''}, "
            f"{_plural(self.entries_present, 'déjà présente', 'déjà présentes')}, "
            f"{_plural(self.entries_skipped, 'ignorée', 'ignorées')}."
        )
        lines = [documents, profile]
        for label, counts in self.taken_back.items():
            lines.append(
                f"{label} : {_plural(counts['imported'], 'importé', 'importés')}, "
                f"{_plural(counts['present'], 'déjà présent', 'déjà présents')}, "
                f"{_plural(counts['skipped'], 'ignoré', 'ignorés')}."
            )
        for resource_type, label in NOT_TAKEN_BACK.items():
            if count := self.not_taken_back[resource_type]:
                lines.append(f"{label} : {count} non repris (pas encore pris en charge).")
        return "\n".join(lines)


# --- Reading the archive --------------------------------------------------------------------

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def safe_member(url: object) -> str:
    """`url` as a path inside the archive, or Malformed when it could lead outside."""
    if not isinstance(url, str) or not url.strip():
        raise Malformed("aucun fichier indiqué (content.attachment.url)")
    if "\\" in url or "\x00" in url:
        raise Malformed(f"chemin refusé « {url} » : caractère interdit")
    if url.startswith("/") or _SCHEME.match(url):
        raise Malformed(f"chemin refusé « {url} » : seul un chemin relatif à l'archive est admis")
    if ".." in url.split("/"):
        raise Malformed(f"chemin refusé « {url} » : il sort de l'archive")
    return posixpath.normpath(url)


class _Source:
    """A ZIP or a directory, read by relative POSIX paths only."""

    def names(self) -> list[str]:
        raise NotImplementedError

    def read(self, member: str, *, limit: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Zip(_Source):
    def __init__(self, path: Path):
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise DmpImportError(
                _("%(name)s : archive ZIP illisible (%(error)s).")
                % {"name": path.name, "error": exc}
            ) from exc

    def names(self) -> list[str]:
        return [info.filename for info in self.zip.infolist() if not info.is_dir()]

    def read(self, member: str, *, limit: int) -> bytes:
        try:
            info = self.zip.getinfo(member)
        except KeyError:
            raise Malformed(f"fichier « {member} » absent de l'archive") from None
        if info.file_size > limit:
            raise Malformed(f"fichier « {member} » trop volumineux")
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise Malformed(f"fichier « {member} » illisible dans l'archive ({exc})") from exc

    def close(self) -> None:
        self.zip.close()


class _Directory(_Source):
    def __init__(self, path: Path):
        self.root = path.resolve()

    def names(self) -> list[str]:
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
        )

    def read(self, member: str, *, limit: int) -> bytes:
        target = (self.root / member).resolve()
        if not target.is_relative_to(self.root):
            raise Malformed(f"chemin refusé « {member} » : il sort du dossier importé")
        if not target.is_file():
            raise Malformed(f"fichier « {member} » absent de l'archive")
        if target.stat().st_size > limit:
            raise Malformed(f"fichier « {member} » trop volumineux")
        return target.read_bytes()


def _open(path: Path) -> _Source:
    if path.is_dir():
        return _Directory(path)
    if path.is_file():
        return _Zip(path)
    raise DmpImportError(_("%(path)s : ni une archive ZIP ni un dossier.") % {"path": path})


# --- Small readers of FHIR values -----------------------------------------------------------


def _text(concept: object) -> str:
    """The words of a CodeableConcept: its text, or the display of its first coding."""
    if not isinstance(concept, dict):
        return ""
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return concept["text"].strip()
    for coding in _list(concept.get("coding")):
        if isinstance(coding, dict) and isinstance(coding.get("display"), str):
            return coding["display"].strip()
    return ""


def _codes(concept: object) -> list[tuple[str, str]]:
    if not isinstance(concept, dict):
        return []
    return [
        (str(c.get("system", "")), str(c.get("code", "")))
        for c in _list(concept.get("coding"))
        if isinstance(c, dict) and c.get("code")
    ]


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _first(value: object) -> dict:
    items = _list(value)
    return items[0] if items and isinstance(items[0], dict) else {}


def _display(reference: object) -> str:
    if isinstance(reference, dict) and isinstance(reference.get("display"), str):
        return reference["display"].strip()
    return ""


def _date(value: object, what: str) -> date:
    if not isinstance(value, str) or len(value) < 10:
        raise Malformed(f"{what} manquante ou incomplète")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise Malformed(f"{what} illisible « {value} »") from None


def _optional_date(value: object, what: str) -> date | None:
    """A date that may be missing; a partial one (a year, a month) is dropped, not refused."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    return _date(value, what)


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Malformed(f"{what} manquante")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise Malformed(f"{what} illisible « {value} »") from None


def _withdrawn(resource: dict) -> bool:
    """Entered in error or refuted: not a fact to take back."""
    codes = {code for _system, code in _codes(resource.get("verificationStatus"))}
    return resource.get("status") == "entered-in-error" or bool(
        codes & {"entered-in-error", "refuted"}
    )


def _fold(value: str) -> str:
    return " ".join(value.split()).casefold()


# --- Profile entries ------------------------------------------------------------------------

# Measurement units as UCUM codes, to the unit each kind is stored in.
_CONVERSIONS = {
    Measurement.Kind.WEIGHT: {
        "kg": Decimal(1),
        "g": Decimal("0.001"),
        "[lb_av]": Decimal("0.45359237"),
    },
    Measurement.Kind.HEIGHT: {"cm": Decimal(1), "m": Decimal(100), "[in_i]": Decimal("2.54")},
    Measurement.Kind.BLOOD_PRESSURE: {"mm[Hg]": Decimal(1), "mmHg": Decimal(1)},
    Measurement.Kind.GLYCAEMIA: {
        "g/L": Decimal(1),
        "mg/dL": Decimal("0.01"),
        "mmol/L": Decimal("0.18016"),  # glucose: 180.16 g/mol
    },
}
_BY_LOINC = {code.code: kind for kind, code in fhir.MEASUREMENT_CODES.items()}


_DEFAULT_UNITS = {kind: next(iter(factors)) for kind, factors in _CONVERSIONS.items()}


def _quantity(quantity: object, kind: str, what: str) -> Decimal:
    """A quantity in the unit `kind` is stored in; a quantity without a unit is taken as in it."""
    if not isinstance(quantity, dict):
        raise Malformed(f"{what} manquante")
    value = _decimal(quantity.get("value"), what)
    unit = quantity.get("code") or quantity.get("unit") or _DEFAULT_UNITS[kind]
    factors = _CONVERSIONS[kind]
    if unit not in factors:
        raise Malformed(f"{what} : unité « {unit} » non prise en charge")
    return (value * factors[unit]).quantize(Decimal("0.01"))


def _allergy(resource: dict) -> dict:
    substance = _text(resource.get("code"))
    if not substance:
        raise Malformed("substance manquante (code)")
    reaction = _first(resource.get("reaction"))
    severity = reaction.get("severity")
    if severity not in Allergy.Severity.values:
        high = resource.get("criticality") == "high"
        severity = Allergy.Severity.SEVERE if high else Allergy.Severity.MODERATE
    manifestation = next(
        (t for t in (_text(m) for m in _list(reaction.get("manifestation"))) if t), ""
    )
    return {"substance": substance[:200], "reaction": manifestation[:200], "severity": severity}


def _history(resource: dict) -> dict:
    condition = _text(resource.get("code"))
    if not condition:
        raise Malformed("maladie ou intervention manquante (code)")
    family = any(
        code == fhir.FAMILY_HISTORY[0]
        for c in _list(resource.get("category"))
        for _s, code in _codes(c)
    ) or any("famil" in _text(c).casefold() for c in _list(resource.get("category")))
    onset = resource.get("onsetDateTime") or (resource.get("onsetPeriod") or {}).get("start")
    year = None
    if isinstance(onset, str) and re.match(r"^\d{4}", onset):
        year = int(onset[:4])
    notes = "\n".join(
        n["text"].strip()
        for n in _list(resource.get("note"))
        if isinstance(n, dict) and isinstance(n.get("text"), str)
    )
    return {
        "kind": HistoryEntry.Kind.FAMILY if family else HistoryEntry.Kind.PERSONAL,
        "condition": condition[:200],
        "year": year,
        "notes": notes,
    }


def _treatment(resource: dict) -> dict:
    status = resource.get("status", "active")
    if status not in ("active", "intended", "on-hold"):
        raise Malformed(f"statut « {status} » : seuls les traitements en cours sont repris")
    medicine = _text(resource.get("medicationCodeableConcept"))
    if not medicine:
        raise Malformed("médicament manquant (medicationCodeableConcept)")
    since = resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get(
        "start"
    )
    dosage = _first(resource.get("dosage")).get("text", "")
    return {
        "medicine": medicine[:200],
        "dosage": dosage[:200] if isinstance(dosage, str) else "",
        "since": _optional_date(since, "date de début"),
        "prescriber": _display(resource.get("informationSource"))[:200],
    }


def _vaccination(resource: dict) -> dict:
    if resource.get("status") == "not-done":
        raise Malformed("vaccination non faite (status « not-done »)")
    vaccine = _text(resource.get("vaccineCode"))
    if not vaccine:
        raise Malformed("vaccin manquant (vaccineCode)")
    lot = resource.get("lotNumber", "")
    return {
        "vaccine": vaccine[:200],
        "date": _date(resource.get("occurrenceDateTime"), "date de vaccination"),
        "lot": lot[:50] if isinstance(lot, str) else "",
        "given_by": _display(_first(resource.get("performer")).get("actor"))[:200],
    }


def _measurement(resource: dict) -> dict | None:
    """The measurement's values; None for the BMI, which is computed, not stored."""
    codes = [code for system, code in _codes(resource.get("code")) if system in ("", fhir.LOINC)]
    if fhir.BMI.code in codes:
        return None
    kind = next((_BY_LOINC[c] for c in codes if c in _BY_LOINC), None)
    if kind is None:
        raise Malformed(f"mesure inconnue (LOINC {', '.join(codes) or 'absent'})")
    on = resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start")
    values: dict[str, Any] = {"kind": kind, "measured_on": _date(on, "date de la mesure")}
    if kind == Measurement.Kind.BLOOD_PRESSURE:
        components = {
            code: component.get("valueQuantity")
            for component in _list(resource.get("component"))
            if isinstance(component, dict)
            for _system, code in _codes(component.get("code"))
        }
        values["value"] = _quantity(components.get(fhir.SYSTOLIC.code), kind, "tension systolique")
        values["value2"] = _quantity(
            components.get(fhir.DIASTOLIC.code), kind, "tension diastolique"
        )
    else:
        values["value"] = _quantity(resource.get("valueQuantity"), kind, "valeur")
    return values


PROFILE_READERS = {
    "AllergyIntolerance": ("allergy", _allergy),
    "Condition": ("history", _history),
    "MedicationStatement": ("treatment", _treatment),
    "Immunization": ("vaccination", _vaccination),
    "Observation": ("measurement", _measurement),
}


def natural_key(part: str, values: dict) -> tuple:
    """What makes two entries of a part the same entry, for idempotency."""
    if part == "allergy":
        return (_fold(values["substance"]),)
    if part == "history":
        return (values["kind"], _fold(values["condition"]), values.get("year"))
    if part == "treatment":
        return (_fold(values["medicine"]), values.get("since"))
    if part == "vaccination":
        return (_fold(values["vaccine"]), values["date"])
    value2 = values.get("value2")
    return (
        values["kind"],
        values["measured_on"],
        Decimal(values["value"]).normalize(),
        None if value2 is None else Decimal(value2).normalize(),
    )


def _existing_keys(space: Space) -> dict[str, set[tuple]]:
    fields = {
        "allergy": (space.profile_allergies, ["substance"]),
        "history": (space.profile_history, ["kind", "condition", "year"]),
        "treatment": (space.profile_treatments, ["medicine", "since"]),
        "vaccination": (space.profile_vaccinations, ["vaccine", "date"]),
        "measurement": (space.profile_measurements, ["kind", "measured_on", "value", "value2"]),
    }
    return {
        part: {natural_key(part, row) for row in manager.values(*names)}
        for part, (manager, names) in fields.items()
    }


# --- The import -----------------------------------------------------------------------------


@dataclass
class _DocumentEntry:
    where: str
    urn: str  # the entry's fullUrl
    master: str  # its masterIdentifier, when it has one
    resource: dict
    base: str  # the Bundle's folder in the archive


class _Importer:
    def __init__(self, source: _Source, *, space: Space, by: Actor, report: ImportReport):
        self.source, self.space, self.by, self.report = source, space, by, report
        self.keys = _existing_keys(space)
        self.imported: dict[str, Document] = {}  # fullUrl or masterIdentifier → our document
        self.types = {t.code: t for t in DocumentType.objects.all()}

    def profile_entry(self, where: str, resource_type: str, resource: dict) -> None:
        part, read = PROFILE_READERS[resource_type]
        report = self.report
        if _withdrawn(resource):
            return
        try:
            values = read(resource)
        except Malformed as exc:
            report.entries_skipped += 1
            report.problem(where, str(exc))
            return
        if values is None:
            return
        key = natural_key(part, values)
        if key in self.keys[part]:
            report.entries_present += 1
            return
        try:
            profile_services.add_entry(space=self.space, part=part, values=values, by=self.by)
        except ValidationError as exc:
            report.entries_skipped += 1
            report.problem(where, " ".join(str(m) for m in exc.messages))
            return
        except SpaceError as exc:
            report.entries_skipped += 1
            report.problem(where, str(exc))
            return
        self.keys[part].add(key)
        report.entries_imported[part] += 1

    def documents(self, entries: list[_DocumentEntry]) -> None:
        """Each document, a version after the one it replaces."""
        by_urn = {e.urn: e for e in entries} | {e.master: e for e in entries if e.master}
        done: set[int] = set()

        def visit(entry: _DocumentEntry) -> None:
            if id(entry) in done:
                return
            done.add(id(entry))  # before the recursion: a cycle of versions stops here
            target = self._replaced_urn(entry.resource)
            if target in by_urn:
                visit(by_urn[target])
            self.document(entry)

        for entry in entries:
            visit(entry)

    @staticmethod
    def _replaced_urn(resource: dict) -> str:
        for relation in _list(resource.get("relatesTo")):
            if isinstance(relation, dict) and relation.get("code") == "replaces":
                target = relation.get("target") or {}
                reference = target.get("reference") or (target.get("identifier") or {}).get("value")
                if isinstance(reference, str):
                    return reference
        return ""

    def document(self, entry: _DocumentEntry) -> None:
        report = self.report
        try:
            with transaction.atomic():
                document, created = self._document(entry)
        except Malformed as exc:
            report.documents_skipped += 1
            report.problem(entry.where, str(exc))
            return
        except SpaceError as exc:  # DocumentError: refused content, future date...
            report.documents_skipped += 1
            report.problem(entry.where, str(exc))
            return
        if document is None:
            return
        for name in (entry.urn, entry.master):
            if name:
                self.imported[name] = document
        if created:
            report.documents_imported += 1
        else:
            report.documents_present += 1

    def _document(self, entry: _DocumentEntry) -> tuple[Document | None, bool]:
        resource = entry.resource
        if resource.get("status") == "entered-in-error":
            return None, False
        content = _first(resource.get("content"))
        attachment = content.get("attachment")
        if not isinstance(attachment, dict):
            raise Malformed("aucun fichier (content.attachment)")
        member = safe_member(attachment.get("url"))
        path = posixpath.join(entry.base, member) if entry.base else member
        data = self.source.read(path, limit=MAX_SIZE)
        _check_hash(path, data, attachment.get("hash"))
        sha256 = hashlib.sha256(data).hexdigest()
        existing = Document.objects.filter(space=self.space, sha256=sha256).first()
        if existing is not None:
            return existing, False

        codes = _codes(resource.get("type"))
        type_code = next((code for system, code in codes if code in self.types), None)
        if type_code is None:
            shown = ", ".join(code for _system, code in codes) or "absent"
            raise Malformed(f"type de document inconnu (LOINC {shown})")
        title = (
            resource.get("description") or attachment.get("title") or self.types[type_code].label
        )
        if not isinstance(title, str):
            raise Malformed("titre illisible (description)")
        period = (resource.get("context") or {}).get("period") or {}
        act_date = _date(period.get("start") or resource.get("date"), "date de l'acte")
        author = _display(_first(resource.get("author"))) or "Auteur non précisé (ancien DMP)"
        replaces = self.imported.get(self._replaced_urn(resource))
        if replaces is not None:
            replaces.refresh_from_db(fields=["is_current"])
            if not replaces.is_current:
                replaces = None  # already replaced here: keep this one beside it
        document = add_document(
            space=self.space,
            type_code=type_code,
            title=title,
            act_date=act_date,
            data=data,
            by=self.by,
            source=Document.Source.IMPORT,
            author_label=author,
            replaces=replaces,
        )
        restricted = any(
            code == "R"
            for label in _list(resource.get("securityLabel"))
            for _s, code in _codes(label)
        )
        if restricted and not document.masked:
            set_masked(document=document, masked=True, by=self.by)
        return document, True


def _check_hash(path: str, data: bytes, expected: object) -> None:
    """`data` against the attachment's `hash` (SHA-1 in base64, as FHIR has it), if given."""
    if isinstance(expected, str) and expected:
        actual = base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()
        if actual != expected:
            raise Malformed(f"« {path} » ne correspond pas à son empreinte (hash) : fichier altéré")


# --- What other parts' importers get (`fhir.register_importer`) ----------------------------


@dataclass
class ImportEntry:
    """One resource of a Bundle for a registered importer."""

    where: str  # for the report: the Bundle's name and the resource
    full_url: str
    resource: dict
    base: str  # the Bundle's folder in the archive


class ImportContext:
    """What a registered importer works with: the space and the actor, the archive's files
    (by a path relative to the Bundle, checked as the documents' are), the references
    that name the Bundle's Patient, and its line of the report."""

    def __init__(self, importer: _Importer, label: str, patient_refs: frozenset[str]):
        self.space, self.by = importer.space, importer.by
        self.patient_refs = patient_refs
        self._source = importer.source
        self._report = importer.report
        self._counts = importer.report.taken_back.setdefault(label, Counter())
        for key in ("imported", "present", "skipped"):
            self._counts.setdefault(key, 0)

    def read(self, entry: ImportEntry, url: object, *, limit: int, sha1: object = None) -> bytes:
        """The file at `url` (relative to the entry's Bundle), checked against `sha1` (the
        FHIR `hash`) when given; Malformed, with the reason, otherwise."""
        member = safe_member(url)
        path = posixpath.join(entry.base, member) if entry.base else member
        data = self._source.read(path, limit=limit)
        _check_hash(path, data, sha1)
        return data

    def imported(self, count: int = 1) -> None:
        self._counts["imported"] += count

    def present(self, count: int = 1) -> None:
        self._counts["present"] += count

    def skipped(self, where: str, reason: str, count: int = 1) -> None:
        self._counts["skipped"] += count
        self._report.problem(where, reason)


def _read_json(source: _Source, member: str) -> Any:
    data = source.read(member, limit=MAX_BUNDLE_SIZE)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise Malformed("le fichier n'est pas du texte UTF-8") from None
    except json.JSONDecodeError as exc:
        raise Malformed(
            f"JSON illisible (ligne {exc.lineno}, colonne {exc.colno} : {exc.msg})"
        ) from None


def _bundles(source: _Source, report: ImportReport) -> Iterator[tuple[str, dict]]:
    names = sorted(n for n in source.names() if n.lower().endswith(".fhir.json"))
    names = [n for n in names if not n.startswith("__MACOSX/")]
    if not names:
        raise DmpImportError(
            _("Aucun fichier FHIR (*.fhir.json) dans l'archive : rien à importer.")
        )
    for name in names:
        try:
            bundle = _read_json(source, name)
        except Malformed as exc:
            report.problem(name, str(exc))
            continue
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            report.problem(name, "ce n'est pas un Bundle FHIR (resourceType « Bundle » attendu)")
            continue
        if not isinstance(bundle.get("entry", []), list):
            report.problem(name, "la liste des ressources (entry) est illisible")
            continue
        yield name, bundle


def _patient_nir(bundle: dict) -> str | None:
    for entry in _list(bundle.get("entry")):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            for identifier in _list(resource.get("identifier")):
                if (
                    isinstance(identifier, dict)
                    and identifier.get("system") == fhir.INS_NIR_SYSTEM
                    and isinstance(identifier.get("value"), str)
                ):
                    return normalise_nir(identifier["value"])
    return None


def _identity_nir(source: _Source, folder: str) -> str | None:
    member = posixpath.join(folder, IDENTITY_FILE) if folder else IDENTITY_FILE
    try:
        identity = _read_json(source, member)
    except Malformed:
        return None
    holder = identity.get("titulaire") if isinstance(identity, dict) else None
    nir = holder.get("nir") if isinstance(holder, dict) else None
    return normalise_nir(nir) if isinstance(nir, str) else None


def _target_space(nir: str) -> Space:
    space = Space.objects.select_related("holder", "holder__user").filter(holder__nir=nir).first()
    if space is None:
        raise DmpImportError(
            _("Aucun espace santé pour le NIR %(nir)s : rien n'a été importé.") % {"nir": nir}
        )
    if not space.is_open:
        raise DmpImportError(
            _(
                "L'espace santé du NIR %(nir)s n'est pas ouvert (état : %(state)s) : "
                "rien n'a été importé."
            )
            % {"nir": nir, "state": space.get_state_display()}
        )
    return space


def import_archive(*, path: str | Path, by: Actor, space_nir: str | None = None) -> ImportReport:
    """Import the profile entries and documents of an archive into one open space.

    The space is the one of `space_nir`, or else of the NIR of the Bundle's Patient (or of
    `identite.json`). Raises DmpImportError when nothing can be imported (no archive, no
    Bundle, no such space, a space not open); every other problem is in the report.
    """
    report = ImportReport()
    source = _open(Path(path))
    try:
        bundles = list(_bundles(source, report))
        if not bundles:
            raise DmpImportError(
                _("Aucun Bundle FHIR lisible dans l'archive : rien n'a été importé (%(problems)s).")
                % {"problems": " ; ".join(report.problems)}
            )
        if space_nir:
            nir = normalise_nir(space_nir)
        else:
            nir = next((n for _name, b in bundles if (n := _patient_nir(b))), None) or next(
                (
                    n
                    for name, _b in bundles
                    if (n := _identity_nir(source, posixpath.dirname(name)))
                ),
                None,
            )
            if nir is None:
                raise DmpImportError(
                    _(
                        "NIR du titulaire introuvable dans l'archive : indiquez l'espace avec "
                        "--space-nir."
                    )
                )
        space = _target_space(nir)
        report.space = space
        importer = _Importer(source, space=space, by=by, report=report)
        for name, bundle in bundles:
            bundle_nir = _patient_nir(bundle)
            if not space_nir and bundle_nir and bundle_nir != nir:
                report.problem(name, "ce Bundle concerne un autre patient : ignoré")
                continue
            _import_bundle(importer, name, bundle)
    finally:
        source.close()
    if report.imported:
        with transaction.atomic():
            notify_space(
                space=space,
                template="dmp_imported",
                link=reverse("dossier:list", args=[space.public_id]),
            )
    return report


def _import_bundle(importer: _Importer, name: str, bundle: dict) -> None:
    report = importer.report
    folder = posixpath.dirname(name)
    documents: list[_DocumentEntry] = []
    registered = fhir.importers()
    others: dict[str, list[ImportEntry]] = {}
    patient_refs: set[str] = set()
    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            report.problem(f"{name}, entrée {index}", "pas de ressource (resource)")
            continue
        resource_type = resource.get("resourceType")
        where = f"{name}, {resource_type}/{resource.get('id', index)}"
        if resource_type == "Patient":
            if isinstance(entry.get("fullUrl"), str):
                patient_refs.add(entry["fullUrl"])
            if isinstance(resource.get("id"), str):
                patient_refs.add(f"Patient/{resource['id']}")
            continue
        if resource_type in PROFILE_READERS:
            importer.profile_entry(where, resource_type, resource)
        elif resource_type == "DocumentReference":
            master = (resource.get("masterIdentifier") or {}).get("value")
            url = _first(resource.get("content")).get("attachment", {})
            url = url.get("url") if isinstance(url, dict) else None
            documents.append(
                _DocumentEntry(
                    where=f"{where} ({url})" if isinstance(url, str) and url else where,
                    urn=str(entry.get("fullUrl") or ""),
                    master=master if isinstance(master, str) else "",
                    resource=resource,
                    base=folder,
                )
            )
        elif resource_type in registered:
            full_url = entry.get("fullUrl")
            others.setdefault(resource_type, []).append(
                ImportEntry(
                    where=where,
                    full_url=full_url if isinstance(full_url, str) else "",
                    resource=resource,
                    base=folder,
                )
            )
        elif resource_type in NOT_TAKEN_BACK:
            report.not_taken_back[resource_type] += 1
        else:
            report.problem(where, "type de ressource non pris en charge : ignoré")
    importer.documents(documents)
    for resource_type, entries in others.items():
        registration = registered[resource_type]
        context = ImportContext(importer, registration.label, frozenset(patient_refs))
        registration.take_back(context, entries)
