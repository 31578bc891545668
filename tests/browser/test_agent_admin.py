"""A CPAM agent finds a closed space by NIR and reactivates it, in Chromium."""

import re

import pytest
from django_otp.oath import TOTP

from acces.services import agent_group
from espace_sante import lifecycle
from espace_sante.models import Space
from espace_sante.tracing import Actor
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_agent_reactivates_a_closed_space_found_by_nir(page, live_server):
    agent = factories.AgentFactory()
    agent.groups.add(agent_group())
    device = factories.TOTPDeviceFactory(user=agent)
    space = lifecycle.close(
        space=factories.SpaceFactory(holder__last_name="Villemin"), by=Actor.system()
    )

    page.goto(live_server.url + "/admin/")
    page.get_by_label(re.compile("e-mail", re.I)).fill(agent.email)
    page.get_by_label(re.compile("Mot de passe", re.I)).first.fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Se connecter")).click()
    page.wait_for_url(re.compile("/connexion/verification/"))
    token = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
    page.get_by_label(re.compile("Code", re.I)).fill(f"{token:06d}")
    page.get_by_role("button", name=re.compile("Valider")).click()
    page.wait_for_url(re.compile("/admin/"))

    page.goto(live_server.url + "/admin/espace_sante/space/")
    page.locator("#searchbar").fill(space.holder.nir)
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name=re.compile("Villemin")).first.click()
    assert "Clôturé" in page.content()
    page.get_by_role("button", name="Réactiver…").click()
    page.wait_for_url(re.compile("/reactiver/"))  # a confirmation page, which asks the reason
    assert "aucune information sur la santé" in page.content()
    page.get_by_label("demande du titulaire par téléphone").check()
    page.get_by_role("button", name=re.compile("Confirmer")).click()
    page.wait_for_load_state()
    assert page.locator(".messagelist").count() == 1
    assert "motif : demande du titulaire par téléphone" in page.content()
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE
    assert "Réactiv" in page.content()
