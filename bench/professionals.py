"""Benchmark: import 100,000 professionals from an RPPS-like CSV file on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/professionals.py [ROWS]

Generates a `;`-separated file (six professions, specialties for doctors,
accented names, 60 % with an email, the others get a placeholder login),
runs `manage.py import_professionals FILE`, then the same file again
(idempotence: nothing created or updated), then a copy where one row in ten
moved town (the update path); checks what was written and times a few
directory searches on the result.
"""

from __future__ import annotations

import csv
import io
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# ruff: noqa: E402 (bench/http.py shadows the standard library's `http`: bench/ goes after it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))
import common

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
TARGET_SECONDS = 60
HEADER = ["rpps", "nom", "prenom", "profession", "specialite", "lieu_exercice", "commune", "email"]
# Comma-separated, as some names hold a space (Le Gall).
_LAST_NAMES = (
    "Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,Simon,Laurent,"
    "Lefèvre,Michel,Garcia,David,Bertrand,Roux,Vincent,Fournier,Morel,Girard,André,"
    "Lefebvre,Mercier,Dupont,Lambert,Bonnet,François,Martinez,Legrand,Garnier,Faure,"
    "Rousseau,Blanc,Guérin,Muller,Henry,Roussel,Nicolas,Perrin,Morin,Mathieu,Clément,"
    "Gauthier,Dumont,Lopez,Fontaine,Chevalier,Robin,Masson,Sanchez,Gérard,Nguyen,Boyer,"
    "Denis,Lemaire,Duval,Joly,Gautier,Roger,Roche,Roy,Noël,Meyer,Lucas,Meunier,Jean,"
    "Pérez,Marchand,Dufour,Blanchard,Barbier,Brun,Dumas,Brunet,Schmitt,Leroux,Colin,"
    "Fernandez,Pierre,Renard,Arnaud,Rolland,Caron,Aubert,Giraud,Le Gall,Le Goff,Œuvray,"
    "Hélias,Bénard,Lévêque,Besnard,Côté"
)
_FIRST_NAMES = (
    "Camille,Léa,Manon,Chloé,Emma,Inès,Jade,Louise,Hélène,Zoé,Lucas,Hugo,Louis,Jules,"
    "Gabriel,Arthur,Raphaël,Adam,Léo,Noé,Élodie,Anaïs,Maëlle,Océane,Jérôme,Stéphane,"
    "Frédéric,Amélie,Thérèse,Agnès,Benoît,Joël,Gaëlle,Loïc,Cécile,Séverine,Françoise,"
    "Jean-Pierre,Marie-Claire"
)
LAST_NAMES = _LAST_NAMES.split(",")
FIRST_NAMES = _FIRST_NAMES.split(",")
TOWNS = (
    "Paris",
    "Marseille",
    "Lyon",
    "Toulouse",
    "Nice",
    "Nantes",
    "Montpellier",
    "Strasbourg",
    "Bordeaux",
    "Lille",
    "Rennes",
    "Reims",
    "Saint-Étienne",
    "Le Havre",
    "Toulon",
    "Grenoble",
    "Dijon",
    "Angers",
    "Nîmes",
    "Villeurbanne",
    "Clermont-Ferrand",
    "Le Mans",
    "Aix-en-Provence",
    "Brest",
    "Tours",
    "Amiens",
    "Limoges",
    "Annecy",
    "Perpignan",
    "Besançon",
    "Orléans",
    "Évreux",
)
# Roughly the mix of the RPPS: nurses, then doctors, physiotherapists, pharmacists…
PROFESSIONS = (
    ("Infirmier", 0.40),
    ("Médecin", 0.30),
    ("Masseur-Kinésithérapeute", 0.12),
    ("Pharmacien", 0.10),
    ("Chirurgien-Dentiste", 0.05),
    ("Sage-Femme", 0.03),
)
SPECIALTIES = (
    "Médecine générale",
    "Médecine générale",
    "Médecine générale",
    "Cardiologie",
    "Pédiatrie",
    "Psychiatrie",
    "Radiologie",
    "Médecine d'urgence",
    "Médecine du travail",
)


def generate(path: Path, rows: int) -> dict:
    from acces.validators import luhn_complete

    rng = random.Random(2026)
    labels, weights = zip(*PROFESSIONS, strict=True)
    counts = {"email": 0, "placeholder": 0}
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, delimiter=";")
        out.writerow(HEADER)
        for n in range(rows):
            profession = rng.choices(labels, weights)[0]
            specialty = rng.choice(SPECIALTIES) if profession == "Médecin" else ""
            town = rng.choice(TOWNS)
            email = ""
            if rng.random() < 0.6:
                email = f"pro{n}@exemple.fr"
                counts["email"] += 1
            else:
                counts["placeholder"] += 1
            out.writerow(
                [
                    luhn_complete(f"1{n:09d}"),
                    rng.choice(LAST_NAMES).upper() if n % 3 == 0 else rng.choice(LAST_NAMES),
                    rng.choice(FIRST_NAMES),
                    profession,
                    specialty,
                    f"Cabinet {n % 997}" if n % 2 else "",
                    town,
                    email,
                ]
            )
    return counts


