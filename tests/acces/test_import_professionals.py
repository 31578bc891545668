"""Bulk import of the professionals directory: `manage.py import_professionals FILE.csv`."""

import io
import itertools
import re
from pathlib import Path

import pytest
from django.contrib.auth.hashers import is_password_usable
from django.core.management import CommandError, call_command

from acces import directory
from acces.audit import verify_chain
from acces.directory import import_rows, read_csv
from acces.models import AuditChainHead, AuditEvent, Profession, Professional
from acces.validators import luhn_complete, luhn_is_valid
from espace_sante.models import User
from espace_sante.tracing import Actor
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = "rpps;nom;prenom;profession;specialite;lieu_exercice;commune;email"
_counter = itertools.count(1)


def rpps() -> str:
    """A fresh RPPS number with a valid Luhn key (factories use the 2… range, we use 1…)."""
    return luhn_complete(f"{1000000000 + next(_counter)}")


def bad_key(number: str) -> str:
    """The same number with a wrong check digit."""
    wrong = next(d for d in "0123456789" if not luhn_is_valid(number[:10] + d))
    return number[:10] + wrong


def line(
    number=None,
    *,
    last="Martin",
    first="Claire",
    profession="medecin",
    specialty="",
    place="",
    town="Nantes",
    email="",
    sep=";",
):
    return sep.join([number or rpps(), last, first, profession, specialty, place, town, email])


