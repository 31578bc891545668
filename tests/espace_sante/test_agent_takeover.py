"""No CPAM agent, alone, may obtain the means to activate, reactivate or sign in to a space.

The attack these tests replay: an agent edits the email of a person who never
activated their space, asks for a new provisional code (it went to that email),
then activates the space with the NIR and Carte Vitale serial the admin showed,
and reads what professionals already put in it.
"""

import html
import re
import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from acces.models import AuditEvent
from espace_sante import letters, lifecycle
from espace_sante.models import (
    ContactChange,
    Letter,
    Notification,
    ProvisionalCode,
    Space,
    User,
)
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in
from tests.mailbox import assert_email_left, sent_to

pytestmark = pytest.mark.django_db

HOME = "12 rue des Lilas\n44000 Nantes"
AGENT_ADDRESS = "3 impasse du Guet\n75011 Paris"
HOLDER_EMAIL = "ines.fontaine@exemple.fr"
AGENT_EMAIL = "complice@exemple.fr"
PASSWORD = "Une-phrase-de-passe-neuve-2026"
CODE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")
# Words an email about a contact change must never carry.
MEDICAL = ("document", "bilan", "dossier médical", "ordonnance", "professionnel")


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _pdf_text(letter: Letter) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=letters.read_pdf(letter),
        capture_output=True,
        check=True,
    )
    return done.stdout.decode()


@pytest.fixture
def agent_client(client, agent):
    return sign_in(client, agent)


@pytest.fixture
def space():
    """A created space never activated, which a professional already fed."""
    space = factories.SpaceFactory(
        state=Space.State.CREATED,
        holder__user=None,
        holder__email=HOLDER_EMAIL,
        holder__postal_address=HOME,
        holder__carte_vitale_serial="123456789012",
    )
    pro = factories.ProfessionalFactory()
    factories.CareRelationFactory(space=space, professional=pro)
    factories.make_document(space, professional=pro, title="Bilan sanguin")
    Notification.objects.all().delete()  # the document's notice: not what these tests read
    return space


def _patient_url(space) -> str:
    return reverse("admin:espace_sante_patient_change", args=[space.holder.pk])


def _patient_form(space, **changes) -> dict:
    holder = space.holder
    return {
        "nir": holder.nir,
        "last_name": holder.last_name,
        "first_names": holder.first_names,
        "birth_date": holder.birth_date.strftime("%d/%m/%Y"),
        "sex": holder.sex,
        "email": holder.email,
        "postal_address": holder.postal_address,
        "new_carte_vitale_serial": "",
        "contact_change_reason": "",
        **changes,
    }


def _change_contact(agent_client, space, callbacks, **changes):
    with callbacks(execute=True):
        response = agent_client.post(_patient_url(space), _patient_form(space, **changes))
    assert response.status_code == 302, _text(response)[:3000]
    space.holder.refresh_from_db()
    return response


def _agent_sends_code(agent_client, space, callbacks):
    url = reverse("admin:espace_sante_space_send_code", args=[space.pk])
    with callbacks(execute=True):
        return agent_client.post(url, {"reason": "code expiré"}, follow=True)


def _activation(space, code, email) -> dict:
    return {
        "nir": space.holder.nir,
        "carte_vitale_serial": space.holder.carte_vitale_serial,
        "code": code,
        "email": email,
        "password1": PASSWORD,
        "password2": PASSWORD,
    }


def _emailed_code(to: str) -> str | None:
    for message in mail.outbox:
        if message.to == [to]:
            found = CODE.search(message.body)
            if found:
                return found.group(0)
    return None


def _letter_code(space, kind="new_code") -> str:
    letter = Letter.objects.filter(space=space, kind=kind).latest("created_at")
    return CODE.search(_pdf_text(letter)).group(0)


# --- A change of contact details: its reason, its trace, the former contact told ----------


def test_agent_cannot_change_an_email_without_typing_a_reason(agent_client, space):
    response = agent_client.post(_patient_url(space), _patient_form(space, email=AGENT_EMAIL))
    assert response.status_code == 200
    assert "Indiquez le motif de la modification" in _text(response)
    space.holder.refresh_from_db()
    assert space.holder.email == HOLDER_EMAIL
    assert not ContactChange.objects.exists()


