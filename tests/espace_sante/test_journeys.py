"""The patient's lifecycle journeys: activation, opposition, lost code, reactivation,
download, closure and deletion request, as the person sees them and as the database holds them."""

import csv
import html
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from acces.models import AuditEvent, CareRelation
from acces.policy import Action, decide
from espace_sante import lifecycle
from espace_sante.models import ExportJob, ProvisionalCode, Space
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Une-phrase-de-passe-neuve-2026"
GENERIC = lifecycle.GENERIC_CODE_ERROR


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _created_space(**kwargs):
    return factories.SpaceFactory(state=Space.State.CREATED, holder__user=None, **kwargs)


def _announced_space(**kwargs):
    return factories.SpaceFactory(
        state=Space.State.ANNOUNCED,
        holder__user=None,
        opposition_deadline=timezone.now() + Space.OPPOSITION_WINDOW,
        **kwargs,
    )


def _code(space, **kwargs) -> str:
    return lifecycle.issue_code(space=space, channel="email", by=Actor.system(), **kwargs)


def _claim(space, code) -> dict:
    return {
        "nir": space.holder.nir,
        "carte_vitale_serial": space.holder.carte_vitale_serial,
        "code": code,
    }


def _activation(space, code, **extra) -> dict:
    return {
        **_claim(space, code),
        "email": "ines.fontaine@exemple.fr",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **extra,
    }


def _current_code(space) -> ProvisionalCode:
    return ProvisionalCode.objects.filter(space=space).latest("created_at")


# --- Activation ----------------------------------------------------------------------------


def test_activation_gives_the_holder_an_account_and_sends_them_to_sign_in(client):
    space = _created_space()
    code = _code(space)
    response = client.post(reverse("espace_sante:activate"), _activation(space, code), follow=True)
    assert response.redirect_chain[-1][0] == reverse("account_login")
    assert "Votre espace est activé" in _text(response)
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE
    assert space.holder.user.email == "ines.fontaine@exemple.fr"
    assert space.holder.user.check_password(NEW_PASSWORD)
    assert _current_code(space).used_at is not None


def test_activation_accepts_the_code_and_nir_as_printed_with_dashes_and_spaces(client):
    space = _created_space()
    code = _code(space)  # printed as ABCD-EFGH-JKLM
    nir = space.holder.nir
    spaced = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    data = _activation(space, code.lower(), nir=spaced)
    response = client.post(reverse("espace_sante:activate"), data)
    assert response.status_code == 302
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE


def test_wrong_code_shows_the_generic_message_and_counts_the_try(client):
    space = _created_space()
    _code(space)
    response = client.post(reverse("espace_sante:activate"), _activation(space, "AAAA-BBBB-CCCC"))
    assert response.status_code == 200
    body = _text(response)
    assert GENERIC in body
    assert space.holder.nir in body  # what was typed is kept
    assert _current_code(space).failed_attempts == 1
    space.refresh_from_db()
    assert space.state == Space.State.CREATED
    assert space.holder.user is None


def test_unknown_nir_gets_the_same_message_as_a_wrong_code(client):
    space = _created_space()
    _code(space)
    unknown = {**_activation(space, "AAAA-BBBB-CCCC"), "nir": factories.next_nir()}
    unknown_body = _text(client.post(reverse("espace_sante:activate"), unknown))
    wrong_body = _text(
        client.post(reverse("espace_sante:activate"), _activation(space, "AAAA-BBBB-CCCC"))
    )

    def alert(body):
        return re.search(r"fr-alert--error[^>]*>\s*<p>(.*?)</p>", body, re.S).group(1)

    assert alert(unknown_body) == alert(wrong_body) == GENERIC


def test_five_wrong_tries_lock_the_code_even_for_the_right_code(client):
    space = _created_space()
    code = _code(space)
    for _ in range(ProvisionalCode.MAX_ATTEMPTS):
        client.post(reverse("espace_sante:activate"), _activation(space, "AAAA-BBBB-CCCC"))
    assert _current_code(space).failed_attempts == 5
    response = client.post(reverse("espace_sante:activate"), _activation(space, code))
    assert GENERIC in _text(response)
    space.refresh_from_db()
    assert space.state == Space.State.CREATED


