"""A resource server built on eoepca-uma's protection-API helpers (eoepca_uma.resource, .rpt).

    rs.py PORT

Serves GET /photos/beach (scope view), /photos/beach/download (download) and /photos/sunset
(view) on 127.0.0.1:PORT. On its first protected request it gets a PAT (client credentials: the
library has no helper for it) and registers its resources with `resource.create`. A request
without a valid RPT gets a permission ticket from `resource.request_access_ticket` and a
`401 WWW-Authenticate: UMA` challenge; a request with an RPT is let through when
`rpt.is_valid_now` (the library's introspection and its reading of the answer) says so. When no
ticket can be had, the answer is 403 with `Warning: 199 - "UMA Authorization Server Unreachable"`.

Configuration (environment): UMA_INTEROP_AS (the AS issuer), UMA_INTEROP_CLIENT_ID and
UMA_INTEROP_CLIENT_SECRET (the RS's client at the AS).
"""

import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from eoepca_uma import resource, rpt

ISSUER = os.environ["UMA_INTEROP_AS"].rstrip("/")
CLIENT = (os.environ["UMA_INTEROP_CLIENT_ID"], os.environ["UMA_INTEROP_CLIENT_SECRET"])
ROUTES = {
    "/photos/beach": ("beach", "view"),
    "/photos/beach/download": ("beach", "download"),
    "/photos/sunset": ("sunset", "view"),
}
SCOPES = {"beach": ["view", "download"], "sunset": ["view"]}

_lock = threading.Lock()
_state = {}


def discovery():
    return requests.get(ISSUER + "/.well-known/uma2-configuration", timeout=5).json()


def setup(fresh=False):
    """The PAT and the registered resources, made once (again with `fresh`)."""
    with _lock:
        if fresh or not _state:
            meta = discovery()
            token = requests.post(
                meta["token_endpoint"],
                data={"grant_type": "client_credentials", "scope": "uma_protection"},
                auth=CLIENT,
                timeout=5,
            ).json()["access_token"]
            ids = _state.get("ids") or {
                name: resource.create(token, meta["resource_registration_endpoint"], name, scopes)
                for name, scopes in SCOPES.items()
            }
            _state.update(meta=meta, pat=token, ids=ids)
        return dict(_state)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        route = ROUTES.get(self.path.split("?")[0])
        if route is None:
            return self.answer(404, "not found")
        name, scope = route
        try:
            s = setup()
        except Exception:
            return self.answer(403, "no authorization server", [("Warning", '199 - "UMA Authorization Server Unreachable"')])
        wanted = [{"resource_id": s["ids"][name], "resource_scopes": [scope]}]
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            if rpt.is_valid_now(auth[7:].strip(), s["pat"], s["meta"]["introspection_endpoint"], wanted):
                return self.answer(200, f"photo {name}")
        try:
            ticket = resource.request_access_ticket(s["pat"], s["meta"]["permission_endpoint"], wanted)
        except Exception:
            return self.answer(403, "no ticket", [("Warning", '199 - "UMA Authorization Server Unreachable"')])
        challenge = f'UMA realm="eoepca", as_uri="{ISSUER}", ticket="{ticket}"'
        return self.answer(401, "UMA authorization required", [("WWW-Authenticate", challenge)])


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
