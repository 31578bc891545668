"""The FHIR API for professionals' software: the DMP's documents in the shape of the ANS
PDSm profile (`ans.fhir.fr.pdsm`, on IHE MHD 4.2), `docs/INTEROP.md`.

A professional's software (`catalogue.models.Software`) acts for the professional who
signed in and authorised it (`catalogue.tokens.SoftwareAccess`). Each call names its
patient by INS (`urn:oid:1.2.250.1.213.1.4.8|<NIR>`) and goes through `acces.policy` as
that professional: the same bases (attending physician, authorised, care team, emergency),
the same matrix, masking and occupational rules as the pro portal's pages.

- ITI-67 find documents: `GET /fhir/DocumentReference?patient.identifier=...`;
- ITI-68 retrieve: `GET /fhir/Binary/<id>` (the content, decrypted and streamed);
- ITI-65 provide: `POST /fhir` with a transaction Bundle (SubmissionSet `List`,
  `DocumentReference`, `Binary`); ITI-105 simplified publish: `POST /fhir/DocumentReference`
  with the content inline;
- consent and break-glass: `POST /fhir/Consent`.

What the software reads is traced as the professional's consultation (the pro portal's own
actions, with the patient told of the first access of the day), what it writes by the
services that write it (`dossier.services.add_document`, `acces.services.declare_consent`),
each event naming the software (`SoftwareCall.via`): "via le logiciel X" on the trail.

A refusal says nothing about whether the patient exists: an unknown INS, a space not
open, no basis (no consent declared yet) and a block are the same `403`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.documentreference import DocumentReference

from acces.models import EmergencyAccess
from acces.policy import (
    Action,
    ConsentDeclaration,
    EmergencyRequest,
    NewDocument,
    decide,
    documents_visible_to_app,
)
from acces.services import (
    AccessError,
    check_and_trace,
    declare_consent,
    find_space,
    open_emergency_access,
)
from catalogue.api.views import SoftwareCall, _json_body, _not_supported, _response, searchset
from dossier import services as documents
from dossier.fhir import CONFIDENTIALITY, INS_NIR_SYSTEM, LOINC, RPPS_SYSTEM, URI_SYSTEM
from dossier.fhir_api import (
    FhirError,
    SearchParam,
    business_rule,
    by_public_id,
    filter_dates,
    not_found,
    parse,
    tokens,
    validated,
)
from dossier.models import Category, Document, DocumentType
from dossier.validation import RejectedFile, sniff
from espace_sante import crypto
from espace_sante.identity import normalise_nir
from espace_sante.models import Patient, Space

PDSM_IG = "https://interop.esante.gouv.fr/ig/fhir/pdsm"
MHD_PROFILES = {
    "DocumentReference": (
        "https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.DocumentReference"
    ),
    "List": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.SubmissionSet",
}
# The DMP's confidentiality codes (CI-SIS), beside HL7's N and R (R: masked).
DMP_CONFIDENTIALITY = "urn:oid:1.2.250.1.213.1.1.4.13"
MASKED, INVISIBLE_PATIENT, INVISIBLE_REPRESENTATIVES = (
    "MASQUE_PS",
    "INVISIBLE_PATIENT",
    "INVISIBLE_REPRESENTANTS_LEGAUX",
)
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONSENT_TREAT, CONSENT_EMERGENCY = "TREAT", "ETREAT"
EMERGENCY_REASON = "https://monespacesante.fr/fhir/StructureDefinition/motif-acces-urgence"

NO_ACCESS = (
    "Aucun accès au dossier de ce patient : vérifiez son INS, ou déclarez d'abord son "
    "consentement (Consent)."
)
SCOPE_MISSING = "Ce logiciel n'a pas reçu cette autorisation du professionnel."
# Refusals that are about the token, not the patient: answered as such.
SOFTWARE_REASONS = ("scope_not_granted", "assurance_too_low")
SEARCH_PARAMS = frozenset(
    {"patient.identifier", "status", "type", "category", "period", "date", "_count", "_offset"}
)


def _refused(status: int, code: str, message: str, reason: str) -> FhirError:
    """A refusal whose `reason` the trail records (`SoftwareCall.refused`)."""
    error = FhirError(status, code, message)
    error.reason = reason
    return error


def _no_access(reason: str = "unknown_patient") -> FhirError:
    return _refused(403, "forbidden", NO_ACCESS, reason)


def _refusal(decision) -> FhirError:
    """The OperationOutcome of a refused decision on a space the caller has no right to
    know of, unless the reason is about the software or the document, not the patient."""
    if decision.reason == "scope_not_granted":
        return _refused(403, "forbidden", SCOPE_MISSING, decision.reason)
    if decision.reason == "document_type_not_allowed":
        return _refused(
            403,
            "forbidden",
            "Votre profession ne permet pas d'ajouter ce type de document.",
            decision.reason,
        )
    if decision.reason == "assurance_too_low":
        return _refused(403, "forbidden", decision.message, decision.reason)
    return _no_access(decision.reason)


# --- The patient -----------------------------------------------------------------------------


def _ins(value: str) -> str:
    """The NIR of a `system|value` token (the INS system, or none), or a 400."""
    system, sep, code = value.rpartition("|")
    if sep and system != INS_NIR_SYSTEM:
        raise FhirError(
            400, "invalid", f"Identifiant de patient attendu dans le système {INS_NIR_SYSTEM}."
        )
    if not code.strip():
        raise FhirError(400, "invalid", "Donnez l'INS du patient (patient.identifier).")
    return normalise_nir(code)


def _space_of_ins(nir: str) -> Space | None:
    patient = Patient.objects.select_related("space").filter(nir=nir).first()
    return getattr(patient, "space", None) if patient else None


def _open_space(call: SoftwareCall, nir: str, action: Action):
    """The space of the INS, if the professional may do `action` on it: traced as their
    consultation (and the patient told of the first of the day), or refused alike."""
    space = _space_of_ins(nir)
    if space is None:
        raise _no_access()  # traced by the endpoint, on no space
    call.space = space
    if not (decision := decide(call.principal, action, space)):
        raise _refusal(decision)  # traced by the endpoint, on the space
    check_and_trace(actor=call.actor, space=space, action=action, principal=call.principal)
    return space, decision


# --- DocumentReference -----------------------------------------------------------------------


def category_labels() -> dict[str, str]:
    """The categories' labels in the current language, once per call (not once per row)."""
    return {code: str(label) for code, label in Category.choices}


