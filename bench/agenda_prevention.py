"""Benchmark: the nightly prevention computation over 1,000,000 spaces (target < 10 min).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/agenda_prevention.py [N]

Database `pv_bench` (override with BENCH_DB). Generated in SQL: N patients born between
1926 and 2026 (one birth date in 36,500), half women, each with an account and an active
space; 10 % with a vaccination in the profile, 5 % with a care event (a mammography or a
dispensed flu vaccine), 2 % with a mark done, 1 % with a declared condition, 0.5 % with a
minor's representative. Timed: `agenda.prevention.batch.run` on the first day (every space
computed, statuses written, notifications inserted: the worst case), again the same day
(nothing left), the next day, and a month later. The emails' delivery tasks are not
queued (`enqueue=False`): they are the outbox's work, one task per batch.
"""

from __future__ import annotations

import os
import sys
from datetime import date, timedelta
from pathlib import Path

# bench/http.py shadows the standard library's `http`: bench/ goes after it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]
os.environ.setdefault("BENCH_DB", "pv_bench")
import common  # noqa: E402 (after the path is set)

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
TARGET_SECONDS = 600
DAY = date(2026, 12, 2)
PARALLEL = int(os.environ.get("PREVENTION_PARALLELISM", "2"))


def generate(n: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO espace_sante_user
                (password, is_superuser, email, first_name, last_name, kind, is_active,
                 is_staff, date_joined)
            SELECT '!', false, 'assure' || g || '@exemple.fr', 'Camille', 'Nom' || g,
                   'patient', true, false, now()
            FROM generate_series(1, %s) AS g
            """,
            [n],
        )
        cursor.execute(
            """
            INSERT INTO espace_sante_patient
                (nir, last_name, first_names, birth_date, sex, carte_vitale_serial,
                 email, postal_address, user_id)
            SELECT '9' || lpad(u.id::text, 14, '0'), u.last_name, 'Camille',
                   date '1926-06-01' + (u.id %% 36500)::int,
                   CASE WHEN u.id %% 2 = 0 THEN 'F' ELSE 'M' END,
                   (1000000000 + u.id)::text, u.email, '', u.id
            FROM espace_sante_user AS u
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO espace_sante_space (public_id, holder_id, state, state_changed_at,
                                            created_at)
            SELECT gen_random_uuid(), p.id, 'active', now(), now()
            FROM espace_sante_patient AS p
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO dossier_vaccination (space_id, vaccine, date, lot, given_by)
            SELECT s.id, (ARRAY['DTP (rappel)', 'Vaxigrip', 'Gardasil 9', 'Shingrix',
                                'Prevenar 20'])[1 + s.id %% 5],
                   date '2015-01-01' + (s.id %% 3600)::int, '', ''
            FROM espace_sante_space AS s WHERE s.id %% 10 = 3
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO agenda_careevent (space_id, date, kind, code, public_id,
                details_ciphertext, professional_rpps, establishment_finess, source)
            SELECT s.id, date '2022-01-01' + (s.id %% 1400)::int,
                   CASE WHEN s.id %% 2 = 0 THEN 'act' ELSE 'dispensation' END,
                   CASE WHEN s.id %% 2 = 0 THEN 'QEQK004' ELSE 'J07BB02' END,
                   gen_random_uuid(), ''::bytea, '', '', 'bench'
            FROM espace_sante_space AS s WHERE s.id %% 20 = 7
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO agenda_preventionmark (space_id, rule_code, rule_version, kind,
                                               done_on, created_at)
            SELECT s.id, 'depistage-colorectal', '2025', 'done',
                   date '2025-01-01' + (s.id %% 600)::int, now()
            FROM espace_sante_space AS s WHERE s.id %% 50 = 11
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO agenda_preventionpreference (space_id, programmes_off, conditions,
                                                     updated_at)
            SELECT s.id, '[]'::jsonb, '["diabete"]'::jsonb, now()
            FROM espace_sante_space AS s WHERE s.id %% 100 = 13
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO espace_sante_legalrepresentative (space_id, user_id, since)
            SELECT s.id, s.id - 1, now() - interval '1 day'
            FROM espace_sante_space AS s WHERE s.id %% 200 = 17
            """,
            [],
        )
    common.vacuum_analyze(
        "espace_sante_user",
        "espace_sante_patient",
        "espace_sante_space",
        "dossier_vaccination",
        "agenda_careevent",
        "agenda_preventionmark",
        "agenda_preventionpreference",
        "espace_sante_legalrepresentative",
    )


def main() -> None:
    url = common.setup()
    results: dict[str, float] = {}
    try:
        import time_machine

        from agenda.models import PreventionStatus
        from agenda.prevention import batch
        from espace_sante.models import Notification

        with common.timed(f"generate {N:,} spaces and their facts (SQL)", results):
            generate(N)

        def run(day):
            with time_machine.travel(day, tick=False):
                return batch.run(day, enqueue=False, parallel=PARALLEL)

        label = f"first day: batch.run() over {N:,} spaces"
        with common.timed(label, results):
            first = run(DAY)
        print(
            f"  {first.spaces:,} spaces in {first.batches:,} batches, {first.computed:,} engine "
            f"runs, {first.notified_spaces:,} spaces notified, {first.notifications:,} emails"
        )
        with common.timed("same day again (nothing left)", results):
            again = run(DAY)
        with common.timed("the next day", results):
            next_day = run(DAY + timedelta(days=1))
        print(f"  next day: {next_day.spaces:,} spaces, {next_day.notifications:,} emails")
        with common.timed("a month later", results):
            month = run(DAY + timedelta(days=31))
        print(f"  a month later: {month.spaces:,} spaces, {month.notifications:,} emails")

        statuses = PreventionStatus.objects.count()
        told = Notification.objects.filter(kind=batch.TEMPLATE).count()
        assert first.spaces == N == statuses, (first.spaces, statuses)
        assert again.spaces == 0 and again.notifications == 0, again
        assert told == first.notifications + next_day.notifications + month.notifications
        # At most one a week: nobody was told twice within 7 days.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT count(*) FROM (
                    SELECT recipient_id FROM espace_sante_notification
                    WHERE kind = %s AND created_at::date < %s
                    GROUP BY recipient_id, space_id HAVING count(*) > 1) AS t
                """,
                [batch.TEMPLATE, DAY + timedelta(days=7)],
            )
            twice = cursor.fetchone()[0]
        assert twice == 0, twice
        print(f"  checked: {statuses:,} statuses, {told:,} notifications, none twice in a week")
        elapsed = results[label]
        verdict = "OK" if elapsed < TARGET_SECONDS * N / 1_000_000 else "TOO SLOW"
        print(
            f"RESULT prevention {N:,} spaces: {elapsed:.1f} s ({N / elapsed:,.0f} spaces/s) "
            f"target < {TARGET_SECONDS} s per 1,000,000: {verdict}"
        )
    finally:
        common.teardown(url)


if __name__ == "__main__":
    main()
