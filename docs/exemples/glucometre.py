"""The demo's connected glucometer: writes three glycaemia readings, then reads them back.

    .venv/bin/python docs/exemples/glucometre.py [PORTAL_URL]

Service `glucometre-connecte` (client `demo-glucometre`), purpose "mesures": the
scopes `patient/Observation.write` and `patient/Observation.read`. See service.py.
"""

from datetime import date, timedelta

from fhirpy.base.exceptions import OperationOutcome
from service import connect, fhir

GLYCAEMIA = {
    "coding": [
        {
            "system": "http://loinc.org",
            "code": "2345-7",
            "display": "Glucose [Mass/volume] in Serum or Plasma",
        }
    ],
    "text": "Glycémie",
}


def reading(day: date, grams_per_litre: float) -> dict:
    return {
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": GLYCAEMIA,
        "effectiveDateTime": day.isoformat(),
        "valueQuantity": {
            "value": grams_per_litre,
            "unit": "g/L",
            "system": "http://unitsofmeasure.org",
            "code": "g/L",
        },
    }


def main():
    token = connect("demo-glucometre", ["patient/Observation.write", "patient/Observation.read"])
    client = fhir(token)
    today = date.today()
    for days, value in ((2, 1.05), (1, 0.98), (0, 1.12)):
        try:
            saved = client.resource("Observation", **reading(today - timedelta(days=days), value))
            saved.save()
            print(f"Glycémie du {today - timedelta(days=days):%d/%m/%Y} : {value} g/L envoyée.")
        except OperationOutcome as refusal:
            print(f"Refusé par le portail : {refusal}")
            return
    found = client.resources("Observation").search(code="http://loinc.org|2345-7").fetch_all()
    print(f"{len(found)} glycémies lisibles dans le profil médical.")


if __name__ == "__main__":
    main()
