"""Benchmark: sweep 1,000,000 announced spaces past their six weeks (target < 60 s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sweep.py [N]

The spaces are generated in SQL (`INSERT … SELECT generate_series`), not
through the ORM: patients, announced spaces whose deadline has passed, and
their audit chain heads (at seq 0, the genesis hash). Then
`lifecycle.sweep_announced()` is timed, and the result checked: every space
created, one `space_created` event each, a sample of chains verified, and a
second sweep finds nothing to do.
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402 (bench/http.py shadows the standard library's `http`: bench/ goes after it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))
import common

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
TARGET_SECONDS = 60


def generate(n: int) -> None:
    from django.db import connection

    from acces.models import GENESIS_HASH

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO espace_sante_patient
                (nir, last_name, first_names, birth_date, sex, carte_vitale_serial,
                 email, postal_address)
            SELECT '9' || lpad(g::text, 14, '0'), 'Nom' || g, 'Camille',
                   date '1940-01-01' + (g %% 25000), CASE WHEN g %% 2 = 0 THEN 'F' ELSE 'M' END,
                   (1000000000 + g)::text, 'assure' || g || '@exemple.fr', ''
            FROM generate_series(1, %s) AS g
            """,
            [n],
        )
        cursor.execute(
            """
            INSERT INTO espace_sante_space
                (public_id, holder_id, state, state_changed_at, created_at, opposition_deadline)
            SELECT gen_random_uuid(), p.id, 'announced', now() - interval '43 days',
                   now() - interval '43 days', now() - interval '1 day'
            FROM espace_sante_patient AS p
            """
        )
        cursor.execute(
            """
            INSERT INTO acces_auditchainhead (chain, seq, last_hash, updated_at)
            SELECT 'space:' || s.id, 0, %s, now() FROM espace_sante_space AS s
            """,
            [GENESIS_HASH],
        )
    common.vacuum_analyze("espace_sante_patient", "espace_sante_space", "acces_auditchainhead")


def main() -> None:
    url = common.setup()
    results: dict[str, float] = {}
    try:
        from django.db import connection

        from acces.audit import verify_chain
        from acces.models import AuditChainHead, AuditEvent
        from espace_sante import lifecycle
        from espace_sante.models import Notification, Space

        with common.timed(f"generate {N:,} announced spaces (SQL)", results):
            generate(N)

        label = f"sweep_announced() over {N:,} spaces"
        with common.timed(label, results):
            swept = lifecycle.sweep_announced()
        with common.timed("sweep again (nothing left)", results):
            again = lifecycle.sweep_announced()

        created = Space.objects.filter(state=Space.State.CREATED).count()
        events = AuditEvent.objects.filter(action="space_created").count()
        told = Notification.objects.filter(kind="space_created").count()
        assert swept == created == events == told == N, (swept, created, events, told)
        assert again == 0, again
        with connection.cursor() as cursor:
            cursor.execute("SELECT chain FROM acces_auditchainhead ORDER BY random() LIMIT 500")
            sample = [row[0] for row in cursor.fetchall()]
        broken = [c for c in sample if verify_chain(c, head=AuditChainHead.objects.get(chain=c))]
        assert not broken, broken
        print(
            f"  checked: {created:,} created, {events:,} events, {told:,} notifications, "
            "500 chains verified"
        )
        elapsed = results[label]
        verdict = "OK" if elapsed < TARGET_SECONDS * N / 1_000_000 else "TOO SLOW"
        print(
            f"RESULT sweep {N:,} spaces: {elapsed:.1f} s ({N / elapsed:,.0f} spaces/s) "
            f"target < {TARGET_SECONDS} s per 1,000,000: {verdict}"
        )
    finally:
        common.teardown(url)


if __name__ == "__main__":
    main()
