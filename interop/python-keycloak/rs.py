"""A resource server built on python-keycloak's UMA protection API (keycloak.KeycloakUMA) and
its token introspection (KeycloakOpenID.introspect).

    rs.py PORT

Serves GET /photos/beach (scope view), /photos/beach/download (download) and /photos/sunset
(view) on 127.0.0.1:PORT, as eoepca-uma/rs.py does. The AS is named the library's way: a server
URL and a realm, its issuer being {server}/realms/{realm} (the profile's `counterpart.as_path`).
`KeycloakUMA` reads the UMA discovery document at {issuer}/.well-known/uma2-configuration and
gets its PAT itself (client credentials, before its first request);
`resource_set_create` registers the resources, `permission_ticket_create` asks for tickets, and
`KeycloakOpenID.introspect` (with the PAT and the RPT) asks whether an RPT is active.

The library builds its token and introspection URLs from Keycloak's own path layout
(realms/{realm}/protocol/openid-connect/...) instead of the discovery document; this wrapper
points those two URL patterns at the endpoints the discovery document names, which is all an
application needs to do to use the library with another UMA AS.

The library hands back the introspection answer; reading it is the application's job, and this
one reads it as FedAuthz §5.1.1 says: the RPT must be active, within its exp and nbf, and carry a
permission for the resource and scope, within the permission's own exp and nbf if it has them.

Configuration (environment): UMA_INTEROP_AS (the AS issuer), UMA_INTEROP_CLIENT_ID and
UMA_INTEROP_CLIENT_SECRET (the RS's client at the AS).
"""

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import keycloak.keycloak_openid as keycloak_openid
import requests
from keycloak import KeycloakOpenID, KeycloakOpenIDConnection, KeycloakUMA
from keycloak.uma_permissions import UMAPermission

ISSUER = os.environ["UMA_INTEROP_AS"].rstrip("/")
CLIENT_ID = os.environ["UMA_INTEROP_CLIENT_ID"]
SECRET = os.environ["UMA_INTEROP_CLIENT_SECRET"]
_parts = urlsplit(ISSUER)
SERVER = f"{_parts.scheme}://{_parts.netloc}/"
REALM = _parts.path.rstrip("/").rsplit("/", 1)[-1]
ROUTES = {
    "/photos/beach": ("beach", "view"),
    "/photos/beach/download": ("beach", "download"),
    "/photos/sunset": ("sunset", "view"),
}
SCOPES = {"beach": ["view", "download"], "sunset": ["view"]}

_lock = threading.Lock()
_state = {}


def relative(url):
    """An endpoint URL of the discovery document as a path pattern below the server URL."""
    path = urlsplit(url).path.lstrip("/")
    return path.replace(f"realms/{REALM}/", "realms/{realm-name}/", 1)


def setup():
    """The library's objects and the registered resources, made once."""
    with _lock:
        if not _state:
            # The connection gets its token before its first request, the discovery document's
            # too, so the URL patterns are pointed first, from the document read directly.
            meta = requests.get(ISSUER + "/.well-known/uma2-configuration", timeout=5).json()
            keycloak_openid.URL_TOKEN = relative(meta["token_endpoint"])
            keycloak_openid.URL_INTROSPECT = relative(meta["introspection_endpoint"])
            connection = KeycloakOpenIDConnection(
                server_url=SERVER, realm_name=REALM, client_id=CLIENT_ID, client_secret_key=SECRET, timeout=5
            )
            uma = KeycloakUMA(connection=connection)
            ids = {
                name: uma.resource_set_create({"name": name, "resource_scopes": scopes})["_id"]
                for name, scopes in SCOPES.items()
            }
            openid = KeycloakOpenID(server_url=SERVER, realm_name=REALM, client_id=CLIENT_ID, client_secret_key=SECRET, timeout=5)
            _state.update(uma=uma, openid=openid, ids=ids)
        return dict(_state)


def within(claims, now):
    """Whether `now` lies within the exp and nbf of `claims` (either may be absent)."""
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, (int, float)) and exp <= now:
        return False
    return not (isinstance(nbf, (int, float)) and nbf > now)


def permitted(answer, resource_id, scope):
    """The token's and the permission's exp and nbf both hold: the stricter wins."""
    now = time.time()
    if answer.get("active") is not True or not within(answer, now):
        return False
    return any(
        p.get("resource_id") == resource_id and scope in (p.get("resource_scopes") or []) and within(p, now)
        for p in answer.get("permissions") or []
    )


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

    def unreachable(self, why):
        return self.answer(403, why, [("Warning", '199 - "UMA Authorization Server Unreachable"')])

    def do_GET(self):
        route = ROUTES.get(self.path.split("?")[0])
        if route is None:
            return self.answer(404, "not found")
        name, scope = route
        try:
            s = setup()
        except Exception:
            return self.unreachable("no authorization server")
        resource_id = s["ids"][name]
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            try:
                pat = s["uma"].connection.token["access_token"]
                answer = s["openid"].introspect(pat, rpt=auth[7:].strip(), token_type_hint="requesting_party_token")
            except Exception:
                answer = {}
            if permitted(answer, resource_id, scope):
                return self.answer(200, f"photo {name}")
        permission = UMAPermission(resource=name, scope=scope)
        permission.resource_id = resource_id  # the library looks the id up by name otherwise
        try:
            ticket = s["uma"].permission_ticket_create([permission])["ticket"]
        except Exception:
            return self.unreachable("no ticket")
        challenge = f'UMA realm="python-keycloak", as_uri="{ISSUER}", ticket="{ticket}"'
        return self.answer(401, "UMA authorization required", [("WWW-Authenticate", challenge)])


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
