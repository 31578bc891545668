"""The portal's pages over HTTP under gunicorn, beside a bare Django floor, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/http.py                    # 100,000 mailboxes, 5,000,000 messages
    ... bench/http.py 20000 1000000 200000                # mailboxes, messages, documents

Users meet the portal through gunicorn under concurrent load, so this is what is measured:

1. a PostgreSQL database (`bench_http`, or BENCH_DB) with the data set of
   `bench/messagerie.py` (its builder is reused: a patient's 10,000-message mailbox,
   500 conversations of 20 messages with her GP, sealed for real, among MAILBOXES
   mailboxes and MESSAGES messages generated in SQL), and her record: 500 documents
   among DOCUMENTS, one of them a real 1 MB PDF stored encrypted. The database is kept
   and reused by the next run at the same scale (BENCH_REBUILD=1 builds it afresh);
2. the portal under gunicorn as docker-compose.yml runs it (3 sync workers, access log),
   with the production settings (DJANGO_ENV=production: DEBUG off, PostgreSQL, the Redis
   cache when REDIS_URL is set, secure cookies, HTTPS as the reverse proxy says it with
   X-Forwarded-Proto), and beside it, under the same gunicorn options, the floor: a bare
   Django project (bench/floor/) answering a constant page with no middleware;
3. the patient and her GP sign in through the real forms (password, then the email code
   read from the email the portal sent, or the GP's TOTP code): their session cookies;
4. for each page, the floor then the page, each driven by `wrk` (bench/http.lua) with
   BENCH_CONNECTIONS connections for BENCH_DURATION seconds after a warm-up: requests/s,
   p50/p95/p99, errors (wrk's and any response other than 200 in gunicorn's access log),
   and the page's share of the floor measured just before it;
5. the trail: the audit events written during each page's run, counted by action, must
   equal the requests gunicorn served (one event per traced request and action).

The keys (SECRET_KEY, ENCRYPTION_KEYS) are fixed benchmark keys, not the development
ones (production refuses those) and never to be used elsewhere. Ports BENCH_PORT (8120)
and BENCH_PORT + 1 (the floor). Needs wrk (apt install wrk).
"""

from __future__ import annotations

# ruff: noqa: E402 (the standard library first, see below)
import sys
from pathlib import Path

# This file is named http.py: its folder must come after the standard library's `http`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from datetime import date
from http.client import HTTPConnection
from http.cookies import SimpleCookie

os.environ.setdefault("BENCH_DB", "bench_http")

import common

