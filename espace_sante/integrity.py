"""Integrity incidents: a ciphertext that does not decrypt is an alarm, never a bare 500.

One place turns `crypto.DecryptionError` (an altered file, an unknown key id, a data key
that does not unwrap) and `crypto.KeyCheckError` (a wrong master key under a known key
id) into:

- a record on the `espace_sante.integrity` logger at ERROR (CRITICAL for a wrong master
  key), with the object's id and the keys' ids, never any content;
- a row of `IntegrityIncident`, which `manage.py integrity_incidents` lists and counts;
- for a request, a French page in the portal's layout (`IntegrityIncidentMiddleware`).

Streams cannot change their status once started: `checked_stream` authenticates the first
chunk before the response is built, and reports a later failure before cutting the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from espace_sante import crypto
from espace_sante.models import IntegrityIncident

logger = logging.getLogger("espace_sante.integrity")


def report(error: crypto.DecryptionError | crypto.KeyCheckError, *, where: str) -> None:
    """Log and count one incident. Never raises: reporting must not hide the failure."""
    if isinstance(error, crypto.KeyCheckError):
        fields = {"reason": IntegrityIncident.Reason.WRONG_KEY, "key_id": error.key_id}
        level = logging.CRITICAL
    else:
        kind, _sep, ident = error.subject.partition(":")
        fields = {
            "reason": error.reason,
            "subject_kind": kind[:32],
            "subject_id": ident[:64],
            "data_key_id": error.data_key_pk,
            "key_id": error.key_id[:64],
        }
        level = logging.ERROR
    fields["where"] = where[:200]
    logger.log(
        level,
        "Integrity incident: %(reason)s on %(subject_kind)s %(subject_id)s "
        "(data key %(data_key_id)s, master key %(key_id)s) at %(where)s",
        {"subject_kind": "", "subject_id": "", "data_key_id": None, "key_id": "", **fields},
        extra={"integrity": fields},
    )
    try:
        IntegrityIncident.objects.create(**fields)
    except Exception:  # a broken transaction or database: the log line above still stands
        logger.exception("Integrity incident not recorded in the database")


def checked_stream(chunks: Iterator[bytes], *, where: str) -> Iterator[bytes]:
    """`chunks`, its first one decrypted now: a bad key or altered head raises here.

    A failure further on can no longer change the response's status: it is reported,
    then the stream is cut, so the client sees an incomplete download, never a wrong one.
    """
    first = next(chunks)

    def rest() -> Iterator[bytes]:
        yield first
        try:
            yield from chunks
        except crypto.DecryptionError as exc:
            report(exc, where=where)
            raise

    return rest()


class IntegrityIncidentMiddleware:
    """A view that meets an undecryptable object answers a French page, and the operator knows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, crypto.DecryptionError | crypto.KeyCheckError):
            return None
        report(exception, where=f"{request.method} {request.path}")
        return render(
            request,
            "espace_sante/integrity_error.html",
            {
                "storing": isinstance(exception, crypto.KeyCheckError),
                "back_url": _back_url(request),
            },
            status=503,
        )


def _back_url(request) -> str | None:
    """The page the user came from, when it is one of ours and not the one that failed."""
    referer = request.headers.get("referer", "")
    if (
        referer
        and urlsplit(referer).path != request.path
        and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return referer
    return None