def test_expired_code_is_refused(client):
    space = _created_space()
    code = _code(space)
    with time_machine.travel(timezone.now() + Space.OPPOSITION_WINDOW + timedelta(days=1)):
        response = client.post(reverse("espace_sante:activate"), _activation(space, code))
    assert GENERIC in _text(response)
    space.refresh_from_db()
    assert space.state == Space.State.CREATED


def test_password_rules_are_shown_and_nothing_is_created(client):
    space = _created_space()
    code = _code(space)
    data = _activation(space, code, password1="court", password2="court")
    response = client.post(reverse("espace_sante:activate"), data)
    body = _text(response)
    assert "trop court" in body
    assert "ines.fontaine@exemple.fr" in body
    space.refresh_from_db()
    assert space.state == Space.State.CREATED
    assert _current_code(space).used_at is None


def test_mismatched_passwords_are_refused(client):
    space = _created_space()
    code = _code(space)
    data = _activation(space, code, password2=NEW_PASSWORD + "x")
    body = _text(client.post(reverse("espace_sante:activate"), data))
    assert "Les deux mots de passe ne sont pas identiques" in body
    space.refresh_from_db()
    assert space.state == Space.State.CREATED


def test_activation_of_an_opposed_space_points_to_reactivation(client):
    space = factories.SpaceFactory(state=Space.State.OPPOSED, holder__user=None)
    code = _code(space)
    body = _text(client.post(reverse("espace_sante:activate"), _activation(space, code)))
    assert "Réactiver mon espace" in body
    space.refresh_from_db()
    assert space.state == Space.State.OPPOSED
    assert space.holder.user is None


def test_activation_page_is_shown_to_a_signed_in_user_too(client, patient_space):
    sign_in(client, patient_space.holder.user)
    response = client.get(reverse("espace_sante:activate"))
    assert response.status_code == 200
    assert "Code provisoire" in _text(response)


# --- Opposition ----------------------------------------------------------------------------


def test_opposition_needs_the_confirmation_box(client):
    space = _announced_space()
    code = _code(space)
    body = _text(client.post(reverse("espace_sante:oppose"), _claim(space, code)))
    assert "Cochez cette case pour confirmer votre opposition" in body
    space.refresh_from_db()
    assert space.state == Space.State.ANNOUNCED
    assert _current_code(space).used_at is None


def test_opposition_within_six_weeks_is_recorded_and_confirmed(client):
    space = _announced_space()
    code = _code(space)
    response = client.post(
        reverse("espace_sante:oppose"), {**_claim(space, code), "confirm": "on"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("espace_sante:oppose_done")
    assert "Votre opposition est prise en compte" in _text(response)
    space.refresh_from_db()
    assert space.state == Space.State.OPPOSED
    assert AuditEvent.objects.filter(space=space, action="space_opposed").exists()


def test_opposition_after_the_deadline_is_refused(client):
    space = factories.SpaceFactory(
        state=Space.State.ANNOUNCED,
        holder__user=None,
        opposition_deadline=timezone.now() - timedelta(days=1),
    )
    code = _code(space)
    body = _text(
        client.post(reverse("espace_sante:oppose"), {**_claim(space, code), "confirm": "on"})
    )
    assert "Le délai d'opposition de six semaines est passé" in body
    space.refresh_from_db()
    assert space.state == Space.State.ANNOUNCED


def test_opposition_with_a_wrong_code_is_refused_with_the_generic_message(client):
    space = _announced_space()
    _code(space)
    body = _text(
        client.post(
            reverse("espace_sante:oppose"), {**_claim(space, "AAAA-BBBB-CCCC"), "confirm": "on"}
        )
    )
    assert GENERIC in body
    space.refresh_from_db()
    assert space.state == Space.State.ANNOUNCED


# --- Lost code -----------------------------------------------------------------------------

NEUTRAL = "Si ces informations correspondent à un espace, un nouveau code vient d'être envoyé"


def _identity(space) -> dict:
    return {"nir": space.holder.nir, "carte_vitale_serial": space.holder.carte_vitale_serial}


def test_lost_code_sends_a_new_code_that_activates_the_space(
    client, django_capture_on_commit_callbacks
):
    space = _created_space()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("espace_sante:lost_code"), _identity(space), follow=True)
    assert NEUTRAL in _text(response)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [space.holder.email]
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", mail.outbox[0].body).group(0)
    client.post(reverse("espace_sante:activate"), _activation(space, code))
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE


def test_lost_code_answers_the_same_for_an_unknown_identity(
    client, django_capture_on_commit_callbacks
):
    space = _created_space()
    unknown = {**_identity(space), "nir": factories.next_nir()}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("espace_sante:lost_code"), unknown, follow=True)
    assert NEUTRAL in _text(response)
    assert mail.outbox == []
    assert not ProvisionalCode.objects.exists()


