"""The catalogue's FHIR API: a DocumentReference search and an Observation write.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/catalogue.py
    ... bench/catalogue.py 10000 100000      # patients, documents around the measured one

Targets (issue 14): a `DocumentReference` search returning 50 of a 500-document record
p95 < 100 ms; an `Observation` write (a glycaemia, through `add_entry`, with its audit
event) < 50 ms. A connected service's Bearer token; the measured record holds 500
current documents, 50 of them in the category searched (`biology`), among the documents
of PATIENTS other records.

1. In process, with Django's test client (the whole stack, token, policy, paging, trace;
   no network hop): 20 warm-up calls, then 200 measured, for each.
2. Over HTTP, as services meet the API: gunicorn (production settings, bench/http.py's
   options) and, beside it under the same options, the bare Django floor (bench/floor/),
   each loaded by `wrk` (bench/http.lua, the token in `Authorization`), floor then API:
   requests per second, p50, p99, the share of the floor, statuses, and the audit events
   written (one per call). The per-service rate limit is lifted for the run
   (CATALOGUE_API_RATE_PER_MINUTE), as for a service the operator trusts with a bulk load.

BENCH_SKIP_HTTP=1 measures in process only. The query count of the search is printed for
a 100- and the 500-document record: it does not grow with the record.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

# ruff: noqa: E402 (bench/http.py shadows the standard library's `http`: bench/ goes after it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))

import common

os.environ.setdefault("EMAIL_URL", "memorymail://")  # the benchmark sends no real email

PATIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
DOCUMENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
OWN, MATCHING = 500, 50
SEARCH_TARGET_MS, WRITE_TARGET_MS = 100, 50
SCOPES = (
    "patient/DocumentReference.read",
    "patient/Observation.read",
    "patient/Observation.write",
)


def _bench_http():
    """bench/http.py, loaded under another name (it would shadow the standard `http`)."""
    spec = importlib.util.spec_from_file_location("bench_http", common.ROOT / "bench" / "http.py")
    module = importlib.util.module_from_spec(spec)
    saved, sys.argv = sys.argv, sys.argv[:1]  # its own arguments are not ours
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = saved
    return module


def glucose(day: date) -> str:
    return json.dumps(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
            "effectiveDateTime": day.isoformat(),
            "valueQuantity": {
                "value": 1.04,
                "unit": "g/L",
                "system": "http://unitsofmeasure.org",
                "code": "g/L",
            },
        }
    )


def record(space, user, key, count: int, matching: int) -> None:
    """`count` current documents in `space`, `matching` of them in the searched category."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO dossier_document (public_id, space_id, type_id, type_code, category,
                title, act_date, source, added_by_id, author_label, created_at, content_type,
                size, sha256, data_key_id, file, masked, invisible_to_patient,
                invisible_to_representatives, is_current)
            SELECT gen_random_uuid(), %s,
                   CASE WHEN g <= %s THEN '11502-2' ELSE '11488-4' END,
                   CASE WHEN g <= %s THEN '11502-2' ELSE '11488-4' END,
                   CASE WHEN g <= %s THEN 'biology' ELSE 'reports' END,
                   'Examen ' || g, date '2020-01-01' + g, 'patient', %s, 'Laboratoire', now(),
                   'application/pdf', 1000, repeat('0', 64), %s, 'documents/x.enc',
                   false, false, false, true
            FROM generate_series(1, %s) AS g
            """,
            [space.pk, matching, matching, matching, user.pk, key.pk, count],
        )


def connect(space, user):
    """A referenced service connected to `space`, granted SCOPES, and its raw token (the
    tests' helper: service, OAuth2 client, purpose, connection, token bound to it)."""
    from django.utils import timezone

    from tests.catalogue.api_helpers import connect as connect_service

    connected = connect_service(
        space,
        scopes=SCOPES,
        user=user,
        name="Service mesuré",
        expires=timezone.now() + timedelta(hours=4),
    )
    return connected.token


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return samples[len(samples) // 2], samples[int(len(samples) * 0.95) - 1]


def in_process(space, token: str) -> tuple[float, float, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    search = "/fhir/DocumentReference?category=biology&_count=50"
    with override_settings(
        ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, CATALOGUE_API_RATE_PER_MINUTE=10**9
    ):
        client = Client()
        for _ in range(20):
            response = client.get(search, **headers)
            assert response.status_code == 200, response.content[:300]
            assert len(response.json()["entry"]) == MATCHING
        with CaptureQueriesContext(connection) as captured:
            client.get(search, **headers)
        queries = len(captured)
        searches = []
        for _ in range(200):
            start = time.perf_counter()
            response = client.get(search, **headers)
            searches.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        writes = []
        day = date(2026, 1, 1)
        for i in range(220):
            start = time.perf_counter()
            response = client.post(
                "/fhir/Observation",
                data=glucose(day - timedelta(days=i)),
                content_type="application/fhir+json",
                **headers,
            )
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 201, response.content[:300]
            if i >= 20:
                writes.append(elapsed)
    search_p50, search_p95 = percentiles(searches)
    write_p50, write_p95 = percentiles(writes)
    print(
        f"  search 50 of {OWN} (200 requests, in process)        p50 {search_p50:6.1f} ms, "
        f"p95 {search_p95:6.1f} ms ({queries} queries)"
    )
    print(
        f"  Observation write (200 requests, in process)        p50 {write_p50:6.1f} ms, "
        f"p95 {write_p95:6.1f} ms"
    )
    return search_p95, write_p95, queries


def over_http(token: str, space) -> list[dict]:
    import subprocess

    bench_http = _bench_http()
    database_url = os.environ["DATABASE_URL"]
    env = bench_http.portal_env(database_url)
    env["CATALOGUE_API_RATE_PER_MINUTE"] = str(10**9)
    bench_http.WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=common.ROOT,
        env=env,
        check=True,
    )
    port = bench_http.PORT
    floor_env = {k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"}
    portal, portal_log = bench_http.start_server("portal", "espace_sante.wsgi", port, env)
    floor, _floor_log = bench_http.start_server("floor", "bench.floor.wsgi", port + 1, floor_env)
    host = f"127.0.0.1:{port}"
    auth = f"Bearer {token}"
    calls = [
        (
            "API: DocumentReference search, 50 of 500",
            f"http://{host}/fhir/DocumentReference?category=biology&_count=50",
            {"BENCH_AUTH": auth},
            200,
            ["catalogue_api_read/allowed"],
        ),
        (
            "API: Observation write (glycaemia)",
            f"http://{host}/fhir/Observation",
            {"BENCH_AUTH": auth, "BENCH_METHOD": "POST", "BENCH_BODY": glucose(date(2025, 6, 1))},
            201,
            ["profile_measurement_added/allowed"],
        ),
    ]
    results = []
    try:
        for label, url, headers, expected, actions in calls:
            floor_result = bench_http.wrk(
                f"http://127.0.0.1:{port + 1}/", "", host, bench_http.DURATION
            )
            floor_result["rps"] = floor_result["requests"] / (floor_result["duration_us"] / 1e6)
            warm = bench_http.wrk(url, "", host, bench_http.WARMUP, **headers)
            bench_http.settle(portal_log, warm["max_us"])
            _, offset = bench_http.access_lines(portal_log, 0)
            mark = bench_http.audit_mark()
            result = bench_http.wrk(url, "", host, bench_http.DURATION, **headers)
            bench_http.settle(portal_log, result["max_us"])
            rows, _ = bench_http.access_lines(portal_log, offset)
            served = sum(1 for r in rows if r[0] == expected)
            events = bench_http.audit_since(mark)
            result.update(
                label=label,
                rps=result["requests"] / (result["duration_us"] / 1e6),
                floor_rps=floor_result["rps"],
                served=served,
                not_expected=len(rows) - served,
                trail_ok=all(events.get(a, 0) == served for a in actions)
                and sum(events.values()) == served * len(actions),
            )
            results.append(result)
            print(
                f"  {label:<44} {result['rps']:7.0f} req/s "
                f"({100 * result['rps'] / floor_result['rps']:.1f} % of the floor's "
                f"{floor_result['rps']:.0f}), p50 {bench_http.ms(result['p50_us'])} ms, "
                f"p99 {bench_http.ms(result['p99_us'])} ms, {result['not_expected']} other "
                f"statuses, one event a call: {'yes' if result['trail_ok'] else 'NO'}",
                flush=True,
            )
    finally:
        bench_http.stop_server(portal)
        bench_http.stop_server(floor)
    return results


def main() -> None:
    url = common.setup()
    try:
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext, override_settings

        from espace_sante import crypto
        from espace_sante.identity import with_key
        from espace_sante.models import Space
        from espace_sante.services import enrol_person, open_account
        from espace_sante.tracing import Actor

        sys.argv[1:] = [str(PATIENTS), str(DOCUMENTS)]
        documents_bench = importlib.import_module("documents")
        system = Actor.system()

        def person(nir: str, email: str):
            space = enrol_person(
                nir=with_key(nir),
                last_name="Mesure",
                first_names="Alix",
                birth_date=date(1985, 5, 1),
                sex="M",
                carte_vitale_serial=nir[-10:],
                email=email,
                announce=False,
                by=system,
            )
            user = open_account(space=space, email=email, password="Une-phrase-2026!", by=system)
            return Space.objects.get(pk=space.pk), user

        space, user = person("1850575056123", "alix@exemple.fr")
        small, small_user = person("1850575056124", "sacha@exemple.fr")
        key = crypto.new_data_key()
        with common.timed(f"generate {PATIENTS:,} patients, {DOCUMENTS:,} documents (SQL)"):
            documents_bench.generate(PATIENTS, DOCUMENTS, key.pk, user.pk)
            record(space, user, key, OWN, MATCHING)
            record(small, small_user, key, 100, MATCHING)
        common.vacuum_analyze("dossier_document", "espace_sante_space")
        token, small_token = connect(space, user), connect(small, small_user)

        with override_settings(
            ALLOWED_HOSTS=["testserver"],
            SECURE_SSL_REDIRECT=False,
            CATALOGUE_API_RATE_PER_MINUTE=10**9,
        ):
            client = Client()
            small_url = "/fhir/DocumentReference?category=biology&_count=50"
            client.get(small_url, HTTP_AUTHORIZATION=f"Bearer {small_token}")
            with CaptureQueriesContext(connection) as captured:
                client.get(small_url, HTTP_AUTHORIZATION=f"Bearer {small_token}")
            small_queries = len(captured)
        search_p95, write_p95, queries = in_process(space, token)
        print(f"  queries of the search: {small_queries} (100 documents), {queries} (500)")

        skip = os.environ.get("BENCH_SKIP_HTTP") == "1" or not os.path.exists(_bench_http().WRK)
        results = [] if skip else over_http(token, space)
        search_ok = "OK" if search_p95 < SEARCH_TARGET_MS else "TOO SLOW"
        write_ok = "OK" if write_p95 < WRITE_TARGET_MS else "TOO SLOW"
        print(
            f"RESULT DocumentReference search p95 (50 of {OWN}): {search_p95:.1f} ms, "
            f"target < {SEARCH_TARGET_MS} ms: {search_ok}"
        )
        print(
            f"RESULT Observation write p95, trace included: {write_p95:.1f} ms, "
            f"target < {WRITE_TARGET_MS} ms: {write_ok}"
        )
        print(
            "RESULT search queries constant: "
            + ("OK" if small_queries == queries else f"NO ({small_queries} vs {queries})")
        )
        for result in results:
            print(
                f"RESULT HTTP {result['label']}: {result['rps']:.0f} req/s, "
                f"{100 * result['rps'] / result['floor_rps']:.1f} % of the floor, "
                f"p99 {result['p99_us'] / 1000:.1f} ms, other statuses {result['not_expected']}, "
                f"trail {'OK' if result['trail_ok'] else 'NOT OK'}"
            )
    finally:
        common.teardown(url)


if __name__ == "__main__":
    main()