def moved_copy(source: Path, target: Path) -> int:
    """The same file where every tenth professional moved to Quimper."""
    moved = 0
    with (
        open(source, encoding="utf-8", newline="") as src,
        open(target, "w", encoding="utf-8", newline="") as dst,
    ):
        reader, writer = csv.reader(src, delimiter=";"), csv.writer(dst, delimiter=";")
        writer.writerow(next(reader))
        for n, row in enumerate(reader):
            if n % 10 == 0:
                row[6] = "Quimper"
                moved += 1
            writer.writerow(row)
    return moved


def run_import(path: Path, label: str, results: dict) -> str:
    from django.core.management import call_command

    out = io.StringIO()
    with common.timed(label, results):
        call_command("import_professionals", str(path), stdout=out, stderr=sys.stderr)
    summary = out.getvalue().strip()
    print("  " + summary)
    return summary


def time_searches() -> None:
    from acces.directory import search_professionals
    from acces.models import Professional

    some = Professional.objects.order_by("?").values_list("rpps", flat=True).first()
    cases = {
        "name prefix 'mart'": {"query": "mart"},
        "two words 'dupont camille'": {"query": "dupont camille"},
        "accents 'helene lefe'": {"query": "helene lefe"},
        "exact RPPS": {"query": some},
        "profession 'medecin' + town 'saint etienne'": {
            "profession": "medecin",
            "town": "saint etienne",
        },
    }
    for label, criteria in cases.items():
        timings, count = [], 0
        for _ in range(12):
            start = time.perf_counter()
            count = len(search_professionals(**criteria, limit=50))
            timings.append(time.perf_counter() - start)
        timings = timings[2:]  # warm-up
        print(
            f"  search {label:<44} median {statistics.median(timings) * 1000:7.1f} ms"
            f"  max {max(timings) * 1000:7.1f} ms  ({count} shown, limit 50)"
        )


def main() -> None:
    url = common.setup()
    results: dict[str, float] = {}
    workdir = Path(tempfile.mkdtemp(prefix="mes-bench-annuaire-"))
    try:
        from acces.audit import verify_chain
        from acces.models import AuditChainHead, AuditEvent, Professional
        from espace_sante.models import User

        path = workdir / "professionnels.csv"
        with common.timed(f"generate {ROWS:,} rows", results):
            counts = generate(path, ROWS)
        print(f"  file: {path.stat().st_size / 1e6:.1f} MB, {counts}")

        first_label = f"import {ROWS:,} rows (first run)"
        summary = run_import(path, first_label, results)
        assert summary.startswith(f"{ROWS} professionnel(s) créé(s)"), summary

        summary = run_import(path, "import the same file again (all known)", results)
        assert summary.startswith("0 professionnel(s) créé(s), 0 mis à jour"), summary

        moved = moved_copy(path, workdir / "demenagements.csv")
        summary = run_import(
            workdir / "demenagements.csv", f"import again, {moved:,} moved town", results
        )
        assert f"0 professionnel(s) créé(s), {moved} mis à jour" in summary, summary

        professionals = Professional.objects.count()
        users = User.objects.filter(kind=User.Kind.PROFESSIONAL).count()
        placeholders = User.objects.filter(email__endswith="@annuaire.invalid").count()
        assert professionals == users == ROWS, (professionals, users)
        assert placeholders == counts["placeholder"], placeholders
        assert Professional.objects.filter(practice_town="Quimper").count() == moved
        events = AuditEvent.objects.filter(action="professionals_imported")
        traced = sum(len(e.detail["created"]) for e in events.only("detail"))
        retraced = sum(len(e.detail["updated"]) for e in events.only("detail"))
        assert (traced, retraced) == (ROWS, moved), (traced, retraced)
        chain = events.first().chain
        assert verify_chain(chain, head=AuditChainHead.objects.get(chain=chain)) is None
        print(
            f"  checked: {professionals:,} professionals and accounts, {placeholders:,} "
            f"placeholder logins, {events.count()} audit events naming {traced:,} created and "
            f"{retraced:,} updated, chain {chain} verified"
        )

        common.vacuum_analyze("acces_professional", "espace_sante_user")
        time_searches()

        first = results[first_label]
        verdict = "OK" if first < TARGET_SECONDS * ROWS / 100_000 else "TOO SLOW"
        print(
            f"RESULT import_professionals {ROWS:,} rows: {first:.1f} s ({ROWS / first:,.0f} "
            f"rows/s) target < {TARGET_SECONDS} s per 100,000: {verdict}"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        common.teardown(url)


if __name__ == "__main__":
    main()
