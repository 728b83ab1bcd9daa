"""A local stand-in for Customer.io's Track API (``POST /api/v2/batch``) for end-to-end tests.

The behaviour follows the published Track OpenAPI (``journeys-track.json``) where it says
something, and otherwise the documented assumptions in ``MockConfig`` (every undocumented
choice there can be switched). The processing order of a batch call is:

1. auth (HTTP Basic ``site_id:api_key``; 401 ``{"meta":{"error":"Unauthorized request"}}``)
2. scripted faults (FIFO, one-shot, see :meth:`CustomerioMock.queue_fault`)
3. rate limiter (token bucket per credential; 429 with an empty body)
4. raw body size, before parsing (``oversize_status``)
5. JSON parsing (400, ``reason: parse_error``)
6. envelope: ``{"batch": [...]}`` (400; empty batch ``empty_batch_status``; ``max_ops``)
7. per-operation validation against the type/action matrix, one error per failed op
8. outcome: 200 ``{}``, or 207 ``{"errors": [...]}`` listing only the failed ops
   (``all_invalid_status`` when every op failed)
9. state: every accepted op is logged; events, pages and screens repeating a ULID ``id``
   are accepted but logged with ``deduped: True``

The app is plain ASGI (no framework) so that ``drop_connection`` can reach the server's
transport; see :meth:`CustomerioMock._drop_connection` for how and why.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from .servers import answer_lifespan

__all__ = [
    "BATCH_PATH",
    "ENTITY_PATH",
    "REGION_PATH",
    "UNAUTHORIZED_BODY",
    "ConnectionDropped",
    "CustomerioMock",
    "MockConfig",
    "RecordedRequest",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BATCH_PATH = "/api/v2/batch"
ENTITY_PATH = "/api/v2/entity"
REGION_PATH = "/api/v1/accounts/region"
CONTROL_PREFIX = "/__mock/"

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# Seen on a live 200 from track.customer.io; harmless on every other answer.
CACHE_CONTROL = "no-cache, no-store, must-revalidate, max-age=0"
UNAUTHORIZED_BODY: dict[str, Any] = {"meta": {"error": "Unauthorized request"}}
REGION_URLS = {"us": "https://track.customer.io", "eu": "https://track-eu.customer.io"}

PERSON_ACTIONS = frozenset(
    {
        "identify",
        "delete",
        "event",
        "page",
        "screen",
        "add_relationships",
        "delete_relationships",
        "add_device",
        "delete_device",
        "merge",
        "suppress",
        "unsuppress",
    }
)
OBJECT_ACTIONS = frozenset(
    {"identify", "identify_anonymous", "delete", "add_relationships", "delete_relationships"}
)
ACTIONS: dict[str, frozenset[str]] = {
    "person": PERSON_ACTIONS,
    "object": OBJECT_ACTIONS,
    "delivery": frozenset({"event"}),
}
NAMED_ACTIONS = frozenset({"event", "page", "screen"})  # need ``name``; deduplicated by ``id``
DELIVERY_METRICS = ("opened", "converted", "delivered")
DEVICE_PLATFORMS = ("ios", "android")

ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
E164_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")
OBJECT_TYPE_ID_RE = re.compile(r"^[1-9][0-9]*$")

# Documented content limits, enforced only with ``strict_content_limits``.
MAX_ID_BYTES = 150
MAX_EVENT_NAME_BYTES = 100
MAX_ATTRIBUTE_VALUE_BYTES = 1000
MAX_ATTRIBUTES = 300

# Bodies are read whole (sizes are checked on the raw bytes); past this, reading stops.
HARD_BODY_CAP = 16 * 1024 * 1024
# Upper bound on receive() calls while waiting for a disconnect; keeps every loop finite.
MAX_RECEIVES = 10_000
SEND_CHUNK = 64 * 1024  # response bodies larger than this are sent in several messages

FAULT_KEYS = frozenset(
    {
        "status",
        "body",
        "body_text",
        "content_type",
        "retry_after",
        "headers",
        "delay_s",
        "accept",
        "accept_then_status",
        "drop_connection",
        "redirect",
        "location",
        "body_bytes",
        "truncate",
    }
)
FAULT_REPLY_KEYS = ("status", "accept_then_status", "redirect", "drop_connection")


class ConnectionDropped(ConnectionResetError):
    """Raised by a ``drop_connection`` fault when the server's transport is unreachable.

    Under uvicorn the connection is really closed and this is never raised. Under an
    in-process transport (``httpx.ASGITransport``) it propagates to the caller, which is
    the closest in-process equivalent of a connection reset.
    """


@dataclass
class MockConfig:
    """Workspace settings and switches for behaviour the API does not document."""

    site_id: str = "site-123"
    api_key: str = "key-456"
    region: str = "us"
    environment_id: int = 123456
    max_batch_bytes: int = 500_000
    max_op_bytes: int = 32_000
    max_ops: int | None = None
    oversize_status: int = 413
    op_too_large_mode: str = "item"  # "item": per-op 207 error; "batch": whole request 400
    all_invalid_status: int = 207
    empty_batch_status: int = 400
    allow_email_identifiers: bool = True
    allow_phone_identifiers: bool = False
    allow_person_anonymous_id: bool = False
    strict_content_limits: bool = False
    rate_limit_rps: float | None = None
    retry_after: int | str | None = None  # Retry-After sent by the rate limiter, if any
    # Returned by GET /api/v1/accounts/region instead of the real host, e.g. the mock's own URL.
    region_url: str | None = None

    def __post_init__(self) -> None:
        if self.region not in REGION_URLS:
            raise ValueError(f"region must be one of {sorted(REGION_URLS)}, got {self.region!r}")
        if self.op_too_large_mode not in ("item", "batch"):
            raise ValueError(
                f"op_too_large_mode must be 'item' or 'batch', got {self.op_too_large_mode!r}"
            )
        for name in ("max_batch_bytes", "max_op_bytes"):
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.max_ops is not None and (not _is_int(self.max_ops) or self.max_ops <= 0):
            raise ValueError(f"max_ops must be a positive integer or None, got {self.max_ops!r}")
        for name in ("oversize_status", "all_invalid_status", "empty_batch_status"):
            value = getattr(self, name)
            if not _is_int(value) or not 100 <= value <= 599:
                raise ValueError(f"{name} must be an HTTP status code, got {value!r}")
        if self.rate_limit_rps is not None and (
            not isinstance(self.rate_limit_rps, int | float)
            or isinstance(self.rate_limit_rps, bool)
            or self.rate_limit_rps <= 0
        ):
            raise ValueError(
                f"rate_limit_rps must be positive or None, got {self.rate_limit_rps!r}"
            )
        if self.retry_after is not None and not (
            _is_int(self.retry_after) or isinstance(self.retry_after, str)
        ):
            raise ValueError(
                f"retry_after must be seconds, an HTTP-date or None, got {self.retry_after!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class RecordedRequest:
    """One request as the mock received it, and the status it answered (0: no answer)."""

    method: str
    path: str
    raw_path: str
    query: str
    headers: dict[str, str]  # names lower-cased, values verbatim (repeats joined with ", ")
    body: bytes
    basic_auth: tuple[str, str] | None
    status: int
    request_no: int = 0  # 1-based arrival number since the last reset; ops refer to it
    received_at: float = 0.0  # time.time() on arrival

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, for ``GET /__mock/requests``."""
        return {
            "request_no": self.request_no,
            "received_at": self.received_at,
            "method": self.method,
            "path": self.path,
            "raw_path": self.raw_path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", errors="replace"),
            "body_bytes": len(self.body),
            "basic_auth": list(self.basic_auth) if self.basic_auth is not None else None,
            "status": self.status,
        }


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Outcome:
    """What to do for a request once its synchronous processing is over."""

    reply: _Reply | None  # None: no HTTP answer at all (drop_connection)
    delay_s: float = 0.0
    drop: str | None = None  # "close" or "reset"
    truncate: bool = False  # send the headers and half the body, then close the connection


