"""The SMART on FHIR client of the smart-on-fhir project (fhirclient), over real HTTP: it
reads the CapabilityStatement with its own models, finds the OAuth2 addresses there, does
the authorization code dance with PKCE (the patient consents through the Django client),
learns the patient from the token response, and reads through the API."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from fhirclient import client as smart
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient

from catalogue.models import PurposeScope
from dossier.models import Measurement
from tests import factories
from tests.catalogue.oauth_helpers import READ_OBS, REDIRECT_URI, make_service
from tests.catalogue.test_oauth_client import _consent
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_fhirclient_connects_and_reads(live_server):
    service = make_service()
    PurposeScope.objects.create(
        purpose=service.purposes.get(code="mesures"), resource="Patient", access="read"
    )
    space = factories.SpaceFactory()
    Measurement.objects.create(
        space=space, kind="glycaemia", value=Decimal("1.04"), measured_on=date(2026, 11, 2)
    )
    app = smart.FHIRClient(
        settings={
            "app_id": service.application.client_id,
            "api_base": f"{live_server.url}/fhir",
            "redirect_uri": REDIRECT_URI,
            "scope": f"{READ_OBS} patient/Patient.read",
        }
    )
    app.prepare()  # the CapabilityStatement, parsed by fhirclient's models
    capability = app.server.capabilityStatement
    assert {r.type for r in capability.rest[0].resource} >= {"Observation", "Appointment"}
    url = app.authorize_url
    assert url.startswith(f"{live_server.url}/oauth/authorize/")
    assert "code_challenge_method=S256" in url

    patient = sign_in(Client(), space.holder.user)
    purposes = list(service.purposes.all())
    callback = _consent(patient, url, space, purposes)
    app.handle_callback(callback)
    assert app.ready
    assert app.patient_id == str(space.public_id)  # SMART's launch context

    holder = Patient.read(app.patient_id, app.server)
    assert holder.name[0].family == space.holder.last_name
    found = list(Observation.where({"code": "2345-7"}).perform_resources_iter(app.server))
    assert [o.valueQuantity.value for o in found] == [1.04]