def document_reference(
    document: Document, call: SoftwareCall, nir: str, labels: dict[str, str] | None = None
) -> dict:
    """The document as the PDSm's Comprehensive DocumentReference, validated by
    `fhir.resources` (the dict built here is what is sent: dumping the validated model
    again cost more than the validation itself, for the same JSON)."""
    labels = labels or category_labels()
    author: dict = {"display": document.author_label}
    if document.author_professional_id:
        author["identifier"] = {
            "system": RPPS_SYSTEM,
            "value": f"8{document.author_professional.rpps}",
        }
    security = [{"system": CONFIDENTIALITY, "code": "R" if document.masked else "N"}]
    if document.masked:
        security.append({"system": DMP_CONFIDENTIALITY, "code": MASKED})
    if document.invisible_to_patient:
        security.append({"system": DMP_CONFIDENTIALITY, "code": INVISIBLE_PATIENT})
    if document.invisible_to_representatives:
        security.append({"system": DMP_CONFIDENTIALITY, "code": INVISIBLE_REPRESENTATIVES})
    resource = {
        "resourceType": "DocumentReference",
        "id": str(document.public_id),
        "meta": {"profile": [MHD_PROFILES["DocumentReference"]]},
        "masterIdentifier": {
            "system": URI_SYSTEM,
            "value": document.master_identifier or f"urn:uuid:{document.public_id}",
        },
        "status": "current" if document.is_current else "superseded",
        "docStatus": "final",
        "type": {
            "coding": [
                {"system": LOINC, "code": document.type_code, "display": document.type.label}
            ],
            "text": document.type.label,
        },
        "category": [{"coding": [{"code": document.category}], "text": labels[document.category]}],
        "subject": {"identifier": {"system": INS_NIR_SYSTEM, "value": nir}},
        "date": document.created_at.isoformat(),
        "author": [author],
        "description": document.title,
        "securityLabel": [{"coding": [label]} for label in security],
        "content": [
            {
                "attachment": {
                    "contentType": document.content_type,
                    "size": document.size,
                    "title": document.title,
                    "url": f"{call.base}Binary/{document.public_id}",
                }
            }
        ],
        "context": {"period": {"start": document.act_date.isoformat()}},
    }
    if document.replaces_id:
        resource["relatesTo"] = [
            {
                "code": "replaces",
                "target": {"reference": f"DocumentReference/{document.replaces.public_id}"},
            }
        ]
    return validated(DocumentReference, resource)