def test_agent_email_change_is_traced_with_its_reason_and_the_former_address_is_told(
    agent_client, agent, space, django_capture_on_commit_callbacks
):
    reason = "demande de l'assurée par téléphone"
    _change_contact(
        agent_client,
        space,
        django_capture_on_commit_callbacks,
        email=AGENT_EMAIL,
        contact_change_reason=reason,
    )
    assert space.holder.email == AGENT_EMAIL
    page = _text(agent_client.get(reverse("admin:espace_sante_patient_changelist")))
    assert "l'ancien contact en est prévenu" in page
    event = AuditEvent.objects.get(action="contact_changed")
    assert (event.space_id, event.actor_id) == (space.pk, agent.pk)
    assert event.detail["fields"] == ["email"]
    assert event.detail["reason"] == reason
    # The former address is told; the new one is not where the warning goes.
    notice = Notification.objects.get(kind="contact_changed")
    assert (notice.address, notice.recipient) == (HOLDER_EMAIL, None)
    assert "modifié les coordonnées" in notice.body
    text = f"{notice.subject} {notice.body}".lower()
    assert AGENT_EMAIL not in text and reason not in text
    assert not any(word in text for word in MEDICAL)
    # ...and the email really left, to the former address only.
    (email,) = assert_email_left(HOLDER_EMAIL, without=(reason, AGENT_EMAIL))
    assert "modifié les coordonnées" in email.body
    assert not [m for m in sent_to(AGENT_EMAIL) if "modifié les coordonnées" in m.body]
    change = ContactChange.objects.get()
    assert (change.previous_email, change.previous_postal_address) == (HOLDER_EMAIL, HOME)
    assert change.changed_by == agent


def test_person_without_email_is_told_by_letter_at_the_former_postal_address(
    agent_client, space, django_capture_on_commit_callbacks
):
    type(space.holder).objects.filter(pk=space.holder.pk).update(email="")
    space.holder.refresh_from_db()
    _change_contact(
        agent_client,
        space,
        django_capture_on_commit_callbacks,
        postal_address=AGENT_ADDRESS,
        contact_change_reason="courrier reçu de l'assuré",
    )
    assert space.holder.postal_address == AGENT_ADDRESS
    letter = Letter.objects.get(space=space, kind=Letter.Kind.CONTACT_CHANGED)
    text = _pdf_text(letter)
    assert "Vos coordonnées ont été modifiées" in text
    assert "12 rue des Lilas" in text and "impasse du Guet" not in text
    assert not CODE.search(text)
    assert not ProvisionalCode.objects.filter(space=space).exists()


def test_identity_correction_alone_needs_no_reason_and_tells_nobody(
    agent_client, space, django_capture_on_commit_callbacks
):
    _change_contact(agent_client, space, django_capture_on_commit_callbacks, last_name="Fontayne")
    assert space.holder.last_name == "Fontayne"
    assert not ContactChange.objects.exists()
    assert not Notification.objects.filter(kind="contact_changed").exists()


# --- Codes after a change go by letter to the former address -------------------------------


def test_code_after_an_agent_changed_the_email_goes_by_letter_to_the_former_address(
    agent_client, space, django_capture_on_commit_callbacks
):
    _change_contact(
        agent_client,
        space,
        django_capture_on_commit_callbacks,
        email=AGENT_EMAIL,
        postal_address=AGENT_ADDRESS,
        contact_change_reason="demande au guichet",
    )
    response = _agent_sends_code(agent_client, space, django_capture_on_commit_callbacks)
    assert "par courrier" in _text(response)
    assert _emailed_code(AGENT_EMAIL) is None
    assert ProvisionalCode.objects.get(space=space, revoked_at=None).channel == "letter"
    text = _pdf_text(Letter.objects.get(space=space, kind=Letter.Kind.NEW_CODE))
    assert "12 rue des Lilas" in text and "impasse du Guet" not in text


def test_thirty_days_after_the_change_codes_go_to_the_contact_on_file_again(
    agent_client, agent, space, django_capture_on_commit_callbacks
):
    _change_contact(
        agent_client,
        space,
        django_capture_on_commit_callbacks,
        email="nouvelle.adresse@exemple.fr",
        contact_change_reason="demande de l'assurée au guichet",
    )
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        sign_in(agent_client, agent)
        _agent_sends_code(agent_client, space, django_capture_on_commit_callbacks)
    assert _emailed_code("nouvelle.adresse@exemple.fr")