def csv_file(tmp_path, *lines, header=HEADER, name="professionnels.csv", bom=False):
    path = tmp_path / name
    text = "\n".join([header, *lines]) + "\n"
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def run(path, *options):
    """Run the command; return (stdout, stderr, exit code)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_professionals", str(path), *options, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return out.getvalue(), err.getvalue(), code


def imported_events():
    return AuditEvent.objects.filter(action="professionals_imported").order_by("seq")


def test_import_creates_professionals_with_inactive_login_and_traces_them(tmp_path):
    doctor, nurse = rpps(), rpps()
    path = csv_file(
        tmp_path,
        line(
            doctor,
            last="Durand",
            first="Hélène",
            specialty="cardiologie",
            place="Cabinet du Port",
            email="Helene.Durand@Exemple.fr",
        ),
        line(nurse, last="Le Gall", first="Yann", profession="infirmier", town="Brest"),
    )

    out, err, code = run(path)

    assert code == 0, err
    assert "2 professionnel(s) créé(s), 0 mis à jour, 0 inchangé(s), 0 ligne(s) refusée(s)" in out
    helene = Professional.objects.select_related("user").get(rpps=doctor)
    assert (helene.user.first_name, helene.user.last_name, helene.user.email) == (
        "Hélène",
        "Durand",
        "helene.durand@exemple.fr",
    )
    assert (helene.profession, helene.specialty, helene.practice_name, helene.practice_town) == (
        "medecin",
        "cardiologie",
        "Cabinet du Port",
        "Nantes",
    )
    assert helene.user.kind == User.Kind.PROFESSIONAL
    assert helene.user.is_active
    assert not is_password_usable(helene.user.password)
    yann = Professional.objects.select_related("user").get(rpps=nurse)
    assert yann.user.email == f"rpps-{nurse}@annuaire.invalid"
    assert not is_password_usable(yann.user.password)

    [event] = imported_events()
    assert (event.role, event.actor_id, event.target_type) == ("system", None, "acces.professional")
    assert event.detail == {
        "created": [doctor, nurse],
        "updated": {},
        "source": "professionnels.csv",
    }
    assert verify_chain(event.chain, head=AuditChainHead.objects.get(chain=event.chain)) is None


def test_second_run_of_the_same_file_changes_nothing(tmp_path):
    path = csv_file(tmp_path, line(), line(last="Petit"), line(profession="Pharmacien"))
    assert run(path)[2] == 0
    users, events = User.objects.count(), AuditEvent.objects.count()

    out, err, code = run(path)

    assert code == 0, err
    assert "0 professionnel(s) créé(s), 0 mis à jour, 3 inchangé(s), 0 ligne(s) refusée(s)" in out
    assert Professional.objects.count() == 3
    assert User.objects.count() == users
    assert AuditEvent.objects.count() == events


def test_known_rpps_is_updated_in_place_and_the_change_traced(tmp_path):
    moved, stays = rpps(), rpps()
    run(csv_file(tmp_path, line(moved, town="Nantes"), line(stays, town="Nantes")))
    before = Professional.objects.get(rpps=moved)

    out, err, code = run(
        csv_file(
            tmp_path,
            line(moved, first="Claire-Marie", town="Saint-Nazaire", email="autre@exemple.fr"),
            line(stays, town="Nantes"),
            name="v2.csv",
        )
    )

    assert code == 0, err
    assert "0 professionnel(s) créé(s), 1 mis à jour, 1 inchangé(s)" in out
    after = Professional.objects.select_related("user").get(rpps=moved)
    assert after.pk == before.pk and after.user_id == before.user_id
    assert (after.practice_town, after.user.first_name) == ("Saint-Nazaire", "Claire-Marie")
    # The login belongs to the professional once created: the file does not change it.
    assert after.user.email == f"rpps-{moved}@annuaire.invalid"
    assert Professional.objects.count() == 2
    last = imported_events().last()
    assert last.detail["created"] == []
    assert last.detail["updated"] == {moved: ["first_name", "practice_town"]}


def test_absent_optional_columns_keep_the_known_values(tmp_path):
    number = rpps()
    run(csv_file(tmp_path, line(number, specialty="pediatrie", place="Clinique", town="Nantes")))

    out, err, code = run(
        csv_file(tmp_path, f"{number};Martin;Claire;medecin", header="rpps;nom;prenom;profession")
    )

    assert code == 0, err
    assert "1 inchangé(s)" in out
    kept = Professional.objects.get(rpps=number)
    assert (kept.specialty, kept.practice_name, kept.practice_town) == (
        "pediatrie",
        "Clinique",
        "Nantes",
    )


def test_bad_rows_are_reported_by_line_and_skipped_and_the_rest_loads(tmp_path):
    taken = factories.UserFactory(email="pris@exemple.fr")
    good, first_dup = rpps(), rpps()
    path = csv_file(
        tmp_path,
        line(good),  # line 2
        line(bad_key(rpps())),  # line 3
        line(profession="Ostéopathe"),  # line 4
        line(last=""),  # line 5
        line(first_dup),  # line 6
        line(first_dup, first="Autre"),  # line 7: same RPPS again
        line(email="PRIS@exemple.fr"),  # line 8: someone else's address
        line("123"),  # line 9
        line(profession="pharmacien", specialty="cardiologie"),  # line 10
        line(specialty="Dermatologie"),  # line 11
        line(email="pas-une-adresse"),  # line 12
    )

    out, err, code = run(path)

    assert code == 1
    assert "ligne 3, colonne « rpps » : La clé du numéro RPPS n'est pas valide." in err
    assert "ligne 4, colonne « profession » : profession « Ostéopathe » inconnue" in err
    assert "ligne 5, colonne « nom » : champ obligatoire." in err
    assert "ligne 7, colonne « rpps » : numéro RPPS déjà présent ligne 6 du fichier." in err
    assert (
        "ligne 8, colonne « email » : l'adresse e-mail « pris@exemple.fr » est déjà celle "
        "d'un autre compte." in err
    )
    assert "ligne 9, colonne « rpps » : Le numéro RPPS compte exactement 11 chiffres." in err
    assert "ligne 10, colonne « specialite » : une spécialité médicale ne s'applique" in err
    assert "ligne 11, colonne « specialite » : spécialité « Dermatologie » inconnue" in err
    assert "ligne 12, colonne « email » : adresse e-mail « pas-une-adresse » invalide." in err
    assert not re.search(r"ligne [26],", err)
    assert "2 professionnel(s) créé(s), 0 mis à jour, 0 inchangé(s), 9 ligne(s) refusée(s)" in out
    assert set(Professional.objects.values_list("rpps", flat=True)) == {good, first_dup}
    assert Professional.objects.get(rpps=first_dup).user.first_name == "Claire"
    assert not hasattr(User.objects.get(pk=taken.pk), "professional")
    assert User.objects.filter(email="pris@exemple.fr").count() == 1


def test_same_email_twice_in_the_file_refuses_the_second_row(tmp_path):
    first, second = rpps(), rpps()
    _out, err, code = run(
        csv_file(tmp_path, line(first, email="a@exemple.fr"), line(second, email="A@exemple.fr"))
    )

    assert code == 1
    assert "ligne 3, colonne « email » : adresse e-mail déjà présente ligne 2 du fichier." in err
    assert list(Professional.objects.values_list("rpps", flat=True)) == [first]


def test_comma_delimiter_bom_labels_with_accents_and_spreadsheet_headers_are_read(tmp_path):
    kine, midwife, dentist = rpps(), rpps(), rpps()
    path = csv_file(
        tmp_path,
        f"{kine},Bérénice,Lefèvre,Masseur-Kinésithérapeute,,,Saint-Étienne,",
        f"{midwife},Roux,Anne,SAGE-FEMME,,,Lyon,",
        f'{dentist},Nguyen,Minh,chirurgien_dentiste,,"Centre dentaire, 2e étage",Paris,',
        f"{rpps()},Morel,Luc,Médecin,Médecine d'urgence,,Lille,",
        header="RPPS,Nom,Prénom,Profession,Spécialité,Lieu d'exercice,Commune,Email",
        bom=True,
    )

    out, err, code = run(path)

    assert code == 0, err
    assert "4 professionnel(s) créé(s)" in out
    found = dict(Professional.objects.values_list("rpps", "profession"))
    assert found[kine] == "masseur_kinesitherapeute"
    assert found[midwife] == "sage_femme"
    assert found[dentist] == "chirurgien_dentiste"
    assert Professional.objects.get(rpps=dentist).practice_name == "Centre dentaire, 2e étage"
    assert Professional.objects.get(user__last_name="Morel").specialty == "medecine_urgence"


def test_semicolon_file_with_extra_columns_and_spaced_rpps_is_read(tmp_path):
    number = rpps()
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    path = csv_file(
        tmp_path,
        f"{spaced};Bernard;Julie;Pharmacienne;;Pharmacie du Centre;Rennes;;inutile",
        header="rpps;nom;prenom;profession;specialite;lieu_exercice;commune;email;autre",
    )

    report = import_rows(read_csv(path), by=Actor.system())

    assert (report.created, report.rejected) == (1, [])
    assert Professional.objects.get(rpps=number).profession == "pharmacien"


def test_dry_run_checks_and_counts_but_writes_nothing(tmp_path):
    known = factories.ProfessionalFactory(practice_town="Nantes")
    path = csv_file(
        tmp_path,
        line(rpps()),
        line(known.rpps, last=known.user.last_name, first="Paul", town="Angers"),
        line(bad_key(rpps())),
    )
    events = AuditEvent.objects.count()

    out, err, code = run(path, "--dry-run")

    assert code == 1
    assert "ligne 4, colonne « rpps »" in err
    assert (
        "Simulation, rien n'a été enregistré : 1 professionnel(s) créé(s), 1 mis à jour, "
        "0 inchangé(s), 1 ligne(s) refusée(s)." in out
    )
    assert list(Professional.objects.values_list("rpps", flat=True)) == [known.rpps]
    assert Professional.objects.get(pk=known.pk).practice_town == "Nantes"
    assert AuditEvent.objects.count() == events


def test_each_batch_is_traced_by_one_event_naming_its_professionals(tmp_path):
    numbers = [rpps() for _ in range(5)]
    path = csv_file(tmp_path, *(line(n) for n in numbers))

    report = import_rows(read_csv(path), by=Actor.system(), batch_size=2)

    assert report.created == 5
    events = list(imported_events())
    assert [e.detail["created"] for e in events] == [numbers[0:2], numbers[2:4], numbers[4:]]
    chain = events[0].chain
    assert verify_chain(chain, head=AuditChainHead.objects.get(chain=chain)) is None


def test_a_failing_batch_leaves_nothing_half_created(tmp_path, monkeypatch):
    real = directory.trace
    calls = []

    def fail_on_second_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(directory, "trace", fail_on_second_batch)
    path = csv_file(tmp_path, *(line() for _ in range(5)))

    with pytest.raises(RuntimeError):
        import_rows(read_csv(path), by=Actor.system(), batch_size=2)

    assert Professional.objects.count() == 2
    assert User.objects.filter(kind=User.Kind.PROFESSIONAL).count() == 2
    assert imported_events().count() == 1


def test_missing_column_or_empty_file_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(CommandError, match="profession"):
        call_command("import_professionals", str(csv_file(tmp_path, "1;2;3", header="rpps;nom;x")))
    empty = tmp_path / "vide.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match="vide"):
        call_command("import_professionals", str(empty))
    assert not Professional.objects.exists()


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\n" + line(last="Lefèvre") + "\n").encode("latin-1"))

    with pytest.raises(CommandError, match="UTF-8"):
        call_command("import_professionals", str(path))
    assert not Professional.objects.exists()


def test_the_sample_file_of_the_documentation_loads_without_a_rejected_line():
    sample = Path(__file__).resolve().parents[2] / "docs" / "exemples" / "professionnels.csv"

    out, err, code = run(sample)

    assert code == 0, err
    assert "11 professionnel(s) créé(s), 0 mis à jour, 0 inchangé(s), 0 ligne(s)" in out
    assert set(Professional.objects.values_list("profession", flat=True)) == {
        value for value, _label in Profession.choices
    }


def test_digits_other_than_0_to_9_are_a_bad_rpps_not_a_crash(tmp_path):
    _out, err, code = run(csv_file(tmp_path, line("1000000000²"), line()))

    assert code == 1
    assert "ligne 2, colonne « rpps » : Le numéro RPPS compte exactement 11 chiffres." in err
    assert Professional.objects.count() == 1


def test_an_unreadable_csv_is_refused_with_its_line(tmp_path):
    path = csv_file(tmp_path, line(), line(place="x" * 200_000))

    with pytest.raises(CommandError, match="pas un CSV lisible vers la ligne 3"):
        call_command("import_professionals", str(path))
    assert not Professional.objects.exists()


def test_the_directory_finds_a_professional_by_the_name_and_town_a_later_file_gave(tmp_path):
    number = rpps()
    run(csv_file(tmp_path, line(number, last="Martin", first="Claire", town="Nantes")))
    run(
        csv_file(
            tmp_path,
            line(number, last="Lœuvre-Dupré", first="Élodie", town="Saint-Étienne"),
            name="v2.csv",
        )
    )
    found = directory.search_professionals(query="loeuvre elo", town="saint etienne")
    assert [p.rpps for p in found] == [number]
    assert not directory.search_professionals(query="martin")
    assert not directory.search_professionals(query="claire", town="nantes")
    professional = Professional.objects.get(rpps=number)
    assert professional.search_name == " loeuvre dupre elodie "
    assert professional.search_town == "saint etienne"