def _visible(space: Space, call: SoftwareCall, decision):
    return (
        Document.objects.filter(space=space)
        .filter(documents_visible_to_app(call.principal, decision))
        .select_related("type", "author_professional", "replaces")
    )


def _find(request, call: SoftwareCall):
    """ITI-67: the patient's documents this professional may see, as a paged Bundle."""
    raw = request.GET.get("patient.identifier", "")
    if not raw:
        raise FhirError(
            400,
            "required",
            f"La recherche demande l'INS du patient : patient.identifier={INS_NIR_SYSTEM}|<INS>.",
        )
    nir = _ins(raw)
    space, decision = _open_space(call, nir, Action.VIEW_DOCUMENT)
    rows = _visible(space, call, decision)
    statuses = tokens(request.GET.getlist("status"))
    if any(s not in ("current", "superseded") for s in statuses):
        raise FhirError(400, "invalid", "Statut attendu : current ou superseded.")
    if statuses and len(set(statuses)) == 1:
        rows = rows.filter(is_current=statuses[0] == "current")
    if request.GET.getlist("type"):
        rows = rows.filter(type_code__in=tokens(request.GET.getlist("type")))
    if request.GET.getlist("category"):
        rows = rows.filter(category__in=tokens(request.GET.getlist("category")))
    rows = filter_dates(rows, request.GET.getlist("period"), "act_date")
    rows = filter_dates(rows, request.GET.getlist("date"), "created_at__date")
    rows = rows.order_by("-act_date", "-created_at", "-pk")
    labels = category_labels()
    return _response(
        searchset(request, rows, lambda d: document_reference(d, call, nir, labels), SEARCH_PARAMS)
    )


def _readable(call: SoftwareCall, resource_id: str) -> Document:
    """The document with that id, if the professional may read it (traced), else a 404:
    an unknown id and a document of someone else's record answer the same."""
    document = by_public_id(
        Document.objects.select_related("type", "author_professional", "replaces", "space__holder"),
        resource_id,
    )
    if document is None:
        raise not_found()  # traced by the endpoint, on no space
    call.space = document.space
    if not (decision := decide(call.principal, Action.VIEW_DOCUMENT, document)):
        error = not_found()
        error.reason = decision.reason
        raise error  # traced by the endpoint, on the document's space
    check_and_trace(
        actor=call.actor,
        space=document.space,
        action=Action.VIEW_DOCUMENT,
        target=document,
        principal=call.principal,
    )
    return document


def document_type(request, call: SoftwareCall):
    if request.method == "GET":
        return _find(request, call)
    if request.method == "POST":
        return _simplified_publish(request, call)
    raise _not_supported("GET", "POST")


def document_instance(request, call: SoftwareCall, resource_id: str):
    if request.method != "GET":
        raise _not_supported("GET")
    document = _readable(call, resource_id)
    return _response(document_reference(document, call, document.space.holder.nir))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- Binary: ITI-68 --------------------------------------------------------------------------


