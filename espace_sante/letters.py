"""Postal letters: French, printable PDFs made with WeasyPrint, stored encrypted."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone

from espace_sante import crypto
from espace_sante.models import Letter, Space


def render_pdf(
    *,
    space: Space,
    kind: str,
    code: str,
    postal_address: str | None = None,
    context: dict | None = None,
) -> bytes:
    """The letter as a PDF, to `postal_address` (by default the holder's address on file)."""
    from weasyprint import HTML

    html = render_to_string(
        f"letters/{kind}.html",
        {
            "space": space,
            "holder": space.holder,
            "code": code,
            "today": timezone.localdate(),
            "deadline": space.opposition_deadline,
            "postal_address": space.holder.postal_address
            if postal_address is None
            else postal_address,
            **(context or {}),
        },
    )
    return HTML(string=html).write_pdf()


def produce(
    *,
    space: Space,
    kind: str,
    code: str,
    postal_address: str | None = None,
    context: dict | None = None,
) -> Letter:
    """Render the letter and store it encrypted under its own data key, ready to print."""
    pdf = render_pdf(
        space=space, kind=kind, code=code, postal_address=postal_address, context=context
    )
    data_key = crypto.new_data_key()
    letter = Letter(space=space, kind=kind, data_key=data_key)
    letter.save()
    ciphertext = crypto.encrypt(pdf, data_key, context=f"letter:{letter.pk}".encode())
    letter.file.save(f"courrier-{letter.pk}.pdf.enc", ContentFile(ciphertext), save=True)
    return letter


def read_pdf(letter: Letter) -> bytes:
    storage, name = letter.file.storage, letter.file.name
    return crypto.decrypt_stored(
        lambda: storage.open(name, "rb"), letter.data_key, context=f"letter:{letter.pk}".encode()
    )
