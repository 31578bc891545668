"""The agenda's appointments as FHIR R4 `Appointment`s, for the API of the referenced
services (`/fhir/Appointment`): a booking platform reads the agenda and keeps it.

Registered in `dossier.fhir_api` (`setup.register`): the API decides each call for the
app (VIEW_AGENDA to read, MANAGE_AGENDA to write, within `patient/Appointment.*`), pages
the searches and counts the writes; this module maps and writes through
`agenda.appointments.services`, which decide again and trace, naming the service.

The mapping:
- status: planned ↔ `booked` (`proposed` and `pending` are taken as planned), done ↔
  `fulfilled`, cancelled ↔ `cancelled`; `start`, `end` and `minutesDuration`;
- who with: a `participant` whose actor is a `Practitioner` (with the RPPS as
  `identifier`, system `urn:oid:1.2.250.1.71.4.2.1`, value "8" + RPPS, when it is a
  professional of the directory; by name otherwise) or a `HealthcareService` (an
  establishment); the place as a `Location` participant's name; the patient as a
  participant referring to the holder;
- `specialty[0].text`, `reasonCode[0].text` (or `description`), `comment`.
A service changes (PUT) only the appointments it added itself (`source`, its client id):
the patient's own and their professionals' are read only to it. Cancelling is a PUT with
status `cancelled`; an appointment is never deleted.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment as FhirAppointment

from acces.models import Professional
from acces.policy import Action
from agenda.appointments import sealing, services
from agenda.appointments.sealing import Details
from agenda.appointments.services import AgendaError, AppointmentData
from agenda.models import Appointment
from dossier.fhir_api import (
    FhirCall,
    FhirError,
    ResourceType,
    SearchParam,
    business_rule,
    by_public_id,
    filter_dates,
    parse,
    register,
    tokens,
    validated,
)

RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"  # idNat_PS: "8" + RPPS
TO_FHIR_STATUS = {
    Appointment.Status.PLANNED: "booked",
    Appointment.Status.DONE: "fulfilled",
    Appointment.Status.CANCELLED: "cancelled",
}
FROM_FHIR_STATUS = {
    "booked": Appointment.Status.PLANNED,
    "proposed": Appointment.Status.PLANNED,
    "pending": Appointment.Status.PLANNED,
    "fulfilled": Appointment.Status.DONE,
    "cancelled": Appointment.Status.CANCELLED,
}


def _rows(call: FhirCall):
    return (
        Appointment.objects.of(call.space)
        .select_related("professional__user", "data_key")
        .order_by("starts_at", "pk")
    )


def search(call: FhirCall, params):
    rows = _rows(call)
    if params.getlist("status"):
        wanted = {FROM_FHIR_STATUS.get(code) for code in tokens(params.getlist("status"))}
        # "booked" asks for the planned ones, not the "proposed" synonyms twice.
        rows = rows.filter(status__in=sorted(s for s in wanted if s))
    return filter_dates(rows, params.getlist("date"), "starts_at__date")


def get(call: FhirCall, resource_id: str):
    return by_public_id(_rows(call), resource_id)


def _actor(appointment: Appointment, details: Details) -> dict | None:
    professional = appointment.professional
    if appointment.with_kind == Appointment.WithKind.DIRECTORY and professional:
        return {
            "type": "Practitioner",
            "display": professional.title,
            "identifier": {"system": RPPS_SYSTEM, "value": f"8{professional.rpps}"},
        }
    if not details.name:
        return None
    kind = (
        "HealthcareService"
        if appointment.with_kind == Appointment.WithKind.ESTABLISHMENT
        else "Practitioner"
    )
    return {"type": kind, "display": details.name}


def to_fhir(appointment: Appointment, call: FhirCall) -> dict:
    details = sealing.details(appointment)
    participants = [
        {"actor": {"reference": call.patient_ref}, "required": "required", "status": "accepted"}
    ]
    actor = _actor(appointment, details)
    if actor:
        participants.append({"actor": actor, "required": "required", "status": "accepted"})
    if details.place:
        participants.append(
            {
                "actor": {"type": "Location", "display": details.place},
                "required": "information-only",
                "status": "accepted",
            }
        )
    resource = {
        "resourceType": "Appointment",
        "id": str(appointment.public_id),
        "status": TO_FHIR_STATUS[appointment.status],
        "start": timezone.localtime(appointment.starts_at).isoformat(),
        "end": timezone.localtime(appointment.ends_at).isoformat(),
        "minutesDuration": appointment.duration_minutes,
        "created": timezone.localtime(appointment.created_at).isoformat(),
        "participant": participants,
    }
    if details.specialty:
        resource["specialty"] = [{"text": details.specialty}]
    if details.reason:
        resource["reasonCode"] = [{"text": details.reason}]
        resource["description"] = details.reason
    if details.comment:
        resource["comment"] = details.comment
    return validated(FhirAppointment, resource)


def _rpps(identifier) -> str:
    if identifier is None or identifier.system != RPPS_SYSTEM or not identifier.value:
        return ""
    value = identifier.value
    return value[1:] if len(value) == 12 and value.startswith("8") else value


def _data(call: FhirCall, resource: FhirAppointment) -> tuple[AppointmentData, str]:
    """What the resource says, as the agenda's services take it, and its status."""
    status = FROM_FHIR_STATUS.get(resource.status)
    if status is None:
        raise business_rule(
            f"Statut de rendez-vous non pris en charge : {resource.status} "
            "(booked, fulfilled ou cancelled)."
        )
    if resource.start is None:
        raise business_rule("Indiquez le début du rendez-vous (start).")
    starts_at = resource.start
    if resource.minutesDuration:
        duration = resource.minutesDuration
    elif resource.end is not None:
        duration = int((resource.end - starts_at) / timedelta(minutes=1))
    else:
        duration = 30
    with_kind, professional, name, place = Appointment.WithKind.PRACTITIONER, None, "", ""
    for participant in resource.participant or []:
        actor = participant.actor
        if actor is None:
            continue
        if actor.reference and actor.reference.startswith("Patient/"):
            if actor.reference != call.patient_ref:
                raise business_rule("Ce rendez-vous concerne un autre patient.")
            continue
        if actor.type == "Location":
            place = actor.display or ""
            continue
        rpps = _rpps(actor.identifier)
        if rpps:
            professional = Professional.objects.filter(rpps=rpps).select_related("user").first()
            if professional is None:
                raise business_rule(f"Aucun professionnel de l'annuaire n'a le RPPS {rpps}.")
            with_kind = Appointment.WithKind.DIRECTORY
        elif actor.type == "HealthcareService":
            with_kind = Appointment.WithKind.ESTABLISHMENT
        name = name or actor.display or ""
    reason = resource.reasonCode[0].text if resource.reasonCode else ""
    details = Details(
        name="" if professional else name,
        place=place,
        specialty=(resource.specialty[0].text or "") if resource.specialty else "",
        reason=reason or resource.description or "",
        comment=resource.comment or "",
    )
    data = AppointmentData(
        starts_at=starts_at,
        duration_minutes=duration,
        with_kind=with_kind,
        professional=professional,
        details=details,
    )
    return data, status


