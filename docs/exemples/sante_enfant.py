"""The demo's child-health service: reads a child's identity and vaccinations (Léo's).

    .venv/bin/python docs/exemples/sante_enfant.py [PORTAL_URL]

Service `sante-enfant` (client `demo-sante-enfant`), purposes "identite" and
"vaccinations": `patient/Patient.read` and `patient/Immunization.read`. On the consent
page, the parent chooses the child's space (Léo). See service.py.
"""

from fhirpy.base.exceptions import OperationOutcome
from service import connect, fhir


def main():
    token = connect("demo-sante-enfant", ["patient/Patient.read", "patient/Immunization.read"])
    client = fhir(token)
    try:
        vaccinations = client.resources("Immunization").fetch_all()
    except OperationOutcome as refusal:
        print(f"Refusé par le portail : {refusal}")
        return
    if token.get("patient"):
        child = client.reference("Patient", token["patient"]).to_resource()
        names = child.get("name") or [{}]
        print(f"Enfant : {' '.join(names[0].get('given', []))} {names[0].get('family', '')}")
    print(f"{len(vaccinations)} vaccination(s) :")
    for vaccination in vaccinations:
        vaccine = vaccination.get("vaccineCode", {}).get("text", "vaccin")
        print(f"  - {vaccination.get('occurrenceDateTime', '?')[:10]} : {vaccine}")


if __name__ == "__main__":
    main()
