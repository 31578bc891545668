"""The record pages under concurrent HTTP load, beside a bare Django floor (issue 16).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/pages.py                   # 100,000 patients, 1,000,000 documents,
                                                          # 10,000,000 audit events
    ... bench/pages.py 10000 100000 1000000               # a smaller run

What users meet, measured the way they meet it:

1. a PostgreSQL database (`bench_pages`, or BENCH_DB) holding `bench/access.py`'s data set
   (its builder is reused): PATIENTS patients with accounts and active spaces, 5 % as many
   professionals, care relations, DOCUMENTS documents and EVENTS audit events generated in
   SQL; a 500-document record (one in ten masked, plus one real 1 MB PDF stored
   encrypted) whose attending GP and care-team pharmacist are measured, and a space with
   about 20,000 events whose holder reads her history. Kept and reused by the next run at
   the same scale (BENCH_REBUILD=1 builds it afresh);
2. the portal under gunicorn (BENCH_WORKERS sync workers, 2 by default as in the issue)
   with the production settings, and beside it, under the same gunicorn options, the
   floor: a bare Django project (bench/floor/) answering a constant 4 KB page through
   Django's default middleware, no database;
3. the patients and the professionals sign in through the real forms (password, then the
   emailed code or the TOTP code);
4. each page, after the floor, driven by `wrk` with BENCH_CONNECTIONS (16) connections for
   BENCH_DURATION seconds after a warm-up: requests/s, p50/p99, errors (wrk's, and any
   response other than 200 in gunicorn's access log), the share of the floor;
5. the trail: one probe request tells which events a request of the page writes; the
   events written during the run, by action, must equal that times the requests served;
   at the end `verify_audit_trail --since-id` recomputes every hash written during the
   run, chain by chain (the generated events before have placeholder hashes).

Targets (issue 16): each signed-in record page at least 5 % of the floor with p99 under
150 ms at 16 connections, the anonymous home at least 50 %, no error response.
"""

from __future__ import annotations

# ruff: noqa: E402 (the standard library first: bench/http.py shadows `http`)
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import json
import os
import shutil
import subprocess
import time
import urllib.parse
from datetime import date

os.environ.setdefault("BENCH_DB", "bench_pages")
os.environ.setdefault("BENCH_WORKERS", "2")
os.environ.setdefault("BENCH_CONNECTIONS", "16")
os.environ.setdefault("BENCH_PORT", "8160")

import common

PATIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
DOCUMENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
EVENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
MARKER = "bench_pages_built"
RECORD_TARGET_SHARE, HOME_TARGET_SHARE, P99_TARGET_MS = 5.0, 50.0, 150
SCALE = [str(PATIENTS), str(DOCUMENTS), str(EVENTS)]  # the siblings' arguments


# Servers, sign-in, wrk, the access log, the trail.
web = common.load_sibling("bench_http", "http.py", SCALE)
data = common.load_sibling("bench_access", "access.py", SCALE)  # the 10,000,000-event data set


def _built() -> dict | None:
    import psycopg

    if os.environ.get("BENCH_REBUILD") == "1":
        return None
    info = common._conninfo(os.environ["DATABASE_URL"]) | {"dbname": common.BENCH_DB}
    try:
        with psycopg.connect(**info) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [MARKER])
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(f"SELECT facts FROM {MARKER}")
            facts = cursor.fetchone()[0]
    except psycopg.OperationalError:
        return None
    if (facts["patients"], facts["documents"], facts["events"]) != (PATIENTS, DOCUMENTS, EVENTS):
        print(f"  {common.BENCH_DB} holds another scale: rebuilt")
        return None
    return facts


