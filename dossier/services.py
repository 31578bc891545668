"""Services of the DMP's documents: add, version, mask, reveal, read, destroy.

Views reach a document through `dossier.access` (policy + trace) and then call
these; each service validates, writes, traces and notifies in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from acces.models import Professional
from acces.policy import Action, Decision, NewDocument, decide, documents_visible_to
from dossier.actions import DossierAction
from dossier.models import Category, Document, DocumentType
from dossier.validation import RejectedFile, sniff
from espace_sante import crypto, integrity
from espace_sante.models import Space, SpaceError, User
from espace_sante.notifications import notify_space
from espace_sante.tracing import Actor, trace


class DocumentError(SpaceError):
    """A request on a document that cannot be carried out; the message is for the user.

    `field` names the form field the message is about (the file, for refused content), so
    the form marks that field in error rather than the form as a whole.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


def _context(document: Document) -> bytes:
    return f"document:{document.public_id}".encode()


@transaction.atomic
def add_document(
    *,
    space: Space,
    type_code: str,
    title: str,
    act_date: date,
    data: bytes,
    by: Actor,
    author_professional: Professional | None = None,
    invisible_to_patient: bool = False,
    invisible_to_representatives: bool = False,
    replaces: Document | None = None,
    source: str | None = None,
    written: bool = False,
    author_label: str | None = None,
    added_by: User | None = None,
    basis: str = "",
    tiff: bool = False,
    notify: bool = True,
    masked: bool = False,
    master_identifier: str = "",
) -> Document:
    """Store a document encrypted under its own data key; refuse what is not PDF/JPEG/PNG/text.

    Nothing is stored when the content is refused (RejectedFile is a DocumentError).
    `written` is text typed in the portal's form: always plain text, whatever it mentions.
    An import (`source=Document.Source.IMPORT`) names its author as the old record did
    (`author_label`), records `added_by` as given (none for the system), and may carry
    any type: a professional wrote it in the old DMP, but is not linked to one here.
    `tiff`: a TIFF is accepted too (a message's attachment added to the DMP); `notify`:
    False when the patient files a professional's document themself (nothing to tell).
    `masked`: the author masks it from the other professionals at the patient's request (a
    new version of a masked document stays masked); `master_identifier`: the id the author's
    software gave it (FHIR `masterIdentifier`), once per space (`document_by_master_identifier`).
    """
    try:
        sniffed = sniff(data, written=written, tiff=tiff)
    except RejectedFile as exc:
        raise DocumentError(str(exc), field="file") from exc
    if not space.is_open:
        raise DocumentError(_("On ne peut plus ajouter de document à un espace fermé."))
    doc_type = DocumentType.objects.filter(code=type_code).first()
    if doc_type is None:
        raise DocumentError(_("Type de document inconnu."))
    if not title.strip():
        raise DocumentError(_("Donnez un titre au document."))
    if act_date > timezone.localdate():
        raise DocumentError(_("La date de l'acte ne peut pas être dans le futur."))
    imported = source == Document.Source.IMPORT
    if by.role == User.Kind.PROFESSIONAL and author_professional is None and not imported:
        # A professional's document names them as its author, so the matrix, masking and the
        # patient's notice apply: the patient's own pages would let them pass for the patient.
        raise DocumentError(
            _("Un professionnel de santé ajoute ses documents depuis l'espace professionnel.")
        )
    if author_professional is None and not imported:
        # The patient's own: the policy says whether a patient may add this type.
        new = NewDocument(
            space=space,
            type_code=doc_type.code,
            category=doc_type.category,
            patient_may_add=doc_type.patient_may_add,
        )
        decision = decide(by.user, Action.ADD_OWN_DOCUMENT, new)
        if not decision:
            raise DocumentError(decision.message)
    if author_professional is None and invisible_to_patient:
        raise DocumentError(
            _("Seul un professionnel peut rendre un document invisible du patient.")
        )
    if masked and author_professional is None:
        raise DocumentError(_("Le patient masque ses documents depuis ses propres pages."))
    if masked and invisible_to_patient:
        raise DocumentError(
            _("Un document invisible du patient ne peut pas être masqué aux professionnels.")
        )
    if replaces is not None and (replaces.space_id != space.pk or not replaces.is_current):
        raise DocumentError(_("Seule la version en vigueur d'un document peut être remplacée."))
    data_key = crypto.new_data_key()
    document = Document(
        space=space,
        type=doc_type,
        type_code=doc_type.code,
        category=doc_type.category,
        title=title.strip()[:200],
        act_date=act_date,
        source=source
        or (Document.Source.PROFESSIONAL if author_professional else Document.Source.PATIENT),
        added_by=added_by or by.user,  # None when the system imports
        author_professional=author_professional,
        author_label=(
            author_label or (author_professional.title if author_professional else by.label)
        )[:200],
        content_type=sniffed.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data_key=data_key,
        invisible_to_patient=invisible_to_patient,
        invisible_to_representatives=invisible_to_representatives,
        masked=(masked or (replaces is not None and replaces.masked)) and not invisible_to_patient,
        replaces=replaces,
        master_identifier=master_identifier[:200],
    )
    ciphertext = crypto.encrypt(data, data_key, context=_context(document))
    document.file.save(f"{document.public_id}.enc", ContentFile(ciphertext), save=False)
    document.save()
    if replaces is not None:
        Document.objects.filter(pk=replaces.pk).update(is_current=False)
    trace(
        actor=by,
        action=DossierAction.DOCUMENT_ADDED,
        space=space,
        target=document,
        basis=basis,  # the title the policy gave the author, for the patient's trail
        detail={
            "type": doc_type.code,
            **({"replaces": str(replaces.public_id)} if replaces else {}),
        },
    )
    if author_professional is not None and not invisible_to_patient and notify:
        notify_space(
            space=space,
            template="document_added",
            context={"actor_title": author_professional.title},
            link=reverse("dossier:list", args=[space.public_id]),
        )
    return document


