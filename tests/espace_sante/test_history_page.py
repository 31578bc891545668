"""The patient's "Historique des accès": what each entry says, the filters, the pages,
what a professional reads there, and its cost."""

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from acces import audit, services
from acces.models import AuditEvent, CareRelation, EmergencyAccess
from acces.policy import Action
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def _pro(profession="medecin", specialty="medecine_generale", *, last_name):
    professional = factories.ProfessionalFactory(
        profession=profession, specialty=specialty, user__last_name=last_name
    )
    factories.TOTPDeviceFactory(user=professional.user)
    return professional


def _actor(user):
    return Actor(user=user, role=user.kind)


def _client(user):
    return sign_in(Client(), user)


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _rows(page: str) -> list[str]:
    """The rows of the trail's table, newest first (none when the table is absent)."""
    if "<tbody>" not in page:
        return []
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return [row.split("</tr>")[0] for row in body.split("<tr>")[1:]]


def _access(user, space, action=Action.VIEW_SPACE):
    return services.check_and_trace(actor=_actor(user), space=space, action=action)


def _url(space):
    return f"/espace/{space.public_id}/historique/"


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def holder(space):
    return space.holder.user


@pytest.fixture
def nurse(space):
    professional = _pro("infirmier", "", last_name="Soignante")
    factories.CareRelationFactory(
        space=space, professional=professional, basis=CareRelation.Basis.CARE_TEAM
    )
    return professional


@pytest.fixture
def attending(space):
    professional = _pro(last_name="Traitante")
    factories.CareRelationFactory(
        space=space, professional=professional, basis=CareRelation.Basis.ATTENDING
    )
    return professional


def _on(day: str):
    return time_machine.travel(datetime.fromisoformat(day).replace(hour=10, tzinfo=PARIS))


# --- What an entry says ------------------------------------------------------------------------


def test_an_entry_says_who_what_when_on_what_basis_and_the_outcome(space, holder, nurse):
    with _on("2025-03-04"):
        _access(nurse.user, space, Action.VIEW_DOCUMENT)
    stranger = _pro(specialty="cardiologie", last_name="Inconnue")
    with _on("2025-03-05"):
        _access(stranger.user, space)

    rows = _rows(_text(_client(holder).get(_url(space))))

    allowed = next(row for row in rows if "Soignante" in row)
    assert "Paul Soignante — Infirmier" in allowed
    assert "Professionnel de santé" in allowed
    assert "Équipe de soins" in allowed
    assert "Consultation d'un document" in allowed
    assert "04/03/2025 10:00" in allowed
    assert "Autorisé" in allowed
    refused = next(row for row in rows if "Inconnue" in row)
    assert "Médecin, cardiologie" in refused
    assert "Consultation de l'espace" in refused
    assert "05/03/2025 10:00" in refused
    assert "Refusé" in refused


def test_a_break_glass_entry_shows_the_reason_given(space, holder):
    urgentist = _pro(specialty="medecine_urgence", last_name="Urgentiste")
    services.open_emergency_access(
        space=space,
        professional=urgentist,
        mode=EmergencyAccess.Mode.BREAK_GLASS,
        reason="Coma à l'arrivée du SMUR",
        by=_actor(urgentist.user),
    )
    rows = _rows(_text(_client(holder).get(_url(space))))
    entry = next(row for row in rows if "Urgentiste" in row)
    assert "Accès en urgence (bris de glace)" in entry
    assert "Motif : « Coma à l'arrivée du SMUR »" in entry


def test_the_holders_own_reading_is_in_the_trail_under_its_filter(space, holder):
    client = _client(holder)
    client.get(_url(space))
    rows = _rows(_text(client.get(_url(space), {"qui": "moi"})))
    assert "Consultation de l'historique" in rows[0]
    assert "Titulaire" in rows[0]
    everyone = _rows(_text(client.get(_url(space), {"qui": "tous"})))
    assert "Consultation de l'historique" in everyone[0]


def test_the_trail_opens_on_what_others_did_not_on_the_holders_own_views(space, holder, nurse):
    with _on("2025-03-10"):
        _access(nurse.user, space)
    client = _client(holder)
    for _ in range(30):  # the holder's own page views would fill page 1
        client.get(_url(space))
    page = _text(client.get(_url(space)))
    rows = _rows(page)
    assert len(rows) == 1
    assert "Soignante" in rows[0]
    assert "Vos propres consultations et actions sont enregistrées aussi" in page
    assert not any("Consultation de l'historique" in row for row in rows)


# --- Filters -----------------------------------------------------------------------------------


