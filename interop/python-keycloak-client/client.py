"""A client built on python-keycloak (KeycloakOpenID): fetch one protected resource.

Run by the harness once per browser visit (profile.yaml, `start_command`):
    client.py RESOURCE_URL USER

The app requests the resource without a token; on a `401` with a `UMA` challenge it asks the AS
for an RPT with the library's `KeycloakOpenID.token` (grant type
urn:ietf:params:oauth:grant-type:uma-ticket and the ticket, the library's documented way to pass
a grant type and extra parameters) and retries with the RPT. The AS is named the library's way, a
server URL and a realm (UMA_INTEROP_AS is {server}/realms/{realm}). Each visit starts afresh: the
app keeps no RPT between visits, so it claims no capability.

The library builds its token URL from Keycloak's own path layout
(realms/{realm}/protocol/openid-connect/token) instead of the discovery document; this app points
that pattern at the discovery document's token_endpoint.

Configuration (environment): UMA_INTEROP_AS, UMA_INTEROP_CLIENT_ID, UMA_INTEROP_CLIENT_SECRET.
"""

import os
import re
import sys
from urllib.parse import urlsplit

import keycloak.keycloak_openid as keycloak_openid
import requests
from keycloak import KeycloakOpenID

UMA_GRANT = "urn:ietf:params:oauth:grant-type:uma-ticket"


def challenge_ticket(response):
    """The ticket of a `UMA` challenge, if the answer has one."""
    for value in response.headers.get("WWW-Authenticate", "").split("\n"):
        if value.strip().lower().startswith("uma "):
            m = re.search(r'ticket="([^"]*)"', value)
            if m:
                return m.group(1)
    return None


def main() -> int:
    resource = sys.argv[1]
    issuer = os.environ["UMA_INTEROP_AS"].rstrip("/")
    parts = urlsplit(issuer)
    server = f"{parts.scheme}://{parts.netloc}/"
    realm = parts.path.rstrip("/").rsplit("/", 1)[-1]

    response = requests.get(resource, timeout=10)
    ticket = challenge_ticket(response) if response.status_code == 401 else None
    if ticket:
        meta = requests.get(issuer + "/.well-known/uma2-configuration", timeout=10).json()
        token_path = urlsplit(meta["token_endpoint"]).path.lstrip("/")
        keycloak_openid.URL_TOKEN = token_path.replace(f"realms/{realm}/", "realms/{realm-name}/", 1)
        openid = KeycloakOpenID(
            server_url=server,
            realm_name=realm,
            client_id=os.environ["UMA_INTEROP_CLIENT_ID"],
            client_secret_key=os.environ["UMA_INTEROP_CLIENT_SECRET"],
            timeout=10,
        )
        try:
            rpt = openid.token(grant_type=UMA_GRANT, ticket=ticket)["access_token"]
        except Exception as e:  # the library raises on an error from the token endpoint
            print(f"error: {type(e).__name__}: {e}")
            return 1
        response = requests.get(resource, headers={"Authorization": f"Bearer {rpt}"}, timeout=10)
    print(response.status_code)
    print(response.text[:200])
    return 0 if response.ok else 1


if __name__ == "__main__":
    sys.exit(main())
