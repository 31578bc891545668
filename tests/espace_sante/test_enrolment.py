"""Bulk enrolment from the Assurance Maladie's file: `manage.py enrol FILE.csv`."""

import io
import re
from datetime import date, datetime

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from acces.audit import verify_chain
from acces.models import AuditChainHead, AuditEvent
from espace_sante import enrolment
from espace_sante.enrolment import enrol_rows, read_csv
from espace_sante.identity import with_key
from espace_sante.models import LegalRepresentative, Letter, Patient, ProvisionalCode, Space
from espace_sante.tracing import Actor
from tests import factories

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.get_fixed_timezone(60))
HEADER = "nir;nom;prenoms;date_naissance;sexe;email;adresse;carte_vitale;representants"
_order = iter(range(1, 1000))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def nir(sex="2", born=date(1980, 5, 17), department="44", commune=109):
    return with_key(f"{sex}{born:%y}{born:%m}{department}{commune:03d}{next(_order):03d}")


def line(
    number=None,
    *,
    last="Martin",
    first="Claire Anne",
    born="17/05/1980",
    sex="F",
    email="claire@exemple.fr",
    address="",
    serial="1234567890",
    reps="",
):
    if number is None:
        sex_digit = "2" if sex == "F" else "1"
        parsed = datetime.strptime(born, "%d/%m/%Y").date() if "/" in born else date(1980, 5, 17)
        number = nir(sex_digit, parsed)
    if "\n" in address:
        address = f'"{address}"'
    return ";".join([number, last, first, born, sex, email, address, serial, reps])


