"""The DMP's parts of a space, registered with `espace_sante.parts` by `DossierConfig.ready`.

- "documents": each document's file, and `dmp.fhir.json`, the FHIR Bundle of the whole
  DMP (its profile and the DocumentReferences that point at those files), in the full
  download; the space page counts the documents its reader may see; the documents are
  crypto-shredded at destruction, and a document that a professional added makes the
  space one that opens only at a confirmed email.
- "profile": the printable summary of the medical profile in the full download; every
  row of the profile (and its history) is deleted at destruction.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from dossier import fhir, profile_services, services, summary
from dossier.actions import PROFILE_CHANGED_LABEL, PROFILE_PREFIX, DossierAction
from espace_sante.parts import Part


def _count_documents(space, decision):
    yield _("Documents"), services.count_visible_documents(space, decision)


def _export_documents(space, decision):
    yield from services.export_documents(space, decision)
    yield from fhir.export_bundle(space, decision)


DOCUMENTS = Part(
    name="documents",
    label=_("Documents"),
    export=_export_documents,
    # Each file, then the Bundle.
    export_steps=lambda space, decision: services.count_exported_documents(space, decision) + 1,
    counts=_count_documents,
    destroy=services.destroy_documents,
    has_professional_content=services.has_professional_documents,
    actions=DossierAction,
)

PROFILE = Part(
    name="profile",
    label=_("Profil médical"),
    export=summary.export_summary,
    export_steps=lambda space, decision: 1,
    destroy=profile_services.destroy_profile,
    action_families={PROFILE_PREFIX: PROFILE_CHANGED_LABEL},
)