def test_fourth_lost_code_request_in_24_hours_sends_nothing(
    client, django_capture_on_commit_callbacks
):
    space = _created_space()
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("espace_sante:lost_code"), _identity(space), follow=True)
        assert NEUTRAL in _text(response)
    assert len(mail.outbox) == 3
    assert ProvisionalCode.objects.filter(space=space).count() == 3
    assert AuditEvent.objects.filter(
        space=space, action="code_requested", outcome="denied"
    ).exists()
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        cache.clear()
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("espace_sante:lost_code"), _identity(space))
    assert len(mail.outbox) == 4


def test_more_than_ten_lost_code_requests_an_hour_from_one_address_send_nothing(
    client, django_capture_on_commit_callbacks
):
    spaces = [_created_space() for _ in range(11)]
    for space in spaces:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("espace_sante:lost_code"), _identity(space), follow=True)
        assert NEUTRAL in _text(response)
    assert len(mail.outbox) == 10
    assert not ProvisionalCode.objects.filter(space=spaces[-1]).exists()


def test_lost_code_refuses_a_malformed_nir_in_the_form(client):
    response = client.post(
        reverse("espace_sante:lost_code"), {"nir": "123", "carte_vitale_serial": "1234567890"}
    )
    assert response.status_code == 200
    assert "13 caractères suivis de la clé" in _text(response)


# --- Reactivation --------------------------------------------------------------------------


def _closed_space(**kwargs):
    space = factories.SpaceFactory(**kwargs)
    return lifecycle.close(space=space, by=Actor.system(), channel="agent")


def test_holder_reactivates_a_closed_space_with_a_new_code(client):
    space = _closed_space()
    code = _code(space)
    response = client.post(reverse("espace_sante:reactivate"), _claim(space, code), follow=True)
    assert response.redirect_chain[-1][0] == reverse("account_login")
    assert "Votre espace est réactivé" in _text(response)
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE
    assert space.closed_at is None
    assert space.retention_until is None


def test_reactivation_of_an_opposed_space_without_account_asks_for_one(client):
    space = factories.SpaceFactory(state=Space.State.OPPOSED, holder__user=None)
    code = _code(space)
    body = _text(client.post(reverse("espace_sante:reactivate"), _claim(space, code)))
    assert "Vous n'avez pas encore de compte" in body
    space.refresh_from_db()
    assert space.state == Space.State.OPPOSED
    assert _current_code(space).used_at is None  # the code still works for the next try

    data = {**_claim(space, code), "email": "revenu@exemple.fr", "password1": NEW_PASSWORD}
    body = _text(client.post(reverse("espace_sante:reactivate"), data))
    assert "Complétez ce champ pour créer votre compte" in body

    data["password2"] = NEW_PASSWORD
    response = client.post(reverse("espace_sante:reactivate"), data)
    assert response.status_code == 302
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE
    assert space.holder.user.email == "revenu@exemple.fr"


def test_reactivation_with_a_wrong_code_changes_nothing(client):
    space = _closed_space()
    _code(space)
    body = _text(client.post(reverse("espace_sante:reactivate"), _claim(space, "AAAABBBBCCCC")))
    assert GENERIC in body
    space.refresh_from_db()
    assert space.state == Space.State.CLOSED


# --- Download ------------------------------------------------------------------------------