def csv_file(tmp_path, *lines, header=HEADER, name="assures.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def enrol(tmp_path, *lines, announce=False):
    """Run the command; return (stdout, stderr, exit code)."""
    out, err = io.StringIO(), io.StringIO()
    args = [str(csv_file(tmp_path, *lines))] + ([] if announce else ["--no-announce"])
    try:
        call_command("enrol", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return out.getvalue(), err.getvalue(), code


def test_valid_file_creates_announced_spaces_with_six_week_deadline_and_audit_events(tmp_path):
    people = [nir(), nir(), nir()]
    out, err, code = enrol(tmp_path, *(line(n) for n in people))

    assert code == 0, err
    assert "3 espace(s) créé(s), 0 personne(s) déjà inscrite(s), 0 ligne(s) refusée(s)" in out
    spaces = Space.objects.filter(holder__nir__in=people)
    assert spaces.count() == 3
    for space in spaces:
        assert space.state == Space.State.ANNOUNCED
        assert space.opposition_deadline == NOW + Space.OPPOSITION_WINDOW
        events = AuditEvent.objects.filter(space=space)
        assert list(events.values_list("action", "role", "target_id")) == [
            ("space_announced", "system", str(space.public_id))
        ]
        chain = f"space:{space.pk}"
        assert verify_chain(chain, head=AuditChainHead.objects.get(chain=chain)) is None
    claire = Patient.objects.get(nir=people[0])
    assert (claire.last_name, claire.first_names, claire.birth_date, claire.sex) == (
        "Martin",
        "Claire Anne",
        date(1980, 5, 17),
        "F",
    )


def test_invalid_rows_are_reported_by_line_and_column_and_valid_rows_still_created(tmp_path):
    good, bad_key, first_dup = nir(), nir(), nir()
    bad_key = bad_key[:13] + f"{(int(bad_key[13:]) % 97) + 1:02d}"
    out, err, code = enrol(
        tmp_path,
        line(good),  # line 2
        line(bad_key),  # line 3
        line(nir(), born="31/02/1980"),  # line 4
        line(born="02/03/2016", first="Lou"),  # line 5: minor, no representative
        line(email="", address=""),  # line 6: no way to send the code
        line(first_dup),  # line 7
        line(first_dup, first="Autre"),  # line 8: same NIR again
    )

    assert code == 1
    assert "ligne 3, colonne « nir » : La clé du numéro de sécurité sociale" in err
    assert "ligne 4, colonne « date_naissance » : date « 31/02/1980 » invalide" in err
    assert "ligne 5, colonne « representants » : un mineur doit avoir au moins un" in err
    assert "ligne 6, colonne « adresse » : il faut une adresse e-mail ou une adresse" in err
    assert "ligne 8, colonne « nir » : NIR déjà présent ligne 7 du fichier." in err
    assert not re.search(r"ligne [27],", err)
    assert "2 espace(s) créé(s), 0 personne(s) déjà inscrite(s), 5 ligne(s) refusée(s)" in out
    assert set(Patient.objects.values_list("nir", flat=True)) == {good, first_dup}
    assert Patient.objects.get(nir=first_dup).first_names == "Claire Anne"
    assert Space.objects.count() == AuditEvent.objects.count() == 2


def test_rerunning_the_same_file_creates_no_duplicate(tmp_path):
    lines = [line(nir()), line(nir()), line(nir(), email="", address="1 rue A\n44000 Nantes")]
    assert enrol(tmp_path, *lines)[2] == 0
    events = AuditEvent.objects.count()

    out, err, code = enrol(tmp_path, *lines)

    assert code == 0, err
    assert "0 espace(s) créé(s), 3 personne(s) déjà inscrite(s), 0 ligne(s) refusée(s)" in out
    assert Patient.objects.count() == Space.objects.count() == 3
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("department", ["2A", "2B"])
def test_corsican_nir_is_accepted(tmp_path, department):
    corsican = nir(department=department)
    _out, err, code = enrol(tmp_path, line(corsican))

    assert code == 0, err
    assert Space.objects.get(holder__nir=corsican).state == Space.State.ANNOUNCED


def test_minor_is_linked_to_representatives_from_the_file_and_from_the_database(tmp_path):
    known = factories.PatientFactory(nir=nir(sex="1", born=date(1979, 1, 3)), sex="M")
    mother = nir()
    child = nir(sex="1", born=date(2015, 6, 1))
    _out, err, code = enrol(
        tmp_path,
        # The child comes first: the mother in the file is created before the child's space.
        line(
            child,
            first="Paul",
            born="01/06/2015",
            sex="M",
            email="",
            address="1 rue A",
            reps=f"{mother}|{known.nir}",
        ),
        line(mother),
    )

    assert code == 0, err
    space = Space.objects.get(holder__nir=child)
    links = {
        (r.patient.nir, r.user_id)
        for r in LegalRepresentative.objects.filter(space=space).select_related("patient")
    }
    assert links == {(mother, None), (known.nir, known.user_id)}
    assert list(
        AuditEvent.objects.filter(space=space).order_by("seq").values_list("action", flat=True)
    ) == ["space_announced", "legal_representative_added"]
    assert verify_chain(f"space:{space.pk}") is None


def test_minor_whose_representative_is_unknown_or_refused_is_refused(tmp_path):
    refused_parent = nir()
    _out, err, code = enrol(
        tmp_path,
        line(born="01/06/2015", reps=nir()),  # line 2: nowhere to be found
        line(refused_parent, serial="12"),  # line 3: bad Carte Vitale
        line(born="01/06/2015", reps=refused_parent),  # line 4
        line(nir(), reps=nir()),  # line 5: an adult with a representative
    )

    assert code == 1
    assert re.search(r"ligne 2, colonne « representants » : le représentant \d{15} n'est ni", err)
    assert "ligne 3, colonne « carte_vitale »" in err
    assert f"ligne 4, colonne « representants » : le représentant {refused_parent} (ligne 3)" in err
    assert "ligne 5, colonne « representants » : une personne majeure" in err
    assert not Patient.objects.exists()


def test_comma_delimiter_iso_dates_and_spreadsheet_headers_are_read(tmp_path):
    person = nir(sex="1", born=date(1975, 12, 24))
    path = tmp_path / "virgules.csv"
    path.write_text(
        "\ufeffNIR,Nom,Prénoms,Date_Naissance,Sexe,Email,Adresse,Carte_Vitale\n"
        f'{person},Durand,Jean,1975-12-24,m,,"3 place X\n75001 Paris",123456789012\n',
        encoding="utf-8",
    )

    report = enrol_rows(read_csv(path), by=SYSTEM, announce=False)

    assert (report.created, report.rejected) == (1, [])
    patient = Patient.objects.get(nir=person)
    assert (patient.birth_date, patient.sex, patient.postal_address) == (
        date(1975, 12, 24),
        "M",
        "3 place X\n75001 Paris",
    )


def test_line_numbers_count_addresses_spanning_several_lines(tmp_path):
    path = csv_file(tmp_path, line(nir(), email="", address="1 rue A\n44000 Nantes"), line("123"))
    report = enrol_rows(read_csv(path), by=SYSTEM, announce=False)

    assert {r.line for r in report.rejected} == {4}


def test_missing_column_is_refused_before_anything_is_created(tmp_path):
    path = csv_file(tmp_path, "1;2", header="nir;nom")
    with pytest.raises(CommandError, match="date_naissance"):
        call_command("enrol", str(path), "--no-announce")


def test_a_failing_batch_leaves_nothing_half_created(tmp_path, monkeypatch):
    real = enrolment.trace_many
    calls = []

    def fail_on_second_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(enrolment, "trace_many", fail_on_second_batch)
    rows = read_csv(csv_file(tmp_path, *(line(nir()) for _ in range(5))))

    with pytest.raises(RuntimeError):
        enrol_rows(rows, by=SYSTEM, announce=False, batch_size=2)

    assert Patient.objects.count() == Space.objects.count() == AuditEvent.objects.count() == 2


def test_announcement_goes_by_email_or_by_letter(
    tmp_path, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://monespacesante.example"
    by_email, by_post = nir(), nir()
    with django_capture_on_commit_callbacks(execute=True):
        _out, err, code = enrol(
            tmp_path,
            line(by_email, email="claire@exemple.fr"),
            line(by_post, email="", address="5 allée B\n44000 Nantes"),
            announce=True,
        )

    assert code == 0, err
    assert [m.to for m in mail.outbox] == [["claire@exemple.fr"]]
    assert "votre code provisoire" in mail.outbox[0].subject
    assert re.search(
        r"Votre code provisoire : [A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", mail.outbox[0].body
    )
    emailed = Space.objects.get(holder__nir=by_email)
    posted = Space.objects.get(holder__nir=by_post)
    assert list(
        ProvisionalCode.objects.filter(space=emailed).values_list("channel", flat=True)
    ) == ["email"]
    assert list(ProvisionalCode.objects.filter(space=posted).values_list("channel", flat=True)) == [
        "letter"
    ]
    assert not Letter.objects.filter(space=emailed).exists()
    assert Letter.objects.get(space=posted).kind == Letter.Kind.ANNOUNCEMENT


def test_no_announce_sends_nothing(tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enrol(tmp_path, line(nir()), line(nir(), email="", address="1 rue A"))

    assert callbacks == []
    assert mail.outbox == []
    assert not ProvisionalCode.objects.exists()
    assert not Letter.objects.exists()


def test_rows_whose_birth_date_or_sex_contradict_the_nir_are_refused(tmp_path):
    born_may = nir("2", date(1980, 5, 17))
    unknown_month = with_key(f"2802044109{next(_order):03d}")  # INSEE's 20: month unknown
    _out, err, code = enrol(
        tmp_path,
        line(born_may, born="17/06/1980"),  # line 2: month 06, the NIR says 05
        line(nir("2", date(1980, 5, 17)), born="17/05/1981"),  # line 3: year
        line(nir("2", date(1980, 5, 17)), sex="M"),  # line 4: sex digit 2
        line(unknown_month, born="09/11/1980"),  # line 5: accepted
    )
    assert code == 1
    assert "ligne 2, colonne « date_naissance » : le mois de naissance ne correspond pas" in err
    assert "ligne 3, colonne « date_naissance » : l'année de naissance ne correspond pas" in err
    assert "ligne 4, colonne « sexe » : le sexe ne correspond pas au premier chiffre" in err
    assert "ligne 5" not in err
    assert list(Patient.objects.values_list("nir", flat=True)) == [unknown_month]