def binary_instance(request, call: SoftwareCall, resource_id: str):
    """The document's content, decrypted and streamed (as a FHIR Binary if asked in JSON)."""
    if request.method != "GET":
        raise _not_supported("GET")
    document = _readable(call, resource_id)
    try:
        chunks = documents.open_content(document)
    except crypto.DecryptionError as error:
        raise FhirError(
            500,
            "exception",
            "Le contenu de ce document est endommagé : il ne peut pas être transmis. "
            "L'incident est signalé à l'équipe d'exploitation.",
        ) from error
    if "application/fhir+json" in request.headers.get("Accept", ""):
        data = b"".join(chunks)
        return _response(
            {
                "resourceType": "Binary",
                "id": str(document.public_id),
                "contentType": document.content_type,
                "data": base64.b64encode(data).decode("ascii"),
            }
        )
    response = StreamingHttpResponse(chunks, content_type=document.content_type)
    response["Content-Length"] = str(document.size)
    response["Content-Disposition"] = (
        f'attachment; filename="document-{document.act_date:%Y-%m-%d}.{document.extension}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Publishing: ITI-105 and ITI-65 ---------------------------------------------------------


def _flags(resource: DocumentReference) -> dict:
    """The DMP's confidentiality flags from the securityLabel codes (HL7's R, the DMP's)."""
    flags = {"masked": False, "invisible_to_patient": False, "invisible_to_representatives": False}
    for label in resource.securityLabel or []:
        for coding in label.coding or []:
            if coding.system == CONFIDENTIALITY and coding.code in ("N", "R"):
                flags["masked"] |= coding.code == "R"
            elif coding.system == DMP_CONFIDENTIALITY and coding.code == MASKED:
                flags["masked"] = True
            elif coding.system == DMP_CONFIDENTIALITY and coding.code == INVISIBLE_PATIENT:
                flags["invisible_to_patient"] = True
            elif coding.system == DMP_CONFIDENTIALITY and coding.code == INVISIBLE_REPRESENTATIVES:
                flags["invisible_to_representatives"] = True
            else:
                raise business_rule(
                    f"Code de confidentialité inconnu : {coding.system}|{coding.code}."
                )
    return flags


def _patient_nir(resource: DocumentReference) -> str:
    subject = resource.subject
    identifier = subject.identifier if subject is not None else None
    if identifier is None or not identifier.value:
        raise FhirError(
            400,
            "required",
            f"Désignez le patient par son INS (subject.identifier, {INS_NIR_SYSTEM}).",
        )
    return _ins(f"{identifier.system or ''}|{identifier.value}")


def _act_date(resource: DocumentReference, attachment) -> date:
    period = resource.context.period if resource.context else None
    start = period.start if period is not None else None
    value = start or attachment.creation
    if value is None:
        return timezone.localdate()
    return value.date() if hasattr(value, "date") else value


def _replaced(space: Space, resource: DocumentReference, decision) -> Document | None:
    """The document `relatesTo: replaces` names, which only its author may replace."""
    targets = [r.target for r in resource.relatesTo or [] if r.code == "replaces"]
    if not targets:
        return None
    target = targets[0]
    reference = (target.reference or "").rpartition("/")[2]
    found = None
    if reference and _is_uuid(reference):
        found = space.documents.filter(public_id=reference).first()
    elif target.identifier is not None and target.identifier.value:
        value = target.identifier.value
        found = documents.document_by_master_identifier(space, value)
        if found is None and value.startswith("urn:uuid:") and _is_uuid(value[9:]):
            found = space.documents.filter(public_id=value[9:]).first()
    if found is None:
        raise business_rule("Le document à remplacer (relatesTo) est introuvable dans ce dossier.")
    if found.author_professional_id != decision.professional_id:
        raise FhirError(
            403, "forbidden", "Seul l'auteur d'un document peut en publier une nouvelle version."
        )
    if not found.is_current:
        raise business_rule("Seule la version en vigueur d'un document peut être remplacée.")
    return found


def _decoded(data) -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise FhirError(400, "invalid", "Contenu base64 invalide.") from error


def publish(call: SoftwareCall, resource: DocumentReference, data: bytes | None):
    """One document from the professional's software: (document, created). The same
    `masterIdentifier` sent again gives the document stored the first time."""
    nir = _patient_nir(resource)
    space = _space_of_ins(nir)
    if space is None:
        raise _no_access()
    if call.space is not None and call.space.pk != space.pk:
        raise business_rule("Une soumission ne concerne qu'un seul patient.")
    call.space = space
    codes = [c.code for c in (resource.type.coding or []) if c.system in (LOINC, None)]
    doc_type = DocumentType.objects.filter(code__in=codes).first() if resource.type else None
    if doc_type is None:
        # Asked after the access, the type tells nothing of the patient: decide first.
        if not (decision := decide(call.principal, Action.VIEW_SPACE, space)):
            raise _refusal(decision)
        raise business_rule("Type de document inconnu : donnez son code LOINC (type.coding).")
    new = NewDocument(space=space, type_code=doc_type.code, category=doc_type.category)
    decision = decide(call.principal, Action.ADD_DOCUMENT, new)
    if not decision:
        raise _refusal(decision)
    master = resource.masterIdentifier.value if resource.masterIdentifier else ""
    existing = documents.document_by_master_identifier(space, master or "")
    if existing is not None:
        return existing, False
    attachment = resource.content[0].attachment if resource.content else None
    if attachment is None or data is None:
        raise business_rule("Joignez le contenu du document (attachment.data ou un Binary).")
    try:
        sniffed = sniff(data)
    except RejectedFile as error:
        raise business_rule(str(error)) from error
    if attachment.contentType and attachment.contentType.split(";")[0] != sniffed.content_type:
        raise business_rule(
            f"Le contenu n'est pas du type déclaré ({attachment.contentType}) : "
            f"c'est un fichier {sniffed.content_type}."
        )
    flags = _flags(resource)
    try:
        with transaction.atomic():
            document = documents.add_document(
                space=space,
                type_code=doc_type.code,
                title=resource.description or attachment.title or doc_type.label,
                act_date=_act_date(resource, attachment),
                data=data,
                by=call.actor,
                author_professional=call.professional,
                replaces=_replaced(space, resource, decision),
                master_identifier=master or "",
                basis=str(decision.basis),
                **flags,
            )
    except documents.DocumentError as error:
        raise business_rule(str(error)) from error
    except IntegrityError:
        # The same document sent at the same moment by another call: stored once.
        existing = documents.document_by_master_identifier(space, master or "")
        if existing is None:
            raise
        return existing, False
    return document, True


def _simplified_publish(request, call: SoftwareCall):
    """ITI-105: one DocumentReference with its content inline."""
    resource = parse(_json_body(request), DocumentReference)
    attachment = resource.content[0].attachment if resource.content else None
    data = _decoded(attachment.data) if attachment is not None and attachment.data else None
    document, created = publish(call, resource, data)
    body = document_reference(document, call, _patient_nir(resource))
    location = f"{call.base}DocumentReference/{document.public_id}"
    return _response(body, 201 if created else 200, {"Location": location})


def transaction_bundle(request, call: SoftwareCall):
    """ITI-65: a transaction Bundle (SubmissionSet List, DocumentReferences, Binaries), all
    stored or none; the answer is the transaction-response Bundle."""
    if request.method != "POST":
        raise _not_supported("POST")
    bundle = parse(_json_body(request), Bundle)
    if bundle.type != "transaction":
        raise FhirError(400, "invalid", "Envoyez un Bundle de type transaction (ITI-65).")
    entries = bundle.entry or []
    binaries = {
        e.fullUrl: e.resource
        for e in entries
        if e.resource is not None and e.resource.get_resource_type() == "Binary"
    }
    references = [
        e
        for e in entries
        if e.resource is not None and e.resource.get_resource_type() == "DocumentReference"
    ]
    if not references:
        raise business_rule("La soumission ne contient aucun DocumentReference.")
    if not any(
        e.resource is not None and e.resource.get_resource_type() == "List" for e in entries
    ):
        raise business_rule(
            "La soumission doit contenir son lot de soumission (List SubmissionSet)."
        )
    stored: dict[str, tuple[Document, bool]] = {}
    carried: dict[str, Document] = {}  # a Binary's fullUrl: the document it carried
    for entry in references:
        resource = entry.resource
        attachment = resource.content[0].attachment if resource.content else None
        data, binary_url = None, ""
        if attachment is not None and attachment.data:
            data = _decoded(attachment.data)
        elif attachment is not None and attachment.url:
            binary_url = attachment.url
            binary = binaries.get(binary_url)
            if binary is None or not binary.data:
                raise business_rule(f"Le Binary {binary_url} est absent de la soumission.")
            data = _decoded(binary.data)
        document, created = publish(call, resource, data)
        stored[entry.fullUrl or str(id(entry))] = (document, created)
        if binary_url:
            carried[binary_url] = document
    answers = []
    for entry in entries:
        kind = _kind(entry)
        if kind == "DocumentReference":
            document, created = stored[entry.fullUrl or str(id(entry))]
            answers.append(
                {
                    "response": {
                        "status": "201 Created" if created else "200 OK",
                        "location": f"DocumentReference/{document.public_id}",
                    }
                }
            )
        elif kind == "Binary" and carried.get(entry.fullUrl) is not None:
            answers.append(
                {
                    "response": {
                        "status": "201 Created",
                        "location": f"Binary/{carried[entry.fullUrl].public_id}",
                    }
                }
            )
        else:
            answers.append({"response": {"status": "201 Created"}})
    response = Bundle.model_validate(
        {"resourceType": "Bundle", "type": "transaction-response", "entry": answers}
    )
    return _response(response.model_dump(mode="json", exclude_none=True))


def _kind(entry) -> str:
    return entry.resource.get_resource_type() if entry.resource is not None else ""


# --- Consent: joining the care team, breaking the glass -------------------------------------


def consent_type(request, call: SoftwareCall):
    """`POST /fhir/Consent`: the professional declares the patient's consent (`TREAT`) or
    opens an emergency access (`ETREAT`, with its reason), as on the pro portal: the
    patient found by an exact search (INS, birth name and birth date, in a contained
    Patient), traced, the patient told."""
    if request.method != "POST":
        raise _not_supported("POST")
    consent = parse(_json_body(request), Consent)
    patients = [r for r in consent.contained or [] if r.get_resource_type() == "Patient"]
    if not patients:
        raise FhirError(
            400,
            "required",
            "Décrivez le patient dans un Patient contenu (contained) : INS, nom de naissance "
            "et date de naissance, comme pour la recherche de l'espace professionnel.",
        )
    patient = patients[0]
    ins = next((i.value for i in patient.identifier or [] if i.system == INS_NIR_SYSTEM), "")
    family = patient.name[0].family if patient.name else ""
    if not ins or not family or patient.birthDate is None:
        raise FhirError(
            400, "required", "Le Patient contenu doit donner l'INS, le nom et la date de naissance."
        )
    purposes = [
        c.code
        for c in (consent.provision.purpose if consent.provision else None) or []
        if c.system == ACT_REASON
    ]
    if purposes not in ([CONSENT_TREAT], [CONSENT_EMERGENCY]):
        raise business_rule(
            f"provision.purpose : {ACT_REASON}|TREAT (consentement) ou |ETREAT (urgence)."
        )
    space = find_space(actor=call.actor, nir=ins, last_name=family, birth_date=patient.birthDate)
    if space is None:
        raise _no_access()
    call.space = space
    professional = call.professional
    try:
        if purposes == [CONSENT_TREAT]:
            decision = decide(
                call.principal, Action.DECLARE_CONSENT, ConsentDeclaration(space, True)
            )
            if not decision and decision.reason in SOFTWARE_REASONS:
                raise _refusal(decision)
            relation = declare_consent(space=space, professional=professional, by=call.actor)
            body = _consent(consent, f"relation-{relation.pk}", relation.started_at, None)
        else:
            decision = decide(
                call.principal,
                Action.OPEN_EMERGENCY,
                EmergencyRequest(space, EmergencyAccess.Mode.BREAK_GLASS),
            )
            if not decision and decision.reason in SOFTWARE_REASONS:
                raise _refusal(decision)
            reason = next(
                (e.valueString for e in consent.extension or [] if e.url == EMERGENCY_REASON), ""
            )
            access = open_emergency_access(
                space=space,
                professional=professional,
                mode=EmergencyAccess.Mode.BREAK_GLASS,
                reason=reason or "",
                by=call.actor,
            )
            body = _consent(consent, f"emergency-{access.pk}", access.started_at, access.expires_at)
    except AccessError as error:
        # Found by an exact search: the professional knows the patient; the reason is theirs.
        raise _refused(403, "forbidden", str(error), "refused_by_policy") from error
    return _response(body, 201)


def _consent(asked: Consent, resource_id: str, start, end) -> dict:
    period = {"start": start.isoformat()}
    if end is not None:
        period["end"] = end.isoformat()
    resource = asked.model_dump(mode="json", exclude_none=True)
    resource.update(id=resource_id, status="active", dateTime=timezone.now().isoformat())
    resource.setdefault("provision", {})["period"] = period
    return validated(Consent, resource)


# The software's handlers, by route (`catalogue.api.urls`).
TYPE_HANDLERS = {"DocumentReference": document_type, "Consent": consent_type}
INSTANCE_HANDLERS = {"DocumentReference": document_instance, "Binary": binary_instance}


# --- What /fhir/metadata says of it (`catalogue.api.metadata`) -------------------------------

MHD_IG = "https://profiles.ihe.net/ITI/MHD"
TRANSACTION_DOCUMENTATION = (
    "ITI-65 (PDSm) : un Bundle transaction (List SubmissionSet, DocumentReference, Binary), "
    "tout ou rien, posté à la base ; réservé aux logiciels de professionnels."
)


@dataclass(frozen=True)
class Capability:
    interactions: tuple[str, ...]
    documentation: str
    search_params: tuple[SearchParam, ...] = ()
    profile: str = ""


CAPABILITIES = {
    "DocumentReference": Capability(
        interactions=("read", "search-type", "create"),
        documentation=(
            "ITI-67 recherche par INS (patient.identifier), ITI-105 publication simplifiée, "
            "dans les droits du professionnel (matrice d'habilitations, masquage) ; "
            "masterIdentifier dédoublonné, relatesTo replaces pour une nouvelle version."
        ),
        search_params=(
            SearchParam("patient.identifier", "token", f"INS du patient : {INS_NIR_SYSTEM}|<INS>"),
            SearchParam("status", "token", "current ou superseded"),
            SearchParam("type", "token", "Type du document, code LOINC"),
            SearchParam("category", "token", "Catégorie du document"),
            SearchParam("period", "date", "Date de l'acte (eq, ge, le, gt, lt)"),
            SearchParam("date", "date", "Date d'ajout au DMP"),
        ),
        profile=MHD_PROFILES["DocumentReference"],
    ),
    "Binary": Capability(
        interactions=("read",),
        documentation="ITI-68 : le contenu du document, déchiffré (ou en Binary JSON).",
    ),
    "Consent": Capability(
        interactions=("create",),
        documentation=(
            "Déclaration du consentement du patient (provision.purpose TREAT) ou accès en "
            "urgence (ETREAT, avec son motif), le patient désigné par un Patient contenu : "
            "INS, nom de naissance, date de naissance."
        ),
    ),
}