def _refused(error: AgendaError) -> FhirError:
    if error.reason == "scope_not_granted":
        return FhirError(403, "forbidden", "Ce service n'a pas reçu cette autorisation.")
    return business_rule(str(error))


def create(call: FhirCall, body: bytes) -> Appointment:
    resource = parse(body, FhirAppointment)
    data, status = _data(call, resource)
    if status != Appointment.Status.PLANNED:
        raise business_rule("Un nouveau rendez-vous est prévu (status booked).")
    try:
        return services.add_appointment(
            space=call.space, by=call.actor, data=data, principal=call.principal
        )
    except AgendaError as error:
        raise _refused(error) from error


def update(call: FhirCall, appointment: Appointment, body: bytes) -> Appointment:
    resource = parse(body, FhirAppointment)
    if resource.id and resource.id != str(appointment.public_id):
        raise FhirError(400, "invalid", "L'identifiant de la ressource ne correspond pas.")
    if appointment.author_kind != Appointment.AuthorKind.APP or (
        appointment.source != call.principal.app_id
    ):
        raise FhirError(
            403, "forbidden", "Ce service ne peut modifier que les rendez-vous qu'il a pris."
        )
    data, status = _data(call, resource)
    try:
        if status == Appointment.Status.CANCELLED:
            return services.cancel_appointment(
                appointment=appointment, by=call.actor, principal=call.principal
            )
        return services.change_appointment(
            appointment=appointment,
            by=call.actor,
            data=data,
            status=status,
            principal=call.principal,
        )
    except AgendaError as error:
        raise _refused(error) from error


APPOINTMENT = ResourceType(
    name="Appointment",
    read_action=Action.VIEW_AGENDA,
    write_action=Action.MANAGE_AGENDA,
    to_fhir=to_fhir,
    get=get,
    search=search,
    create=create,
    update=update,
    search_params=(
        SearchParam("date", "date", "Jour du rendez-vous (eq, ge, le, gt, lt)"),
        SearchParam("status", "token", "booked, fulfilled, cancelled"),
    ),
    documentation=(
        "Les rendez-vous de l'agenda santé. Un service ne modifie (PUT) que ceux qu'il a "
        "pris ; annuler : PUT avec status cancelled."
    ),
)


def register_resource() -> None:
    register(APPOINTMENT)
