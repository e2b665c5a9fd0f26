"""`python -m ops.probe [URL]`: exit 0 when URL answers 200, 1 otherwise.

The web container's healthcheck (python:slim has no curl). It sends the first
of DJANGO_ALLOWED_HOSTS as the Host header, so Django's host check accepts the
request whatever the deployment's domain; /healthz and /readyz are exempt from
the HTTPS redirect. Standard library only: it must not load Django.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/readyz"


def host_header(allowed_hosts: str) -> str | None:
    for host in allowed_hosts.split(","):
        # ".example.com" allows example.com and its subdomains; "*" allows any.
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return None


def probe(url: str, *, timeout: float = 10.0) -> tuple[int | None, str]:
    request = urllib.request.Request(url)
    host = host_header(os.environ.get("DJANGO_ALLOWED_HOSTS", ""))
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as error:
        return None, f"{type(error).__name__}: {error}"


def main(argv: list[str]) -> int:
    status, body = probe(argv[1] if len(argv) > 1 else DEFAULT_URL)
    print(status, body[:2000])
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