@pytest.fixture
def trail(space, holder, nurse):
    """A patient action, a professional's allowed and refused accesses, an emergency, across
    three months (the page's own reading comes later, "now")."""
    stranger = _pro(last_name="Inconnue")
    urgentist = _pro(specialty="medecine_urgence", last_name="Urgentiste")
    with _on("2025-02-10"):
        audit.record(actor=_actor(holder), action="document_masked", space=space, target=space)
    with _on("2025-03-10"):
        _access(nurse.user, space)
        _access(stranger.user, space)
    with _on("2025-04-10"):
        services.open_emergency_access(
            space=space,
            professional=urgentist,
            mode=EmergencyAccess.Mode.BREAK_GLASS,
            reason="Arrêt cardio-respiratoire",
            by=_actor(urgentist.user),
        )
    return space


@pytest.mark.parametrize(
    ("filters", "kept", "dropped"),
    [
        ({"qui": "professional"}, ["Soignante", "Inconnue", "Urgentiste"], ["Document masqué"]),
        ({"qui": "patient"}, ["Document masqué"], ["Soignante", "Inconnue", "Urgentiste"]),
        ({"type": "urgences"}, ["Urgentiste"], ["Soignante", "Inconnue", "Document masqué"]),
        ({"type": "documents", "qui": "tous"}, ["Document masqué"], ["Soignante", "Urgentiste"]),
        ({"type": "consultations"}, ["Soignante", "Inconnue"], ["Urgentiste", "Document masqué"]),
        ({"resultat": "denied"}, ["Inconnue"], ["Soignante", "Urgentiste", "Document masqué"]),
        ({"resultat": "allowed"}, ["Soignante", "Urgentiste"], ["Inconnue"]),
        ({"du": "2025-03-01", "au": "2025-03-31"}, ["Soignante", "Inconnue"], ["Urgentiste"]),
        ({"du": "2025-04-01"}, ["Urgentiste"], ["Soignante", "Document masqué"]),
        ({"au": "2025-02-28", "qui": "tous"}, ["Document masqué"], ["Soignante", "Urgentiste"]),
    ],
    ids=[
        "qui-professionals",
        "qui-patient",
        "type-emergencies",
        "type-documents",
        "type-consultations",
        "denied",
        "allowed",
        "du-au",
        "du",
        "au",
    ],
)
def test_each_filter_keeps_only_its_entries(trail, holder, filters, kept, dropped):
    page = _text(_client(holder).get(_url(trail), filters))
    table = "".join(_rows(page))
    for text in kept:
        assert text in table, f"{filters}: {text} missing"
    for text in dropped:
        assert text not in table, f"{filters}: {text} shown"
    assert "Effacer les filtres" in page


def test_a_filter_that_matches_nothing_says_so(trail, holder):
    page = _text(_client(holder).get(_url(trail), {"au": "2024-01-01"}))
    assert not _rows(page)
    assert "Aucune entrée ne correspond à ces filtres." in page


def test_a_wrong_date_drops_that_filter_only(trail, holder):
    page = _text(_client(holder).get(_url(trail), {"du": "pas-une-date", "resultat": "denied"}))
    table = "".join(_rows(page))
    assert "Inconnue" in table
    assert "Soignante" not in table


def _link(page: str, label: str) -> str:
    """The query string of the pagination link named `label` ("" when it is disabled)."""
    found = re.search(rf'href="\?([^"]*)">{label}</a>', page)
    return html.unescape(found.group(1)) if found else ""


def test_pages_keep_the_filters(space, holder, nurse):
    stranger = _pro(last_name="Inconnue")
    for _ in range(30):
        _access(stranger.user, space)
    for _ in range(30):
        _access(nurse.user, space)
    client = _client(holder)

    first = _text(client.get(_url(space), {"resultat": "denied"}))
    older = _link(first, "Plus anciennes")
    assert older.startswith("resultat=denied&avant=")
    assert len(_rows(first)) == 25
    assert not _link(first, "Plus récentes")  # the newest entries: nothing newer

    second = _text(client.get(f"{_url(space)}?{older}"))
    rows = _rows(second)
    assert len(rows) == 5
    assert all("Refusé" in row and "Inconnue" in row for row in rows)
    assert 'value="denied" selected' in second
    assert not _link(second, "Plus anciennes")  # the oldest entries
    # Back to the newer ones: the same first page.
    back = _text(client.get(f"{_url(space)}?{_link(second, 'Plus récentes')}"))
    assert _rows(back) == _rows(first)
    assert _link(second, "Les plus récentes") == "resultat=denied"


