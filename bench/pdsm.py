"""The FHIR API for professionals' software (PDSm): a find (ITI-67) and a publish (ITI-65).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/pdsm.py
    ... bench/pdsm.py 10000 100000      # patients, documents around the measured one

Targets (issue 15): an ITI-67 search by INS and type on a 500-document record p95 under
100 ms; an ITI-65 transaction Bundle carrying a 1 MB PDF stored under 300 ms. A GP's
software token (the attending physician of the record, Pro Santé Connect assurance); the
record holds 500 current documents, 450 of them of the type searched (a page of 50 is
returned), among the documents of PATIENTS other records.

1. In process, with Django's test client (the whole stack: token, policy, paging, trace,
   the patient's daily notice; for the publish the base64, the content check, the
   encryption, the file, the audit event, the patient's notice): 20 warm-up calls, then
   200 searches and 50 publishes measured.
2. Over HTTP: gunicorn (production settings, bench/http.py's options) and the bare Django
   floor beside it: the search loaded by `wrk` (requests per second, p50, p99, share of
   the floor, one audit event a call), then 30 publishes one after the other with
   `requests` (p50, p95: a 1.4 MB body is not what `wrk`'s script can carry).

BENCH_SKIP_HTTP=1 measures in process only. The query count of the search is printed for
a 100- and the 500-document record: it does not grow with the record.
"""

from __future__ import annotations

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

catalogue_bench = common.load_sibling("bench_catalogue", "catalogue.py")

os.environ.setdefault("EMAIL_URL", "memorymail://")

PATIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
DOCUMENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
OWN, OTHER_TYPE = 500, 50
SEARCH_TARGET_MS, PUBLISH_TARGET_MS = 100, 300
INS = "urn:oid:1.2.250.1.213.1.4.8"
PDF_MB = (
    b"%PDF-1.7\n"
    + b"1 0 obj<< /Length 1048576 >>stream\n"
    + os.urandom(1024 * 1024)
    + b"\nendstream endobj\n%%EOF\n"
)


def search_path(nir: str) -> str:
    return (
        f"/fhir/DocumentReference?patient.identifier={INS}|{nir}&status=current"
        "&type=http://loinc.org|11488-4&_count=50"
    )


def submission(nir: str) -> str:
    from tests.catalogue.software_helpers import transaction

    return json.dumps(transaction(nir, data=PDF_MB, title="Compte rendu (1 Mo)"))


def software_token(space) -> str:
    """The attending GP of `space` and their software's token (the tests' helper)."""
    from django.utils import timezone

    from acces.models import CareRelation
    from tests.catalogue.software_helpers import authorise
    from tests.factories import ProfessionalFactory

    gp = ProfessionalFactory()
    CareRelation.objects.create(space=space, professional=gp, basis=CareRelation.Basis.ATTENDING)
    return authorise(gp, expires=timezone.now() + timedelta(hours=4)).token


