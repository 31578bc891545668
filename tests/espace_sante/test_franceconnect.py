"""FranceConnect on the patients' sign-in, against a local OpenID Connect provider."""

import re
from datetime import date

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core import mail
from django.test import Client

from acces.models import AuditEvent
from espace_sante import lifecycle
from espace_sante.assurance import LEVEL_SESSION_KEY, AssuranceLevel
from espace_sante.models import Space, User
from espace_sante.tracing import Actor
from tests import factories
from tests.factories import PASSWORD
from tests.oidc import LOGIN, configure, provider_conf, set_person, sign_in_through

pytestmark = pytest.mark.django_db

FC = "franceconnect"
ACTIVATE = "/connexion/franceconnect/activer/"
VERIFY = "/connexion/verification/"


@pytest.fixture
def franceconnect(settings, oidc_server):
    configure(settings, franceconnect=provider_conf(oidc_server, strong_acr_values=["eidas2"]))
    return oidc_server


def _identity_of(server_url, sub, patient, *, acr="eidas1", **changes):
    claims = {
        # FranceConnect's identity pivot: as the civil registry writes it.
        "family_name": patient.last_name.upper(),
        "given_name": patient.first_names,
        "birthdate": patient.birth_date.isoformat(),
        "gender": "female" if patient.sex == "F" else "male",
        "birthplace": "44109",
        "acr": acr,
        **changes,
    }
    set_person(server_url, sub, claims)


def _messages(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


def _emailed_code():
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_first_sign_in_links_only_after_password_and_second_factor(franceconnect, patient_space):
    holder = patient_space.holder
    _identity_of(franceconnect, "fc-link", holder)
    client = Client()

    first = sign_in_through(client, FC, "fc-link")

    assert first.url == LOGIN
    assert "connectez-vous une première fois" in _messages(first)
    assert "_auth_user_id" not in client.session
    assert not SocialAccount.objects.exists()

    # The password alone does not link it...
    client.post(LOGIN, {"login": holder.user.email, "password": PASSWORD})
    assert not SocialAccount.objects.exists()
    # ...the second factor of the same session does.
    client.post(VERIFY, {"token": _emailed_code()})
    link = SocialAccount.objects.get(provider=FC)
    assert link.user == holder.user and link.uid == "fc-link"
    assert AuditEvent.objects.filter(actor=holder.user, action="franceconnect_linked").exists()

    # Next time FranceConnect is enough: no password, no code.
    mail.outbox.clear()
    later = Client()
    response = sign_in_through(later, FC, "fc-link")
    assert later.session["_auth_user_id"] == str(holder.user.pk)
    assert later.session[LEVEL_SESSION_KEY] == AssuranceLevel.IDENTITY_PROVIDER_BASIC
    home = later.get(response.url, follow=True)
    assert VERIFY not in [url for url, _status in home.redirect_chain]
    page = later.get(f"/espace/{patient_space.public_id}/")
    assert page.status_code == 200 and holder.last_name in page.content.decode()
    assert mail.outbox == []
    event = AuditEvent.objects.get(actor=holder.user, action="sign_in_identity_provider")
    assert event.outcome == "allowed" and event.detail == {"provider": FC, "acr": "eidas1"}


def test_franceconnect_plus_counts_as_strong_when_the_settings_say_so(franceconnect, patient_space):
    holder = patient_space.holder
    SocialAccount.objects.create(user=holder.user, provider=FC, uid="fc-plus")
    _identity_of(franceconnect, "fc-plus", holder, acr="eidas2")
    client = Client()

    sign_in_through(client, FC, "fc-plus")

    assert client.session[LEVEL_SESSION_KEY] == AssuranceLevel.IDENTITY_PROVIDER


def test_another_account_signing_in_does_not_get_the_link(franceconnect, patient_space):
    holder = patient_space.holder
    someone_else = factories.SpaceFactory().holder.user
    _identity_of(franceconnect, "fc-other", holder)
    client = Client()
    sign_in_through(client, FC, "fc-other")

    client.post(LOGIN, {"login": someone_else.email, "password": PASSWORD})
    response = client.post(VERIFY, {"token": _emailed_code()})

    assert not SocialAccount.objects.exists()
    assert "ne correspond pas à ce compte" in _messages(response)


def test_franceconnect_activates_a_space_with_its_provisional_code(franceconnect):
    space = factories.SpaceFactory(state=Space.State.CREATED, holder__user=None)
    code = lifecycle.issue_code(space=space, channel="email", by=Actor.system())
    holder = space.holder
    _identity_of(franceconnect, "fc-activate", holder, family_name=f"{holder.last_name}")
    client = Client()

    first = sign_in_through(client, FC, "fc-activate")
    assert first.url == ACTIVATE
    page = client.get(ACTIVATE)
    assert "FranceConnect a confirmé votre identité" in page.content.decode()

    wrong = client.post(
        ACTIVATE,
        {
            "code": "AAAA-AAAA-AAAA",
            "email": "titulaire@exemple.fr",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    response = client.post(
        ACTIVATE,
        {
            "code": code,
            "email": "titulaire@exemple.fr",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302
    space.refresh_from_db()
    holder.refresh_from_db()
    assert space.state == Space.State.ACTIVE
    assert holder.user.email == "titulaire@exemple.fr"
    assert SocialAccount.objects.get(provider=FC).user == holder.user
    assert client.session["_auth_user_id"] == str(holder.user.pk)
    assert client.session[LEVEL_SESSION_KEY] == AssuranceLevel.IDENTITY_PROVIDER_BASIC
    home = client.get(f"/espace/{space.public_id}/")
    assert home.status_code == 200
    assert AuditEvent.objects.filter(
        actor=holder.user, action="sign_in_identity_provider", outcome="allowed"
    ).exists()


def test_identity_matching_no_holder_is_refused(franceconnect, patient_space):
    accounts = User.objects.count()
    _identity_of(
        franceconnect, "fc-nobody", patient_space.holder, birthdate=date(1990, 1, 1).isoformat()
    )
    client = Client()

    response = sign_in_through(client, FC, "fc-nobody")

    assert response.status_code == 302 and response.url == LOGIN
    assert "ne correspond à aucun titulaire" in _messages(response)
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == accounts
    assert not SocialAccount.objects.exists()
    assert client.get(ACTIVATE).url == LOGIN
    refused = AuditEvent.objects.get(action="sign_in_identity_provider")
    assert refused.outcome == "denied" and refused.detail["reason"] == "no_holder"


def test_names_match_whatever_their_accents_case_and_hyphens(franceconnect):
    space = factories.SpaceFactory(
        holder__last_name="Lefèvre-Dupont", holder__first_names="Zoé Anne"
    )
    SocialAccount.objects.create(user=space.holder.user, provider=FC, uid="unrelated")
    _identity_of(
        franceconnect,
        "fc-accents",
        space.holder,
        family_name="LEFEVRE DUPONT",
        given_name="ZOE ANNE",
    )
    client = Client()

    response = sign_in_through(client, FC, "fc-accents")

    # Recognised (the link step), although the account is linked to another identity.
    assert response.url == LOGIN
    assert "connectez-vous une première fois" in _messages(response)