def build() -> dict:
    from django.core.management import call_command
    from django.db import connection

    from acces.models import AuditEvent
    from dossier.services import add_document
    from espace_sante import crypto
    from espace_sante.tracing import Actor

    msg = common.load_sibling("bench_messagerie", "messagerie.py")  # its real PDF of a given size
    with common.timed("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    with common.timed("measured people through the services"):
        subjects = data.make_subjects()
    key = crypto.new_data_key()
    with common.timed(f"generate {PATIENTS:,} patients, professionals, relations (SQL)"):
        data.generate_people(PATIENTS, subjects)
    with common.timed(f"generate {DOCUMENTS:,} documents (SQL)"):
        data.generate_documents(DOCUMENTS, PATIENTS, subjects, key.pk)
    with common.timed(f"generate {EVENTS:,} audit events (SQL)"):
        data.generate_events(EVENTS, PATIENTS)
    # After the generated events: they continue the chains from the heads noted before.
    record, holder = subjects["record"], subjects["record_user"]
    with common.timed("a real 1 MB PDF in the record, encrypted"):
        document = add_document(
            space=record,
            type_code="11502-2",
            title="Compte rendu d'imagerie",
            act_date=date(2026, 11, 30),
            data=msg.pdf_of(1024 * 1024),
            by=Actor(user=holder, role=holder.kind),
        )
    with common.timed("VACUUM ANALYZE"):
        common.vacuum_analyze(*data.DATA_SET_TABLES)
    history = subjects["history"]
    facts = {
        "patients": PATIENTS,
        "documents": DOCUMENTS,
        "events": EVENTS,
        "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "record": str(record.public_id),
        "record_email": holder.email,
        "history": str(history.public_id),
        "history_email": subjects["history_user"].email,
        "history_events": AuditEvent.objects.filter(space=history).count(),
        "gp_email": subjects["gp"].user.email,
        "pharmacist_email": subjects["pharmacist"].user.email,
        "document": str(document.public_id),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM acces_auditevent")
        facts["total_events"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM dossier_document")
        facts["total_documents"] = cursor.fetchone()[0]
        cursor.execute(f"CREATE TABLE {MARKER} (facts jsonb NOT NULL)")
        cursor.execute(f"INSERT INTO {MARKER} VALUES (%s)", [json.dumps(facts)])
    return facts


def prepare() -> tuple[dict, dict[str, str]]:
    url = os.environ.get("DATABASE_URL", "")
    if urllib.parse.urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(
            "DATABASE_URL doit désigner PostgreSQL, par exemple "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )
    facts = _built()
    bench_url = common._admin_url(url, common.BENCH_DB)
    env = web.portal_env(bench_url)
    os.environ.update(env)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"  # the build's notifications, in-process
    sys.path.insert(0, str(common.ROOT))
    if facts is None:
        if web.WORK.exists():
            shutil.rmtree(web.WORK)
        common._admin(
            url,
            f"DROP DATABASE IF EXISTS {common.BENCH_DB} WITH (FORCE)",
            f"CREATE DATABASE {common.BENCH_DB}",
        )
    (web.WORK / "mail").mkdir(parents=True, exist_ok=True)
    (web.WORK / "media").mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    if facts is None:
        with common.timed(f"build {common.BENCH_DB}"):
            facts = build()
    else:
        print(f"  {common.BENCH_DB} reused (built {facts['built']}; BENCH_REBUILD=1 rebuilds)")
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)  # this tree's new indexes
    return facts, env


def probe(url: str, cookie: str, host: str) -> list[str]:
    """The events one request of the page writes, by action/outcome (after its warm-up)."""
    from http.client import HTTPConnection

    parts = urllib.parse.urlsplit(url)
    mark = web.audit_mark()
    conn = HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Host": host, "X-Forwarded-Proto": "https"}
    if cookie:
        headers["Cookie"] = cookie
    conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"{url}: {response.status}, expected 200")
    time.sleep(0.2)
    return sorted(action for action, n in web.audit_since(mark).items() for _ in range(n))


def main() -> None:
    facts, env = prepare()
    print(
        f"  scale: {facts['total_events']:,} audit events, {facts['total_documents']:,} "
        f"documents, {PATIENTS:,} patients; the history's space {facts['history_events']:,} "
        "events"
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=common.ROOT,
        env=env,
        check=True,
    )
    port = web.PORT
    floor_env = {k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"}
    portal, portal_log = web.start_server("portal", "espace_sante.wsgi", port, env)
    floor, floor_log = web.start_server("floor", "bench.floor.wsgi", port + 1, floor_env)
    start_mark = web.audit_mark()
    try:
        since = time.time() - 1
        record_holder = web.Browser(port).sign_in(
            facts["record_email"],
            data.PASSWORD,
            lambda: web.email_code(facts["record_email"], since),
        )
        since = time.time() - 1
        history_holder = web.Browser(port).sign_in(
            facts["history_email"],
            data.PASSWORD,
            lambda: web.email_code(facts["history_email"], since),
        )
        gp = web.Browser(port).sign_in(
            facts["gp_email"], data.PASSWORD, lambda: web.totp_code(facts["gp_email"])
        )
        pharmacist = web.Browser(port).sign_in(
            facts["pharmacist_email"],
            data.PASSWORD,
            lambda: web.totp_code(facts["pharmacist_email"]),
        )
        record, history = facts["record"], facts["history"]
        pages = [
            ("anonymous: home", "/", "", HOME_TARGET_SHARE),
            (
                "patient: documents (500)",
                f"/espace/{record}/documents/",
                record_holder,
                RECORD_TARGET_SHARE,
            ),
            (
                f"patient: history, first page ({facts['history_events']:,} events)",
                f"/espace/{history}/historique/",
                history_holder,
                RECORD_TARGET_SHARE,
            ),
            (
                "GP: documents of a 500-document record",
                f"/pro/patients/{record}/documents/",
                gp,
                RECORD_TARGET_SHARE,
            ),
            (
                "pharmacist: the same documents page",
                f"/pro/patients/{record}/documents/",
                pharmacist,
                RECORD_TARGET_SHARE,
            ),
            (
                "patient: download of a 1 MB document",
                f"/espace/{record}/documents/{facts['document']}/telecharger/",
                record_holder,
                RECORD_TARGET_SHARE,
            ),
        ]
        only = os.environ.get("BENCH_PAGES")
        if only:
            wanted = {int(n) for n in only.split(",")}
            pages = [p for n, p in enumerate(pages, 1) if n in wanted]
        base, host = f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"
        print(
            f"== gunicorn {web.WORKERS} sync workers, wrk {web.CONNECTIONS} connections, "
            f"{web.DURATION} s a run after {web.WARMUP} s of warm-up; load {web.loadavg()}",
            flush=True,
        )
        results = []
        for label, path, cookie, target in pages:
            # The first access of the day (told once), then the requests left in flight.
            web.settle(portal_log, web.wrk(base + path, cookie, host, 1)["max_us"])
            expected = probe(base + path, cookie, host)
            actions = sorted(set(expected))
            if len(actions) != len(expected):
                sys.exit(f"{label}: one request wrote {expected}")
            floor_result = web.run(
                "floor", f"http://127.0.0.1:{port + 1}/", "", host, floor_log, None
            )
            result = web.run(label, base + path, cookie, host, portal_log, actions)
            share = 100 * result["rps"] / floor_result["rps"]
            errors = (
                result["connect"] + result["read"] + result["write"] + result["timeout"]
            ) + result["not_200"]
            met = share >= target and errors == 0 and result["trail_ok"]
            if target == RECORD_TARGET_SHARE:
                met = met and result["p99_us"] / 1000 < P99_TARGET_MS
            result.update(floor_rps=floor_result["rps"], share=share, errors=errors, met=met)
            results.append(result)
            events = ", ".join(f"{k} {v}" for k, v in sorted(result["events"].items())) or "none"
            print(
                f"  {label:<48} {result['rps']:7.1f} req/s  p50 {web.ms(result['p50_us'])} "
                f"p99 {web.ms(result['p99_us'])} ms  errors {errors}  floor "
                f"{floor_result['rps']:,.0f} req/s ({share:.2f} %, target {target:g} %) "
                f"{'met' if met else 'MISSED'}",
                flush=True,
            )
            print(
                f"    served {result['served']}, trail: {events} "
                f"({'one event per request and action' if result['trail_ok'] else 'MISMATCH'})",
                flush=True,
            )
        print(f"== load after: {web.loadavg()}")
    finally:
        web.stop_server(portal)
        web.stop_server(floor)
    verified = subprocess.run(
        [sys.executable, "manage.py", "verify_audit_trail", f"--since-id={start_mark}"],
        cwd=common.ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    print(f"== verify_audit_trail --since-id={start_mark}: {verified.stdout.strip()}")
    if verified.returncode:
        print(verified.stderr.strip()[-2000:])
    for r in results:
        print(
            "RESULT "
            + json.dumps(
                {
                    k: r[k]
                    for k in (
                        "label",
                        "rps",
                        "p50_us",
                        "p99_us",
                        "served",
                        "errors",
                        "floor_rps",
                        "share",
                        "trail_ok",
                        "met",
                    )
                },
                ensure_ascii=False,
            )
        )
    from django.db import connections

    connections.close_all()
    print(f"database {common.BENCH_DB} kept for the next run (BENCH_REBUILD=1 rebuilds it)")


if __name__ == "__main__":
    main()
