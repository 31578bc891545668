"""Uploads are checked by their content, never by their name.

DMP documents are PDF, JPEG, PNG or plain text; messages' attachments may be TIFF too
(`sniff(..., tiff=True)`): faxed and scanned results come as TIFF.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

MAX_SIZE = 20 * 1024 * 1024

ACCEPTED = "PDF, JPEG, PNG ou texte brut, 20 Mo au plus"
ACCEPTED_WITH_TIFF = "PDF, JPEG, PNG, TIFF ou texte brut, 20 Mo au plus"
TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
# The file name extension of each content type a stored file may have (documents, attachments).
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/tiff": "tif",
    "text/plain": "txt",
}

_ACTIVE_MARKERS = (
    b"<html",
    b"<!doctype",
    b"<svg",
    b"<script",
    b"<?xml",
    b"<iframe",
    b"<body",
    b"javascript:",
)


class RejectedFile(Exception):
    """The file is not one we store; the message, in French, names what is accepted."""


@dataclass(frozen=True)
class Sniffed:
    content_type: str


def sniff(data: bytes, *, written: bool = False, tiff: bool = False) -> Sniffed:
    """The real type of `data`, or RejectedFile: PDF, JPEG, PNG or plain UTF-8 text, and
    TIFF when `tiff` (the messages name the formats they accept in their refusals).

    `written` text was typed in the portal: it is stored and served as plain text
    (nosniff, sandboxed), so mentioning "<script>" in it is harmless.
    """
    formats = ACCEPTED_WITH_TIFF if tiff else ACCEPTED
    if not data:
        raise RejectedFile(
            _("Le fichier est vide. Formats acceptés : %(formats)s.") % {"formats": formats}
        )
    if len(data) > MAX_SIZE:
        raise RejectedFile(
            _("Le fichier dépasse 20 Mo. Formats acceptés : %(formats)s.") % {"formats": formats}
        )
    if written:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise RejectedFile(_("Le texte n'est pas lisible.")) from None
        return Sniffed("text/plain")
    head = data[:1024].lstrip().lower()
    if any(marker in head for marker in _ACTIVE_MARKERS):
        raise RejectedFile(
            _("Les pages web, images SVG et scripts sont refusés. Formats acceptés : %(formats)s.")
            % {"formats": formats}
        )
    if data.startswith(b"%PDF-"):
        if b"/JavaScript" in data or b"/JS " in data or b"/Launch" in data:
            raise RejectedFile(_("Ce PDF contient du code exécutable et est refusé."))
        return Sniffed("application/pdf")
    if data.startswith(b"\xff\xd8\xff"):
        return Sniffed("image/jpeg")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image/png")
    if tiff and data.startswith(TIFF_MAGIC):
        return Sniffed("image/tiff")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RejectedFile(
            _("Ce type de fichier n'est pas accepté. Formats acceptés : %(formats)s.")
            % {"formats": formats}
        ) from None
    lowered = text.lower()
    if "\x00" in text or any(m.decode() in lowered for m in _ACTIVE_MARKERS):
        raise RejectedFile(
            _("Les pages web, images SVG et scripts sont refusés. Formats acceptés : %(formats)s.")
            % {"formats": formats}
        )
    return Sniffed("text/plain")
