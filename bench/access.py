"""Access control (issue 5): the professional's pages, the patient's trail, the audit write.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/access.py
    ... bench/access.py 10000 100000 1000000   # patients, documents, audit events (a smaller run)

Targets (issue 5), with 100,000 patients (active spaces), 1,000,000 documents and
10,000,000 audit events:

1. a professional's view of a 500-document record answers p95 < 100 ms: the pro
   documents page (`/pro/patients/<id>/documents/`) and the patient page
   (`/pro/patients/<id>/`), signed in as the attending GP and as a pharmacist of
   the care team; the record's documents mix the LOINC types of the reference
   list, one in ten masked;
2. the patient's trail (`/espace/<id>/historique/`, first page) of a space with
   about 20,000 events answers p95 < 100 ms, without and with a filter
   (`?qui=professional&resultat=denied`);
3. one audit write (`acces.audit.record`, head row locked, in its own
   transaction) adds < 2 ms: median and p95 of 2,000 writes spread over the
   spaces; and the documents page with and without its trace;
4. the policy decision of the documents list costs a constant number of
   queries: the pro documents page with 1 and with 500 documents.

Pages are requested through Django's test client (the whole Django stack,
session, OTP check, policy, audit write, template; no network hop), 200 times
after 20 warm-ups. The measured people, their accounts, TOTP devices and care
relations go through the services; the bulk (patients with accounts, spaces,
their care relations, documents, audit events) is generated in SQL, and 5 % as
many professionals through the ORM's bulk_create. Audit events get consistent
per-chain `seq` numbers, a `prev_hash` that links to the previous event and
matching chain heads, so new writes append as in production, but their hashes
are md5-based placeholders: `verify_audit_trail` would flag every generated
chain. The database (`mes_bench_acces` unless BENCH_DB says otherwise) is
dropped at the end.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

# ruff: noqa: E402 (bench/http.py shadows the standard library's `http`: bench/ goes after it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DB", "mes_bench_acces")  # not `mes_bench`: other scripts use it

import common

os.environ.setdefault("EMAIL_URL", "memorymail://")  # the benchmark sends no real email

PATIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
DOCUMENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
EVENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
OWN = 500  # documents of the record the professionals open
HISTORY_EVENTS = min(20_000, EVENTS // 10)  # events of the space whose trail is read
RECORD_EVENTS = min(2_000, EVENTS // 100)  # events of the 500-document record
WARMUPS, REQUESTS = 20, 200
WRITES = 2_000
# The tables the generators fill, analysed once they are loaded.
DATA_SET_TABLES = [
    "espace_sante_user",
    "espace_sante_patient",
    "espace_sante_space",
    "acces_professional",
    "acces_carerelation",
    "acces_auditchainhead",
    "dossier_document",
    "acces_auditevent",
]
EVENT_BATCH = 1_000_000
PAGE_TARGET_MS, WRITE_TARGET_MS = 100, 2
PASSWORD = "Une-phrase-de-passe-2026"
GENESIS = "0" * 64
# Generated professionals, one in ten of each: four GPs, two nurses, a pharmacist…
PROFESSION_MIX = [
    "medecin",
    "medecin",
    "medecin",
    "medecin",
    "infirmier",
    "infirmier",
    "pharmacien",
    "masseur_kinesitherapeute",
    "chirurgien_dentiste",
    "sage_femme",
]
# The generated trail, by bucket (0-19) of each event: who, on what basis, what, outcome.
# 0-9 and 19: the space's GP (even) or pharmacist (odd), allowed; 10: a professional
# without any basis, denied; 11-15: the holder; 16-18: the system.
ACTIONS = [
    "view_space",
    "view_space",
    "view_document",
    "view_document",
    "view_document",
    "view_space",
    "view_profile",
    "view_document",
    "add_document",
    "view_document",
    "view_space",
    "view_space",
    "view_document",
    "view_history",
    "manage_access",
    "view_document",
    "space_activated",
    "export_space",
    "space_created",
    "view_document",
]


def sql_hash(chain: str, seq: str) -> str:
    """The placeholder hash of event `seq` of `chain` (SQL expressions), 64 hex digits."""
    return f"md5({chain} || '/' || ({seq})::text) || md5(({seq})::text || '/' || {chain})"


def document_types() -> list[tuple[str, str]]:
    """(LOINC code, category) of every document type, as migrated (dossier 0002 and later)."""
    from dossier.models import DocumentType

    return list(DocumentType.objects.order_by("code").values_list("code", "category"))


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in values) + "]"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * fraction) - 1)]


# --- The measured people, through the services --------------------------------------------


def make_subjects():
    from django.db import transaction
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from acces.services import (
        declare_consent,
        designate_attending_physician,
        register_professional,
    )
    from acces.validators import luhn_complete
    from espace_sante.identity import with_key
    from espace_sante.models import Space
    from espace_sante.services import enrol_person, open_account
    from espace_sante.tracing import Actor

    system = Actor.system()

    def person(n: int, first: str, last: str):
        email = f"{first.lower()}@exemple.fr"
        space = enrol_person(
            nir=with_key(f"18505750561{n:02d}"),
            last_name=last,
            first_names=first,
            birth_date=date(1985, 5, 1),
            sex="M",
            carte_vitale_serial=f"12345678{n:02d}",
            email=email,
            announce=False,
            by=system,
        )
        user = open_account(space=space, email=email, password=PASSWORD, by=system)
        return Space.objects.select_related("holder").get(pk=space.pk), user

    def professional(n: int, first: str, last: str, profession: str, specialty: str):
        pro = register_professional(
            email=f"{first.lower()}.{last.lower()}@exemple.fr",
            first_name=first,
            last_name=last,
            rpps=luhn_complete(f"1000000{n:03d}"),
            profession=profession,
            specialty=specialty,
            password=PASSWORD,
            by=system,
        )
        TOTPDevice.objects.create(user=pro.user, name="application", confirmed=True)
        return pro

    record, record_user = person(1, "Alix", "Mesure")  # 500 documents
    history, history_user = person(2, "Camille", "Trace")  # ~20,000 events
    single, single_user = person(3, "Dominique", "Seul")  # 1 document
    gp = professional(1, "Marie", "Generaliste", "medecin", "medecine_generale")
    pharmacist = professional(2, "Paul", "Officine", "pharmacien", "")
    for space, holder in ((record, record_user), (single, single_user)):
        with transaction.atomic():
            designate_attending_physician(
                space=space, professional=gp, by=Actor(user=holder, role="patient")
            )
        declare_consent(
            space=space,
            professional=pharmacist,
            by=Actor(user=pharmacist.user, role="professional"),
        )
    return {
        "record": record,
        "record_user": record_user,
        "history": history,
        "history_user": history_user,
        "single": single,
        "gp": gp,
        "pharmacist": pharmacist,
    }


# --- The bulk, in SQL ----------------------------------------------------------------------


def generate_people(patients: int, subjects: dict) -> None:
    """Patients with accounts and active spaces, professionals, care relations, `bench_chain`."""
    from django.db import connection

    from acces.models import Professional
    from espace_sante.models import User

    # Professionals through the ORM (bulk): the model fills its derived columns (search keys).
    count = max(100, patients // 20)
    users = User.objects.bulk_create(
        User(
            email=f"pro{n}@bench.invalid",
            first_name="Claude",
            last_name=f"Pro{n}",
            kind=User.Kind.PROFESSIONAL,
            password="!",  # unusable
        )
        for n in range(1, count + 1)
    )
    professionals = []
    for n, user in enumerate(users, start=1):
        pro = Professional(
            user=user,
            rpps=f"9{n:010d}",
            profession=PROFESSION_MIX[n % 10],
            specialty="medecine_generale" if n % 10 < 4 else "",
            practice_name="Cabinet",
            practice_town="Paris",
        )
        if hasattr(pro, "refresh_search_keys"):
            pro.refresh_search_keys()
        professionals.append(pro)
    Professional.objects.bulk_create(professionals, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TABLE bench_pro AS
            SELECT p.id, p.user_id, p.profession,
                   (row_number() OVER (PARTITION BY p.profession ORDER BY p.id) - 1)::int AS i,
                   CASE WHEN p.profession = 'medecin'
                        THEN 'Dr Claude ' || u.last_name || ' — Médecin, médecine générale'
                        ELSE 'Claude ' || u.last_name || ' — ' || p.profession END AS label
            FROM acces_professional p JOIN espace_sante_user u ON u.id = p.user_id
            WHERE u.email LIKE '%%@bench.invalid'
            """,
            [],
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_pro (profession, i)")
        cursor.execute(
            """
            INSERT INTO espace_sante_user (password, is_superuser, email, first_name, last_name,
                kind, is_active, is_staff, date_joined)
            SELECT '!', false, 'patient' || g || '@bench.invalid', 'Claude', 'Nom' || g,
                   'patient', true, false, now()
            FROM generate_series(1, %s) AS g
            """,
            [patients],
        )
        cursor.execute(
            """
            INSERT INTO espace_sante_patient (nir, last_name, first_names, birth_date, sex,
                carte_vitale_serial, email, postal_address, user_id)
            SELECT '8' || lpad(u.g::text, 14, '0'), 'Nom' || u.g, 'Claude',
                   date '1950-01-01' + (u.g %% 20000), 'F', (2000000000 + u.g)::text,
                   'patient' || u.g || '@bench.invalid', '', u.id
            FROM (SELECT id, substring(email from 'patient([0-9]+)@')::int AS g
                  FROM espace_sante_user WHERE email LIKE 'patient%%@bench.invalid') AS u
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO espace_sante_space (public_id, holder_id, state, state_changed_at,
                created_at)
            SELECT gen_random_uuid(), id, 'active', now(), now() FROM espace_sante_patient
            WHERE nir LIKE '8%%'
            """,
            [],
        )
        # One row per chain the generator writes to: o = 0 … patients-1 the generated spaces,
        # then the trail's space and the 500-document record; with the actors of its events.
        cursor.execute(
            """
            CREATE TABLE bench_chain (o int PRIMARY KEY, space_id bigint, public_id uuid,
                holder_user bigint, holder_label text, gp_user bigint, gp_label text,
                care_user bigint, care_label text, seq0 bigint, hash0 text)
            """
        )
        cursor.execute(
            """
            INSERT INTO bench_chain
            SELECT s.o, s.id, s.public_id, s.user_id, 'Claude ' || s.last_name,
                   gp.user_id, gp.label, ph.user_id, ph.label, 0, %s
            FROM (SELECT (row_number() OVER (ORDER BY s.id) - 1)::int AS o, s.id, s.public_id,
                         p.user_id, p.last_name
                  FROM espace_sante_space s JOIN espace_sante_patient p ON p.id = s.holder_id
                  WHERE p.nir LIKE '8%%') AS s
            JOIN bench_pro gp ON gp.profession = 'medecin'
                AND gp.i = s.o %% (SELECT count(*) FROM bench_pro WHERE profession = 'medecin')
            JOIN bench_pro ph ON ph.profession = 'pharmacien'
                AND ph.i = s.o %% (SELECT count(*) FROM bench_pro WHERE profession = 'pharmacien')
            """,
            [GENESIS],
        )
        cursor.execute(
            """
            INSERT INTO acces_carerelation (basis, started_at, space_id, professional_id,
                consent_declared_at)
            SELECT 'attending', now() - interval '2 years', c.space_id, p.id, NULL
            FROM bench_chain c JOIN bench_pro p ON p.user_id = c.gp_user
            UNION ALL
            SELECT 'care_team', now() - interval '1 year', c.space_id, p.id,
                   now() - interval '1 year'
            FROM bench_chain c JOIN bench_pro p ON p.user_id = c.care_user
            UNION ALL
            SELECT 'care_team', now() - interval '1 year', c.space_id, p.id,
                   now() - interval '1 year'
            FROM bench_chain c JOIN bench_pro p ON p.profession = 'infirmier'
                AND p.i = c.o %% (SELECT count(*) FROM bench_pro WHERE profession = 'infirmier')
            """,
            [],
        )
        # The measured spaces: their chains already hold the services' events (seq0, hash0).
        first = "(SELECT user_id FROM bench_pro WHERE profession = %s AND i = 0)"
        for o, space, gp_user, care_user in (
            (patients, subjects["history"], None, None),
            (patients + 1, subjects["record"], subjects["gp"].user, subjects["pharmacist"].user),
        ):
            cursor.execute(
                f"""
                INSERT INTO bench_chain
                SELECT %s, s.id, s.public_id, p.user_id, p.first_names || ' ' || p.last_name,
                       coalesce(%s, {first}), coalesce(%s, 'Dr Claude Pro — Médecin'),
                       coalesce(%s, {first}), coalesce(%s, 'Claude Pro — Pharmacien'),
                       h.seq, h.last_hash
                FROM espace_sante_space s JOIN espace_sante_patient p ON p.id = s.holder_id
                JOIN acces_auditchainhead h ON h.chain = 'space:' || s.id
                WHERE s.id = %s
                """,
                [
                    o,
                    gp_user.pk if gp_user else None,
                    "medecin",
                    gp_user.professional.title if gp_user else None,
                    care_user.pk if care_user else None,
                    "pharmacien",
                    care_user.professional.title if care_user else None,
                    space.pk,
                ],
            )


