"""Warms a resource server up before the harness's scenarios start (a profile's `setup` command).

    warm.py URL

Sends one GET without a token and accepts any HTTP answer. The wrappers set themselves up (PAT,
resource registration) on their first protected request; doing that here, once the harness's AS
is up and before any scenario, keeps those calls out of whichever scenario happened to come
first, so the reports are the same from run to run.
"""

import sys
import urllib.error
import urllib.request


def main() -> int:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=10).read()
    except urllib.error.HTTPError:
        pass  # a 401 challenge is the expected answer
    return 0


if __name__ == "__main__":
    sys.exit(main())
