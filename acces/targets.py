"""What a target must tell the policy, so that `acces` never imports the apps that own it.

A target is the space itself or anything of a space: it says its space and its
part (`part`), and a document says its type code (LOINC), its category, its
confidentiality flags and its author; a conversation of the messaging
(`ConversationTarget`) says who takes part, who wrote, who is refused, whether it is
ended and which reply it allows. The requests below are targets that do not exist
yet: a document about to be added, an emergency access or a consent about to be
declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from espace_sante.models import Space

SPACE_PART = "space"
DOCUMENT_PART = "document"
EMERGENCY_PART = "emergency_access"
CONSENT_PART = "consent"
CONVERSATION_PART = "conversation"


class Target(Protocol):
    """Anything of a space the policy decides on."""

    part: str  # which part of the space it belongs to: "document", …

    @property
    def space(self) -> Space: ...


class DocumentTarget(Target, Protocol):
    """A document (dossier's `Document`, or a `NewDocument`): what the document rules read."""

    type_code: str  # LOINC
    category: str
    masked: bool
    invisible_to_patient: bool
    invisible_to_representatives: bool
    author_professional_id: int | None


def part_of(target) -> str:
    """The part `target` belongs to; a target that does not say is refused by the policy."""
    from espace_sante.models import Space

    if isinstance(target, Space):
        return SPACE_PART
    return getattr(target, "part", "")


@dataclass(frozen=True)
class NewDocument:
    """A document before it exists (ADD_DOCUMENT, ADD_OWN_DOCUMENT): its space and type."""

    space: Space
    type_code: str
    category: str
    # What its type says (`DocumentType.patient_may_add`): a patient may add one of this type.
    patient_may_add: bool = False
    part: str = DOCUMENT_PART
    masked: bool = False
    invisible_to_patient: bool = False
    invisible_to_representatives: bool = False
    author_professional_id: int | None = None


@dataclass(frozen=True)
class EmergencyRequest:
    """An emergency access a professional asks to open (OPEN_EMERGENCY), of `mode`."""

    space: Space
    mode: str  # EmergencyAccess.Mode
    part: str = EMERGENCY_PART


@dataclass(frozen=True)
class ConsentDeclaration:
    """A professional about to declare that the patient consented (DECLARE_CONSENT).

    `found_by_search`: the professional found this space by an exact search (INS, birth
    name, birth date) in this session; an id alone proves nothing.
    """

    space: Space
    found_by_search: bool
    part: str = CONSENT_PART


@dataclass(frozen=True)
class ConversationTarget:
    """A conversation of the messaging part, or one about to start, as the policy reads it.

    `professional_ids`: the professionals taking part (or about to be written to): the
    writers of personal mailboxes and the members of organisations' ones; `writer_ids`:
    the professionals who ever wrote to this space's patient (a patient writes only to
    them); `refused_professional_ids`: those the patient refuses messages from;
    `ended`: a professional ended the exchange and none wrote since; `reply_mode`: that
    of the last message a professional sent (`Message.ReplyMode`); `reply_to_all`: the
    reply asked goes to every professional of the conversation; `prescription_accepted`:
    a prescription sent to a pharmacy whose mailbox accepts them; `imported`: taken back
    from an archive, its correspondents are names only (nobody to reply to).
    """

    space: Space
    professional_ids: frozenset[int] = frozenset()
    writer_ids: frozenset[int] = frozenset()
    refused_professional_ids: frozenset[int] = frozenset()
    ended: bool = False
    reply_mode: str = ""
    reply_to_all: bool = False
    prescription_accepted: bool = False
    imported: bool = False
    part: str = CONVERSATION_PART
