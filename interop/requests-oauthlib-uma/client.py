"""A client built on requests-oauthlib-uma (UMA2Session): fetch one protected resource.

Run by the harness once per browser visit (profile.yaml, `start_command`):
    client.py RESOURCE_URL USER

The session is the library's: it gets an access token with the client credentials grant (the
library cannot start without a token), requests the resource with it, and on a `401` with a
`UMA` challenge asks the AS for an RPT with the ticket and retries. One session per requesting
party lives on between visits (a JSON file under $UMA_INTEROP_STATE), as it would in an app.

Configuration (environment): UMA_INTEROP_AS (the AS issuer the app is configured with),
UMA_INTEROP_CLIENT_ID, UMA_INTEROP_CLIENT_SECRET, UMA_INTEROP_STATE.

The library sends `Authorization: Bearer <token>` to the token endpoint and no client credentials
unless told otherwise; its README documents `fetch_rpt_kwargs` for extra token parameters, which
this client uses to authenticate as RFC 6749 §2.3 asks (client_secret_post; UMA2Client adds no
client_id of its own, so it is passed too).
"""

import hashlib
import json
import os
import sys

# The harness's AS is plain HTTP on loopback; oauthlib refuses that unless told it is a test.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

import requests  # noqa: E402
from oauthlib.oauth2 import BackendApplicationClient  # noqa: E402
from requests_oauthlib_uma import UMA2Session  # noqa: E402


def main() -> int:
    resource, user = sys.argv[1], sys.argv[2]
    issuer = os.environ["UMA_INTEROP_AS"].rstrip("/")
    client_id = os.environ["UMA_INTEROP_CLIENT_ID"]
    secret = os.environ["UMA_INTEROP_CLIENT_SECRET"]
    state_dir = os.environ.get("UMA_INTEROP_STATE", ".")
    state = os.path.join(state_dir, "session-" + hashlib.sha256(user.encode()).hexdigest()[:16] + ".json")

    session = UMA2Session(
        client=BackendApplicationClient(client_id=client_id),
        fetch_rpt_kwargs={"include_client_id": True, "client_id": client_id, "client_secret": secret},
    )
    if os.path.exists(state):
        with open(state, encoding="utf-8") as f:
            session.token = json.load(f)
    else:
        token_endpoint = requests.get(issuer + "/.well-known/uma2-configuration", timeout=10).json()["token_endpoint"]
        session.fetch_token(token_url=token_endpoint, client_id=client_id, client_secret=secret, timeout=10)

    try:
        response = session.get(resource, timeout=10)
    except Exception as e:  # the library raises on an error from the token endpoint
        print(f"error: {type(e).__name__}: {e}")
        return 1
    finally:
        with open(state, "w", encoding="utf-8") as f:
            json.dump(session.token, f)
    print(response.status_code)
    print(response.text[:200])
    return 0 if response.ok else 1


if __name__ == "__main__":
    sys.exit(main())
