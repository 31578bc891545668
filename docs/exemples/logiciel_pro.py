"""Play a professional's software (logiciel métier) end to end: PDSm through the FHIR API.

    make run PORT=8000               # the portal with its demo data, in another terminal
    .venv/bin/python docs/exemples/logiciel_pro.py [http://127.0.0.1:8000] [INS]

The demo registers the software « MédiCabinet » (client `demo-logiciel-cabinet`, a
confidential client whose demo secret is below). The script prints the address to open in
a browser: sign in as the GP (generaliste@demo.monespacesante.fr, password and TOTP code,
`python manage.py totp_code generaliste@demo.monespacesante.fr`), and authorise the
software. The portal sends the browser back to http://127.0.0.1:8765/callback, where the
script listens, exchanges the code (PKCE S256 and the client secret), then, as the GP:

1. declares the patient's consent (`POST /fhir/Consent`; already in the care team: nothing
   changes) — with the patient's INS, birth name and birth date;
2. publishes a PDF report with a transaction Bundle (ITI-65);
3. finds it by INS and type (ITI-67) and retrieves its content (ITI-68);
4. sends the same Bundle again: stored once (`masterIdentifier`);
5. publishes a corrected version (`relatesTo: replaces`).

Clients nobody here wrote: requests-oauthlib for OAuth2, fhirpy for FHIR. The patient
(camille.durand@demo.monespacesante.fr) then sees the report in her documents, and « via
le logiciel MédiCabinet » in her trail.
"""

from __future__ import annotations

import base64
import os
import sys
import uuid
import webbrowser

import requests
from fhirpy import SyncFHIRClient
from requests_oauthlib import OAuth2Session
from service import REDIRECT_URI, _wait_for_callback, portal_url

CLIENT_ID = "demo-logiciel-cabinet"
CLIENT_SECRET = "demo-secret-logiciel-cabinet"  # the demo's: a real secret is never in code
SCOPES = ["user/DocumentReference.read", "user/DocumentReference.write", "user/Consent.write"]
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
LOINC = "http://loinc.org"
CONSULTATION = "11488-4"
# Camille Durand, the demo's patient (espace_sante/management/commands/demo.py).
PATIENT = {"ins": "285047505612322", "family": "Durand", "birthDate": "1985-04-12"}


def authorise() -> dict:
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # a local demo over http
    base = portal_url()
    session = OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI, scope=SCOPES, pkce="S256")
    url, _state = session.authorization_url(f"{base}/oauth/authorize/")
    print("Ouvrez cette adresse, connectez-vous en professionnel et autorisez :\n\n  " + url)
    webbrowser.open(url)
    token = session.fetch_token(
        f"{base}/oauth/token/",
        authorization_response=_wait_for_callback(),
        client_secret=CLIENT_SECRET,
        include_client_id=True,
    )
    print(f"Autorisé : « {' '.join(token.get('scope', []))} ».")
    return token


def consent(patient: dict) -> dict:
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"code": "patient-privacy"}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0"}]}],
        "contained": [
            {
                "resourceType": "Patient",
                "id": "patient",
                "identifier": [{"system": INS_SYSTEM, "value": patient["ins"]}],
                "name": [{"family": patient["family"]}],
                "birthDate": patient["birthDate"],
            }
        ],
        "patient": {"reference": "#patient"},
        "policyRule": {"coding": [{"code": "OPTIN"}]},
        "provision": {
            "purpose": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}
            ]
        },
    }


def submission(ins: str, pdf: bytes, title: str, master: str, replaces: str = "") -> dict:
    binary, document = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    reference = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": master},
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": CONSULTATION}]},
        "subject": {"identifier": {"system": INS_SYSTEM, "value": ins}},
        "description": title,
        "content": [{"attachment": {"contentType": "application/pdf", "url": binary}}],
    }
    if replaces:
        reference["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}
        ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "List",
                    "status": "current",
                    "mode": "working",
                    "code": {"coding": [{"code": "submissionset"}]},
                    "entry": [{"item": {"reference": document}}],
                },
                "request": {"method": "POST", "url": "List"},
            },
            {
                "fullUrl": document,
                "resource": reference,
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {
                "fullUrl": binary,
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/pdf",
                    "data": base64.b64encode(pdf).decode("ascii"),
                },
                "request": {"method": "POST", "url": "Binary"},
            },
        ],
    }


def main() -> None:
    ins = sys.argv[2] if len(sys.argv) > 2 else PATIENT["ins"]
    token = authorise()
    bearer = f"Bearer {token['access_token']}"
    fhir = SyncFHIRClient(f"{portal_url()}/fhir", authorization=bearer)

    fhir.execute("Consent", method="post", data=consent(PATIENT | {"ins": ins}))
    print("1. Consentement du patient déclaré (ou déjà dans l'équipe de soins).")

    pdf = b"%PDF-1.4\n% Compte rendu de consultation (exemple)\n%%EOF\n"
    master = f"urn:uuid:{uuid.uuid4()}"
    answer = fhir.execute("", method="post", data=submission(ins, pdf, "Consultation", master))
    first = answer["entry"][1]["response"]["location"].split("/")[1]
    print(f"2. Compte rendu publié (ITI-65) : DocumentReference/{first}.")

    found = (
        fhir.resources("DocumentReference")
        .search(**{"patient.identifier": f"{INS_SYSTEM}|{ins}"}, status="current")
        .search(type=f"{LOINC}|{CONSULTATION}")
        .fetch()
    )
    url = next(d for d in found if d["id"] == first)["content"][0]["attachment"]["url"]
    content = requests.get(url, headers={"Authorization": bearer}, timeout=10).content
    print(f"3. Trouvé parmi {len(found)} (ITI-67), contenu relu (ITI-68) : {content == pdf}.")

    again = fhir.execute("", method="post", data=submission(ins, pdf, "Consultation", master))
    print(f"4. Même envoi : « {again['entry'][1]['response']['status']} », stocké une fois.")

    corrected = submission(ins, pdf, "Consultation (corrigé)", f"urn:uuid:{uuid.uuid4()}", first)
    second = fhir.execute("", method="post", data=corrected)
    print(f"5. Nouvelle version : {second['entry'][1]['response']['location']}.")


if __name__ == "__main__":
    main()