def test_code_is_withheld_when_no_postal_address_was_on_file_before_the_change(
    agent_client, space, django_capture_on_commit_callbacks
):
    type(space.holder).objects.filter(pk=space.holder.pk).update(postal_address="")
    space.holder.refresh_from_db()
    _change_contact(
        agent_client,
        space,
        django_capture_on_commit_callbacks,
        email=AGENT_EMAIL,
        contact_change_reason="demande par téléphone",
    )
    response = _agent_sends_code(agent_client, space, django_capture_on_commit_callbacks)
    assert "aucun code provisoire ne peut être envoyé" in _text(response)
    assert not ProvisionalCode.objects.filter(space=space).exists()
    assert _emailed_code(AGENT_EMAIL) is None


def test_the_letter_goes_to_the_address_before_the_first_of_two_changes(space):
    by = Actor.system()
    ContactChange.objects.create(
        patient=space.holder, fields="postal_address", previous_postal_address=HOME
    )
    ContactChange.objects.create(
        patient=space.holder, fields="postal_address", previous_postal_address=AGENT_ADDRESS
    )
    delivery = lifecycle.code_delivery(space)
    assert (delivery.channel, delivery.postal_address) == ("letter", HOME)
    assert lifecycle.send_new_code(space=space, by=by) == "letter"


# --- What the admin shows --------------------------------------------------------------------


def test_admin_shows_the_carte_vitale_serial_masked_but_its_last_four_digits(agent_client, space):
    for url in (
        _patient_url(space),
        reverse("admin:espace_sante_patient_changelist"),
        reverse("admin:espace_sante_space_change", args=[space.pk]),
    ):
        body = _text(agent_client.get(url))
        assert "123456789012" not in body, url
    assert "••••••••9012" in _text(agent_client.get(_patient_url(space)))


def test_agent_replaces_the_serial_with_a_reason_and_never_sees_it(
    agent_client, space, django_capture_on_commit_callbacks
):
    _change_contact(
        agent_client,
        space,
        django_capture_on_commit_callbacks,
        new_carte_vitale_serial="987654321098",
        contact_change_reason="nouvelle carte émise",
    )
    assert space.holder.carte_vitale_serial == "987654321098"
    assert ContactChange.objects.get().fields == "carte_vitale_serial"
    body = _text(agent_client.get(_patient_url(space)))
    assert "987654321098" not in body and "••••••••1098" in body
    # A new card counts as a change: the next code goes by letter to the address on file.
    assert lifecycle.code_delivery(space).channel == "letter"


def test_admin_never_shows_a_provisional_code(
    agent_client, space, django_capture_on_commit_callbacks
):
    assert ProvisionalCode not in admin.site._registry
    assert Letter not in admin.site._registry
    response = _agent_sends_code(agent_client, space, django_capture_on_commit_callbacks)
    code = _emailed_code(HOLDER_EMAIL)
    assert code
    pages = [
        _text(response),
        _text(agent_client.get(_patient_url(space))),
        _text(agent_client.get(reverse("admin:espace_sante_space_change", args=[space.pk]))),
        _text(agent_client.get(reverse("admin:index"))),
    ]
    for page in pages:
        assert code not in page and code.replace("-", "") not in page


# --- Opening an account at an email the holder never confirmed ------------------------------


def test_agent_cannot_take_over_an_unactivated_space_through_the_admin(
    client, agent, space, django_capture_on_commit_callbacks
):
    """The whole attack, through the admin and the activation page: it fails at every step."""
    agent_client = sign_in(client, agent)
    _change_contact(
        agent_client,
        space,
        django_capture_on_commit_callbacks,
        email=AGENT_EMAIL,
        contact_change_reason="demande par téléphone",
    )
    _agent_sends_code(agent_client, space, django_capture_on_commit_callbacks)
    assert _emailed_code(AGENT_EMAIL) is None  # the code went by letter to the home address
    # A month later, the code goes to the email the agent typed...
    later = timezone.now() + timedelta(days=31)
    with time_machine.travel(later):
        sign_in(agent_client, agent)
        _agent_sends_code(agent_client, space, django_capture_on_commit_callbacks)
        code = _emailed_code(AGENT_EMAIL)
        assert code
        agent_client.logout()
        # ...but the space, which professionals fed, will not open at that email.
        response = client.post(
            reverse("espace_sante:activate"), _activation(space, code, AGENT_EMAIL)
        )
    assert response.status_code == 200
    assert "demandez un nouveau code par courrier" in _text(response)
    space.refresh_from_db()
    assert space.state == Space.State.CREATED
    assert not User.objects.filter(email=AGENT_EMAIL).exists()
    assert AuditEvent.objects.filter(action="account_refused", outcome="denied").exists()