class _Invalid(Exception):
    """One validation failure: becomes ``{reason, field, message}`` in an errors list."""

    def __init__(self, reason: str, field: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field
        self.message = message

    def as_error(self, batch_index: int | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {}
        if batch_index is not None:
            error["batch_index"] = batch_index
        error.update(reason=self.reason, field=self.field, message=self.message)
        return error


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _json_reply(status: int, payload: Any, extra_headers: Iterable[tuple[str, str]] = ()) -> _Reply:
    return _Reply(
        status, _compact_json(payload), [("content-type", JSON_CONTENT_TYPE), *extra_headers]
    )


def _errors_reply(status: int, *errors: _Invalid) -> _Reply:
    return _json_reply(status, {"errors": [e.as_error() for e in errors]})


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; JSON (and the real API) does not.
    raise ValueError(f"invalid JSON constant {name}")


def _parse_json(body: bytes) -> Any:
    """Parse strictly; raise ``_Invalid(parse_error)`` on anything that is not JSON."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise _Invalid("parse_error", "", "request body is not valid UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise _Invalid("parse_error", "", f"request body is not valid JSON: {exc}") from None


def _decode_headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """Decode ``Basic <base64(user:password)>``; standard or URL-safe alphabet (go-customerio)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    raw = token.strip().encode("ascii", errors="replace")
    for altchars in (None, b"-_"):
        try:
            decoded = base64.b64decode(raw, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            return None
        user, sep, password = text.partition(":")
        return (user, password) if sep else None
    return None


def _format_retry_after(value: int | str) -> str:
    return str(value)


def _validate_fault(fault: Mapping[str, Any]) -> dict[str, Any]:
    """Check a fault description up front, so a typo fails the test that queued it."""
    if not isinstance(fault, Mapping):
        raise TypeError(f"a fault must be a mapping, got {type(fault).__name__}")
    unknown = set(fault) - FAULT_KEYS
    if unknown:
        raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {sorted(FAULT_KEYS)}")
    replies = [k for k in FAULT_REPLY_KEYS if k in fault and fault[k] not in (None, False)]
    if len(replies) > 1:
        raise ValueError(f"a fault may set only one of {FAULT_REPLY_KEYS}, got {replies}")
    if not replies and "delay_s" not in fault:
        raise ValueError(
            "a fault needs one of status, accept_then_status, redirect, drop_connection or delay_s"
        )
    for key in ("status", "accept_then_status", "redirect"):
        if key in fault and (not _is_int(fault[key]) or not 100 <= fault[key] <= 599):
            raise ValueError(f"{key} must be an HTTP status code, got {fault[key]!r}")
    if "redirect" in fault and not isinstance(fault.get("location"), str):
        raise ValueError("a redirect fault needs a string 'location'")
    if "location" in fault and "redirect" not in fault:
        raise ValueError("'location' is only meaningful with 'redirect'")
    if "drop_connection" in fault and fault["drop_connection"] not in (True, "close", "reset"):
        raise ValueError("drop_connection must be true, 'close' or 'reset'")
    if sum(k in fault for k in ("body", "body_text", "body_bytes")) > 1:
        raise ValueError("use one of 'body' (JSON), 'body_text' (raw text) or 'body_bytes'")
    if "body_bytes" in fault and (
        not _is_int(fault["body_bytes"]) or not 16 <= fault["body_bytes"] <= HARD_BODY_CAP * 4
    ):
        raise ValueError(f"body_bytes must be a size in [16, {HARD_BODY_CAP * 4}]")
    if "truncate" in fault and not isinstance(fault["truncate"], bool):
        raise ValueError("truncate must be a boolean")
    if "delay_s" in fault:
        delay = fault["delay_s"]
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 600:
            raise ValueError(f"delay_s must be a number of seconds in [0, 600], got {delay!r}")
    if "retry_after" in fault and not (
        _is_int(fault["retry_after"]) or isinstance(fault["retry_after"], str)
    ):
        raise ValueError("retry_after must be an integer number of seconds or an HTTP-date string")
    if "headers" in fault and not (
        isinstance(fault["headers"], Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in fault["headers"].items())
    ):
        raise ValueError("headers must map strings to strings")
    if "content_type" in fault and not isinstance(fault["content_type"], str):
        raise ValueError("content_type must be a string")
    if "body_text" in fault and not isinstance(fault["body_text"], str):
        raise ValueError("body_text must be a string")
    if "accept" in fault and not isinstance(fault["accept"], bool):
        raise ValueError("accept must be a boolean")
    if replies == ["drop_connection"] or not replies:
        extra = {
            "status",
            "body",
            "body_text",
            "body_bytes",
            "truncate",
            "content_type",
            "retry_after",
            "headers",
        } & set(fault)
        if extra:
            raise ValueError(f"{sorted(extra)} need a status (or redirect) to go with them")
    return dict(fault)


def _fault_reply(fault: Mapping[str, Any]) -> _Reply:
    """The scripted HTTP answer of a fault that has one (status/accept_then_status/redirect)."""
    status = fault.get("status") or fault.get("accept_then_status") or fault["redirect"]
    headers: list[tuple[str, str]] = []
    if "body_text" in fault:
        body = fault["body_text"].encode("utf-8")
    elif "body_bytes" in fault:
        # a JSON object of exactly that many bytes
        body = b'{"pad":"' + b"x" * (fault["body_bytes"] - 10) + b'"}'
    elif "body" in fault:
        body = _compact_json(fault["body"])
    else:
        body = b""  # the API documents no body for 429/5xx; an empty one is the hardest case
    headers.append(("content-type", fault.get("content_type", JSON_CONTENT_TYPE)))
    if "redirect" in fault:
        headers.append(("location", fault["location"]))
    if fault.get("retry_after") is not None:
        headers.append(("retry-after", _format_retry_after(fault["retry_after"])))
    headers.extend((k.lower(), v) for k, v in fault.get("headers", {}).items())
    return _Reply(status, body, headers)


class _OpValidator:
    """Validation of one operation against the Track v2 type/action matrix.

    Each check raises ``_Invalid`` at the first problem, so an op yields at most one error.
    """

    def __init__(self, config: MockConfig) -> None:
        self.config = config

    # -- entry point ---------------------------------------------------------------------
    def validate(self, op: Any, *, check_size: bool = True) -> None:
        if not isinstance(op, dict):
            raise _Invalid("invalid", "", "operation must be a JSON object")
        if check_size:
            size = len(_compact_json(op))
            limit = self.config.max_op_bytes
            if size > limit:
                raise _Invalid(
                    "invalid",
                    "",
                    f"entity of {size} bytes exceeds the {limit}-byte size limit",
                )
        kind = op.get("type")
        if kind is None:
            raise _Invalid("required", "type", "type is required")
        if not isinstance(kind, str) or kind not in ACTIONS:
            raise _Invalid("invalid", "type", "type must be one of person, object, delivery")
        action = op.get("action")
        if action is None:
            raise _Invalid("required", "action", "action is required")
        if not isinstance(action, str) or action not in ACTIONS[kind]:
            raise _Invalid("invalid", "action", f"action {action!r} is not valid for type {kind!r}")
        if kind == "person":
            self._person(op, action)
        elif kind == "object":
            self._object(op, action)
        else:
            self._delivery(op)

    # -- people --------------------------------------------------------------------------
    def _person_keys(self) -> list[str]:
        keys = ["id"]
        if self.config.allow_email_identifiers:
            keys.append("email")
        if self.config.allow_phone_identifiers:
            keys.append("phone")
        keys.append("cio_id")
        return keys

    def _person(self, op: dict[str, Any], action: str) -> None:
        if action == "merge":
            # merge names two people and carries no ``identifiers``.
            merge_keys = [k for k in self._person_keys() if k != "phone"]
            self._exactly_one(op.get("primary"), merge_keys, "primary")
            self._exactly_one(op.get("secondary"), merge_keys, "secondary")
            return
        keys = self._person_keys()
        if self.config.allow_person_anonymous_id:
            keys.append("anonymous_id")
        self._exactly_one(op.get("identifiers"), keys, "identifiers")
        if action in NAMED_ACTIONS:
            self._name(op, action)
            self._event_id(op)
            self._timestamp(op, "timestamp", "timestamp")
            self._attributes(op.get("attributes"), "attributes")
        elif action == "identify":
            self._timestamp(op, "timestamp", "timestamp")
            self._attributes(op.get("attributes"), "attributes")
            self._relationships(op, target="object", required=False)
        elif action in ("add_relationships", "delete_relationships"):
            self._relationships(op, target="object", required=True)
        elif action == "add_device":
            self._device(op, full=True)
        elif action == "delete_device":
            self._device(op, full=False)
        # delete, suppress, unsuppress: identifiers are all they take.

    def _exactly_one(self, ids: Any, allowed: list[str], field: str) -> None:
        names = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        if ids is None or ids == {}:
            raise _Invalid("required", field, f"{field} is required: exactly one of {names}")
        if not isinstance(ids, dict):
            raise _Invalid("invalid", field, f"{field} must be an object")
        if len(ids) != 1:
            raise _Invalid("invalid", field, f"exactly one of {names} is allowed")
        key, value = next(iter(ids.items()))
        if key not in allowed:
            if key in ("email", "phone", "anonymous_id", "cio_id", "id"):
                message = f"{key} is not accepted as an identifier here; use one of {names}"
            else:
                message = f"unknown identifier {key!r}; use one of {names}"
            raise _Invalid("invalid", field, message)
        self._id_value(value, f"{field}.{key}")
        if key == "phone" and not E164_RE.match(str(value)):
            raise _Invalid(
                "invalid", f"{field}.phone", "phone must be in E.164 format, e.g. +15551234567"
            )

    def _id_value(self, value: Any, field: str) -> None:
        # Identifiers are documented as strings; numbers are tolerated (handling undocumented).
        if isinstance(value, str):
            if not value:
                raise _Invalid("invalid", field, f"{field} must not be empty")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid("invalid", field, f"{field} must be a string")
        if self.config.strict_content_limits and len(str(value).encode("utf-8")) > MAX_ID_BYTES:
            raise _Invalid("invalid", field, f"{field} exceeds {MAX_ID_BYTES} bytes")

    def _name(self, op: dict[str, Any], action: str) -> None:
        name = op.get("name")
        if name is None or name == "":
            raise _Invalid("required", "name", f"name is required for action {action}")
        if not isinstance(name, str):
            raise _Invalid("invalid", "name", "name must be a string")
        if self.config.strict_content_limits and len(name.encode("utf-8")) > MAX_EVENT_NAME_BYTES:
            raise _Invalid("invalid", "name", f"name exceeds {MAX_EVENT_NAME_BYTES} bytes")

    def _event_id(self, op: dict[str, Any]) -> None:
        event_id = op.get("id")
        if event_id is not None and not (isinstance(event_id, str) and ULID_RE.match(event_id)):
            raise _Invalid("invalid", "id", "id must be a ULID")

    def _timestamp(self, container: Mapping[str, Any], key: str, field: str) -> None:
        value = container.get(key)
        if value is not None and not _is_int(value):
            raise _Invalid("invalid", field, f"{field} must be an integer number of Unix seconds")

    def _attributes(self, attributes: Any, field: str) -> None:
        if attributes is None:
            return
        if not isinstance(attributes, dict):
            raise _Invalid("invalid", field, f"{field} must be an object")
        if not self.config.strict_content_limits:
            return
        if len(attributes) > MAX_ATTRIBUTES:
            raise _Invalid("invalid", field, f"more than {MAX_ATTRIBUTES} attributes")
        for name, value in attributes.items():
            if len(name.encode("utf-8")) > MAX_ID_BYTES:
                raise _Invalid("invalid", field, f"attribute name exceeds {MAX_ID_BYTES} bytes")
            size = (
                len(value.encode("utf-8")) if isinstance(value, str) else len(_compact_json(value))
            )
            if size > MAX_ATTRIBUTE_VALUE_BYTES:
                raise _Invalid(
                    "invalid",
                    f"{field}.{name}",
                    f"attribute value exceeds {MAX_ATTRIBUTE_VALUE_BYTES} bytes",
                )

    def _device(self, op: dict[str, Any], *, full: bool) -> None:
        device = op.get("device")
        if device is None:
            raise _Invalid("required", "device", "device is required")
        if not isinstance(device, dict):
            raise _Invalid("invalid", "device", "device must be an object")
        token = device.get("token")
        if token is None or token == "":
            raise _Invalid("required", "device.token", "device.token is required")
        if not isinstance(token, str):
            raise _Invalid("invalid", "device.token", "device.token must be a string")
        if not full:
            return
        platform = device.get("platform")
        if platform is None or platform == "":
            raise _Invalid("required", "device.platform", "device.platform is required")
        if platform not in DEVICE_PLATFORMS:
            raise _Invalid("invalid", "device.platform", "device.platform must be ios or android")
        self._timestamp(device, "last_used", "device.last_used")
        self._attributes(device.get("attributes"), "device.attributes")

    def _relationships(
        self, op: dict[str, Any], *, target: str, required: bool, anonymous: bool = False
    ) -> None:
        relationships = op.get("cio_relationships")
        if relationships is None or relationships == []:
            if required:
                raise _Invalid(
                    "required", "cio_relationships", "cio_relationships must be a non-empty array"
                )
            return
        if not isinstance(relationships, list):
            raise _Invalid("invalid", "cio_relationships", "cio_relationships must be an array")
        person_keys = ["id", "email", "cio_id"] + (["anonymous_id"] if anonymous else [])
        for i, relationship in enumerate(relationships):
            where = f"cio_relationships[{i}]"
            if not isinstance(relationship, dict):
                raise _Invalid("invalid", where, f"{where} must be an object")
            if target == "object":
                self._object_identifiers(relationship.get("identifiers"), f"{where}.identifiers")
            else:
                self._exactly_one(
                    relationship.get("identifiers"), person_keys, f"{where}.identifiers"
                )
            attributes = relationship.get("relationship_attributes")
            self._attributes(attributes, f"{where}.relationship_attributes")

    # -- objects -------------------------------------------------------------------------
    def _object(self, op: dict[str, Any], action: str) -> None:
        self._object_identifiers(op.get("identifiers"), "identifiers")
        if action == "identify":
            self._attributes(op.get("attributes"), "attributes")
            self._relationships(op, target="person", required=False)
        elif action == "identify_anonymous":
            self._attributes(op.get("attributes"), "attributes")
            self._relationships(op, target="person", required=False, anonymous=True)
            if not self._has_anonymous_id(op):
                raise _Invalid(
                    "required", "anonymous_id", "identify_anonymous needs an anonymous_id"
                )
        elif action in ("add_relationships", "delete_relationships"):
            self._relationships(op, target="person", required=True)
        # delete: identifiers only (relationships go with the object).

    @staticmethod
    def _has_anonymous_id(op: dict[str, Any]) -> bool:
        # The documented example puts it top-level; the schema only declares it per relationship.
        top = op.get("anonymous_id")
        if isinstance(top, str) and top:
            return True
        for relationship in op.get("cio_relationships") or []:
            ids = relationship.get("identifiers") or {}
            if isinstance(ids.get("anonymous_id"), str) and ids["anonymous_id"]:
                return True
        return False

    def _object_identifiers(self, ids: Any, field: str) -> None:
        if ids is None or ids == {}:
            raise _Invalid("required", field, f"{field} is required")
        if not isinstance(ids, dict):
            raise _Invalid("invalid", field, f"{field} must be an object")
        if "cio_object_id" in ids:
            if len(ids) != 1:
                raise _Invalid(
                    "invalid", field, "use either cio_object_id or object_type_id with object_id"
                )
            self._id_value(ids["cio_object_id"], f"{field}.cio_object_id")
            return
        if set(ids) - {"object_type_id", "object_id"}:
            raise _Invalid(
                "invalid",
                field,
                "object identifiers are object_type_id + object_id, or cio_object_id",
            )
        type_id = ids.get("object_type_id")
        if type_id is None:
            raise _Invalid("required", f"{field}.object_type_id", "object_type_id is required")
        if isinstance(type_id, bool) or not OBJECT_TYPE_ID_RE.match(str(type_id)):
            raise _Invalid(
                "invalid",
                f"{field}.object_type_id",
                "object_type_id must be a string-formatted integer starting at 1",
            )
        if ids.get("object_id") is None:
            raise _Invalid("required", f"{field}.object_id", "object_id is required")
        self._id_value(ids["object_id"], f"{field}.object_id")

    # -- deliveries ----------------------------------------------------------------------
    def _delivery(self, op: dict[str, Any]) -> None:
        ids = op.get("identifiers")
        if not isinstance(ids, dict) or ids.get("id") in (None, ""):
            raise _Invalid(
                "required", "identifiers.id", "identifiers.id (the delivery id) is required"
            )
        self._id_value(ids["id"], "identifiers.id")
        name = op.get("name")
        if name is None or name == "":
            raise _Invalid("required", "name", "name is required for action event")
        if name not in DELIVERY_METRICS:
            raise _Invalid("invalid", "name", f"name must be one of {', '.join(DELIVERY_METRICS)}")
        attributes = op.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            raise _Invalid("invalid", "attributes", "attributes must be an object")
        token = (attributes or {}).get("device_token")
        if not isinstance(token, str) or not token:
            raise _Invalid(
                "required", "attributes.device_token", "attributes.device_token is required"
            )


class _TokenBucket:
    """``rate`` requests per second with a burst of one second's worth (at least 1)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class _MockApp:
    """ASGI entry point; a class with an async ``__call__`` so servers detect ASGI 3.

    (uvicorn inspects ``__call__``, and a bound method's is a plain method-wrapper.)
    """

    def __init__(self, mock: CustomerioMock) -> None:
        self.mock = mock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.mock._asgi(scope, receive, send)


class CustomerioMock:
    """The mock: ``app`` is the ASGI application, the rest is its state and controls.

    State is shared between the server thread and the test thread; every mutation
    happens under one lock, and ``requests``/``ops`` are only ever appended to or
    cleared in place, so references held by tests stay valid.
    """

    def __init__(self, config: MockConfig | None = None) -> None:
        self._initial_config = dataclasses.replace(config) if config is not None else MockConfig()
        self.config: MockConfig = dataclasses.replace(self._initial_config)
        self.requests: list[RecordedRequest] = []
        self.ops: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._faults: deque[dict[str, Any]] = deque()
        self._seen_event_ids: set[str] = set()
        self._buckets: dict[str, _TokenBucket] = {}
        self._request_counter = 0
        self.app = _MockApp(self)

    # -- controls (also reachable over HTTP under /__mock/) ------------------------------
    def reset(self) -> None:
        """Forget requests, ops, faults, dedupes and rate buckets; restore the initial config."""
        with self._lock:
            self.requests.clear()
            self.ops.clear()
            self._faults.clear()
            self._seen_event_ids.clear()
            self._buckets.clear()
            self._request_counter = 0
            self.config = dataclasses.replace(self._initial_config)

    def queue_fault(self, fault: Mapping[str, Any]) -> None:
        """Queue a one-shot fault for the next authenticated ``POST /api/v2/batch`` (FIFO).

        Keys (validated here):

        - ``status`` with optional ``body`` (JSON) or ``body_text``, ``content_type``,
          ``retry_after`` (seconds or an HTTP-date string), ``headers``: answer that instead.
        - ``accept_then_status``: process the batch normally (ops are accepted and logged),
          then answer this status. ``accept: true`` does the same for any fault.
        - ``redirect`` + ``location``: answer a redirect; nothing is processed.
        - ``drop_connection``: ``true``/``"close"`` closes the socket (FIN), ``"reset"``
          aborts it (RST); no HTTP response at all. The request is recorded with status 0.
        - ``body_bytes`` (with ``status``): the body is a JSON object of exactly that size,
          sent in chunks.
        - ``truncate: true`` (with ``status``): the headers announce the whole body, half of
          it is sent, then the connection is closed.
        - ``delay_s``: wait this long before answering. Alone, the batch is processed
          normally first, so its ops are accepted even if the client gives up.
        """
        checked = _validate_fault(fault)
        with self._lock:
            self._faults.append(checked)

    def pending_faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def update_config(self, **changes: Any) -> MockConfig:
        """Change settings until the next :meth:`reset`; unknown names raise ``TypeError``."""
        with self._lock:
            self.config = dataclasses.replace(self.config, **changes)
            self._buckets.clear()
            return self.config

    def batch_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == BATCH_PATH]

    def accepted_ops(self) -> list[dict[str, Any]]:
        """Accepted ops that were not duplicates: what the workspace would end up with."""
        with self._lock:
            return [entry["op"] for entry in self.ops if not entry["deduped"]]

    # -- ASGI ----------------------------------------------------------------------------
    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1000})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, complete = await self._read_body(receive)
        if body is None:
            return  # the client went away before sending its whole request
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            await self._send(send, self._control(scope["method"], path, body))
            return

        headers = _decode_headers(scope)
        raw_path = scope.get("raw_path")
        record = RecordedRequest(
            method=scope["method"],
            path=path,
            raw_path=raw_path.decode("latin-1") if raw_path is not None else path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            basic_auth=parse_basic_auth(headers.get("authorization")),
            status=0,
            received_at=time.time(),
        )
        with self._lock:
            self._request_counter += 1
            record.request_no = self._request_counter
            outcome = self._route(record, complete)
            record.status = outcome.reply.status if outcome.reply is not None else 0
            self.requests.append(record)

        if outcome.delay_s > 0 and await self._wait_for_disconnect(receive, outcome.delay_s):
            return  # the client gave up; the ops it sent stay accepted
        if outcome.drop is not None:
            await self._drop_connection(receive, send, outcome.drop)
        elif outcome.reply is not None and outcome.truncate:
            await self._send_truncated(receive, send, outcome.reply)
        elif outcome.reply is not None:
            await self._send(send, outcome.reply)

    @staticmethod
    async def _read_body(receive: Receive) -> tuple[bytes | None, bool]:
        """The whole request body, or ``None`` on disconnect; ``False`` if it hit the cap."""
        chunks: list[bytes] = []
        size = 0
        for _ in range(MAX_RECEIVES * 100):
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, False
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > HARD_BODY_CAP:
                return b"".join(chunks), False
            if not message.get("more_body", False):
                return b"".join(chunks), True
        return b"".join(chunks), False

    @staticmethod
    def _start_message(reply: _Reply) -> Message:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        headers.append((b"content-length", str(len(reply.body)).encode("ascii")))
        headers.append((b"cache-control", CACHE_CONTROL.encode("ascii")))
        return {"type": "http.response.start", "status": reply.status, "headers": headers}

    @classmethod
    async def _send(cls, send: Send, reply: _Reply) -> None:
        await send(cls._start_message(reply))
        # Large bodies go out in chunks, as a real server streams them.
        body = reply.body
        chunks = [body[i : i + SEND_CHUNK] for i in range(0, len(body), SEND_CHUNK)] or [b""]
        for i, chunk in enumerate(chunks):
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1}
            )

    async def _send_truncated(self, receive: Receive, send: Send, reply: _Reply) -> None:
        """Announce the whole body, send half of it, then close the connection (FIN): the
        client sees the answer start and the connection end in the middle of the body."""
        await send(self._start_message(reply))
        await send(
            {
                "type": "http.response.body",
                "body": reply.body[: len(reply.body) // 2],
                "more_body": True,
            }
        )
        transport = _find_transport(receive, send)
        if transport is None:
            raise ConnectionDropped("truncate fault: connection dropped in the middle of the body")
        transport.close()
        with anyio.move_on_after(2.0):
            for _ in range(MAX_RECEIVES):
                if (await receive())["type"] == "http.disconnect":
                    return

    @staticmethod
    async def _wait_for_disconnect(receive: Receive, seconds: float) -> bool:
        """Sleep up to ``seconds``, returning early (True) if the client disconnects.

        Returning early matters at shutdown: a request whose client already timed out
        does not hold the server for the rest of its delay.
        """
        with anyio.move_on_after(seconds):
            for _ in range(MAX_RECEIVES):
                if (await receive())["type"] == "http.disconnect":
                    return True
            await anyio.sleep(seconds)  # a server whose receive() never blocks: plain sleep
        return False

    async def _drop_connection(self, receive: Receive, send: Send, mode: str) -> None:
        """Close the client's TCP connection without sending any HTTP response.

        ASGI has no "hang up" message, and raising from the app makes uvicorn answer a 500.
        uvicorn's ``receive``/``send`` are bound methods of its request cycle, which holds
        the asyncio transport of the connection, so the transport is closed directly:
        ``"close"`` sends FIN (httpx: ``RemoteProtocolError`` "Server disconnected without
        sending a response"), ``"reset"`` sets SO_LINGER 0 first so the kernel sends RST
        (httpx: ``ReadError``, connection reset by peer). Waiting for ``http.disconnect``
        afterwards lets uvicorn notice the loss, so it does not send its own 500.
        """
        transport = _find_transport(receive, send)
        if transport is None:
            raise ConnectionDropped("drop_connection fault: connection dropped without a response")
        if mode == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
        with anyio.move_on_after(2.0):
            for _ in range(MAX_RECEIVES):
                if (await receive())["type"] == "http.disconnect":
                    return

    # -- routing and processing (synchronous, under the lock) ---------------------------
    def _route(self, record: RecordedRequest, complete: bool) -> _Outcome:
        method, path = record.method, record.path
        if path == BATCH_PATH and method == "POST":
            return self._batch_call(record, complete)
        if path == ENTITY_PATH and method == "POST":
            return _Outcome(self._entity_call(record, complete))
        if path == REGION_PATH and method == "GET":
            return _Outcome(self._region_call(record))
        return _Outcome(_json_reply(404, {"meta": {"error": "Not Found"}}))

    def _authorized(self, record: RecordedRequest) -> bool:
        return record.basic_auth == (self.config.site_id, self.config.api_key)

    def _batch_call(self, record: RecordedRequest, complete: bool) -> _Outcome:
        if not self._authorized(record):
            return _Outcome(_json_reply(401, UNAUTHORIZED_BODY))
        fault = self._faults.popleft() if self._faults else None
        if fault is None:
            return _Outcome(self._batch_pipeline(record, complete))
        delay = float(fault.get("delay_s", 0.0))
        drop = fault.get("drop_connection")
        has_reply = any(fault.get(k) not in (None, False) for k in FAULT_REPLY_KEYS)
        if not has_reply:
            return _Outcome(self._batch_pipeline(record, complete), delay_s=delay)
        if fault.get("accept") or "accept_then_status" in fault:
            self._batch_pipeline(record, complete)  # ops accepted; its answer is replaced
        if drop:
            return _Outcome(None, delay_s=delay, drop="reset" if drop == "reset" else "close")
        return _Outcome(_fault_reply(fault), delay_s=delay, truncate=bool(fault.get("truncate")))

    def _rate_limited(self, record: RecordedRequest) -> _Reply | None:
        rate = self.config.rate_limit_rps
        if rate is None:
            return None
        key = record.basic_auth[0] if record.basic_auth else ""
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[key] = _TokenBucket(rate)
        if bucket.take():
            return None
        headers = [("content-type", JSON_CONTENT_TYPE)]
        if self.config.retry_after is not None:
            headers.append(("retry-after", _format_retry_after(self.config.retry_after)))
        return _Reply(429, b"", headers)

    def _batch_pipeline(self, record: RecordedRequest, complete: bool) -> _Reply:
        """Steps 3-9: rate limit, size, parse, envelope, per-op validation, outcome, state."""
        cfg = self.config
        limited = self._rate_limited(record)
        if limited is not None:
            return limited
        if not complete or len(record.body) > cfg.max_batch_bytes:
            return _errors_reply(
                cfg.oversize_status,
                _Invalid(
                    "invalid",
                    "batch",
                    f"request body exceeds the {cfg.max_batch_bytes}-byte batch limit",
                ),
            )
        try:
            document = _parse_json(record.body)
        except _Invalid as exc:
            return _errors_reply(400, exc)
        if not isinstance(document, dict):
            return _errors_reply(
                400,
                _Invalid("invalid", "batch", "request body must be an object with a batch array"),
            )
        batch = document.get("batch")
        if batch is None:
            return _errors_reply(
                400, _Invalid("required", "batch", "batch is required and must be an array")
            )
        if not isinstance(batch, list):
            return _errors_reply(400, _Invalid("invalid", "batch", "batch must be an array"))
        if not batch:
            return _errors_reply(
                cfg.empty_batch_status,
                _Invalid("required", "batch", "batch must contain at least one operation"),
            )
        if cfg.max_ops is not None and len(batch) > cfg.max_ops:
            return _errors_reply(
                400,
                _Invalid(
                    "invalid",
                    "batch",
                    f"batch has {len(batch)} operations; the limit is {cfg.max_ops}",
                ),
            )
        if cfg.op_too_large_mode == "batch":
            for op in batch:
                if isinstance(op, dict) and len(_compact_json(op)) > cfg.max_op_bytes:
                    return _errors_reply(
                        400,
                        _Invalid(
                            "invalid",
                            "batch",
                            f"an operation exceeds the {cfg.max_op_bytes}-byte size limit",
                        ),
                    )

        validator = _OpValidator(cfg)
        errors: list[dict[str, Any]] = []
        accepted: list[tuple[int, dict[str, Any]]] = []
        for index, op in enumerate(batch):
            try:
                validator.validate(op)
            except _Invalid as exc:
                errors.append(exc.as_error(index))
            else:
                accepted.append((index, op))
        for index, op in accepted:
            self._accept(record, index, op)
        if not errors:
            return _json_reply(200, {})
        status = cfg.all_invalid_status if not accepted else 207
        return _json_reply(status, {"errors": errors})

    def _accept(self, record: RecordedRequest, batch_index: int | None, op: dict[str, Any]) -> None:
        deduped = False
        event_id = op.get("id")
        if (
            op.get("type") == "person"
            and op.get("action") in NAMED_ACTIONS
            and isinstance(event_id, str)
        ):
            # "If an event repeats a value we've already received, we ignore the duplicate."
            deduped = event_id in self._seen_event_ids
            self._seen_event_ids.add(event_id)
        self.ops.append(
            {
                "request_no": record.request_no,
                "batch_index": batch_index,
                "op": op,
                "deduped": deduped,
                "received_at": record.received_at,
                "path": record.path,
            }
        )

    def _entity_call(self, record: RecordedRequest, complete: bool) -> _Reply:
        """``POST /api/v2/entity``: one op, same validation, 200 ``{}`` or 400."""
        cfg = self.config
        if not self._authorized(record):
            return _json_reply(401, UNAUTHORIZED_BODY)
        limited = self._rate_limited(record)
        if limited is not None:
            return limited
        if not complete or len(record.body) > cfg.max_op_bytes:
            return _errors_reply(
                cfg.oversize_status,
                _Invalid(
                    "invalid", "", f"request body exceeds the {cfg.max_op_bytes}-byte entity limit"
                ),
            )
        try:
            op = _parse_json(record.body)
            _OpValidator(cfg).validate(op, check_size=False)
        except _Invalid as exc:
            return _errors_reply(400, exc)
        self._accept(record, None, op)
        return _json_reply(200, {})

    def _region_call(self, record: RecordedRequest) -> _Reply:
        cfg = self.config
        if not self._authorized(record):
            return _json_reply(401, UNAUTHORIZED_BODY)
        url = cfg.region_url or REGION_URLS[cfg.region]
        return _json_reply(
            200, {"url": url, "region": cfg.region, "environment_id": cfg.environment_id}
        )

    # -- /__mock/ control routes ---------------------------------------------------------
    def _control(self, method: str, path: str, body: bytes) -> _Reply:
        name = path[len(CONTROL_PREFIX) :].rstrip("/")
        try:
            if name == "reset" and method == "POST":
                self.reset()
                return _json_reply(200, {})
            if name == "requests" and method == "GET":
                with self._lock:
                    return _json_reply(200, [r.to_dict() for r in self.requests])
            if name == "ops" and method == "GET":
                with self._lock:
                    return _json_reply(200, list(self.ops))
            if name == "faults" and method == "GET":
                return _json_reply(200, self.pending_faults())
            if name == "faults" and method == "POST":
                payload = json.loads(body or b"null")
                faults = payload if isinstance(payload, list) else [payload]
                checked = [_validate_fault(f) for f in faults]  # all or nothing
                for fault in checked:
                    self.queue_fault(fault)
                return _json_reply(
                    200, {"queued": len(checked), "pending": len(self.pending_faults())}
                )
            if name == "config" and method == "GET":
                with self._lock:
                    return _json_reply(200, self.config.to_dict())
            if name == "config" and method == "POST":
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("config changes must be a JSON object")
                return _json_reply(200, self.update_config(**changes).to_dict())
        except (ValueError, TypeError) as exc:
            return _json_reply(400, {"error": str(exc)})
        if name in ("reset", "requests", "ops", "faults", "config"):
            return _json_reply(405, {"error": f"{method} not allowed on {path}"})
        return _json_reply(404, {"error": f"no control route {path}"})


def _find_transport(receive: Receive, send: Send) -> asyncio.Transport | None:
    """The asyncio transport behind uvicorn's bound ``receive``/``send``, if reachable."""
    for bound in (receive, send):
        cycle = getattr(bound, "__self__", None)
        transport = getattr(cycle, "transport", None)
        # uvloop's transports (used by uvicorn when installed) are not asyncio.Transport
        # subclasses but offer the same methods
        if isinstance(transport, asyncio.Transport) or all(
            callable(getattr(transport, name, None)) for name in ("abort", "close", "get_extra_info")
        ):
            return transport
    return None
