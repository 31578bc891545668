"""`manage.py import_care_history`: good rows in, bad rows reported, nothing twice."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from acces.models import AuditEvent
from agenda.history.actions import CareHistoryAction
from agenda.history.sealing import details_of
from agenda.models import CareEvent, CareHistoryKey
from espace_sante.models import Space
from tests import factories
from tests.agenda.history_helpers import csv_text, run_import

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def pharmacist():
    return factories.ProfessionalFactory(profession="pharmacien", specialty="")


def _good_file(space, pharmacist):
    nir = space.holder.nir
    return csv_text(
        f"{nir};2025-03-14;médicament délivré;3400930000001;Amoxicilline 1 g;{pharmacist.rpps};;",
        f"{nir};02/06/2024;Acte;DEQP003;Électrocardiogramme de repos;{pharmacist.rpps};;",
        f"{nir};2023-11-20;séjour hospitalier;GHM05K10;Hospitalisation;;440000289;CHU de Nantes",
    )


def test_a_good_file_loads_every_event_encrypted(space, pharmacist):
    report = run_import(_good_file(space, pharmacist), today=TODAY)

    assert report.ok, report.rejected
    assert report.created == 3 and report.spaces == 1
    events = {e.kind: e for e in CareEvent.objects.filter(space=space).select_related("data_key")}
    assert set(events) == {"act", "dispensation", "stay"}
    dispensation = events["dispensation"]
    assert dispensation.code == "3400930000001"
    assert dispensation.date == date(2025, 3, 14)
    assert dispensation.professional == pharmacist
    assert details_of(dispensation).label == "Amoxicilline 1 g"
    # The label is not in clear in the database.
    assert b"Amoxicilline" not in bytes(dispensation.details_ciphertext)
    stay = events["stay"]
    assert stay.establishment_finess == "440000289"
    assert details_of(stay).establishment == "CHU de Nantes"
    # One data key for the space's whole history.
    assert {e.data_key_id for e in events.values()} == {
        CareHistoryKey.objects.get(space=space).data_key_id
    }
    assert {e.import_batch for e in events.values()} == {report.batch}


def test_running_the_same_file_again_adds_nothing(space, pharmacist):
    text = _good_file(space, pharmacist)
    run_import(text, today=TODAY)

    again = run_import(text, today=TODAY)

    assert again.created == 0
    assert again.already_loaded == 3
    assert CareEvent.objects.filter(space=space).count() == 3
    assert "0 événement(s) de soins ajouté(s)" in again.summary()


def test_bad_rows_are_reported_with_their_line_and_the_good_ones_load(space, pharmacist):
    nir = space.holder.nir
    text = csv_text(
        f"{nir};2025-03-14;acte;YYYY010;Consultation;{pharmacist.rpps};;",  # line 2: good
        f"1234;2025-03-14;acte;YYYY010;Consultation;{pharmacist.rpps};;",  # 3: bad NIR
        f"{nir};31/02/2025;acte;YYYY010;Consultation;{pharmacist.rpps};;",  # 4: bad date
        f"{nir};2025-03-15;radiographie;YYYY010;Radio;{pharmacist.rpps};;",  # 5: bad kind
        f"{nir};2025-03-16;acte;YYYY010;;{pharmacist.rpps};;",  # 6: no label
        f"{nir};2025-03-17;acte;YYYY010;Consultation;;;",  # 7: nobody
        f"{nir};2025-03-18;acte;YYYY010;Consultation;12345678901;;",  # 8: bad RPPS key
        f"{nir};2027-01-01;acte;YYYY010;Consultation;{pharmacist.rpps};;",  # 9: future
        f"{nir};2025-03-14;acte;YYYY010;Consultation;{pharmacist.rpps};;",  # 10: same as 2
        f"{nir};2025-03-19;acte;YYYY010;Consultation;;12;",  # 11: bad FINESS
    )

    report = run_import(text, today=TODAY)

    assert report.created == 1
    reasons = {r.line: (r.column, r.reason) for r in report.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert reasons[3][0] == "nir"
    assert "illisible" in reasons[4][1]
    assert "nature « radiographie » inconnue" in reasons[5][1]
    assert reasons[6] == ("libelle", "le libellé est obligatoire.")
    assert "RPPS du professionnel ou l'établissement" in reasons[7][1]
    assert reasons[8][0] == "rpps"
    assert reasons[9][1] == "la date est dans le futur."
    assert reasons[10][1] == "même événement que la ligne 2 du fichier."
    assert "FINESS" in reasons[11][1]
    assert "ligne 3, colonne « nir »" in str(report.rejected[0])
    assert "9 ligne(s) refusée(s)" in report.summary()


def test_an_unknown_nir_or_a_space_that_takes_nothing_is_refused(space, pharmacist):
    unknown = factories.next_nir()
    opposed = factories.SpaceFactory(state=Space.State.OPPOSED)
    text = csv_text(
        f"{unknown};2025-03-14;acte;YYYY010;Consultation;{pharmacist.rpps};;",
        f"{opposed.holder.nir};2025-03-14;acte;YYYY010;Consultation;{pharmacist.rpps};;",
        f"{space.holder.nir};2025-03-14;acte;YYYY010;Consultation;{pharmacist.rpps};;",
    )

    report = run_import(text, today=TODAY, batch_size=2)

    assert report.created == 1
    reasons = {r.line: r.reason for r in report.rejected}
    assert reasons[2] == "aucun espace santé ne correspond à ce NIR."
    assert "opposée" in reasons[3]
    assert not CareEvent.objects.filter(space=opposed).exists()


def test_a_dry_run_writes_nothing(space, pharmacist):
    report = run_import(_good_file(space, pharmacist), today=TODAY, dry_run=True)

    assert report.created == 3
    assert "Simulation" in report.summary()
    assert not CareEvent.objects.exists()
    assert not CareHistoryKey.objects.exists()


def test_the_import_is_traced_in_each_space_and_once_for_the_run(space, pharmacist):
    other = factories.SpaceFactory()
    text = _good_file(space, pharmacist) + (
        f"{other.holder.nir};2025-01-05;acte;YYYY010;Consultation;{pharmacist.rpps};;\n"
    )

    report = run_import(text, today=TODAY, batch_size=2)

    for each in (space, other):
        events = AuditEvent.objects.filter(
            space=each, action=CareHistoryAction.CARE_HISTORY_IMPORTED
        )
        assert events.exists()
        assert events.first().detail["batch"] == str(report.batch)
    run = AuditEvent.objects.get(action=CareHistoryAction.CARE_HISTORY_IMPORT_RUN)
    assert run.detail["created"] == 4
    assert run.detail["source"] == "essai.csv"


def test_the_command_prints_the_summary_and_fails_on_bad_rows(tmp_path, space, pharmacist):
    good = tmp_path / "historique.csv"
    good.write_text(_good_file(space, pharmacist), encoding="utf-8")
    out = StringIO()
    call_command("import_care_history", str(good), stdout=out)
    assert "3 événement(s) de soins ajouté(s) dans 1 espace(s)" in out.getvalue()

    bad = tmp_path / "mauvais.csv"
    bad.write_text(csv_text("1234;2025-03-14;acte;X;Y;;;"), encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_care_history", str(bad), stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert "ligne 2, colonne « nir »" in err.getvalue()


def test_a_file_without_the_required_columns_is_refused_as_a_whole(tmp_path):
    path = tmp_path / "entete.csv"
    path.write_text("nir;date\n1;2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Colonne"):
        call_command("import_care_history", str(path), stdout=StringIO())


def test_the_demo_loads_camilles_history_once():
    from agenda.history import demo
    from espace_sante.identity import with_key

    camille = factories.SpaceFactory(
        holder__nir=with_key("2850475056123"), holder__birth_date=date(1985, 4, 12)
    )
    first = demo.load({"camille": camille}, {})
    again = demo.load({"camille": camille}, {})

    assert first.created == CareEvent.objects.filter(space=camille).count() > 10
    assert again.created == 0
    assert CareEvent.objects.filter(space=camille, kind="stay").exists()


def test_keys_made_in_bulk_encrypt_and_decrypt_each_on_its_own():
    from espace_sante import crypto

    first, second = crypto.new_data_keys(2)

    sealed = crypto.encrypt(b"Amoxicilline", first, context=b"essai")
    assert crypto.decrypt(sealed, first, context=b"essai") == b"Amoxicilline"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(sealed, second, context=b"essai")
    assert crypto.new_data_keys(0) == []


def test_an_event_another_run_loaded_meanwhile_is_skipped_not_duplicated(space, pharmacist):
    """The race the unique natural key settles: a batch whose event appeared after the
    lookup is written again without it (COPY fails on PostgreSQL, then bulk_create)."""
    from agenda.history import importer
    from tests.agenda.history_helpers import make_events

    (already,) = make_events(space, 1)
    twin = CareEvent(
        space=space,
        date=already.date,
        kind=already.kind,
        code=already.code,
        data_key=already.data_key,
        details_ciphertext=already.details_ciphertext,
        natural_key=already.natural_key,
    )
    fresh = CareEvent(
        space=space, date=date(2020, 1, 1), kind="act", code="X1", natural_key="f" * 64
    )

    importer._insert([twin, fresh])

    assert CareEvent.objects.filter(space=space, natural_key=already.natural_key).count() == 1
    assert CareEvent.objects.filter(space=space, natural_key="f" * 64).exists()