def audit_indexes(cursor) -> list[tuple[str, str]]:
    """(name, CREATE INDEX) of the audit table's secondary indexes, its partitions' included.

    On the partitioned table (acces 0010) an index declared on the parent is listed once
    (dropped and built again, it recurses) and each partition's own UNIQUE (chain, seq)
    index once per partition; primary keys and constraints are left to the caller.
    """
    cursor.execute(
        """
        SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        WHERE (i.indrelid = 'acces_auditevent'::regclass OR i.indrelid IN
               (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'acces_auditevent'::regclass))
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
        ORDER BY 1
        """
    )
    # A partitioned table's index reads `ON ONLY` it: built again without, it recurses.
    return [(name, ddl.replace(" ON ONLY ", " ON ")) for name, ddl in cursor.fetchall()]


def audit_table_size() -> str:
    """The audit table's size with its indexes (a partitioned table's: its partitions')."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('acces_auditevent') + coalesce(("
            "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
            "WHERE inhparent = 'acces_auditevent'::regclass), 0))"
        )
        return cursor.fetchone()[0]


def audit_writes(spaces, actor) -> tuple[list[float], list[float], list[float]]:
    """One `acces.audit.record` per space, each in its own transaction: the times (ms) of
    the whole write, of record() before the commit, and of the commit."""
    from django.db import transaction

    from acces import audit

    writes, before_commit, commits = [], [], []
    for space in spaces:
        start = time.perf_counter()
        with transaction.atomic():
            audit.record(
                actor=actor, action="view_space", space=space, target=space, basis="care_team"
            )
            written = time.perf_counter()
        end = time.perf_counter()
        writes.append((end - start) * 1000)
        before_commit.append((written - start) * 1000)
        commits.append((end - written) * 1000)
    return writes, before_commit, commits


def generate_events(events: int, patients: int) -> None:
    """`events` audit events in SQL, in rounds: every generated space gets one event a round,
    the trail's space and the record a share that gives them HISTORY_EVENTS / RECORD_EVENTS,
    all interleaved in time (a space's events are spread over the table, as in real life)."""
    from django.db import connection
    from django.utils import timezone

    heavy = HISTORY_EVENTS / events
    record = RECORD_EVENTS / events
    width = patients / (1 - heavy - record)
    h, d = max(1, round(width * heavy)), max(1, round(width * record))
    w = patients + h + d
    step = timedelta(days=729).total_seconds() / events
    t0 = timezone.now() - timedelta(days=730)
    # Partitioned by month (acces 0010): the months of the generated events, not the default.
    from acces import partitions

    partitions.create_months_ahead(25, today=t0.date())
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM acces_auditevent")
        first_id = cursor.fetchone()[0]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'acces_auditevent'::regclass AND contype = 'u'"
        )
        constraints = cursor.fetchall()
        indexes = audit_indexes(cursor)
        # Built once at the end, not row by row; foreign keys hold by construction.
        for name, _ in constraints:
            cursor.execute(f"ALTER TABLE acces_auditevent DROP CONSTRAINT {name}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SELECT array_agg(user_id ORDER BY id) FROM bench_pro")
        pros = cursor.fetchone()[0]
        chain = "z.chain"
        statement = f"""
            INSERT INTO acces_auditevent (chain, seq, occurred_at, actor_id, actor_label, role,
                basis, action, target_type, target_id, space_id, outcome, ip, detail,
                prev_hash, hash)
            SELECT z.chain, z.seq, %(t0)s + z.g * %(step)s * interval '1 s',
                CASE WHEN z.b < 10 OR z.b = 19 THEN
                         CASE WHEN z.b %% 2 = 0 THEN z.gp_user ELSE z.care_user END
                     WHEN z.b = 10 THEN (%(pros)s::bigint[])[1 + (z.j * 31 + z.r) %% %(npros)s]
                     WHEN z.b < 16 THEN z.holder_user END,
                CASE WHEN z.b < 10 OR z.b = 19 THEN
                         CASE WHEN z.b %% 2 = 0 THEN z.gp_label ELSE z.care_label END
                     WHEN z.b = 10 THEN 'Claude Pro — Infirmier'
                     WHEN z.b < 16 THEN z.holder_label ELSE 'Système' END,
                CASE WHEN z.b <= 10 OR z.b = 19 THEN 'professional'
                     WHEN z.b < 16 THEN 'patient' ELSE 'system' END,
                CASE WHEN z.b < 10 OR z.b = 19 THEN
                         CASE WHEN z.b %% 2 = 0 THEN 'attending' ELSE 'care_team' END
                     WHEN z.b BETWEEN 11 AND 15 THEN 'holder' ELSE '' END,
                z.action,
                CASE WHEN z.action LIKE '%%document' THEN 'dossier.document'
                     ELSE 'espace_sante.space' END,
                CASE WHEN z.action LIKE '%%document' THEN md5(z.g::text)::uuid::text
                     ELSE z.public_id::text END,
                z.space_id,
                CASE WHEN z.b = 10 THEN 'denied' ELSE 'allowed' END,
                CASE WHEN z.b < 16 OR z.b = 19
                     THEN ('10.' || z.j %% 250 || '.' || z.r %% 250 || '.' || z.g %% 250)::inet
                     END,
                CASE WHEN z.b = 10 THEN '{{"reason": "no_basis"}}' ELSE '{{}}' END::jsonb,
                CASE WHEN z.seq = z.seq0 + 1 THEN z.hash0 ELSE {sql_hash(chain, "z.seq - 1")} END,
                {sql_hash(chain, "z.seq")}
            FROM (
                SELECT y.g, y.r, y.j, y.b, c.*, 'space:' || c.space_id AS chain,
                       c.seq0 + y.n AS seq, (%(actions)s::text[])[1 + y.b] AS action
                FROM (
                    SELECT x.g, x.r, x.j, (x.r * 7 + x.j) %% 20 AS b,
                           CASE WHEN x.j < %(p)s THEN x.j WHEN x.j < %(p)s + %(h)s THEN %(p)s
                                ELSE %(p)s + 1 END AS o,
                           CASE WHEN x.j < %(p)s THEN x.r + 1
                                WHEN x.j < %(p)s + %(h)s THEN x.r * %(h)s + x.j - %(p)s + 1
                                ELSE x.r * %(d)s + x.j - %(p)s - %(h)s + 1 END AS n
                    FROM (SELECT g, g / %(w)s AS r, g %% %(w)s AS j
                          FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g) AS x
                ) AS y JOIN bench_chain c ON c.o = y.o
            ) AS z
        """
        for lo in range(0, events, EVENT_BATCH):
            hi = min(events, lo + EVENT_BATCH) - 1
            with common.timed(f"  events {lo:,}–{hi:,}"):
                cursor.execute(
                    statement,
                    {
                        "t0": t0,
                        "step": step,
                        "pros": pros,
                        "npros": len(pros),
                        "actions": ACTIONS,
                        "p": patients,
                        "h": h,
                        "d": d,
                        "w": w,
                        "lo": lo,
                        "hi": hi,
                    },
                )
        cursor.execute("RESET session_replication_role")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        with common.timed("  audit indexes and constraints rebuilt"):
            for _, definition in indexes:
                cursor.execute(definition)
            for name, definition in constraints:
                cursor.execute(f"ALTER TABLE acces_auditevent ADD CONSTRAINT {name} {definition}")
        cursor.execute("RESET maintenance_work_mem")
        # The heads: where each generated chain now ends (its hash is the placeholder's),
        # moved when its last event was written, as acces.audit.record moves them (a range
        # verified from the end of the generated events does not take them for moved).
        cursor.execute(
            f"""
            INSERT INTO acces_auditchainhead (chain, seq, last_hash, updated_at)
            SELECT chain, max(seq), {sql_hash("chain", "max(seq)")}, max(occurred_at)
            FROM acces_auditevent WHERE id > %s GROUP BY chain
            ON CONFLICT (chain) DO UPDATE SET seq = EXCLUDED.seq,
                last_hash = EXCLUDED.last_hash, updated_at = EXCLUDED.updated_at
            """,
            [first_id],
        )
    print(f"  per round of {w:,} events: {h} for the trail's space, {d} for the record")


