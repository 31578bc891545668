"""The partitioned audit trail (issue 16): the patient's history page and the audit write,
at 10,000,000 events and beyond, by month (as migrated) or by chain hash.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/audit_partitions.py
    BENCH_SCHEMES=month,hash ...          # both partitionings (plain: the unpartitioned table)
    BENCH_SCALES=10000000,100000000 ...   # 100M: ~50 GB of disk and ~40 min on two cores

Each (scheme, scale) runs in its own process on its own database (`bench_parts_<scheme>`
at 10M, `bench_parts_<N>m` at other scales, dropped at the end of its run, so two large
ones never coexist), built by `bench/access.py`'s generator: 100,000 patients with
accounts and spaces (BENCH_PATIENTS), their professionals and care relations, and the
events in SQL, spread over two years (so over 25 monthly partitions), the trail's
space holding ≈ 20,000 of them at every scale. No documents: the pages measured do not
read them. The generated events carry placeholder hashes (see bench/access.py).

Measured, through Django's test client as bench/access.py does (200 requests after 20
warm-ups): the patient's history page (`/espace/<id>/historique/`, first page) without
and with `?qui=professional&resultat=denied`; `acces.audit.record` alone, 2,000 writes
each in its own transaction on random spaces (p50, p95, and the sequential insert rate);
then `verify_audit_trail --since-id <last generated id>`: every event written during the
run (the pages' own audit events and the 2,000 writes), each chain linked to the stored
event before the range, and the chain heads; the run fails if a chain is broken.
The scales and schemes are printed side by side at the end.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

# bench/http.py shadows the standard library's `http`: bench/ goes after it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))

SCHEMES = os.environ.get("BENCH_SCHEMES", "month").split(",")
SCALES = [int(n) for n in os.environ.get("BENCH_SCALES", "10000000").split(",")]
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "100000"))
MARK = "RESULTJSON "


def database(scheme: str, events: int) -> str:
    if os.environ.get("BENCH_PARTS_DB"):  # one name for every run (they follow each other)
        return os.environ["BENCH_PARTS_DB"]
    return f"bench_parts_{scheme}" if events == 10_000_000 else f"bench_parts_{events // 10**6}m"


def one(scheme: str, events: int) -> None:
    """One scheme at one scale, in this process (its own database)."""
    os.environ["BENCH_DB"] = database(scheme, events)
    os.environ.setdefault("EMAIL_URL", "memorymail://")
    # bench/access.py reads its sizes from the command line: patients, documents, events.
    sys.argv[1:] = [str(PATIENTS), "0", str(events)]
    import access
    import common

    url = common.setup()
    result: dict = {"scheme": scheme, "events": events}
    try:
        from django.db import connection
        from django.test.utils import override_settings

        from acces import audit, partitions
        from acces.models import AuditEvent
        from espace_sante.auth import email_device
        from espace_sante.models import Space
        from espace_sante.tracing import Actor

        if scheme == "hash":
            partitions.partition(connection, scheme="hash")
        elif scheme == "plain":
            partitions.unpartition(connection)
        timings: dict = {}
        with common.timed("measured people through the services", timings):
            subjects = access.make_subjects()
        with common.timed(f"generate {PATIENTS:,} patients, professionals, relations", timings):
            access.generate_people(PATIENTS, subjects)
        with common.timed(f"generate {events:,} audit events (SQL)", timings):
            access.generate_events(events, PATIENTS)
        with common.timed("VACUUM ANALYZE", timings):
            common.vacuum_analyze(*(t for t in access.DATA_SET_TABLES if t != "dossier_document"))
        result["build_s"] = {k.split(" (")[0]: round(v, 1) for k, v in timings.items()}
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM acces_auditevent")
            last_generated = cursor.fetchone()[0]
        history = subjects["history"]
        result["size"] = access.audit_table_size()
        result["partitions"] = len(partitions.partitions(connection))
        result["total"] = AuditEvent.objects.count()
        result["trail_events"] = AuditEvent.objects.filter(space=history).count()
        print(
            f"  {scheme}: {result['total']:,} events ({result['size']} with indexes, "
            f"{result['partitions']} partitions), trail's space: {result['trail_events']:,}",
            flush=True,
        )

        with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
            holder = subjects["history_user"]
            client = access.signed_in(holder, email_device(holder))
            print(f"Patient's trail, first page (200 requests), {access.load()}:")
            for label, query in (
                ("history", ""),
                ("history_filtered", "?qui=professional&resultat=denied"),
            ):
                page_url = f"/espace/{history.public_id}/historique/{query}"
                p50, p95 = access.line(f"{label} {query}", access.measure(client, page_url))
                result[label] = [round(p50, 2), round(p95, 2)]
                access.slowest_queries(client, page_url)

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT space_id FROM bench_chain WHERE o < %s ORDER BY random() LIMIT %s",
                [PATIENTS, access.WRITES],
            )
            ids = [row[0] for row in cursor.fetchall()]
        spaces = list(Space.objects.filter(pk__in=ids))
        random.Random(5).shuffle(spaces)
        actor = Actor(user=subjects["gp"].user, role="professional", ip="10.1.2.3")
        print(f"Audit writes (acces.audit.record, own transaction), {access.load()}:")
        started = time.perf_counter()
        writes, before_commit, _ = access.audit_writes(spaces, actor)
        elapsed = time.perf_counter() - started
        w50, w95 = access.line("one event appended to its chain, commit included", writes)
        access.line("  of which record() before the commit", before_commit)
        result["write"] = [round(w50, 2), round(w95, 2)]
        result["writes_per_s"] = round(len(writes) / elapsed)
        result["load"] = access.load()

        written = AuditEvent.objects.filter(pk__gt=last_generated).count()
        started = time.perf_counter()
        verdicts = list(audit.verify_all(since_id=last_generated))
        result["verify_s"] = round(time.perf_counter() - started, 2)
        broken = [str(problem) for _, problem in verdicts if problem is not None]
        result["verified"] = [written, len(verdicts) - 1, len(broken)]
        print(
            f"  verify_audit_trail --since-id {last_generated}: {written:,} events written during "
            f"the run, {len(verdicts) - 1:,} chains, {len(broken)} broken, {result['verify_s']} s"
        )
        for problem in broken[:5]:
            print(f"    BROKEN {problem}")
        print(MARK + json.dumps(result), flush=True)
        if broken:
            sys.exit(1)
    finally:
        common.teardown(url)


def table(results: list[dict]) -> None:
    columns = [f"{r['scheme']} {r['events'] / 1e6:g}M" for r in results]
    print("\n" + " " * 34 + "".join(f"{c:>22}" for c in columns))

    def row(label, cell):
        print(f"{label:<34}" + "".join(f"{cell(r):>22}" for r in results))

    row("table size (with indexes)", lambda r: r["size"])
    row("partitions", lambda r: r["partitions"])
    row("events generated (s)", lambda r: next(v for k, v in r["build_s"].items() if "events" in k))
    row("history page p50 / p95 (ms)", lambda r: f"{r['history'][0]} / {r['history'][1]}")
    row("history filtered p50 / p95 (ms)", lambda r: "{} / {}".format(*r["history_filtered"]))
    row("audit write p50 / p95 (ms)", lambda r: "{} / {}".format(*r["write"]))
    row("audit writes per second (1 conn)", lambda r: r["writes_per_s"])
    row("verify --since-id: events / s", lambda r: f"{r['verified'][0]:,} / {r['verify_s']}")
    row("verify --since-id: broken chains", lambda r: r["verified"][2])
    for r in results:
        print(f"RESULT {r['scheme']} {r['events']:,}: {json.dumps(r)}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        one(sys.argv[2], int(sys.argv[3]))
        return
    results = []
    for events in SCALES:
        for scheme in SCHEMES:
            print(f"== {scheme}, {events:,} events", flush=True)
            with subprocess.Popen(
                [sys.executable, __file__, "--one", scheme, str(events)],
                stdout=subprocess.PIPE,
                text=True,
            ) as run:
                for text in run.stdout:
                    if text.startswith(MARK):
                        results.append(json.loads(text[len(MARK) :]))
                    else:
                        print(text, end="", flush=True)
            if run.returncode:
                print(f"   run failed ({run.returncode})")
    if results:
        table(results)


if __name__ == "__main__":
    main()
