"""One JSON request over HTTP, with the agent's failures told apart from an absent agent.

A refused connection means nothing is listening: :class:`AgentUnavailable`, so the call is retried
on a re-run. Everything else that goes wrong once the agent is there (an HTTP error, no answer in
time, a body that is not JSON) is the agent failing the call: :class:`AgentFailure`.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from callgate.agents.voice import AgentFailure, AgentUnavailable


def post_json(
    url: str, body: dict[str, Any], *, timeout_s: float, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    data = json.dumps(body).encode("utf-8")
    head = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method="POST", headers=head)
    try:
        with _opener(url).open(request, timeout=timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode("utf-8", "replace").strip()
        raise AgentFailure(f"{url} answered HTTP {exc.code}: {detail or exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            raise AgentUnavailable(f"nothing listens at {url} (connection refused)") from None
        if isinstance(exc.reason, TimeoutError):
            raise AgentFailure(f"{url} sent no answer within {timeout_s:g} s") from None
        raise AgentFailure(f"{url}: {exc.reason}") from None
    except TimeoutError:
        raise AgentFailure(f"{url} sent no answer within {timeout_s:g} s") from None
    except (ConnectionError, OSError, http.client.HTTPException) as exc:
        raise AgentFailure(f"{url}: connection lost ({exc.__class__.__name__})") from None
    try:
        parsed = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AgentFailure(f"{url} answered with something that is not JSON") from None
    if not isinstance(parsed, dict):
        raise AgentFailure(f"{url} answered with JSON that is not an object")
    return parsed


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _opener(url: str) -> urllib.request.OpenerDirector:
    """An agent on this machine is reached directly: a proxy from the environment in between
    would turn its own answers into the proxy's errors."""
    if urllib.parse.urlsplit(url).hostname in _LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()