def in_process(nir: str, token: str) -> tuple[float, float, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    with override_settings(
        ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, CATALOGUE_API_RATE_PER_MINUTE=10**9
    ):
        client = Client()
        for _ in range(20):
            response = client.get(search_path(nir), **headers)
            assert response.status_code == 200, response.content[:300]
            assert len(response.json()["entry"]) == 50
        with CaptureQueriesContext(connection) as captured:
            client.get(search_path(nir), **headers)
        queries = len(captured)
        searches = []
        for _ in range(200):
            start = time.perf_counter()
            response = client.get(search_path(nir), **headers)
            searches.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        publishes = []
        for i in range(60):
            body = submission(nir)
            start = time.perf_counter()
            response = client.post(
                "/fhir", data=body, content_type="application/fhir+json", **headers
            )
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.content[:300]
            if i >= 10:
                publishes.append(elapsed)
    search_p50, search_p95 = catalogue_bench.percentiles(searches)
    publish_p50, publish_p95 = catalogue_bench.percentiles(publishes)
    print(
        f"  ITI-67 search, 50 of {OWN} (200, in process)       p50 {search_p50:6.1f} ms, "
        f"p95 {search_p95:6.1f} ms ({queries} queries)"
    )
    print(
        f"  ITI-65 publish, 1 MB PDF (50, in process)          p50 {publish_p50:6.1f} ms, "
        f"p95 {publish_p95:6.1f} ms"
    )
    return search_p95, publish_p95, queries


def over_http(nir: str, token: str) -> dict:
    import subprocess

    import requests

    bench_http = catalogue_bench._bench_http()
    env = bench_http.portal_env(os.environ["DATABASE_URL"])
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
    try:
        floor_result = bench_http.wrk(
            f"http://127.0.0.1:{port + 1}/", "", host, bench_http.DURATION
        )
        floor_rps = floor_result["requests"] / (floor_result["duration_us"] / 1e6)
        url = f"http://{host}{search_path(nir)}"
        warm = bench_http.wrk(url, "", host, bench_http.WARMUP, BENCH_AUTH=auth)
        bench_http.settle(portal_log, warm["max_us"])
        _, offset = bench_http.access_lines(portal_log, 0)
        mark = bench_http.audit_mark()
        result = bench_http.wrk(url, "", host, bench_http.DURATION, BENCH_AUTH=auth)
        bench_http.settle(portal_log, result["max_us"])
        rows, _ = bench_http.access_lines(portal_log, offset)
        served = sum(1 for r in rows if r[0] == 200)
        events = bench_http.audit_since(mark)
        result.update(
            rps=result["requests"] / (result["duration_us"] / 1e6),
            floor_rps=floor_rps,
            served=served,
            not_expected=len(rows) - served,
            trail_ok=events.get("view_document/allowed", 0) == served,
        )
        print(
            f"  HTTP ITI-67 search {result['rps']:7.0f} req/s "
            f"({100 * result['rps'] / floor_rps:.1f} % of the floor's {floor_rps:.0f}), "
            f"p50 {bench_http.ms(result['p50_us'])} ms, p99 {bench_http.ms(result['p99_us'])} ms, "
            f"{result['not_expected']} other statuses, "
            f"one event a call: {'yes' if result['trail_ok'] else 'NO'}",
            flush=True,
        )
        session = requests.Session()
        headers = {
            "Authorization": auth,
            "Content-Type": "application/fhir+json",
            "Host": host,
            "X-Forwarded-Proto": "https",
        }
        publishes = []
        for i in range(35):
            body = submission(nir)
            start = time.perf_counter()
            answer = session.post(f"http://{host}/fhir", data=body, headers=headers, timeout=30)
            elapsed = (time.perf_counter() - start) * 1000
            assert answer.status_code == 200, answer.text[:300]
            if i >= 5:
                publishes.append(elapsed)
        p50, p95 = catalogue_bench.percentiles(publishes)
        result.update(publish_p50=p50, publish_p95=p95)
        print(f"  HTTP ITI-65 publish, 1 MB PDF (30)   p50 {p50:6.1f} ms, p95 {p95:6.1f} ms")
    finally:
        bench_http.stop_server(portal)
        bench_http.stop_server(floor)
    return result


def main() -> None:
    url = common.setup()
    try:
        import importlib

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
            catalogue_bench.record(space, user, key, OWN, OTHER_TYPE)
            catalogue_bench.record(small, small_user, key, 100, OTHER_TYPE)
        common.vacuum_analyze("dossier_document", "espace_sante_space")
        token, small_token = software_token(space), software_token(small)
        nir, small_nir = space.holder.nir, small.holder.nir

        with override_settings(
            ALLOWED_HOSTS=["testserver"],
            SECURE_SSL_REDIRECT=False,
            CATALOGUE_API_RATE_PER_MINUTE=10**9,
        ):
            client = Client()
            headers = {"HTTP_AUTHORIZATION": f"Bearer {small_token}"}
            client.get(search_path(small_nir), **headers)
            with CaptureQueriesContext(connection) as captured:
                client.get(search_path(small_nir), **headers)
            small_queries = len(captured)
        search_p95, publish_p95, queries = in_process(nir, token)
        print(f"  queries of the search: {small_queries} (100 documents), {queries} (500)")

        wrk_missing = not os.path.exists(catalogue_bench._bench_http().WRK)
        skip = os.environ.get("BENCH_SKIP_HTTP") == "1" or wrk_missing
        result = None if skip else over_http(nir, token)
        print(
            f"RESULT ITI-67 search p95 (50 of {OWN}): {search_p95:.1f} ms, target < "
            f"{SEARCH_TARGET_MS} ms: {'OK' if search_p95 < SEARCH_TARGET_MS else 'TOO SLOW'}"
        )
        print(
            f"RESULT ITI-65 publish p95 (1 MB PDF): {publish_p95:.1f} ms, target < "
            f"{PUBLISH_TARGET_MS} ms: {'OK' if publish_p95 < PUBLISH_TARGET_MS else 'TOO SLOW'}"
        )
        print(
            "RESULT search queries constant: "
            + ("OK" if small_queries == queries else f"NO ({small_queries} vs {queries})")
        )
        if result is not None:
            print(
                f"RESULT HTTP ITI-67 search: {result['rps']:.0f} req/s, "
                f"{100 * result['rps'] / result['floor_rps']:.1f} % of the floor, "
                f"p99 {result['p99_us'] / 1000:.1f} ms, other statuses {result['not_expected']}, "
                f"trail {'OK' if result['trail_ok'] else 'NOT OK'}"
            )
            print(
                f"RESULT HTTP ITI-65 publish (1 MB PDF): p50 {result['publish_p50']:.1f} ms, "
                f"p95 {result['publish_p95']:.1f} ms"
            )
    finally:
        common.teardown(url)


if __name__ == "__main__":
    main()