def generate_documents(documents: int, patients: int, subjects: dict, data_key_id: int) -> None:
    """Documents of every generated space, then exactly OWN in the record and 1 in `single`."""
    from django.db import connection

    types = document_types()
    codes = sql_array([code for code, _ in types])
    categories = sql_array([category for _, category in types])
    n = len(types)
    columns = """(public_id, space_id, type_id, type_code, category, title, act_date, source,
        added_by_id, author_professional_id, author_label, created_at, content_type, size,
        sha256, data_key_id, file, masked, invisible_to_patient, invisible_to_representatives,
        is_current)"""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO dossier_document {columns}
            SELECT gen_random_uuid(), c.space_id, ({codes})[1 + g %% {n}],
                   ({codes})[1 + g %% {n}], ({categories})[1 + g %% {n}],
                   'Document ' || g, date '2020-01-01' + (g %% 2000), 'patient', c.holder_user,
                   NULL, 'Laboratoire', now(), 'application/pdf', 1000, repeat('0', 64), %s,
                   'documents/x.enc', (g %% 10 = 0), false, false, true
            FROM generate_series(1, %s) AS g JOIN bench_chain c ON c.o = g %% %s
            """,
            [data_key_id, documents, patients],
        )
        # The record: every type, one in ten masked, ten written by the pharmacist.
        cursor.execute(
            f"""
            INSERT INTO dossier_document {columns}
            SELECT gen_random_uuid(), %s, ({codes})[1 + g %% {n}], ({codes})[1 + g %% {n}],
                   ({categories})[1 + g %% {n}], 'Examen ' || g, date '2020-01-01' + g,
                   CASE WHEN g %% 50 = 7 THEN 'professional' ELSE 'patient' END, %s,
                   CASE WHEN g %% 50 = 7 THEN %s END, 'Laboratoire', now(), 'application/pdf',
                   1000, repeat('0', 64), %s, 'documents/x.enc', (g %% 10 = 3), false, false,
                   true
            FROM generate_series(1, %s) AS g
            """,
            [
                subjects["record"].pk,
                subjects["record_user"].pk,
                subjects["pharmacist"].pk,
                data_key_id,
                OWN,
            ],
        )
        cursor.execute(
            f"""
            INSERT INTO dossier_document {columns}
            VALUES (gen_random_uuid(), %s, '57833-6', '57833-6', 'prescriptions', 'Ordonnance',
                    date '2026-01-05', 'patient', NULL, NULL, 'Cabinet', now(),
                    'application/pdf', 1000, repeat('0', 64), %s, 'documents/x.enc', false,
                    false, false, true)
            """,
            [subjects["single"].pk, data_key_id],
        )


# --- Measuring -----------------------------------------------------------------------------


def signed_in(user, device):
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client()
    client.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session["assurance_level"] = 30 if device.persistent_id.startswith("otp_totp.") else 20
    session.save()
    return client


def measure(client, url: str, requests: int = REQUESTS) -> list[float]:
    for _ in range(WARMUPS):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return samples


def queries_of(client, url: str) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return captured.captured_queries


def explain(sql: str, params=None) -> tuple[float, str]:
    """EXPLAIN (ANALYZE, BUFFERS): execution time in ms and the plan."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        lines = [row[0] for row in cursor.fetchall()]
    ms = next(
        (float(line.split(":")[1].split()[0]) for line in lines if "Execution Time" in line), 0.0
    )
    return ms, "\n".join(f"      {line}" for line in lines)


