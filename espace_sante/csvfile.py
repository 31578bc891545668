"""Reading the CSV files operators load (enrolment, professionals directory).

One reader for them all: UTF-8 with or without a byte order mark, `;` or `,` taken
from the header line, column names normalised by the caller, blank lines skipped,
and each record yielded with the line where it starts, as a spreadsheet shows it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from django.utils.translation import gettext as _


class CsvFileError(Exception):
    """The file as a whole cannot be read (encoding, header); the message is for the operator."""


def read_rows(
    source: str | Path | io.TextIOBase,
    *,
    columns: Sequence[str],
    required: Sequence[str],
    column_name: Callable[[str], str],
    error: type[Exception] = CsvFileError,
    check_header: Callable[[list[str]], None] | None = None,
) -> Iterator[tuple[int, list[str], dict[str, str]]]:
    """Yield (line number, header, row) for each record; raise `error` on an unreadable file.

    A row with more values than the header has the key "__extra__".
    """
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig", newline="") as handle:
            yield from read_rows(
                handle,
                columns=columns,
                required=required,
                column_name=column_name,
                error=error,
                check_header=check_header,
            )
        return
    try:
        header_line = source.readline()
    except UnicodeDecodeError as exc:
        raise error(_("Le fichier n'est pas encodé en UTF-8.")) from exc
    if not header_line.strip():
        raise error(_("Le fichier est vide : il faut une ligne d'en-tête."))
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    header = [column_name(name) for name in next(csv.reader([header_line], delimiter=delimiter))]
    missing = [name for name in required if name not in header]
    if missing:
        raise error(
            _("Colonne(s) absente(s) de l'en-tête : %(missing)s. Colonnes attendues : %(columns)s.")
            % {"missing": ", ".join(missing), "columns": ", ".join(columns)}
        )
    if check_header is not None:
        check_header(header)
    reader = csv.reader(source, delimiter=delimiter)
    consumed = 1  # the header
    try:
        for values in reader:
            line, consumed = consumed + 1, reader.line_num + 1
            if not any(value.strip() for value in values):
                continue
            row = dict(zip(header, values, strict=False))
            if len(values) > len(header):
                row["__extra__"] = "1"
            yield line, header, row
    except UnicodeDecodeError as exc:
        raise error(
            _("Le fichier n'est pas encodé en UTF-8 (vers la ligne %(line)d).")
            % {"line": consumed + 1}
        ) from exc
    except csv.Error as exc:
        raise error(
            _("Le fichier n'est pas un CSV lisible vers la ligne %(line)d (%(error)s).")
            % {"line": consumed + 1, "error": exc}
        ) from exc
