"""The demo's booking platform: books an appointment in the patient's agenda, then lists them.

    .venv/bin/python docs/exemples/rendez_vous.py [PORTAL_URL]

Service `prise-de-rendez-vous` (client `demo-rendez-vous`), purpose "agenda": the
scopes `patient/Appointment.write` and `patient/Appointment.read`. See service.py.
"""

from datetime import datetime, timedelta

from fhirpy.base.exceptions import OperationOutcome
from service import connect, fhir


def main():
    token = connect("demo-rendez-vous", ["patient/Appointment.write", "patient/Appointment.read"])
    client = fhir(token)
    start = (datetime.now() + timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
    appointment = client.resource(
        "Appointment",
        status="booked",
        description="Consultation de dermatologie",
        start=start.astimezone().isoformat(),
        end=(start + timedelta(minutes=30)).astimezone().isoformat(),
        participant=[{"actor": {"display": "Dr Hélène Martin"}, "status": "accepted"}],
    )
    try:
        appointment.save()
    except OperationOutcome as refusal:
        print(f"Refusé par le portail : {refusal}")
        return
    print(f"Rendez-vous du {start:%d/%m/%Y à %H h %M} ajouté à l'agenda santé.")
    coming = client.resources("Appointment").search(date__ge=datetime.now().date().isoformat())
    print(f"{len(coming.fetch_all())} rendez-vous à venir dans l'agenda.")


if __name__ == "__main__":
    main()