def document_by_master_identifier(space: Space, master_identifier: str) -> Document | None:
    """The space's document the author's software identified so, if it was stored already."""
    if not master_identifier:
        return None
    return space.documents.filter(master_identifier=master_identifier[:200]).first()


def read_content(document: Document) -> bytes:
    storage, name = document.file.storage, document.file.name
    return crypto.decrypt_stored(
        lambda: storage.open(name, "rb"), document.data_key, context=_context(document)
    )


def open_content(document: Document) -> Iterator[bytes]:
    """The decrypted content in chunks, never held whole (`crypto.decrypt_chunks`).

    The whole file is authenticated and its first chunk decrypted before this returns, so
    an altered file raises DecryptionError while the view can still answer a French page.
    """
    storage, name = document.file.storage, document.file.name
    chunks = crypto.decrypt_chunks(
        lambda: storage.open(name, "rb"), document.data_key, context=_context(document)
    )
    return integrity.checked_stream(chunks, where=f"document download {document.public_id}")


@transaction.atomic
def set_masked(*, document: Document, masked: bool, by: Actor) -> Document:
    """Mask from (or show again to) professionals; the attending physician and author still see.

    Every version of the document goes with it: an obsolete version still opens by its id,
    and it holds what the patient wants hidden as much as the current one does.
    """
    if masked and document.invisible_to_patient:
        raise DocumentError(_("Un document invisible du patient ne peut pas être masqué."))
    changed = (
        Document.objects.filter(pk__in=_version_ids(document), invisible_to_patient=False)
        .exclude(masked=masked)
        .update(masked=masked)
    )
    if changed:
        document.masked = masked
        trace(
            actor=by,
            action=DossierAction.DOCUMENT_MASKED if masked else DossierAction.DOCUMENT_UNMASKED,
            space=document.space,
            target=document,
        )
    return document


def _version_ids(document: Document) -> set[int]:
    """The ids of every version of `document`, older and newer (a chain through `replaces`)."""
    ids = {document.pk}
    older = document.replaces_id
    while older is not None and older not in ids:
        ids.add(older)
        older = Document.objects.filter(pk=older).values_list("replaces_id", flat=True).first()
    newer = Document.objects.filter(replaces_id=document.pk).values_list("pk", flat=True).first()
    while newer is not None and newer not in ids:
        ids.add(newer)
        newer = Document.objects.filter(replaces_id=newer).values_list("pk", flat=True).first()
    return ids