def _prepare_archive(client, space, django_capture_on_commit_callbacks, **data):
    """Ask for the archive; the task runs (eagerly) when the request's transaction commits."""
    url = reverse("espace_sante:export", args=[space.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302
    return ExportJob.objects.get(space=space), response["Location"]


def test_holder_downloads_all_the_data_as_a_zip(
    client, patient_space, django_capture_on_commit_callbacks
):
    sign_in(client, patient_space.holder.user)
    client.get(reverse("espace_sante:space", args=[patient_space.public_id]))
    url = reverse("espace_sante:export", args=[patient_space.public_id])
    assert "Préparer le téléchargement de toutes mes données" in _text(client.get(url))
    job, location = _prepare_archive(client, patient_space, django_capture_on_commit_callbacks)
    assert location == reverse(
        "espace_sante:export_job", args=[patient_space.public_id, job.public_id]
    )
    job.refresh_from_db()
    assert job.state == ExportJob.State.READY
    assert job.done == job.total > 4
    page = _text(client.get(location))
    assert "Votre archive est prête" in page
    download = reverse(
        "espace_sante:export_download", args=[patient_space.public_id, job.public_id]
    )
    assert download in page
    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="mon-espace-sante-{today}.zip"'
    )
    assert response.streaming  # decrypted chunk by chunk, never whole in memory
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert set(archive.namelist()) >= {
        "identite.json",
        "historique.csv",
        "notifications.csv",
        "LISEZMOI.txt",
    }
    identity = json.loads(archive.read("identite.json"))
    assert identity["titulaire"]["nir"] == patient_space.holder.nir
    assert identity["espace"]["etat"] == "active"
    rows = list(
        csv.reader(io.StringIO(archive.read("historique.csv").decode("utf-8-sig")), delimiter=";")
    )
    assert rows[0] == ["date", "actor_label", "via", "role", "basis", "action", "outcome"]
    assert any(row[5] == "Consultation de l'espace" for row in rows[1:])
    assert "Mon espace santé" in archive.read("LISEZMOI.txt").decode()
    for action in ("export_requested", "export_downloaded"):
        assert AuditEvent.objects.filter(
            space=patient_space, action=action, outcome="allowed"
        ).exists()


def test_the_archive_is_stored_encrypted(client, patient_space, django_capture_on_commit_callbacks):
    sign_in(client, patient_space.holder.user)
    job, _ = _prepare_archive(client, patient_space, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    with job.file.open("rb") as handle:
        stored = handle.read()
    assert not stored.startswith(b"PK")
    assert patient_space.holder.nir.encode() not in stored


def test_the_page_follows_an_archive_under_way(client, patient_space):
    sign_in(client, patient_space.holder.user)
    url = reverse("espace_sante:export", args=[patient_space.public_id])
    response = client.post(url)  # no commit in this test: the task has not run yet
    job = ExportJob.objects.get(space=patient_space)
    ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.RUNNING, done=2, total=8)
    page = _text(client.get(response["Location"]))
    assert 'value="25"' in page
    assert "2 fichier(s) sur 8 (25 %)" in page
    assert "export-progress.js" in page
    status = client.get(response["Location"], {"format": "json"}).json()
    assert status == {
        "state": "running",
        "label": "En préparation",
        "done": 2,
        "total": 8,
        "percent": 25,
    }
    # Asking again while it is under way gives the same job, not a second one.
    client.post(url)
    assert ExportJob.objects.filter(space=patient_space).count() == 1


def test_an_expired_archive_is_shredded_and_no_longer_downloadable(
    client, patient_space, django_capture_on_commit_callbacks
):
    from espace_sante import export

    sign_in(client, patient_space.holder.user)
    job, _location = _prepare_archive(client, patient_space, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    name = job.file.name
    assert default_storage.exists(name)
    later = timezone.now() + ExportJob.KEPT_FOR + timedelta(minutes=1)
    assert export.purge_exports(now=later) == 1
    job.refresh_from_db()
    assert job.state == ExportJob.State.EXPIRED
    assert job.data_key.destroyed_at is not None
    assert not default_storage.exists(name)
    download = reverse(
        "espace_sante:export_download", args=[patient_space.public_id, job.public_id]
    )
    response = client.get(download, follow=True)
    assert "Cette archive n'est plus disponible" in _text(response)


def test_a_failed_build_is_shown_and_can_be_asked_again(
    client, patient_space, django_capture_on_commit_callbacks, monkeypatch
):
    from espace_sante import parts

    def broken(space, decision):
        raise RuntimeError("disque plein")
        yield  # pragma: no cover

    monkeypatch.setattr(parts, "_parts", {"broken": parts.Part("broken", "Cassée", export=broken)})
    sign_in(client, patient_space.holder.user)
    # The failure is the task's: the request that asked still answers (a redirect).
    _prepare_archive(client, patient_space, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get(space=patient_space)
    assert job.state == ExportJob.State.FAILED
    page = _text(
        client.get(
            reverse("espace_sante:export_job", args=[patient_space.public_id, job.public_id])
        )
    )
    assert "La préparation de l'archive a échoué" in page
    assert "Préparer le téléchargement" in page


def test_another_user_cannot_follow_or_download_someone_elses_archive(
    client, patient_space, django_capture_on_commit_callbacks
):
    representative = factories.LegalRepresentativeFactory(space=patient_space)
    sign_in(client, patient_space.holder.user)
    job, _ = _prepare_archive(client, patient_space, django_capture_on_commit_callbacks)
    client.logout()
    sign_in(client, representative.user)
    for name in ("export_job", "export_download"):
        response = client.get(
            reverse(f"espace_sante:{name}", args=[patient_space.public_id, job.public_id])
        )
        assert response.status_code == 404
    assert (
        AuditEvent.objects.filter(
            space=patient_space,
            action="export_space",
            outcome="denied",
            detail__reason="export_not_found",
        ).count()
        == 2
    )


def test_closure_page_leads_to_the_archive_and_back(
    client, patient_space, django_capture_on_commit_callbacks
):
    sign_in(client, patient_space.holder.user)
    _job, location = _prepare_archive(
        client, patient_space, django_capture_on_commit_callbacks, retour="cloture"
    )
    assert location.endswith("?retour=cloture")
    page = _text(client.get(location))
    assert reverse("espace_sante:close", args=[patient_space.public_id]) in page
    assert "Revenir à la clôture de l'espace" in page


def test_export_registry_adds_other_parts_files(client, patient_space, monkeypatch):
    from espace_sante import export, parts

    dmp = parts.Part("dmp", "DMP", export=lambda space, decision: [("dmp/test.txt", b"dmp")])
    monkeypatch.setattr(parts, "_parts", {"dmp": dmp})
    archive = zipfile.ZipFile(io.BytesIO(export.build_archive(patient_space)))
    assert archive.read("dmp/test.txt") == b"dmp"


def test_another_patient_cannot_download_the_archive(client, patient_space):
    other = factories.SpaceFactory()
    sign_in(client, other.holder.user)
    url = reverse("espace_sante:export", args=[patient_space.public_id])
    response = client.post(url)
    assert response.status_code == 403
    assert patient_space.holder.nir not in response.content.decode()
    assert AuditEvent.objects.filter(
        space=patient_space, action="export_space", outcome="denied"
    ).exists()


# --- Closure -------------------------------------------------------------------------------


def _close(client, space, **data):
    return client.post(reverse("espace_sante:close", args=[space.public_id]), data, follow=True)


def test_closure_page_offers_the_download_before_the_form(client, patient_space):
    sign_in(client, patient_space.holder.user)
    body = _text(client.get(reverse("espace_sante:close", args=[patient_space.public_id])))
    export_url = reverse("espace_sante:export", args=[patient_space.public_id])
    assert export_url in body
    assert body.index(export_url) < body.index('name="password"')
    assert "archivé pendant dix ans" in body


def test_closure_with_a_wrong_password_closes_nothing(client, patient_space):
    sign_in(client, patient_space.holder.user)
    body = _text(_close(client, patient_space, password="pas-le-bon", confirm="on"))
    assert "Mot de passe incorrect" in body
    patient_space.refresh_from_db()
    assert patient_space.state == Space.State.ACTIVE


def test_closure_without_the_confirmation_closes_nothing(client, patient_space):
    sign_in(client, patient_space.holder.user)
    body = _text(_close(client, patient_space, password=PASSWORD))
    assert "Cochez cette case pour confirmer" in body
    patient_space.refresh_from_db()
    assert patient_space.state == Space.State.ACTIVE


def test_closure_archives_the_space_and_shuts_out_professionals(client):
    relation = factories.CareRelationFactory(basis=CareRelation.Basis.ATTENDING)
    space, professional = relation.space, relation.professional.user
    assert decide(professional, Action.VIEW_SPACE, space)
    sign_in(client, space.holder.user)
    response = _close(client, space, password=PASSWORD, confirm="on", reason="not_used")
    assert response.redirect_chain[-1][0] == reverse("espace_sante:space", args=[space.public_id])
    body = _text(response)
    assert "Cet espace est clôturé" in body
    space.refresh_from_db()
    assert space.state == Space.State.CLOSED
    assert space.retention_until.year == timezone.localdate().year + 10
    assert str(space.retention_until.year) in body
    assert "Réactiver mon espace" in body
    assert not decide(professional, Action.VIEW_SPACE, space)


def test_a_legal_representative_closes_the_minors_space(client):
    representation = factories.LegalRepresentativeFactory()
    sign_in(client, representation.user)
    _close(client, representation.space, password=PASSWORD, confirm="on")
    representation.space.refresh_from_db()
    assert representation.space.state == Space.State.CLOSED


def test_closed_space_page_shows_the_state_and_no_closure_link(client):
    space = _closed_space()
    sign_in(client, space.holder.user)
    body = _text(client.get(reverse("espace_sante:space", args=[space.public_id])))
    assert "Cet espace est clôturé" in body
    assert space.retention_until.strftime("%Y") in body
    assert reverse("espace_sante:close", args=[space.public_id]) not in body
    assert reverse("espace_sante:export", args=[space.public_id]) in body
    closure = _text(client.get(reverse("espace_sante:close", args=[space.public_id])))
    assert "Cet espace ne peut pas être clôturé" in closure


def test_open_space_page_links_to_the_management_pages(client, patient_space):
    sign_in(client, patient_space.holder.user)
    body = _text(client.get(reverse("espace_sante:space", args=[patient_space.public_id])))
    assert "Gérer mon espace" in body
    for name in ("export", "close", "deletion"):
        assert reverse(f"espace_sante:{name}", args=[patient_space.public_id]) in body


# --- Deletion request ----------------------------------------------------------------------


def test_deletion_request_with_a_wrong_password_changes_nothing(client, patient_space):
    sign_in(client, patient_space.holder.user)
    url = reverse("espace_sante:deletion", args=[patient_space.public_id])
    body = _text(client.post(url, {"password": "pas-le-bon", "confirm": "on"}))
    assert "Mot de passe incorrect" in body
    patient_space.refresh_from_db()
    assert patient_space.deletion_due_at is None
    assert patient_space.state == Space.State.ACTIVE


def test_deletion_request_closes_and_schedules_destruction(client, patient_space):
    sign_in(client, patient_space.holder.user)
    url = reverse("espace_sante:deletion", args=[patient_space.public_id])
    assert "définitive" in _text(client.get(url))
    response = client.post(url, {"password": PASSWORD, "confirm": "on"}, follow=True)
    assert "Votre demande de suppression définitive est enregistrée" in _text(response)
    patient_space.refresh_from_db()
    assert patient_space.state == Space.State.CLOSED
    expected = timezone.now() + Space.DELETION_DELAY
    assert abs(patient_space.deletion_due_at - expected) < timedelta(minutes=1)
    body = _text(client.get(reverse("espace_sante:space", args=[patient_space.public_id])))
    assert "Sa suppression définitive est demandée" in body
    again = _text(client.get(url))
    assert "La suppression est déjà demandée" in again


# --- Landing -------------------------------------------------------------------------------


def test_landing_page_links_every_journey(client):
    body = _text(client.get(reverse("espace_sante:home")))
    for label, name in [
        ("Activer mon espace", "activate"),
        ("M'opposer à la création", "oppose"),
        ("J'ai perdu mon code", "lost_code"),
        ("Réactiver mon espace", "reactivate"),
    ]:
        assert label in body
        assert f'href="{reverse(f"espace_sante:{name}")}"' in body
