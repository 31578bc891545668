"""A person's agenda pages with 500 appointments and 50 prevention answers (issue 13).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/agenda.py [SPACES]        # background population, 100,000

Issue 13: "a person's agenda page answers p95 under 100 ms with 500 appointments and 50
reminders, in a constant number of queries". Database `bench_agenda` (BENCH_DB), built
afresh at each run and dropped at the end (BENCH_KEEP_DB=1 keeps it):

1. a background population: SPACES active spaces with their accounts, vaccinations,
   care events, marks and conditions (the generator of `bench/agenda_prevention.py`,
   reused), each with 10 appointments generated in SQL (never decrypted);
2. the measured person, a woman born in 1985, through the services: 500 appointments
   (each sealed under its own key, over two years around today, the past ones mostly
   done, a few cancelled), 50 prevention answers (done with a date, or "does not concern
   me"), a declared condition, 20 profile vaccinations, 30 documents and 100 imported
   care events; and a second person with one appointment and no answer, whose query
   counts must equal the first's;
3. in-process, through the Django test client (the production settings, as gunicorn
   runs them): each page BENCH_RUNS times (200) after 20 warm-ups, p50/p95, and the
   queries of one request for both persons;
4. over HTTP, the machinery of `bench/http.py` (imported, not copied): the portal under
   gunicorn (3 sync workers) and the bare Django floor beside it, the patient signed in
   through the real forms, `wrk` on each page after the floor, gunicorn's statuses and
   the audit events written (one `view_agenda` per request).

Pages: the agenda's home, the list of coming appointments, the month view, the
prevention page and the history of care. Ports BENCH_PORT (8130) and the next one.
BENCH_SKIP_HTTP=1 measures in-process only; BENCH_PAGES=1,5 only those pages over HTTP.
"""

from __future__ import annotations

# ruff: noqa: E402 (the standard library first, see below)
import sys
from pathlib import Path

# bench/http.py shadows the standard library's `http`: bench/ goes after it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import os
import statistics
import time
import urllib.parse
from datetime import date, datetime, timedelta

os.environ.setdefault("BENCH_DB", "bench_agenda")
os.environ.setdefault("BENCH_PORT", "8130")

import common

SPACES = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
APPOINTMENTS = 500
ANSWERS = 50
BACKGROUND_APPOINTMENTS = 10
RUNS = int(os.environ.get("BENCH_RUNS", "200"))
WARMUPS = 20
TARGET_MS = 100


# Servers, sign-in, wrk, the access log, the trail.
web = common.load_sibling("bench_http", "http.py")
prevention_bench = common.load_sibling("bench_agenda_prevention", "agenda_prevention.py")


# --- The data set ---------------------------------------------------------------------------


