"""A GP authorises their software in the browser; the software then publishes through the
API; the patient sees the document and « via le logiciel » in her trail. At 1280 and 375 px."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from oauth2_provider.models import Application

from acces.models import CareRelation
from catalogue.models import Software
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in_patient
from tests.browser.test_access_journeys import _professional_page
from tests.catalogue.oauth_helpers import pkce_pair
from tests.catalogue.software_helpers import REDIRECT_URI, document_reference

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "secret-du-logiciel"


@pytest.mark.parametrize("width", [1280, 375])
def test_a_gp_authorises_the_software_which_then_publishes(
    browser, browser_context_args, live_server, width
):
    space = factories.SpaceFactory()
    gp = factories.ProfessionalFactory(user__last_name="Lefèvre")
    factories.TOTPDeviceFactory(user=gp.user)
    CareRelation.objects.create(space=space, professional=gp, basis=CareRelation.Basis.ATTENDING)
    application = Application.objects.create(
        name="Cabinet Plus",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        client_secret=SECRET,
        algorithm="",
    )
    Software.objects.create(
        name="Cabinet Plus",
        slug="cabinet-plus",
        editor="Éditions Médicales",
        homologation_ref="SEGUR-DMP-2026-001",
        application=application,
    )
    verifier, challenge = pkce_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "user/DocumentReference.read user/DocumentReference.write",
            "state": "etat-navigateur",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    args = {**browser_context_args, "viewport": {"width": width, "height": 900}}
    with _professional_page(browser, args, live_server, gp) as page:
        page.goto(f"{live_server.url}/oauth/authorize/?{query}")
        assert page.get_by_role("heading", level=1).inner_text() == (
            "Autoriser le logiciel Cabinet Plus"
        )
        assert "SEGUR-DMP-2026-001" in page.content()
        assert_accessible(page)
        page.screenshot(path=f"/tmp/software-authorise-{width}.png", full_page=True)
        # The browser is sent back to the software's own address (not served here) with
        # the code: read it from the portal's redirect.
        with page.expect_response(
            lambda r: "/oauth/authorize/" in r.url and r.status == 302
        ) as answer:
            page.get_by_role("button", name="Autoriser").click()
        location = answer.value.headers["location"]
        assert location.startswith(REDIRECT_URI)
        code = parse_qs(urlsplit(location).query)["code"][0]

    token = requests.post(
        f"{live_server.url}/oauth/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": application.client_id,
            "client_secret": SECRET,
            "code_verifier": verifier,
        },
        timeout=10,
    ).json()["access_token"]
    published = requests.post(
        f"{live_server.url}/fhir/DocumentReference",
        data=json.dumps(document_reference(space.holder.nir, title="Compte rendu du cabinet")),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        timeout=10,
    )
    assert published.status_code == 201, published.text

    with browser.new_context(**args) as context:
        page = context.new_page()
        sign_in_patient(page, live_server, space.holder.user.email)
        page.goto(f"{live_server.url}/espace/{space.public_id}/documents/")
        assert page.get_by_text("Compte rendu du cabinet").first.is_visible()
        page.goto(f"{live_server.url}/espace/{space.public_id}/historique/?qui=tous")
        assert page.get_by_text("via le logiciel Cabinet Plus").first.is_visible()
        assert_accessible(page)
        page.screenshot(path=f"/tmp/software-trail-{width}.png", full_page=True)
