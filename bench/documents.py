"""Documents: storing a 10 MB PDF encrypted, and the documents page of a 500-document record.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/documents.py
    ... bench/documents.py 100000 10000     # patients, documents (a smaller run)

Targets (issue 4): encrypting and storing a 10 MB PDF < 300 ms; with 1,000,000
documents across 100,000 patients, the documents page of a patient with 500
documents answers p95 < 100 ms. The page is requested through Django's test
client (the whole Django stack, session, policy, audit write, template; no
network hop), signed in as the holder, 200 times after 20 warm-up requests.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

# ruff: noqa: E402 (bench/http.py shadows the standard library's `http`: bench/ goes after it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))

import common

os.environ.setdefault("EMAIL_URL", "memorymail://")  # the benchmark sends no real email

PATIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
DOCUMENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
OWN = 500
STORE_TARGET_MS, PAGE_TARGET_MS = 300, 100


def pdf_of(size: int) -> bytes:
    body = b"%PDF-1.7\n" + b"0" * (size - 20)
    return body + b"\n%%EOF\n"


def generate(patients: int, documents: int, data_key_id: int, added_by: int) -> None:
    """Patients, active spaces and documents in SQL (the list page never reads the files)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO espace_sante_patient (nir, last_name, first_names, birth_date, sex,
                carte_vitale_serial, email, postal_address)
            SELECT '8' || lpad(g::text, 14, '0'), 'Nom' || g, 'Claude', date '1950-01-01'
                   + (g %% 20000), 'F', (2000000000 + g)::text, '', ''
            FROM generate_series(1, %s) AS g
            """,
            [patients],
        )
        cursor.execute(
            """
            INSERT INTO espace_sante_space (public_id, holder_id, state, state_changed_at,
                created_at)
            SELECT gen_random_uuid(), id, 'active', now(), now() FROM espace_sante_patient
            WHERE nir LIKE '8%%'
            """
        )
        cursor.execute(
            """
            INSERT INTO dossier_document (public_id, space_id, type_id, type_code, category,
                title, act_date, source, added_by_id, author_label, created_at, content_type,
                size, sha256, data_key_id, file, masked, invisible_to_patient,
                invisible_to_representatives, is_current)
            SELECT gen_random_uuid(), s.id, '11502-2', '11502-2', 'biology',
                   'Bilan ' || g, date '2020-01-01' + (g %% 2000), 'patient', %s,
                   'Laboratoire', now(), 'application/pdf', 1000, repeat('0', 64), %s,
                   'documents/x.enc', (g %% 7 = 0), false, false, true
            FROM generate_series(1, %s) AS g
            JOIN espace_sante_space s ON s.id = (SELECT min(id) FROM espace_sante_space)
                                             + (g %% %s)
            """,
            [added_by, data_key_id, documents, patients],
        )
    common.vacuum_analyze("espace_sante_space", "dossier_document")


def main() -> None:
    url = common.setup()
    try:
        from django.db import connection
        from django.test import Client
        from django.test.utils import override_settings
        from django_otp import DEVICE_ID_SESSION_KEY

        from dossier.models import Document
        from dossier.services import add_document
        from espace_sante import crypto
        from espace_sante.auth import email_device
        from espace_sante.identity import with_key
        from espace_sante.models import Patient, Space
        from espace_sante.services import enrol_person, open_account
        from espace_sante.tracing import Actor

        system = Actor.system()
        space = enrol_person(
            nir=with_key("1850575056123"),
            last_name="Mesure",
            first_names="Alix",
            birth_date=date(1985, 5, 1),
            sex="M",
            carte_vitale_serial="1234567890",
            email="alix@exemple.fr",
            announce=False,
            by=system,
        )
        user = open_account(
            space=space, email="alix@exemple.fr", password="Une-phrase-de-passe-2026", by=system
        )
        space = Space.objects.get(pk=space.pk)
        actor = Actor(user=user, role=user.kind)

        pdf = pdf_of(10 * 1024 * 1024)
        timings = []
        for _ in range(12):
            start = time.perf_counter()
            add_document(
                space=space,
                type_code="11502-2",
                title="Scanner",
                act_date=date(2026, 1, 5),
                data=pdf,
                by=actor,
            )
            timings.append((time.perf_counter() - start) * 1000)
        store_p50 = statistics.median(timings[2:])
        store_max = max(timings[2:])
        print(
            f"  store a 10 MB PDF encrypted (median of 10)          {store_p50:8.1f} ms "
            f"(max {store_max:.1f} ms)"
        )

        key = crypto.new_data_key()
        with common.timed(f"generate {PATIENTS:,} patients, {DOCUMENTS:,} documents (SQL)"):
            generate(PATIENTS, DOCUMENTS, key.pk, user.pk)
        Document.objects.filter(space=space).delete()
        with connection.cursor() as cursor:  # the measured patient: exactly OWN documents
            cursor.execute(
                """
                INSERT INTO dossier_document (public_id, space_id, type_id, type_code, category,
                    title, act_date, source, added_by_id, author_label, created_at,
                    content_type, size, sha256, data_key_id, file, masked,
                    invisible_to_patient, invisible_to_representatives, is_current)
                SELECT gen_random_uuid(), %s, '11502-2', '11502-2', 'biology', 'Examen ' || g,
                       date '2020-01-01' + g, 'patient', %s, 'Laboratoire', now(),
                       'application/pdf', 1000, repeat('0', 64), %s, 'documents/x.enc',
                       false, false, false, true
                FROM generate_series(1, %s) AS g
                """,
                [space.pk, user.pk, key.pk, OWN],
            )
        common.vacuum_analyze("dossier_document")
        total = Document.objects.count()
        print(
            f"  {total:,} documents in {Patient.objects.count():,} records; "
            f"{Document.objects.filter(space=space).count()} in the measured one"
        )

        with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
            client = Client()
            client.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = email_device(user).persistent_id
            session["assurance_level"] = 20  # the email code (espace_sante.assurance)
            session.save()
            page_url = f"/espace/{space.public_id}/documents/"
            for _ in range(20):
                assert client.get(page_url).status_code == 200
            samples = []
            for _ in range(200):
                start = time.perf_counter()
                response = client.get(page_url)
                samples.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
        samples.sort()
        p50, p95 = samples[len(samples) // 2], samples[int(len(samples) * 0.95) - 1]
        print(
            f"  documents page, 500-document record (200 requests)   p50 {p50:6.1f} ms, "
            f"p95 {p95:6.1f} ms"
        )
        store_ok = "OK" if store_p50 < STORE_TARGET_MS else "TOO SLOW"
        page_ok = "OK" if p95 < PAGE_TARGET_MS else "TOO SLOW"
        print(
            f"RESULT store 10 MB PDF: {store_p50:.0f} ms, target < {STORE_TARGET_MS} ms: {store_ok}"
        )
        print(
            f"RESULT documents page p95 with {total:,} documents: {p95:.1f} ms, "
            f"target < {PAGE_TARGET_MS} ms: {page_ok}"
        )
    finally:
        common.teardown(url)


if __name__ == "__main__":
    main()