def prepare() -> tuple[str, dict[str, str]]:
    url = os.environ.get("DATABASE_URL", "")
    if urllib.parse.urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(
            "DATABASE_URL doit désigner PostgreSQL, par exemple "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )
    bench_url = common._admin_url(url, common.BENCH_DB)
    common._admin(
        url,
        f"DROP DATABASE IF EXISTS {common.BENCH_DB} WITH (FORCE)",
        f"CREATE DATABASE {common.BENCH_DB}",
    )
    env = web.portal_env(bench_url)
    os.environ.update(env)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    (web.WORK / "mail").mkdir(parents=True, exist_ok=True)
    (web.WORK / "media").mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    with common.timed("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)  # the manifest, as served
    return url, env


def background(spaces: int) -> None:
    """SPACES spaces (bench/agenda_prevention.py's generator), 10 appointments each."""
    from django.db import connection

    from espace_sante import crypto

    prevention_bench.generate(spaces)
    key = crypto.new_data_key()
    blob = crypto.encrypt(b'{"name": "Dr Remplissage"}', key, context=b"bench:filler")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO agenda_appointment (public_id, space_id, starts_at, duration_minutes,
                status, with_kind, author_kind, source, data_key_id, details_ciphertext,
                created_at, updated_at)
            SELECT gen_random_uuid(), s.id,
                   now() - interval '400 days' + (g * 80 + s.id %% 80) * interval '1 day'
                       + (s.id %% 9) * interval '1 hour',
                   30, CASE WHEN g < 5 THEN 'done' ELSE 'planned' END, 'practitioner',
                   'patient', 'portail', %s, %s, now(), now()
            FROM espace_sante_space AS s, generate_series(0, %s - 1) AS g
            """,
            [key.pk, blob, BACKGROUND_APPOINTMENTS],
        )
    common.vacuum_analyze("agenda_appointment")


def person(n: int, first: str, birth: date):
    from espace_sante.identity import with_key
    from espace_sante.models import Space
    from espace_sante.services import enrol_person, open_account
    from espace_sante.tracing import Actor

    email = f"{first.lower()}.agenda@exemple.fr"
    space = enrol_person(
        nir=with_key(f"2{birth:%y%m}44109{n:03d}"),
        last_name="Mesure",
        first_names=first,
        birth_date=birth,
        sex="F",
        carte_vitale_serial=f"87654321{n:02d}",
        email=email,
        announce=False,
        by=Actor.system(),
    )
    user = open_account(space=space, email=email, password=web.PASSWORD, by=Actor.system())
    return Space.objects.select_related("holder").get(pk=space.pk), user


def _at(day: date, hour: int):
    from django.utils import timezone

    return timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=hour)


def fill(space, user, appointments, answers, vaccinations=20, documents=30, events=100):
    """The measured person's agenda, through the services (each appointment sealed)."""
    from django.utils import timezone

    from acces.policy import Action, decide
    from acces.principal import Principal
    from agenda.appointments import services
    from agenda.appointments.sealing import Details
    from agenda.appointments.services import AppointmentData
    from agenda.models import Appointment, CareEvent, PreventionRule
    from agenda.prevention import services as prevention
    from dossier.models import Vaccination
    from espace_sante.tracing import Actor

    by = Actor(user=user, role="patient")
    today = timezone.localdate()
    done, cancelled = [], []
    for n in range(appointments):
        day = today - timedelta(days=365) + timedelta(days=(n * 730 + 365) // appointments)
        appointment = services.add_appointment(
            space=space,
            by=by,
            data=AppointmentData(
                starts_at=_at(day, 8 + n % 10),
                details=Details(
                    name=f"Dr Praticien {n}",
                    place="Cabinet médical, 12 rue de la Santé, Nantes",
                    specialty="Médecine générale",
                    reason=f"Consultation de suivi {n}",
                    comment="Apporter l'ordonnance",
                ),
            ),
        )
        if day < today:
            (cancelled if n % 10 == 0 else done).append(appointment.pk)
        elif n % 25 == 0:
            cancelled.append(appointment.pk)
    Appointment.objects.filter(pk__in=done).update(status=Appointment.Status.DONE)
    Appointment.objects.filter(pk__in=cancelled).update(
        status=Appointment.Status.CANCELLED, cancelled_at=timezone.now()
    )
    decision = decide(Principal.of_user(user), Action.MANAGE_AGENDA, space)
    codes = list(
        PreventionRule.objects.filter(active=True).order_by("code").values_list("code", flat=True)
    )
    for n, code in enumerate(codes[:answers]):
        if n % 5 == 4:
            prevention.decline(space=space, code=code, by=by, decision=decision, user=user)
        else:
            prevention.mark_done(
                space=space,
                code=code,
                day=today - timedelta(days=30 * n),
                by=by,
                decision=decision,
                user=user,
            )
    prevention.declare_conditions(space=space, conditions=["diabete"], by=by, decision=decision)
    Vaccination.objects.bulk_create(
        Vaccination(space=space, vaccine=v, date=date(2000 + n, 3, 1), lot="", given_by="")
        for n, v in enumerate(
            (["DTP (rappel)", "Vaxigrip", "Gardasil 9", "Prevenar 20"] * 5)[:vaccinations]
        )
    )
    _documents(space, user, documents)
    sys.path.insert(0, str(common.ROOT))
    from tests.agenda.history_helpers import make_events

    make_events(space, events, kind=CareEvent.Kind.DISPENSATION)
    common.vacuum_analyze("agenda_appointment", "agenda_preventionmark", "agenda_careevent")


def _documents(space, user, count: int) -> None:
    from dossier.services import add_document
    from espace_sante.tracing import Actor

    for n in range(count):
        add_document(
            space=space,
            type_code="11502-2",
            title=f"Bilan sanguin {n}",
            act_date=date(2020, 1, 1) + timedelta(days=60 * n),
            data=b"%PDF-1.4\n% bench\n",
            by=Actor(user=user, role=user.kind),
        )


# --- Measures -------------------------------------------------------------------------------


def pages(space_id: str) -> list[tuple[str, str]]:
    base = f"/espace/{space_id}/agenda/"
    return [
        ("agenda home", base),
        ("appointments list (coming)", base + "rendez-vous/"),
        ("month view", base + "calendrier/?vue=mois"),
        ("prevention page", base + "prevention/"),
        ("history of care", base + "historique/"),
    ]


def client_for(user):
    from django.test import Client

    from tests.conftest import sign_in

    return sign_in(Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https"), user)


def get(client, path):
    response = client.get(path, secure=True)
    assert response.status_code == 200, (path, response.status_code)
    return response


def queries(client, path) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        get(client, path)
    return len(captured.captured_queries)


def in_process(big, small) -> list[dict]:
    results = []
    for (label, path), (_, small_path) in zip(
        pages(big["space"]), pages(small["space"]), strict=True
    ):
        client = big["client"]
        for _ in range(WARMUPS):
            get(client, path)
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            get(client, path)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        result = {
            "label": label,
            "p50": statistics.median(times),
            "p95": times[int(len(times) * 0.95) - 1],
            "max": times[-1],
            "queries": queries(client, path),
            "queries_small": queries(small["client"], small_path),
        }
        results.append(result)
        verdict = "OK" if result["p95"] < TARGET_MS else "TOO SLOW"
        same = "equal" if result["queries"] == result["queries_small"] else "DIFFERENT"
        print(
            f"  {label:<30} p50 {result['p50']:6.1f}  p95 {result['p95']:6.1f}  "
            f"max {result['max']:6.1f} ms   queries {result['queries']} "
            f"(small person: {result['queries_small']}, {same})  {verdict}",
            flush=True,
        )
    return results


def over_http(env, big) -> list[dict]:
    floor_env = {k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"}
    port = web.PORT
    portal, portal_log = web.start_server("portal", "espace_sante.wsgi", port, env)
    floor, floor_log = web.start_server("floor", "bench.floor.wsgi", port + 1, floor_env)
    results = []
    try:
        since = time.time() - 1
        email = big["email"]
        cookie = web.Browser(port).sign_in(
            email, web.PASSWORD, lambda: web.email_code(email, since)
        )
        host = f"127.0.0.1:{port}"
        print(
            f"== gunicorn {web.WORKERS} sync workers, wrk {web.CONNECTIONS} connections, "
            f"{web.DURATION} s a run after {web.WARMUP} s of warm-up; load {web.loadavg()}"
        )
        measured = pages(big["space"])
        only = os.environ.get("BENCH_PAGES")  # "1,5": only those pages, numbered as printed
        if only:
            wanted = {int(n) for n in only.split(",")}
            measured = [p for n, p in enumerate(measured, 1) if n in wanted]
        for label, path in measured:
            floor_url = f"http://127.0.0.1:{port + 1}/"
            floor_result = web.run("floor", floor_url, "", host, floor_log, None)
            result = web.run(
                label, f"http://{host}{path}", cookie, host, portal_log, ["view_agenda/allowed"]
            )
            result["floor_rps"] = floor_result["rps"]
            results.append(result)
            errors = (
                result["connect"] + result["read"] + result["write"] + result["timeout"]
            ) + result["not_200"]
            verdict = "OK" if result["p95_us"] / 1000 < TARGET_MS else "TOO SLOW"
            events = ", ".join(f"{k} {v}" for k, v in sorted(result["events"].items())) or "none"
            print(
                f"  {label:<30} {result['rps']:7.1f} req/s  p50 {web.ms(result['p50_us'])} "
                f"p95 {web.ms(result['p95_us'])} p99 {web.ms(result['p99_us'])} ms  "
                f"errors {errors}  floor {floor_result['rps']:,.0f} req/s "
                f"({100 * result['rps'] / floor_result['rps']:.2f} %) {verdict}",
                flush=True,
            )
            print(
                f"    served {result['served']}, trail: {events} "
                f"({'one event per request' if result['trail_ok'] else 'MISMATCH'})",
                flush=True,
            )
        print(f"== load after: {web.loadavg()}")
    finally:
        web.stop_server(portal)
        web.stop_server(floor)
    return results


def main() -> None:
    print(f"== load before: {web.loadavg()}")
    url, env = prepare()
    try:
        with common.timed(
            f"background: {SPACES:,} spaces, {SPACES * BACKGROUND_APPOINTMENTS:,} appointments"
        ):
            background(SPACES)
        big_space, big_user = person(1, "Camille", date(1985, 4, 12))
        small_space, small_user = person(2, "Claire", date(1985, 4, 12))
        with common.timed(
            f"measured person: {APPOINTMENTS} appointments (sealed), {ANSWERS} answers"
        ):
            fill(big_space, big_user, APPOINTMENTS, ANSWERS)
        fill(small_space, small_user, 2, 1, vaccinations=1, documents=1, events=1)
        from agenda.models import Appointment, PreventionMark
        from agenda.prevention.selectors import due_reminders

        print(
            f"  measured: {Appointment.objects.filter(space=big_space).count()} appointments, "
            f"{PreventionMark.objects.filter(space=big_space).count()} prevention answers, "
            f"{len(due_reminders(big_space, date.today()))} reminders due on the home page; "
            f"in all {Appointment.objects.count():,} appointments"
        )
        big = {"space": str(big_space.public_id), "email": big_user.email}
        small = {"space": str(small_space.public_id)}
        big["client"], small["client"] = client_for(big_user), client_for(small_user)
        print(f"== in-process (Django test client), {RUNS} requests after {WARMUPS} warm-ups")
        in_process(big, small)
        if os.environ.get("BENCH_SKIP_HTTP") != "1":
            over_http(env, big)
    finally:
        common.teardown(url)


if __name__ == "__main__":
    main()