def test_pages_go_back_and_forth_without_losing_or_repeating_an_entry(space, holder, nurse):
    start = datetime(2025, 1, 6, 8, 0, tzinfo=PARIS)
    for minute in range(70):  # one a minute: each row reads differently
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            _access(nurse.user, space)
    client = _client(holder)
    pages, query = [], ""
    while True:
        page = _text(client.get(f"{_url(space)}?{query}"))
        pages.append(_rows(page))
        query = _link(page, "Plus anciennes")
        if not query:
            break
    assert [len(rows) for rows in pages] == [25, 25, 20]
    seen = [row for rows in pages for row in rows]
    assert len(seen) == len(set(seen)) == 70  # each entry once
    assert "06/01/2025 09:09" in pages[0][0] and "06/01/2025 08:00" in pages[2][-1]
    middle = _text(client.get(f"{_url(space)}?{_link(page, 'Plus récentes')}"))
    assert _rows(middle) == pages[1]


@pytest.mark.parametrize("cursor", ["x", "1.2.3", "99999999999999999999.1", "-5.3", ""])
def test_a_damaged_cursor_shows_the_newest_entries(space, holder, nurse, cursor):
    for _ in range(3):
        _access(nurse.user, space)
    client = _client(holder)
    newest = _rows(_text(client.get(_url(space))))
    for name in ("avant", "apres"):
        response = client.get(_url(space), {name: cursor})
        assert response.status_code == 200
        assert _rows(_text(response)) == newest


# --- A professional's reading ------------------------------------------------------------------


def test_a_professional_reads_only_their_own_entries(space, holder, nurse, attending):
    _access(attending.user, space)
    _client(holder).get(f"/espace/{space.public_id}/")
    client = _client(nurse.user)
    client.get(f"/espace/{space.public_id}/")
    rows = _rows(_text(client.get(_url(space))))
    assert rows
    assert all("Soignante" in row for row in rows)


def test_the_attending_physician_reads_the_professionals_entries(space, holder, nurse, attending):
    _access(nurse.user, space)
    _client(holder).get(f"/espace/{space.public_id}/")
    rows = _rows(_text(_client(attending.user).get(_url(space))))
    assert any("Soignante" in row for row in rows)
    assert any("Traitante" in row for row in rows)
    assert all("Professionnel de santé" in row for row in rows)


@pytest.mark.parametrize("who", ["outsider", "agent", "other_patient"])
def test_others_do_not_read_the_trail(space, agent, who):
    user = {
        "outsider": _pro(last_name="Inconnue").user,
        "agent": agent,
        "other_patient": factories.SpaceFactory().holder.user,
    }[who]
    response = _client(user).get(_url(space))
    assert response.status_code == 403
    assert space.holder.last_name not in _text(response)
    assert AuditEvent.objects.filter(
        space=space, actor=user, action=Action.VIEW_HISTORY, outcome="denied"
    ).exists()


# --- Cost --------------------------------------------------------------------------------------


def test_the_page_costs_the_same_queries_for_10_and_200_events(space, holder, nurse, attending):
    stranger = _pro(specialty="cardiologie", last_name="Inconnue")
    people = [nurse.user, attending.user, stranger.user, holder]

    def add(count):
        for index in range(count):
            _access(people[index % len(people)], space)

    client = _client(holder)

    def cost():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_url(space), {"qui": "", "page": 1})
        assert response.status_code == 200
        return len(queries)

    add(9)
    client.get(_url(space))  # the tenth event: the holder's own first reading
    ten = cost()
    add(190)
    assert cost() == ten


def test_entries_of_the_same_instant_are_paged_by_their_chain_number(space, holder, nurse):
    with time_machine.travel(datetime(2025, 2, 3, 9, 0, tzinfo=PARIS), tick=False):
        for _ in range(30):
            _access(nurse.user, space)
    client = _client(holder)
    first = _text(client.get(_url(space)))
    second = _text(client.get(f"{_url(space)}?{_link(first, 'Plus anciennes')}"))
    assert [len(_rows(first)), len(_rows(second))] == [25, 5]
    assert not _link(second, "Plus anciennes")
    cursor = _link(first, "Plus anciennes").removeprefix("avant=")
    shown = AuditEvent.objects.filter(space=space, actor=nurse.user)  # the holder's left out
    last_shown = shown.order_by("-occurred_at", "-seq")[24]
    assert cursor == f"{last_shown.occurred_at.timestamp() * 1_000_000:.0f}.{last_shown.seq}"
