"""WSGI middleware (not a moto patch): optional fixed latency on every AWS request, and a
count of AWS requests by account, service and action.

* account: the account moto serves the request as, found the way moto finds it
  (``moto.core.responses.BaseResponse.get_current_account``): the ``MOTO_ACCOUNT_ID``
  environment variable, else the ``x-moto-account-id`` header, else the access key's
  account through ``moto.iam.models.get_account_id_from`` (STS AssumeRole credentials map
  to the role's account; unknown keys to moto's default account 123456789012).
* service: the SigV4 credential scope (``Authorization`` header, or ``X-Amz-Credential``
  of a presigned URL); ``unsigned`` otherwise.
* action: the part after the last ``.`` of ``X-Amz-Target`` (JSON protocols), else the
  ``Action`` query/form parameter (query protocols), else for REST services the method
  and a coarse resource name: for S3 (path-style addressing) ``GET Object``,
  ``PUT Bucket``, ``GET Service``, with a sub-resource such as ``PUT Bucket?policy``;
  for others the method and the first path segment.

Requests to ``/_offsite/`` and ``/moto-api/`` are control requests: never delayed, never
counted (the launcher routes ``/_offsite/`` before this middleware).
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.iam.models import get_account_id_from

from .state import CONFIG

CONTROL_PREFIXES = ("/_offsite/", "/moto-api")


def _credential(environ: dict[str, Any], query: dict[str, list[str]]) -> list[str] | None:
    """[access key, date, region, service, 'aws4_request'] of a SigV4 request."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].strip()
    elif query.get("X-Amz-Credential"):
        scope = query["X-Amz-Credential"][0]
    else:
        return None
    parts = scope.split("/")
    return parts if len(parts) == 5 else None


def _form_body(environ: dict[str, Any]) -> dict[str, list[str]]:
    """Parse a form-encoded body and put it back for moto to read."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return {}
    if not length:
        return {}
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return parse_qs(body.decode("utf-8", "replace"))


def _rest_action(service: str, environ: dict[str, Any], query: dict[str, list[str]]) -> str:
    method = environ.get("REQUEST_METHOD", "GET")
    segments = [s for s in environ.get("PATH_INFO", "").split("/") if s]
    if service != "s3":
        return f"{method} /{segments[0]}" if segments else method
    kind = "Service" if not segments else "Bucket" if len(segments) == 1 else "Object"
    # A sub-resource (?policy, ?uploads, ?tagging...) is a query key with no value.
    sub = sorted(k for k, v in query.items() if v == [""] and not k.startswith("X-Amz-"))
    return f"{method} {kind}" + (f"?{sub[0]}" if sub else "")


def classify(environ: dict[str, Any]) -> tuple[str, str, str]:
    """(account, service, action) of an AWS request."""
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    credential = _credential(environ, query)
    service = credential[3] if credential else "unsigned"

    if "MOTO_ACCOUNT_ID" in os.environ:
        account = os.environ["MOTO_ACCOUNT_ID"]
    elif environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        account = environ["HTTP_X_MOTO_ACCOUNT_ID"]
    else:
        account = get_account_id_from(credential[0] if credential else "AKIAEXAMPLE")

    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        action = target.rsplit(".", 1)[-1]
    elif "Action" in query:
        action = query["Action"][0]
    else:
        form = _form_body(environ) if environ.get("REQUEST_METHOD") == "POST" else {}
        action = form["Action"][0] if "Action" in form else _rest_action(service, environ, query)
    return account, service, action


class RequestMetrics:
    """The WSGI middleware and its counters."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(CONTROL_PREFIXES):
            key = classify(environ)
            with self._lock:
                self._counts[key] += 1
            if CONFIG.latency_ms > 0:
                time.sleep(CONFIG.latency_ms / 1000.0)
        return self.app(environ, start_response)

    def report(self) -> dict[str, Any]:
        with self._lock:
            items = sorted(self._counts.items())
        return {
            "total": sum(count for _, count in items),
            "counts": [
                {"account": a, "service": s, "action": act, "count": count}
                for (a, s, act), count in items
            ],
        }

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
