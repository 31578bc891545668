"""Play a referenced service from the command line: connect it to a space, then call the API.

The scripts beside this one (`glucometre.py`, `rendez_vous.py`, `sante_enfant.py`) are the
three demo services of the catalogue. Each does what a real service does, with clients
nobody here wrote: requests-oauthlib for OAuth2 (authorization code + PKCE, S256) and
fhirpy for the FHIR R4 API.

    make run PORT=8000               # the portal with its demo data, in another terminal
    .venv/bin/python docs/exemples/glucometre.py [http://127.0.0.1:8000]

The script prints the address to open in a browser: sign in as the patient (Camille:
camille.durand@demo.monespacesante.fr), tick the purposes, accept. The portal sends the
browser back to http://127.0.0.1:8765/callback, where the script listens: it exchanges
the code for tokens, then reads and writes through the API. The token is kept in
`~/.cache/mes-exemples/<client_id>.json` for the next run (refreshed when expired).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from fhirpy import SyncFHIRClient
from requests_oauthlib import OAuth2Session

REDIRECT_URI = "http://127.0.0.1:8765/callback"
CACHE = Path.home() / ".cache" / "mes-exemples"


def portal_url() -> str:
    return (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000").rstrip("/")


def _wait_for_callback() -> str:
    """Serve one request on the redirect URI and return its full URL."""
    received: dict[str, str] = {}

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self):
            received["url"] = f"http://127.0.0.1:8765{self.path}"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"<p>C'est fait : vous pouvez fermer cette page.</p>")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 8765), Callback)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    thread.join()
    server.server_close()
    return received["url"]


def connect(client_id: str, scopes: list[str]) -> dict:
    """The OAuth2 dance, or the token kept from last time (refreshed if needed)."""
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # a local demo over http
    base = portal_url()
    CACHE.mkdir(parents=True, exist_ok=True)
    kept = CACHE / f"{client_id}.json"
    if kept.exists():
        token = json.loads(kept.read_text())
        session = OAuth2Session(client_id, token=token)
        try:
            token = session.refresh_token(
                f"{base}/oauth/token/", client_id=client_id, include_client_id=True
            )
            kept.write_text(json.dumps(token))
            return token
        except Exception as error:  # revoked, expired: connect again
            print(f"Jeton conservé refusé ({error}) : nouvelle connexion.")
    session = OAuth2Session(client_id, redirect_uri=REDIRECT_URI, scope=scopes, pkce="S256")
    url, _state = session.authorization_url(f"{base}/oauth/authorize/")
    print("Ouvrez cette adresse dans votre navigateur et acceptez :\n\n  " + url + "\n")
    webbrowser.open(url)
    callback = _wait_for_callback()
    token = session.fetch_token(
        f"{base}/oauth/token/", authorization_response=callback, include_client_id=True
    )
    kept.write_text(json.dumps(token))
    print(f"Connecté : portée accordée « {' '.join(token.get('scope', []))} ».")
    return token


def fhir(token: dict) -> SyncFHIRClient:
    return SyncFHIRClient(
        f"{portal_url()}/fhir",
        authorization=f"Bearer {token['access_token']}",
        extra_headers={"Accept": "application/fhir+json"},
    )
