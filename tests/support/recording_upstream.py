"""A scriptable upstream for end-to-end tests: it records every request and answers from a
table of canned responses keyed by method and path.

Unlike the corpus harness's recorder (which answers ``{}`` to everything), each test says
what the upstream API returns, so a test can check both what the code under test sent and
what it did with the answer. A request no route matches is recorded and answered 404.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .servers import answer_lifespan, read_body

__all__ = ["Canned", "Recorded", "RecordingUpstream"]


@dataclass(frozen=True)
class Recorded:
    """One request as it reached the upstream, before any decoding by a framework."""

    method: str
    # The raw path as sent (percent-encoding kept), without the query string.
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = field(repr=False)

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


class RecordingUpstream:
    """An ASGI app; give it to ``serve_asgi``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], Canned] = {}

    def reset(self) -> None:
        self.requests.clear()
        self._routes.clear()

    def respond(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json_body: Any = None,
        text: str | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer ``method path`` (exact raw path) with a JSON body, or with ``text``."""
        if text is not None:
            body = text.encode("utf-8")
            ctype = content_type or "text/plain; charset=utf-8"
        else:
            body = json.dumps(json_body).encode("utf-8")
            ctype = content_type or "application/json"
        self._routes[(method.upper(), path)] = Canned(
            status, body, ctype, tuple((headers or {}).items())
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        body = await read_body(receive)
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = raw_path.decode("latin-1").split("?", 1)[0]
        recorded = Recorded(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=body,
        )
        self.requests.append(recorded)
        canned = self._routes.get((recorded.method, path)) or Canned(
            404, b'{"error": "no such route in the test upstream"}', "application/json"
        )
        headers = [(b"content-type", canned.content_type.encode("latin-1"))]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in canned.headers]
        await send({"type": "http.response.start", "status": canned.status, "headers": headers})
        await send({"type": "http.response.body", "body": canned.body})