@transaction.atomic
def set_all_masked(*, space: Space, masked: bool, by: Actor) -> int:
    """Mask or unmask every document of the space in one click (those the patient sees)."""
    changed = (
        Document.objects.filter(space=space, invisible_to_patient=False)
        .exclude(masked=masked)
        .update(masked=masked)
    )
    trace(
        actor=by,
        action=DossierAction.DOCUMENTS_MASKED_ALL
        if masked
        else DossierAction.DOCUMENTS_UNMASKED_ALL,
        space=space,
        target=space,
        detail={"count": changed},
    )
    return changed


@transaction.atomic
def reveal_to_representatives(*, document: Document, by: Actor) -> Document:
    """Make a document visible to the legal representatives again: irreversible."""
    if document.invisible_to_representatives:
        document.invisible_to_representatives = False
        document.save(update_fields=["invisible_to_representatives"])
        trace(
            actor=by,
            action=DossierAction.DOCUMENT_REVEALED_TO_REPRESENTATIVES,
            space=document.space,
            target=document,
        )
    return document


@transaction.atomic
def announce_to_patient(*, document: Document, by: Actor) -> Document:
    """The author announced the document in consultation: the patient now sees it."""
    if document.invisible_to_patient:
        document.invisible_to_patient = False
        document.save(update_fields=["invisible_to_patient"])
        trace(
            actor=by, action=DossierAction.DOCUMENT_ANNOUNCED, space=document.space, target=document
        )
        notify_space(
            space=document.space,
            template="document_added",
            context={"actor_title": document.author_label},
            link=reverse("dossier:list", args=[document.space.public_id]),
        )
    return document


def has_professional_documents(space: Space) -> bool:
    """Whether professionals already put documents in `space` (added, or taken back from the
    former DMP): such a space opens only at an email its holder confirmed."""
    return Document.objects.filter(space=space).exclude(source=Document.Source.PATIENT).exists()


def destroy_documents(space: Space, *, keep_occupational: bool) -> int:
    """Crypto-shred the space's documents (the "documents" part's `destroy`, `dossier.parts`)."""
    documents = Document.objects.filter(space=space).select_related("data_key")
    if keep_occupational:
        documents = documents.exclude(category=Category.OCCUPATIONAL)
    documents = list(documents)
    for document in documents:
        crypto.destroy_data_key(document.data_key)
        document.file.delete(save=False)
    # Titles and dates are medical content too: only the audit trail keeps a trace.
    ids = [d.pk for d in documents]
    Document.objects.filter(pk__in=ids).update(replaces=None)
    Document.objects.filter(pk__in=ids).delete()
    return len(ids)


def exportable_documents(space: Space, decision: Decision) -> QuerySet[Document]:
    """The documents of the space's full download under the requester's export decision
    (`acces.policy.export_decision`), oldest act first: those the decision lets them see."""
    return (
        Document.objects.filter(space=space)
        .filter(documents_visible_to(decision))
        .order_by("act_date", "pk")
    )


def archive_path(document: Document) -> str:
    """Its path in the download: documents/<date>-<title>-<id>[-version-obsolete].<ext>"""
    status = "" if document.is_current else "-version-obsolete"
    name = slugify(document.title)[:60] or "document"
    return (
        f"documents/{document.act_date:%Y-%m-%d}-{name}-{str(document.public_id)[:8]}"
        f"{status}.{document.extension}"
    )


def exported_documents(space: Space, decision: Decision) -> list[tuple[Document, str]]:
    """Each document of the full download with its path in the archive.

    The one source of both the files and the FHIR Bundle's DocumentReferences that point at them.
    """
    return [
        (document, archive_path(document))
        for document in exportable_documents(space, decision).select_related(
            "data_key", "type", "author_professional"
        )
    ]


def count_visible_documents(space: Space, decision: Decision) -> int:
    """How many current documents of `space` the reader's `decision` lets them see (one query)."""
    return (
        Document.objects.filter(space=space, is_current=True)
        .filter(documents_visible_to(decision))
        .count()
    )


def count_exported_documents(space: Space, decision: Decision) -> int:
    return exportable_documents(space, decision).count()


def export_documents(space: Space, decision: Decision) -> Iterator[tuple[str, bytes]]:
    """The documents' files for the space's download (the "documents" part, `dossier.parts`)."""
    for document, path in exported_documents(space, decision):
        yield path, read_content(document)