def slowest_queries(client, url: str, show_plan_over_ms: float = 5.0) -> None:
    """Each SELECT of one request, re-run under EXPLAIN ANALYZE: the three slowest."""
    timed = []
    for query in queries_of(client, url):
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT") or "FOR UPDATE" in sql.upper():
            continue
        ms, plan = explain(sql)
        timed.append((ms, sql, plan))
    timed.sort(reverse=True)
    for ms, sql, plan in timed[:3]:
        print(f"      {ms:6.2f} ms  {' '.join(sql.split())[:150]}")
        if ms > show_plan_over_ms or os.environ.get("BENCH_EXPLAIN") == "1":
            print(plan)


def load() -> str:
    return "load " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def line(label: str, samples: list[float]) -> tuple[float, float]:
    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    print(f"  {label:<64} p50 {p50:6.1f} ms, p95 {p95:6.1f} ms", flush=True)
    return p50, p95


def main() -> None:
    url = common.setup()
    results: list[tuple[str, float, float, str]] = []
    try:
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext, override_settings
        from django.utils import timezone

        from acces import audit
        from acces.models import AuditChainHead, AuditEvent
        from acces.policy import Action, decide, documents_visible_to
        from dossier.models import Document
        from espace_sante import crypto
        from espace_sante.auth import email_device
        from espace_sante.models import Space
        from espace_sante.tracing import Actor

        with common.timed("measured people through the services"):
            subjects = make_subjects()
        key = crypto.new_data_key()
        with common.timed(f"generate {PATIENTS:,} patients, professionals, relations (SQL)"):
            generate_people(PATIENTS, subjects)
        with common.timed(f"generate {DOCUMENTS:,} documents (SQL)"):
            generate_documents(DOCUMENTS, PATIENTS, subjects, key.pk)
        with common.timed(f"generate {EVENTS:,} audit events (SQL)"):
            generate_events(EVENTS, PATIENTS)
        with common.timed("VACUUM ANALYZE"):
            common.vacuum_analyze(*DATA_SET_TABLES)
        audit_size = audit_table_size()
        record, history, single = subjects["record"], subjects["history"], subjects["single"]
        gp, pharmacist = subjects["gp"], subjects["pharmacist"]
        print(
            f"  {AuditEvent.objects.count():,} audit events ({audit_size} with indexes), "
            f"{Document.objects.count():,} documents, {Space.objects.count():,} spaces; "
            f"trail's space: {AuditEvent.objects.filter(space=history).count():,} events; "
            f"record: {Document.objects.filter(space=record).count()} documents, "
            f"{AuditEvent.objects.filter(space=record).count():,} events",
            flush=True,
        )
        for pro in (gp, pharmacist):
            decision = decide(pro.user, Action.VIEW_SPACE, record)
            visible = Document.objects.filter(space=record, is_current=True)
            visible = visible.filter(documents_visible_to(decision)).count()
            print(f"  {pro.profession} ({decision.basis}) sees {visible} of the record's {OWN}")

        with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
            clients = {
                pro.profession: signed_in(pro.user, pro.user.totpdevice_set.get())
                for pro in (gp, pharmacist)
            }
            who = {"medecin": "attending GP", "pharmacien": "care-team pharmacist"}
            pages = {
                "documents": "/pro/patients/{}/documents/",
                "patient": "/pro/patients/{}/",
            }

            # 4. Constant number of queries: 1 document against 500.
            print(f"Queries of the pro documents page (after warm-up), {load()}:")
            for name, client in clients.items():
                counts = []
                for space in (single, record):
                    page_url = pages["documents"].format(space.public_id)
                    for _ in range(2):  # the first access of the day also tells the patient
                        assert client.get(page_url).status_code == 200
                    queries = queries_of(client, page_url)
                    counts.append(len(queries))
                print(f"  {who[name]:<24} 1 document: {counts[0]} queries, 500: {counts[1]}")
                if name == "medecin":
                    for query in queries:
                        print(f"    {' '.join(query['sql'].split())[:110]}")
                results.append(
                    (
                        f"queries of the documents page, {who[name]}: 1 doc vs 500",
                        counts[0],
                        counts[1],
                        "OK" if counts[0] == counts[1] else "GROWS",
                    )
                )

            # 1. The professional's pages of the 500-document record.
            print(f"Professional's pages of the 500-document record (200 requests each), {load()}:")
            for page, pattern in pages.items():
                for name, client in clients.items():
                    page_url = pattern.format(record.public_id)
                    p50, p95 = line(f"{page} page, {who[name]}", measure(client, page_url))
                    ok = "OK" if p95 < PAGE_TARGET_MS else "TOO SLOW"
                    results.append((f"pro {page} page p95, {who[name]}", p50, p95, ok))
                    slowest_queries(client, page_url)

            # 2. The patient's trail.
            print(
                "Patient's trail, first page "
                f"({AuditEvent.objects.filter(space=history).count():,} events, 200 requests), "
                f"{load()}:"
            )
            holder = subjects["history_user"]
            patient_client = signed_in(holder, email_device(holder))
            for label, query in (
                ("no filter", ""),
                ("filtered", "?qui=professional&resultat=denied"),
            ):
                page_url = f"/espace/{history.public_id}/historique/{query}"
                p50, p95 = line(f"history page, {label} {query}", measure(patient_client, page_url))
                ok = "OK" if p95 < PAGE_TARGET_MS else "TOO SLOW"
                results.append((f"history page p95, {label}", p50, p95, ok))
                slowest_queries(patient_client, page_url)

            # 3b. The documents page with and without its trace (interleaved blocks).
            page_url = pages["documents"].format(record.public_id)
            client = clients["medecin"]
            with_trace, without_trace = [], []
            for _ in range(4):
                with_trace += measure(client, page_url, 50)
                # The recorder behind the door (espace_sante.tracing.trace) becomes a no-op.
                with mock.patch("espace_sante.tracing._recorder", lambda **kwargs: None):
                    without_trace += measure(client, page_url, 50)
            print(
                f"Documents page of the record, attending GP, with and without its trace, {load()}:"
            )
            p50_with, _ = line("with the audit write", with_trace)
            p50_without, _ = line("audit.record replaced by a no-op", without_trace)
            print(f"  difference of the medians: {p50_with - p50_without:+.2f} ms")

        # 3. The audit write itself, on spaces spread over the table.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT space_id FROM bench_chain WHERE o < %s ORDER BY random() LIMIT %s",
                [PATIENTS, WRITES],
            )
            ids = [row[0] for row in cursor.fetchall()]
        spaces = list(Space.objects.filter(pk__in=ids))
        random.Random(5).shuffle(spaces)
        actor = Actor(user=gp.user, role="professional", ip="10.1.2.3")
        before = {
            h.chain: h.seq
            for h in AuditChainHead.objects.filter(chain__in=[f"space:{s.pk}" for s in spaces])
        }
        writes, before_commit, commits = audit_writes(spaces, actor)
        print(
            f"Audit writes (acces.audit.record, own transaction), {len(writes):,} spaces, {load()}:"
        )
        w50, w95 = line("one event appended to its chain, commit included", writes)
        line("  of which record() before the commit", before_commit)
        line("  of which the commit (WAL flush)", commits)
        results.append(
            (
                "audit write (median / p95)",
                w50,
                w95,
                "OK" if w50 < WRITE_TARGET_MS and w95 < WRITE_TARGET_MS else "TOO SLOW",
            )
        )
        # Appended where they belong: seq + 1, linked to the previous event.
        for space in spaces[:50]:
            chain = f"space:{space.pk}"
            last, previous = AuditEvent.objects.filter(chain=chain).order_by("-seq")[:2]
            assert last.seq == before[chain] + 1 == previous.seq + 1, chain
            assert last.prev_hash == previous.hash, chain
            assert AuditChainHead.objects.get(chain=chain).last_hash == last.hash, chain
        print("  checked: 50 chains, each new event at seq + 1, linked to the previous one")
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            audit.record(actor=actor, action="view_space", space=spaces[0], target=spaces[0])
        print(f"  statements of one write: {len(captured)} (commit included)")
        for query in captured.captured_queries:
            print(f"    {' '.join(query['sql'].split())[:110]}")

        # Evidence: the "first access of the day" check on a busy space, as the view runs it.
        first_today = AuditEvent.objects.filter(
            space=history,
            actor=pharmacist.user,
            outcome=AuditEvent.Outcome.ALLOWED,
            occurred_at__date=timezone.localdate(),
        )
        sql, params = first_today.query.sql_with_params()
        ms, plan = explain(f"SELECT EXISTS({sql})", params)
        print(
            f"'first access today' check (check_and_trace) on the trail's space, no event "
            f"today: {ms:.2f} ms"
        )
        print(plan)

        print()
        for label, a, b, ok in results:
            if label.startswith("queries"):
                print(f"RESULT {label}: {a} vs {b} queries: {ok}")
            elif label.startswith("audit write"):
                print(f"RESULT {label}: {a:.2f} / {b:.2f} ms, target < {WRITE_TARGET_MS} ms: {ok}")
            else:
                print(
                    f"RESULT {label} with {EVENTS:,} events: {b:.1f} ms (p50 {a:.1f}), "
                    f"target < {PAGE_TARGET_MS} ms: {ok}"
                )
        print(f"RESULT page with minus without its trace (p50): {p50_with - p50_without:+.2f} ms")
    finally:
        common.teardown(url)


if __name__ == "__main__":
    main()