ROOT = common.ROOT
MAILBOXES = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000_000
DOCUMENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
OWN_DOCUMENTS = 500
DOCUMENT_BYTES = 1024 * 1024
PORT = int(os.environ.get("BENCH_PORT", "8120"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))  # as docker-compose.yml
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
DURATION = int(os.environ.get("BENCH_DURATION", "15"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
PAGE_TARGET_MS = 100
WORK = Path(os.environ.get("BENCH_WORK", Path(tempfile.gettempdir()) / common.BENCH_DB))
PASSWORD = "Une-phrase-de-passe-2026"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
WRK = shutil.which("wrk") or "/usr/bin/wrk"
# Benchmark-only keys, fixed so that a kept database decrypts at the next run.
BENCH_SECRET = "bench-http-secret-key-fixed-for-the-benchmark-database-only-0123456789"
BENCH_KEYS = "bench1:" + base64.b64encode(hashlib.sha256(b"mes-bench-http").digest()).decode()
MARKER = "bench_http_built"  # a table: the scale and the public ids of what is measured


def portal_env(database_url: str) -> dict[str, str]:
    """The environment of the portal, for gunicorn and for this script's own Django."""
    env = dict(os.environ)
    env.update(
        DJANGO_ENV="production",
        DJANGO_SETTINGS_MODULE="espace_sante.settings",
        SECRET_KEY=BENCH_SECRET,
        ENCRYPTION_KEYS=BENCH_KEYS,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        MEDIA_ROOT=str(WORK / "media"),
        EMAIL_URL=f"filemail:///{WORK / 'mail'}",
        SITE_URL=f"https://127.0.0.1:{PORT}",
        LOG_LEVEL="WARNING",
    )
    env.pop("DJANGO_DEBUG", None)
    return env


# --- The data set ---------------------------------------------------------------------------


def _load_messagerie_bench():
    """bench/messagerie.py, whose builder is reused (a module name apart from the app's)."""
    spec = importlib.util.spec_from_file_location("bench_messagerie", HERE / "messagerie.py")
    module = importlib.util.module_from_spec(spec)
    path = list(sys.path)
    spec.loader.exec_module(module)
    sys.path[:] = path  # it puts bench/ first, before the standard library's `http`
    return module


def _built(cursor) -> dict | None:
    cursor.execute("SELECT to_regclass(%s)", [MARKER])
    if cursor.fetchone()[0] is None:
        return None
    cursor.execute(f"SELECT facts FROM {MARKER}")
    row = cursor.fetchone()
    return row[0] if row else None


def generate_documents(space_id: int, total: int, data_key_id: int, added_by: int) -> None:
    """The measured record's OWN_DOCUMENTS (one real, the rest generated), the others'
    documents spread over the filler's patient spaces (generated in SQL; never read)."""
    from django.db import connection

    own = f"""
        INSERT INTO dossier_document (public_id, space_id, type_id, type_code, category,
            title, act_date, source, added_by_id, author_label, created_at, content_type,
            size, sha256, data_key_id, file, masked, invisible_to_patient,
            invisible_to_representatives, is_current)
        SELECT gen_random_uuid(), %s, '11502-2', '11502-2', 'biology', 'Examen ' || g,
               date '2020-01-01' + g, 'patient', %s, 'Laboratoire', now(), 'application/pdf',
               1000, repeat('0', 64), %s, 'documents/x.enc', (g %% 10 = 0), false, false, true
        FROM generate_series(1, {OWN_DOCUMENTS - 1}) AS g
    """
    others = """
        INSERT INTO dossier_document (public_id, space_id, type_id, type_code, category,
            title, act_date, source, added_by_id, author_label, created_at, content_type,
            size, sha256, data_key_id, file, masked, invisible_to_patient,
            invisible_to_representatives, is_current)
        SELECT gen_random_uuid(), s.id, '11502-2', '11502-2', 'biology', 'Bilan ' || g,
               date '2020-01-01' + (g %% 2000), 'patient', %s, 'Laboratoire', now(),
               'application/pdf', 1000, repeat('0', 64), %s, 'documents/x.enc',
               (g %% 7 = 0), false, false, true
        FROM generate_series(0, %s - 1) AS g
        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM espace_sante_space
              WHERE holder_id IN (SELECT id FROM espace_sante_patient WHERE nir LIKE '8%%')) s
          ON s.n = g %% %s
    """
    with connection.cursor() as cursor:
        cursor.execute(own, [space_id, added_by, data_key_id])
        cursor.execute(
            "SELECT count(*) FROM espace_sante_patient WHERE nir LIKE '8%%'",
        )
        spaces = cursor.fetchone()[0]
        filler = max(0, total - OWN_DOCUMENTS)
        if filler and spaces:
            cursor.execute(others, [added_by, data_key_id, filler, spaces])
    common.vacuum_analyze("dossier_document")


def build(database_url: str) -> dict:
    """Create the database and its data set; return the facts the measures need."""
    from django.core.management import call_command
    from django.db import connection

    with common.timed("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    from django.db.models import Count
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from dossier.services import add_document
    from espace_sante import crypto
    from espace_sante.tracing import Actor
    from messagerie import services
    from messagerie.models import Attachment, Conversation, Mailbox, Message

    msg = _load_messagerie_bench()
    with common.timed("measured people (services)"):
        people = msg.make_subjects()
    gp, space, user = people["gp"], people["big"], people["big_user"]
    with common.timed(
        f"measured mailbox: {msg.OWN_CONVERSATIONS} conversations of {msg.PER_CONVERSATION} "
        "(sealed)"
    ):
        msg.fill_mailbox(space, user, gp, msg.OWN_CONVERSATIONS)
    msg.fill_mailbox(people["single"], people["single_user"], gp, 1)
    # The GP's authenticator, as `totp_setup` leaves it once confirmed.
    TOTPDevice.objects.create(user=gp.user, name="application", confirmed=True)
    key = crypto.new_data_key()
    blob = crypto.encrypt(b"Texte de remplissage " * 10, key, context=b"bench:filler")
    filler = max(0, MESSAGES - Message.objects.count())
    with common.timed(f"filler: {MAILBOXES:,} mailboxes, {filler:,} messages (SQL)"):
        msg.generate_filler(MAILBOXES, filler, key.pk, blob)
    with common.timed("the record: a 1 MB PDF (encrypted), documents (SQL)"):
        document = add_document(
            space=space,
            type_code="11502-2",
            title="Compte rendu d'imagerie",
            act_date=date(2026, 11, 30),
            data=msg.pdf_of(DOCUMENT_BYTES),
            by=Actor(user=user, role=user.kind),
        )
        generate_documents(space.pk, DOCUMENTS, key.pk, user.pk)
    box = services.patient_mailbox(space)
    # The conversation page measured: one from the middle of the inbox, with attachments.
    from messagerie import selectors

    middle = selectors.inbox(box, page=10).rows[0].conversation
    held = Message.objects.filter(conversation__members__mailbox=box).aggregate(n=Count("pk"))
    facts = {
        "mailboxes": MAILBOXES,
        "messages": MESSAGES,
        "documents": DOCUMENTS,
        "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "patient_email": user.email,
        "gp_email": gp.user.email,
        "space": str(space.public_id),
        "conversation": str(middle.public_id),
        "conversation_attachments": Attachment.objects.filter(message__conversation=middle).count(),
        "document": str(document.public_id),
        "mailbox_messages": held["n"],
        "total_mailboxes": Mailbox.objects.count(),
        "total_conversations": Conversation.objects.count(),
        "total_messages": Message.objects.count(),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dossier_document")
        facts["total_documents"] = cursor.fetchone()[0]
        cursor.execute(f"CREATE TABLE {MARKER} (facts jsonb NOT NULL)")
        cursor.execute(f"INSERT INTO {MARKER} VALUES (%s)", [json.dumps(facts)])
    return facts


def prepare() -> tuple[dict, dict[str, str]]:
    """The database at this scale, built or reused; the portal's environment."""
    url = os.environ.get("DATABASE_URL", "")
    if urllib.parse.urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(
            "DATABASE_URL doit désigner PostgreSQL, par exemple "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )
    import psycopg

    bench_url = common._admin_url(url, common.BENCH_DB)
    facts = None
    if os.environ.get("BENCH_REBUILD") != "1":
        try:
            info = common._conninfo(url) | {"dbname": common.BENCH_DB}
            with psycopg.connect(**info) as conn, conn.cursor() as cursor:
                facts = _built(cursor)
        except psycopg.OperationalError:
            facts = None
        if facts and (facts["mailboxes"], facts["messages"], facts["documents"]) != (
            MAILBOXES,
            MESSAGES,
            DOCUMENTS,
        ):
            print(f"  {common.BENCH_DB} holds another scale: rebuilt")
            facts = None
    env = portal_env(bench_url)
    os.environ.update(env)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"  # the build's notifications, in-process
    os.environ.setdefault("EMAIL_URL", "memorymail://")
    sys.path.insert(0, str(ROOT))
    if facts is None:
        if WORK.exists():
            shutil.rmtree(WORK)
        common._admin(
            url,
            f"DROP DATABASE IF EXISTS {common.BENCH_DB} WITH (FORCE)",
            f"CREATE DATABASE {common.BENCH_DB}",
        )
    (WORK / "mail").mkdir(parents=True, exist_ok=True)
    (WORK / "media").mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    if facts is None:
        with common.timed(f"build {common.BENCH_DB}"):
            facts = build(bench_url)
    else:
        print(f"  {common.BENCH_DB} reused (built {facts['built']}; BENCH_REBUILD=1 rebuilds)")
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)  # this tree's new indexes
    return facts, env


# --- Servers --------------------------------------------------------------------------------

ACCESS_FORMAT = "%(s)s %(m)s %(U)s %(M)s"  # status, method, path, duration in ms


def start_server(name: str, app: str, port: int, env: dict[str, str], extra=()):
    log = WORK / f"{name}.access.log"
    log.write_text("")
    command = [
        GUNICORN,
        app,
        f"--bind=127.0.0.1:{port}",
        f"--workers={WORKERS}",
        "--timeout=60",
        f"--access-logfile={log}",
        f"--access-logformat={ACCESS_FORMAT}",
        f"--error-logfile={WORK / f'{name}.error.log'}",
        *extra,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn {name} stopped: see {WORK / f'{name}.error.log'}")
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/", headers={"X-Forwarded-Proto": "https"})
            conn.getresponse().read()
            return process, log
        except OSError:
            time.sleep(0.3)
    process.terminate()
    sys.exit(f"gunicorn {name} did not answer on port {port}")


def stop_server(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


# --- Signing in through the real forms ------------------------------------------------------


class Browser:
    """Enough of a browser for the sign-in: cookies, the proxy's headers, CSRF."""

    def __init__(self, port: int):
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"Host": self.host, "X-Forwarded-Proto": "https"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            csrf = next((v for k, v in self.cookies.items() if k.endswith("csrftoken")), "")
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://{self.host}"
            headers["Referer"] = f"https://{self.host}{path}"
        conn = HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
        for header in response.msg.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return (
            response.status,
            response.getheader("Location", ""),
            content.decode("utf-8", "replace"),
        )

    def sign_in(self, email: str, password: str, code) -> str:
        """Password, then the second factor (`code()` once the password is accepted);
        returns the session cookie for wrk."""
        self.request("GET", "/comptes/login/")
        status, location, _ = self.request(
            "POST", "/comptes/login/", {"login": email, "password": password}
        )
        if status != 302:
            sys.exit(f"sign-in of {email}: {status}, expected a redirect")
        status, location, _ = self.request("POST", "/connexion/verification/", {"token": code()})
        if status != 302 or "verification" in location:
            sys.exit(f"second factor of {email}: {status} {location}")
        session = next(k for k in self.cookies if k.endswith("sessionid"))
        return f"{session}={self.cookies[session]}"


def email_code(address: str, since: float) -> str:
    """The code in the newest email to `address` written after `since` (filemail)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for path in sorted((WORK / "mail").glob("*.log"), key=lambda p: -p.stat().st_mtime):
            if path.stat().st_mtime < since:
                continue
            text = path.read_text(errors="replace")
            if address in text:
                found = re.findall(r"code de connexion[^:]*: (\d{6})", text)
                if found:
                    return found[-1]
        time.sleep(0.2)
    sys.exit(f"no sign-in code emailed to {address}")


def totp_code(email: str) -> str:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user__email=email, confirmed=True)
    # One code per time step: wait for a fresh step if this one was used already.
    while int((time.time() - device.t0) // device.step) <= (device.last_t or -1):
        time.sleep(1)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):0{device.digits}d}"


# --- Load -----------------------------------------------------------------------------------


def wrk(url: str, cookie: str, host: str, seconds: int, **headers: str) -> dict:
    """`headers`: BENCH_AUTH, BENCH_METHOD, BENCH_BODY for bench/http.lua (the API's calls)."""
    out = WORK / "wrk.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, BENCH_COOKIE=cookie, BENCH_HOST=host, BENCH_OUT=str(out), **headers)
    subprocess.run(
        [
            WRK,
            f"-t{min(2, CONNECTIONS)}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout=30s",
            "-s",
            str(HERE / "http.lua"),
            url,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return json.loads(out.read_text())


def access_lines(log: Path, offset: int) -> tuple[list[tuple[int, str, str, int]], int]:
    with log.open() as f:
        f.seek(offset)
        text = f.read()
        end = f.tell()
    rows = []
    for line in text.splitlines():
        status, method, path, ms = line.split(" ")
        rows.append((int(status), method, path, int(ms)))
    return rows, end


def audit_mark() -> int:
    from acces.models import AuditEvent

    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def audit_since(mark: int) -> dict[str, int]:
    from django.db.models import Count

    from acces.models import AuditEvent

    return {
        f"{row['action']}/{row['outcome']}": row["n"]
        for row in AuditEvent.objects.filter(pk__gt=mark)
        .values("action", "outcome")
        .annotate(n=Count("pk"))
    }


def settle(log: Path, longest_us: int) -> None:
    """Wait for the requests wrk left in flight when it stopped to finish on the server
    (as long as the longest request it saw, then until the access log stops growing)."""
    time.sleep(longest_us / 1e6 + 0.5)
    size = -1
    while log.stat().st_size != size:
        size = log.stat().st_size
        time.sleep(1.0)


def run(label, url, cookie, host, log, expected_actions) -> dict:
    """Warm up, then measure: wrk's figures, gunicorn's statuses and the audit events."""
    settle(log, wrk(url, cookie, host, WARMUP)["max_us"])
    _, offset = access_lines(log, 0)
    mark = audit_mark()
    result = wrk(url, cookie, host, DURATION)
    settle(log, result["max_us"])
    rows, _ = access_lines(log, offset)
    served = sum(1 for r in rows if r[0] == 200)
    result["served"] = served
    result["not_200"] = len(rows) - served
    result["server_ms_p50"] = sorted(r[3] for r in rows)[len(rows) // 2] if rows else 0
    result["events"] = audit_since(mark) if expected_actions is not None else {}
    result["trail_ok"] = expected_actions is None or (
        all(result["events"].get(action, 0) == served for action in expected_actions)
        and sum(result["events"].values()) == served * len(expected_actions)
    )
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["label"] = label
    return result


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def main() -> None:
    facts, env = prepare()
    print(
        f"  scale: {facts['total_mailboxes']:,} mailboxes, {facts['total_conversations']:,} "
        f"conversations, {facts['total_messages']:,} messages, {facts['total_documents']:,} "
        f"documents; measured mailbox {facts['mailbox_messages']:,} messages"
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    floor_env = {k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"}
    portal, portal_log = start_server("portal", "espace_sante.wsgi", PORT, env)
    floor, floor_log = start_server("floor", "bench.floor.wsgi", PORT + 1, floor_env)
    try:
        since = time.time() - 1
        patient = Browser(PORT).sign_in(
            facts["patient_email"], PASSWORD, lambda: email_code(facts["patient_email"], since)
        )
        gp = Browser(PORT).sign_in(
            facts["gp_email"], PASSWORD, lambda: totp_code(facts["gp_email"])
        )
        space, conversation = facts["space"], facts["conversation"]
        from messagerie.actions import MessagingAction

        # Traced in the professional's own chain where the tree has that action.
        viewed = getattr(MessagingAction, "PRO_INBOX_VIEWED", None)
        pro_inbox = [f"{viewed}/allowed"] if viewed else []
        base = f"http://127.0.0.1:{PORT}"
        host = f"127.0.0.1:{PORT}"
        pages = [
            ("patient: home of the space", f"/espace/{space}/", patient, ["view_space/allowed"]),
            (
                "patient: messaging inbox (10,000 messages)",
                f"/espace/{space}/messagerie/",
                patient,
                ["read_messages/allowed"],
            ),
            (
                "patient: a conversation (20 messages)",
                f"/espace/{space}/messagerie/{conversation}/",
                patient,
                ["read_messages/allowed", "message_read/allowed"],
            ),
            ("GP: pro messaging inbox (10,020 messages)", "/pro/messagerie/", gp, pro_inbox),
            (
                "GP: the same conversation",
                f"/pro/messagerie/{conversation}/",
                gp,
                ["message_read/allowed"],  # the pro portal traces the reading only
            ),
            (
                f"patient: documents list ({OWN_DOCUMENTS} documents)",
                f"/espace/{space}/documents/",
                patient,
                ["view_space/allowed"],
            ),
            (
                "patient: download of a 1 MB document",
                f"/espace/{space}/documents/{facts['document']}/telecharger/",
                patient,
                ["view_document/allowed"],
            ),
        ]
        only = os.environ.get("BENCH_PAGES")
        if only:
            wanted = {int(n) for n in only.split(",")}
            pages = [p for n, p in enumerate(pages, 1) if n in wanted]
        load = loadavg()
        print(
            f"== gunicorn {WORKERS} sync workers, wrk {CONNECTIONS} connections, "
            f"{DURATION} s a run after {WARMUP} s of warm-up; load {load}"
        )
        results = []
        for label, path, cookie, actions in pages:
            floor_result = run("floor", f"http://127.0.0.1:{PORT + 1}/", "", host, floor_log, None)
            result = run(label, base + path, cookie, host, portal_log, actions)
            result["floor_rps"] = floor_result["rps"]
            result["floor_p50_us"] = floor_result["p50_us"]
            results.append(result)
            errors = (
                result["connect"] + result["read"] + result["write"] + result["timeout"]
            ) + result["not_200"]
            verdict = ""
            if "inbox" in label or "conversation" in label:
                verdict = "OK" if result["p95_us"] / 1000 < PAGE_TARGET_MS else "TOO SLOW"
            events = ", ".join(f"{k} {v}" for k, v in sorted(result["events"].items())) or "none"
            print(
                f"  {label:<44} {result['rps']:7.1f} req/s  p50 {ms(result['p50_us'])} "
                f"p95 {ms(result['p95_us'])} p99 {ms(result['p99_us'])} ms  errors {errors}  "
                f"floor {floor_result['rps']:,.0f} req/s "
                f"({100 * result['rps'] / floor_result['rps']:.2f} %) {verdict}",
                flush=True,
            )
            print(
                f"    served {result['served']}, trail: {events} "
                f"({'one event per request and action' if result['trail_ok'] else 'MISMATCH'})",
                flush=True,
            )
        load = loadavg()
        print(f"== load after: {load}")
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
                            "p95_us",
                            "p99_us",
                            "served",
                            "not_200",
                            "timeout",
                            "floor_rps",
                            "trail_ok",
                            "events",
                        )
                    },
                    ensure_ascii=False,
                )
            )
    finally:
        stop_server(portal)
        stop_server(floor)
        from django.db import connections

        connections.close_all()
    print(f"database {common.BENCH_DB} kept for the next run (BENCH_REBUILD=1 rebuilds it)")


if __name__ == "__main__":
    main()