def test_holder_asks_a_code_by_letter_and_opens_the_space_at_the_email_of_their_choice(
    client, space, django_capture_on_commit_callbacks
):
    identity = {
        "nir": space.holder.nir,
        "carte_vitale_serial": space.holder.carte_vitale_serial,
        "channel": "letter",
    }
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("espace_sante:lost_code"), identity)
    assert mail.outbox == []
    code = _letter_code(space)
    response = client.post(
        reverse("espace_sante:activate"), _activation(space, code, "autre@exemple.fr")
    )
    assert response.status_code == 302
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE
    assert space.holder.user.email == "autre@exemple.fr"


def test_lost_code_by_email_opens_the_space_only_at_the_address_it_went_to(
    client, space, django_capture_on_commit_callbacks
):
    identity = {"nir": space.holder.nir, "carte_vitale_serial": space.holder.carte_vitale_serial}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("espace_sante:lost_code"), identity)
    code = _emailed_code(HOLDER_EMAIL)
    refused = client.post(
        reverse("espace_sante:activate"), _activation(space, code, "autre@exemple.fr")
    )
    assert "Des professionnels de santé ont déjà déposé des documents" in _text(refused)
    assert not User.objects.filter(email="autre@exemple.fr").exists()
    response = client.post(reverse("espace_sante:activate"), _activation(space, code, HOLDER_EMAIL))
    assert response.status_code == 302
    space.refresh_from_db()
    assert space.holder.user.email == HOLDER_EMAIL


def test_an_email_an_agent_typed_is_not_confirmed_even_long_after(space):
    ContactChange.objects.create(
        patient=space.holder,
        fields="email",
        previous_email="ancienne@exemple.fr",
        new_email=HOLDER_EMAIL,
        changed_at=timezone.now() - timedelta(days=400),
    )
    assert not lifecycle.email_confirmed_by_holder(space, HOLDER_EMAIL)


def test_reactivation_refuses_an_account_at_an_unconfirmed_email(
    client, space, django_capture_on_commit_callbacks
):
    Space.objects.filter(pk=space.pk).update(
        state=Space.State.CLOSED,
        closed_at=timezone.now(),
        retention_until=timezone.localdate() + timedelta(days=3650),
    )
    code = lifecycle.issue_code(space=space, channel="email", by=Actor.system())
    data = _activation(space, code, AGENT_EMAIL)
    response = client.post(reverse("espace_sante:reactivate"), data)
    assert "demandez un nouveau code par courrier" in _text(response)
    space.refresh_from_db()
    assert space.state == Space.State.CLOSED
    assert not User.objects.filter(email=AGENT_EMAIL).exists()
    # With a code that came by letter, the same request reopens the space.
    letter_code = lifecycle.issue_code(space=space, channel="letter", by=Actor.system())
    response = client.post(
        reverse("espace_sante:reactivate"), _activation(space, letter_code, AGENT_EMAIL)
    )
    assert response.status_code == 302
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE


def test_a_space_without_professional_content_opens_at_any_email(client):
    space = factories.SpaceFactory(state=Space.State.CREATED, holder__user=None)
    code = lifecycle.issue_code(space=space, channel="email", by=Actor.system())
    response = client.post(
        reverse("espace_sante:activate"), _activation(space, code, "choisie@exemple.fr")
    )
    assert response.status_code == 302
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE


def test_destruction_forgets_the_former_contact_details(space):
    ContactChange.objects.create(
        patient=space.holder, fields="email", previous_email="ancienne@exemple.fr"
    )
    lifecycle.close(space=space, by=Actor.system())
    lifecycle.destroy(space=Space.objects.get(pk=space.pk), by=Actor.system())
    assert not ContactChange.objects.exists()


def test_agent_reactivating_a_closed_space_after_changing_the_email_sends_the_code_home(
    agent_client, space, django_capture_on_commit_callbacks
):
    Space.objects.filter(pk=space.pk).update(
        state=Space.State.CLOSED,
        closed_at=timezone.now(),
        retention_until=timezone.localdate() + timedelta(days=3650),
    )
    _change_contact(
        agent_client,
        space,
        django_capture_on_commit_callbacks,
        email=AGENT_EMAIL,
        contact_change_reason="demande par téléphone",
    )
    url = reverse("admin:espace_sante_space_reactivate", args=[space.pk])
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(url, {"reason": "clôture faite par erreur"})
    space.refresh_from_db()
    assert space.state == Space.State.CREATED
    assert _emailed_code(AGENT_EMAIL) is None
    text = _pdf_text(Letter.objects.get(space=space, kind=Letter.Kind.NEW_CODE))
    assert "12 rue des Lilas" in text
