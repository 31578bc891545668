"""Benchmark: enrol 100,000 insured persons from a CSV file on PostgreSQL (target < 60 s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/enrol.py [ROWS]

Generates a realistic file (80 % with email, 15 % postal address only, 5 %
minors with one or two representatives from the same file), then runs
`manage.py enrol FILE --no-announce` (the codes are not sent: that is the
workers' job, measured elsewhere), then the same file again (idempotence),
and checks what was written.
"""

from __future__ import annotations

import csv
import io
import random
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

# ruff: noqa: E402 (bench/http.py shadows the standard library's `http`: bench/ goes after it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))
import common

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
TARGET_SECONDS = 60


def generate(path: Path, rows: int, today: date) -> dict:
    from espace_sante.identity import with_key

    rng = random.Random(2026)
    adults: list[str] = []
    counts = {"email": 0, "letter": 0, "minor": 0}
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, delimiter=";")
        out.writerow(
            [
                "nir",
                "nom",
                "prenoms",
                "date_naissance",
                "sexe",
                "email",
                "adresse",
                "carte_vitale",
                "representants",
            ]
        )
        for n in range(rows):
            minor = n >= 100 and rng.random() < 0.05
            if minor:
                born = today - timedelta(days=rng.randint(1, 17 * 365))
            else:
                born = date(rng.randint(1935, 2005), rng.randint(1, 12), rng.randint(1, 28))
            sex = rng.choice("12")
            department = rng.choice(["44", "75", "13", "69", "2A", "2B", "59", "33"])
            # The 6-digit commune + order makes every NIR unique: n fits in it.
            nir = with_key(f"{sex}{born:%y%m}{department}{n:06d}")
            email, address, reps = "", "", ""
            if minor:
                counts["minor"] += 1
                reps = "|".join(rng.sample(adults, rng.choice((1, 2))))
                address = f"{rng.randint(1, 200)} rue des Écoles\n44000 Nantes"
            elif rng.random() < 0.84:
                counts["email"] += 1
                email = f"assure{n}@exemple.fr"
            else:
                counts["letter"] += 1
                address = f"{rng.randint(1, 200)} avenue de la République\n75011 Paris"
            if not minor:
                adults.append(nir)
            out.writerow(
                [
                    nir,
                    f"Nom{n}",
                    "Camille Marie",
                    f"{born:%d/%m/%Y}" if n % 2 else f"{born:%Y-%m-%d}",
                    "M" if sex == "1" else "F",
                    email,
                    address,
                    f"{1_000_000_000 + n}",
                    reps,
                ]
            )
    return counts


def main() -> None:
    url = common.setup()
    results: dict[str, float] = {}
    try:
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from acces.audit import verify_chain
        from acces.models import AuditChainHead, AuditEvent
        from espace_sante.models import LegalRepresentative, Space

        workdir = Path(tempfile.mkdtemp(prefix="mes-bench-enrol-"))
        path = workdir / "assures.csv"
        with common.timed(f"generate {ROWS:,} rows", results):
            counts = generate(path, ROWS, timezone.localdate())
        print(f"  file: {path.stat().st_size / 1e6:.1f} MB, {counts}")

        out = io.StringIO()
        with common.timed(f"enrol {ROWS:,} rows (first run)", results):
            call_command("enrol", str(path), "--no-announce", stdout=out, stderr=sys.stderr)
        print("  " + out.getvalue().strip())

        out = io.StringIO()
        with common.timed("enrol the same file again (all known)", results):
            call_command("enrol", str(path), "--no-announce", stdout=out, stderr=sys.stderr)
        print("  " + out.getvalue().strip())

        spaces = Space.objects.filter(state=Space.State.ANNOUNCED).count()
        events = AuditEvent.objects.filter(action="space_announced").count()
        links = LegalRepresentative.objects.count()
        assert spaces == events == ROWS, (spaces, events)
        assert links >= counts["minor"], links
        with connection.cursor() as cursor:
            cursor.execute("SELECT chain FROM acces_auditchainhead ORDER BY random() LIMIT 200")
            sample = [row[0] for row in cursor.fetchall()]
        broken = [c for c in sample if verify_chain(c, head=AuditChainHead.objects.get(chain=c))]
        assert not broken, broken
        print(
            f"  checked: {spaces:,} announced spaces, {events:,} events, {links:,} "
            f"representations, 200 chains verified"
        )
        first = results[f"enrol {ROWS:,} rows (first run)"]
        verdict = "OK" if first < TARGET_SECONDS * ROWS / 100_000 else "TOO SLOW"
        print(
            f"RESULT enrol {ROWS:,} rows: {first:.1f} s ({ROWS / first:,.0f} rows/s) "
            f"target < {TARGET_SECONDS} s per 100,000: {verdict}"
        )
    finally:
        common.teardown(url)


if __name__ == "__main__":
    main()
