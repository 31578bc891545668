#!/usr/bin/env bash
# Runs the benchmarks on PostgreSQL (see bench/README.md); `make bench` calls this.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "DATABASE_URL doit désigner PostgreSQL (les mesures n'ont pas de sens sur SQLite)." >&2; exit 2 ;;
esac
echo "== $(date -Iseconds) — $(nproc) cœurs, charge : $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "== Inscription de ${ENROL_ROWS:-100000} assurés (cible < 60 s)"
"$PY" bench/enrol.py "${ENROL_ROWS:-100000}"
echo "== Bascule de ${SWEEP_SPACES:-1000000} espaces annoncés (cible < 60 s)"
"$PY" bench/sweep.py "${SWEEP_SPACES:-1000000}"
echo "== Documents : PDF de 10 Mo chiffré (cible < 300 ms), page de 500 documents parmi ${DOC_TOTAL:-1000000} (p95 < 100 ms)"
"$PY" bench/documents.py "${DOC_PATIENTS:-100000}" "${DOC_TOTAL:-1000000}"
echo "== Accès : pages du professionnel (dossier de 500 documents), historique, écriture de la trace, parmi ${ACCESS_EVENTS:-10000000} événements (p95 < 100 ms, < 2 ms)"
"$PY" bench/access.py "${ACCESS_PATIENTS:-100000}" "${ACCESS_DOCUMENTS:-1000000}" "${ACCESS_EVENTS:-10000000}"
echo "== Traçabilité partitionnée par mois : historique et écriture de la trace à ${PARTS_SCALES:-10000000} événements (PARTS_SCALES=10000000,100000000 pour 100 M, long)"
BENCH_SCALES=${PARTS_SCALES:-10000000} BENCH_SCHEMES=${PARTS_SCHEMES:-month} "$PY" bench/audit_partitions.py
echo "== Messagerie : boîte de 10 000 messages parmi ${MSG_TOTAL:-5000000} messages et ${MSG_MAILBOXES:-100000} boîtes (p95 < 100 ms), envoi d'une pièce jointe de 5 Mo (< 300 ms)"
"$PY" bench/messagerie.py "${MSG_MAILBOXES:-100000}" "${MSG_TOTAL:-5000000}"
echo "== Catalogue : recherche DocumentReference 50 sur 500 (p95 < 100 ms), écriture d'une Observation (< 50 ms), en processus et par HTTP"
"$PY" bench/catalogue.py "${CAT_PATIENTS:-100000}" "${CAT_DOCUMENTS:-1000000}"
echo "== Logiciels de professionnels (PDSm) : recherche ITI-67 sur 500 documents (p95 < 100 ms), publication ITI-65 d'un PDF de 1 Mo (< 300 ms)"
"$PY" bench/pdsm.py "${CAT_PATIENTS:-100000}" "${CAT_DOCUMENTS:-1000000}"
if command -v wrk >/dev/null; then
  echo "== Pages par HTTP sous gunicorn, à côté d'un Django nu (wrk ; base ${HTTP_DB:-bench_http} gardée)"
  BENCH_DB=${HTTP_DB:-bench_http} "$PY" bench/http.py "${HTTP_MAILBOXES:-100000}" "${HTTP_MESSAGES:-5000000}" "${HTTP_DOCUMENTS:-1000000}"
  echo "== Pages du dossier sous charge (16 connexions, 2 workers) à côté du Django nu : au moins 5 % du plancher, l'accueil anonyme 50 % (base ${PAGES_DB:-bench_pages} gardée)"
  BENCH_DB=${PAGES_DB:-bench_pages} "$PY" bench/pages.py "${PAGES_PATIENTS:-100000}" "${PAGES_DOCUMENTS:-1000000}" "${PAGES_EVENTS:-10000000}"
else
  echo "== Pages par HTTP : wrk absent (apt install wrk), mesure sautée"
fi
