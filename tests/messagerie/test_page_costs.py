"""What the conversation pages cost: constant queries whatever the length of the
conversation, each person built once, no session write on each request (issue 12)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acces.models import CareRelation
from messagerie import selectors, services
from tests import factories
from tests.conftest import sign_in
from tests.messagerie.cast import actor, pdf, pro_with, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def gp(space):
    professional = pro_with(space, CareRelation.Basis.ATTENDING)
    factories.TOTPDeviceFactory(user=professional.user)
    return professional


def _exchange(space, gp, conversation, messages):
    """Replies in turn from the GP and the patient until the conversation holds `messages`."""
    holder = actor(space.holder.user)
    for n in range(messages - conversation.messages.count()):
        by = actor(gp.user) if n % 2 else holder
        services.reply(by=by, conversation=conversation, body=f"Suite {n}", attachments=[pdf()])


def _queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured]


def test_the_patient_conversation_page_costs_the_same_queries_for_1_and_20_messages(space, gp):
    conversation = start(gp, space, attachments=[pdf()])
    client = sign_in(Client(), space.holder.user)
    url = reverse("messagerie:conversation", args=[space.public_id, conversation.public_id])
    _queries(client, url)  # the process's caches (the policy's matrix) filled
    one = _queries(client, url)
    _exchange(space, gp, conversation, 20)
    many = _queries(client, url)
    assert len(many) == len(one)
    assert len(one) <= 32  # SQLite's count (savepoints included); 37 before


def test_the_pro_conversation_page_costs_the_same_queries_for_1_and_20_messages(space, gp):
    conversation = start(gp, space, attachments=[pdf()])
    client = sign_in(Client(), gp.user)
    url = reverse("messagerie_pro:conversation", args=[conversation.public_id])
    _queries(client, url)  # the process's caches (the policy's matrix) filled
    one = _queries(client, url)
    _exchange(space, gp, conversation, 20)
    many = _queries(client, url)
    assert len(many) == len(one)
    assert len(one) <= 28  # SQLite's count (savepoints included); 32 before


def test_a_page_within_the_minute_does_not_write_the_session(space, gp):
    conversation = start(gp, space)
    client = sign_in(Client(), space.holder.user)
    url = reverse("messagerie:conversation", args=[space.public_id, conversation.public_id])
    assert not [q for q in _queries(client, url) if "django_session" in q and "UPDATE" in q]


def test_each_person_of_a_conversation_is_one_object(space, gp):
    conversation = start(gp, space)
    _exchange(space, gp, conversation, 6)
    box = services.patient_mailbox(space)
    holder = actor(space.holder.user)
    views = selectors.conversation_messages(
        conversation, box, services.decide_read(holder, conversation)
    )
    from_gp = [v.message for v in views if not v.from_me]
    from_patient = [v.message for v in views if v.from_me]
    assert len(from_gp) == 3 and len(from_patient) == 3
    assert len({id(m.sender) for m in from_gp}) == 1
    assert len({id(m.sender.professional) for m in from_gp}) == 1
    assert {id(r.mailbox) for m in from_patient for r in m.recipients.all()} == {
        id(from_gp[0].sender)
    }
    assert from_gp[0].sender.display_name.startswith("Dr ")


def test_the_patients_navigation_finds_her_space_once(space, gp):
    start(gp, space)
    client = sign_in(Client(), space.holder.user)
    page = reverse("messagerie:inbox", args=[space.public_id])
    client.get(page)  # the process's caches filled
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page)
    spaces = [q for q in captured if "UNION" in q["sql"] and "espace_sante_space" in q["sql"]]
    assert spaces == []  # the page's own space, which the policy just decided on
    html = response.content.decode()
    assert reverse("agenda:home", args=[space.public_id]) in html
    assert "1 message non lu" in html
    # A page of no space (the notifications): looked for once, for both entries.
    with CaptureQueriesContext(connection) as captured:
        html = client.get(reverse("espace_sante:notifications")).content.decode()
    spaces = [q for q in captured if "UNION" in q["sql"] and "espace_sante_space" in q["sql"]]
    assert len(spaces) == 1  # the messaging and agenda entries share it
    assert reverse("agenda:home", args=[space.public_id]) in html
    assert "1 message non lu" in html
