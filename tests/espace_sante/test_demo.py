from io import StringIO

import pytest
from django.core.management import call_command

from acces.models import AuditEvent, Professional
from espace_sante import lifecycle
from espace_sante.models import Notification, Patient, Space, User
from espace_sante.tracing import Actor
from tests.mailbox import delivered

pytestmark = pytest.mark.django_db


def _demo():
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_demo_loads_every_kind_of_user_and_prints_their_logins(settings):
    output = _demo()
    assert settings.DEMO_PASSWORD in output
    # Every demo login is printed (the sample directory's professionals have no password).
    for email in User.objects.filter(email__contains="@demo.").values_list("email", flat=True):
        assert email in output
    professions = set(Professional.objects.values_list("profession", "specialty"))
    assert {
        ("medecin", "medecine_generale"),
        ("medecin", "cardiologie"),
        ("infirmier", ""),
        ("pharmacien", ""),
        ("medecin", "medecine_urgence"),
        ("medecin", "medecine_travail"),
    } <= professions
    assert output.count("TOTP") >= 7  # six professionals and the agent
    assert User.objects.filter(kind="agent", is_staff=True, groups__name="Agents CPAM").exists()


def test_demo_has_a_minor_managed_by_a_parent_and_an_attending_physician():
    _demo()
    minor = Space.objects.get(holder__first_names="Léo")
    assert minor.holder.user is None
    assert minor.representatives.get().user.email.startswith("camille")
    camille = Space.objects.get(holder__first_names__startswith="Camille")
    assert camille.care_relations.filter(
        basis="attending", professional__specialty="medecine_generale"
    ).exists()


def test_demo_goes_through_the_services_so_history_and_notifications_exist():
    _demo()
    camille = Space.objects.get(holder__first_names__startswith="Camille")
    actions = set(AuditEvent.objects.filter(space=camille).values_list("action", flat=True))
    assert {"space_announced", "space_activated", "designate_attending", "view_space"} <= actions
    assert AuditEvent.objects.filter(space=camille, outcome="denied").exists()  # the urgentist
    assert camille.documents.count() >= 6
    assert camille.care_relations.filter(
        basis="care_team", professional__profession="pharmacien", consent_declared_at__isnull=False
    ).exists()
    told = set(
        Notification.objects.filter(recipient=camille.holder.user).values_list("kind", flat=True)
    )
    assert {"document_added", "care_team_joined", "attending_designated"} <= told
    assert delivered(Notification.objects.filter(recipient=camille.holder.user))


def test_demo_is_idempotent():
    _demo()
    counts = (Patient.objects.count(), User.objects.count(), Notification.objects.count())
    events = AuditEvent.objects.exclude(action="code_issued").count()
    output = _demo()
    assert (Patient.objects.count(), User.objects.count(), Notification.objects.count()) == counts
    # A rerun only issues fresh provisional codes for the lifecycle journeys (stored hashed).
    assert AuditEvent.objects.exclude(action="code_issued").count() == events
    assert output.count("code ") >= 3


def test_demo_prints_working_codes_for_the_lifecycle_journeys():
    output = _demo()
    line = next(line for line in output.splitlines() if "Activer" in line)
    nir, serial, code = (
        line.split("NIR ")[1].split()[0],
        line.split("carte ")[1].split()[0],
        line.split("code ")[1].strip(),
    )
    from espace_sante import lifecycle

    user = lifecycle.activate(
        claim=lifecycle.Claim(nir=nir, carte_vitale_serial=serial, code=code),
        email="julien@exemple.fr",
        password="Un-mot-de-passe-solide-2026",
        by=Actor.system(),
    )
    assert user.patient.space.state == Space.State.ACTIVE


def _journey(output, purpose):
    line = next(line for line in output.splitlines() if purpose in line)
    return lifecycle.Claim(
        nir=line.split("NIR ")[1].split()[0],
        carte_vitale_serial=line.split("carte ")[1].split()[0],
        code=line.split("code ")[1].split()[0],
    )


def test_rerunning_the_demo_puts_the_tried_journeys_back_at_their_start_with_fresh_codes():
    output = _demo()
    system = Actor.system()
    julien = lifecycle.activate(
        claim=_journey(output, "Activer"),
        email="julien@exemple.fr",
        password="Un-mot-de-passe-solide-2026",
        by=system,
    )
    sophie = lifecycle.oppose(claim=_journey(output, "S'opposer"), by=system)
    paul = lifecycle.reactivate_with_code(claim=_journey(output, "Réactiver"), by=system)
    assert julien.patient.space.state == Space.State.ACTIVE
    assert (sophie.state, paul.state) == (Space.State.OPPOSED, Space.State.ACTIVE)

    output = _demo()

    # The three journeys are printed again, and each works once more.
    for purpose in ("Activer", "S'opposer", "Réactiver"):
        assert purpose in output
    again = lifecycle.activate(
        claim=_journey(output, "Activer"),
        email="julien@exemple.fr",
        password="Un-mot-de-passe-solide-2026",
        by=system,
    )
    assert again.patient.space.state == Space.State.ACTIVE
    assert not User.objects.get(pk=julien.pk).is_active  # the first try's account, retired
    assert lifecycle.oppose(claim=_journey(output, "S'opposer"), by=system).state == "opposed"
    reopened = lifecycle.reactivate_with_code(claim=_journey(output, "Réactiver"), by=system)
    assert reopened.state == Space.State.ACTIVE
    # Julien and Sophie are set back directly (traced); Paul is closed again by the service.
    assert AuditEvent.objects.filter(action="demo_reset").count() == 2


def test_demo_prints_the_address_it_is_served_on(settings):
    settings.SITE_URL = "http://127.0.0.1:8101"
    output = _demo()
    assert "Patient : http://127.0.0.1:8101/" in output
    assert "Professionnel : http://127.0.0.1:8101/pro/" in output
    assert "8000" not in output
