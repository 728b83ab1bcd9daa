"""Write `customer-io-track-openapi.reconstructed.json`: a stand-in for Customer.io's Track OpenAPI.

The benchmarks compare naftiko-gen with generators that take OpenAPI documents. The document the
peers were first measured on (Customer.io's published `journeys-track.json`, 3.1.0, 17 paths and
18 operations, 273 component schemas, 492 KB) is not redistributed here. This script rebuilds the
Track API part of it from the public description of the API: the same 17 paths, 18 operations,
operation ids, tags, security scheme, servers and response codes, and `POST /api/v2/batch` modelled
the same way (an `anyOf` of a "Person" `anyOf` of 12 operation schemas and an "Object" `anyOf` of 5,
each with `discriminator: {propertyName: action}`, plus the delivery operation). The component
schemas are rewritten from the documented behaviour, not copied; descriptions are short.

Known quirks of the published document are kept on purpose, because they are what the peers trip
on: no `required: [batch]` and no `minItems` on the batch body, `servers` overridden per operation
with the US host only, `person_merge` without `type`/`action` in its example, and the
`v2_cio_relationships` identifier `oneOf` whose branches declare no `required`.

What is NOT reproduced: the ~250 App API schemas that the published file carries in `components`
without any Track path referring to them, long Markdown descriptions and code samples. Peers that
generate a model per component schema therefore do less work here than on the published file.

Run: `python bench/data/make_track_openapi.py` (writes the JSON next to this file; deterministic).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("customer-io-track-openapi.reconstructed.json")

US = "https://track.customer.io"
EU = "https://track-eu.customer.io"
SERVERS_US_ONLY = [
    {
        "url": US,
        "description": "Track API. Basic authentication: Site ID as user name, API key as password.",
    }
]
SECURITY: list[dict[str, list[str]]] = [{"Tracking-API-Key": []}]

Json = dict[str, Any]


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def const_enum(value: str, description: str) -> Json:
    return {"type": "string", "enum": [value], "description": description}


def one_identifier(keys: dict[str, Json], *, required: bool = True) -> Json:
    """`oneOf` with one branch per identifier key (each branch `required` unless told not to)."""
    branches = []
    for key, schema in keys.items():
        branch: Json = {"title": key, "type": "object", "properties": {key: schema}}
        if required:
            branch["required"] = [key]
        branches.append(branch)
    return {"oneOf": branches}


# --- shared component schemas -------------------------------------------------------------------

SCHEMAS: Json = {
    "customer_id": {"type": "string", "description": "The identifier you assigned to a person."},
    "not_nullable_customer_id": {"type": "string", "minLength": 1, "description": "A person's id."},
    "email_address": {"type": "string", "format": "email", "description": "An email address."},
    "not_nullable_email_address": {"type": "string", "format": "email", "minLength": 1},
    "phone_number": {
        "type": "string",
        "pattern": "^\\+[1-9][0-9]{1,14}$",
        "description": "A phone number in E.164 format.",
    },
    "cio_id": {"type": "string", "description": "The identifier Customer.io assigned to a person."},
    "anonymous_id": {"type": "string", "description": "An identifier for an anonymous visitor."},
    "timestamp": {
        "type": "integer",
        "format": "unix timestamp",
        "description": "Unix time in seconds.",
    },
    "event_id": {
        "type": "string",
        "format": "ulid",
        "description": "A ULID; an event repeating an id already received is ignored.",
    },
    "attributes": {
        "type": "object",
        "description": "Attributes to set; a null or empty value removes an attribute.",
        "additionalProperties": True,
    },
    "person_identifiers": {
        "description": "Exactly one identifier of a person.",
        **one_identifier(
            {
                "id": ref("customer_id"),
                "email": ref("email_address"),
                "phone": ref("phone_number"),
                "cio_id": ref("cio_id"),
            }
        ),
    },
    "object_identifiers": {
        "description": "An object, by type and id, or by its Customer.io id (updates only).",
        "oneOf": [
            {
                "title": "object_id",
                "type": "object",
                "required": ["object_type_id", "object_id"],
                "properties": {
                    "object_type_id": {
                        "type": "string",
                        "description": "The object type, a string-formatted integer from 1.",
                    },
                    "object_id": {"type": "string", "description": "The object's id."},
                },
            },
            {
                "title": "cio_object_id",
                "type": "object",
                "required": ["cio_object_id"],
                "properties": {"cio_object_id": {"type": "string"}},
            },
        ],
    },
    # Person -> object relationships.
    "v2_object_relationships": {
        "type": "array",
        "description": "Objects to relate to the person.",
        "items": {
            "type": "object",
            "required": ["identifiers"],
            "properties": {
                "identifiers": ref("object_identifiers"),
                "relationship_attributes": ref("attributes"),
            },
        },
    },
    # Object -> person relationships; the branches declare no `required`, as in the published file.
    "v2_cio_relationships": {
        "type": "array",
        "description": "People to relate to the object.",
        "items": {
            "type": "object",
            "properties": {
                "identifiers": one_identifier(
                    {
                        "id": ref("customer_id"),
                        "email": ref("email_address"),
                        "cio_id": ref("cio_id"),
                    },
                    required=False,
                ),
                "relationship_attributes": ref("attributes"),
            },
        },
    },
    "device_attributes": {
        "type": "object",
        "description": "Device attributes; values are strings.",
        "properties": {
            "device_os": {"type": "string"},
            "device_model": {"type": "string"},
            "app_version": {"type": "string"},
            "cio_sdk_version": {"type": "string"},
            "device_locale": {"type": "string"},
            "push_enabled": {"type": "string", "enum": ["true", "false"]},
        },
        "additionalProperties": {"type": "string"},
    },
    "device_object": {
        "type": "object",
        "required": ["id", "platform"],
        "properties": {
            "id": {"type": "string", "description": "The device token."},
            "platform": {"type": "string", "enum": ["ios", "android"]},
            "last_used": ref("timestamp"),
            "attributes": ref("device_attributes"),
        },
    },
    "v2_device": {
        "type": "object",
        "required": ["token", "platform"],
        "properties": {
            "token": {"type": "string", "description": "The device token."},
            "platform": {"type": "string", "enum": ["ios", "android"]},
            "last_used": ref("timestamp"),
            "attributes": ref("device_attributes"),
        },
    },
    "v1_cio_relationships": {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["add_relationships", "delete_relationships"]},
            "relationships": ref("v2_object_relationships"),
        },
    },
    "errors": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "reason": {"type": "string"},
                "field": {"type": "string"},
                "message": {"type": "string"},
            },
        },
    },
    "eventsRequest": {
        "oneOf": [
            {
                "title": "Standard event",
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "id": ref("event_id"),
                    "type": {"type": "string", "enum": ["event"]},
                    "timestamp": ref("timestamp"),
                    "data": ref("attributes"),
                },
            },
            {
                "title": "Page view",
                "type": "object",
                "required": ["name", "type"],
                "properties": {
                    "name": {"type": "string", "description": "The page URL."},
                    "id": ref("event_id"),
                    "type": {"type": "string", "enum": ["page"]},
                    "timestamp": ref("timestamp"),
                    "data": ref("attributes"),
                },
            },
            {
                "title": "Mobile screen view",
                "type": "object",
                "required": ["name", "type"],
                "properties": {
                    "name": {"type": "string", "description": "The screen name."},
                    "id": ref("event_id"),
                    "type": {"type": "string", "enum": ["screen"]},
                    "timestamp": ref("timestamp"),
                    "data": ref("attributes"),
                },
            },
        ]
    },
    "anonymousEventsRequest": {
        "type": "object",
        "required": ["name", "anonymous_id"],
        "properties": {
            "name": {"type": "string"},
            "anonymous_id": ref("anonymous_id"),
            "id": ref("event_id"),
            "type": {"type": "string", "enum": ["event", "page", "screen"]},
            "timestamp": ref("timestamp"),
            "data": ref("attributes"),
        },
    },
    "track-metrics": {
        "type": "object",
        "required": ["delivery_id", "timestamp"],
        "properties": {
            "delivery_id": {"type": "string"},
            "timestamp": ref("timestamp"),
        },
    },
}


def person_op(
    action: str, description: str, extra: Json | None = None, required: list[str] | None = None
) -> Json:
    properties: Json = {
        "type": const_enum("person", "The operation modifies a person."),
        "action": const_enum(action, description),
        "identifiers": ref("person_identifiers"),
    }
    properties.update(extra or {})
    return {
        "type": "object",
        "title": action,
        "required": ["type", "action", "identifiers", *(required or [])],
        "properties": properties,
    }


def object_op(
    action: str, description: str, extra: Json | None = None, required: list[str] | None = None
) -> Json:
    properties: Json = {
        "type": const_enum("object", "The operation modifies an object."),
        "action": const_enum(action, description),
        "identifiers": ref("object_identifiers"),
    }
    properties.update(extra or {})
    return {
        "type": "object",
        "title": action,
        "required": ["type", "action", "identifiers", *(required or [])],
        "properties": properties,
    }


NAMED_EVENT = {
    "name": {"type": "string", "description": "The event, page or screen name."},
    "id": ref("event_id"),
    "timestamp": ref("timestamp"),
    "attributes": ref("attributes"),
}
MERGE_TARGET = {
    "oneOf": [
        {
            "title": "id",
            "type": "object",
            "maxProperties": 1,
            "properties": {"id": ref("not_nullable_customer_id")},
        },
        {
            "title": "email",
            "type": "object",
            "maxProperties": 1,
            "properties": {"email": ref("not_nullable_email_address")},
        },
        {
            "title": "cio_id",
            "type": "object",
            "maxProperties": 1,
            "properties": {"cio_id": ref("cio_id")},
        },
    ]
}

PERSON_OPS: Json = {
    "identify_person": person_op(
        "identify",
        "Add or update a person.",
        {
            "timestamp": ref("timestamp"),
            "attributes": {
                "type": "object",
                "properties": {
                    "_update": {"type": "boolean", "description": "Only update, never create."},
                    "cio_subscription_preferences": {
                        "type": "object",
                        "properties": {
                            "topics": {
                                "type": "object",
                                "additionalProperties": {"type": "boolean"},
                            }
                        },
                    },
                },
                "additionalProperties": True,
            },
            "cio_relationships": ref("v2_object_relationships"),
        },
    ),
    "person_delete": person_op("delete", "Delete a person."),
    "person_event": person_op("event", "Send an event.", NAMED_EVENT, ["name"]),
    "person_screen": person_op("screen", "Send a mobile screen view.", NAMED_EVENT, ["name"]),
    "person_page": person_op("page", "Send a page view.", NAMED_EVENT, ["name"]),
    "person_add_relationships": person_op(
        "add_relationships",
        "Relate a person to objects.",
        {"cio_relationships": ref("v2_object_relationships")},
        ["cio_relationships"],
    ),
    "person_delete_relationships": person_op(
        "delete_relationships",
        "Remove relationships between a person and objects.",
        {"cio_relationships": ref("v2_object_relationships")},
        ["cio_relationships"],
    ),
    "person_add_device": person_op(
        "add_device", "Add or update a device.", {"device": ref("v2_device")}, ["device"]
    ),
    "person_delete_device": person_op(
        "delete_device",
        "Delete a device.",
        {
            "device": {
                "type": "object",
                "required": ["token"],
                "properties": {"token": {"type": "string"}},
            }
        },
        ["device"],
    ),
    "person_merge": {
        "type": "object",
        "title": "merge",
        "required": ["type", "action", "primary", "secondary"],
        "properties": {
            "type": const_enum("person", "The operation modifies a person."),
            "action": const_enum("merge", "Merge two people; the secondary is deleted."),
            "primary": {"description": "The person that remains.", **MERGE_TARGET},
            "secondary": {"description": "The person merged and deleted.", **MERGE_TARGET},
        },
        # As published: the example leaves out `type` and `action`, which the schema requires.
        "example": {"primary": {"id": "42"}, "secondary": {"email": "old@example.com"}},
    },
    "person_suppress": person_op("suppress", "Delete a person and suppress the identifier."),
    "person_unsuppress": person_op("unsuppress", "Allow a suppressed identifier again."),
}

OBJECT_OPS: Json = {
    "object_identify": object_op(
        "identify",
        "Create or update an object.",
        {"attributes": ref("attributes"), "cio_relationships": ref("v2_cio_relationships")},
    ),
    "object_identify_anonymous": object_op(
        "identify_anonymous",
        "Create or update an object and relate it to an anonymous visitor.",
        {"attributes": ref("attributes"), "cio_relationships": ref("v2_cio_relationships")},
    ),
    "object_delete": object_op("delete", "Delete an object and its relationships."),
    "object_add_relationships": object_op(
        "add_relationships",
        "Relate people to an object.",
        {"cio_relationships": ref("v2_cio_relationships")},
        ["cio_relationships"],
    ),
    "object_delete_relationships": object_op(
        "delete_relationships",
        "Remove relationships between people and an object.",
        {"cio_relationships": ref("v2_cio_relationships")},
        ["cio_relationships"],
    ),
}

DELIVERY_OP: Json = {
    "type": "object",
    "title": "Delivery",
    "required": ["type", "action", "identifiers", "name"],
    "properties": {
        "type": const_enum("delivery", "The operation reports a delivery metric."),
        "action": const_enum("event", "Report a metric for a delivery."),
        "identifiers": {
            "type": "object",
            # As published: `id` is not marked required.
            "properties": {"id": {"type": "string", "description": "The delivery id."}},
        },
        "name": {"type": "string", "enum": ["opened", "converted", "delivered"]},
        "timestamp": ref("timestamp"),
        "attributes": {
            "type": "object",
            "required": ["device_token"],
            "properties": {"device_token": {"type": "string"}},
            "additionalProperties": True,
        },
    },
}

SCHEMAS.update(PERSON_OPS)
SCHEMAS.update(OBJECT_OPS)
SCHEMAS["delivery_operations"] = DELIVERY_OP
SCHEMAS["person_operations"] = {
    "anyOf": [ref(name) for name in PERSON_OPS],
    "discriminator": {"propertyName": "action"},
}
SCHEMAS["object_operations"] = {
    "anyOf": [ref(name) for name in OBJECT_OPS],
    "discriminator": {"propertyName": "action"},
}

RESPONSES: Json = {
    "200": {
        "description": "The request succeeded.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    "400": {
        "description": "The request was malformed.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "meta": {
                            "type": "object",
                            "properties": {
                                "errors": {"type": "array", "items": {"type": "string"}}
                            },
                        }
                    },
                }
            }
        },
    },
    "401": {
        "description": "Unauthorized: wrong Site ID or API key.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "meta": {"type": "object", "properties": {"error": {"type": "string"}}}
                    },
                }
            }
        },
    },
}


def responses(*codes: str, **custom: Json) -> Json:
    out: Json = {code: {"$ref": f"#/components/responses/{code}"} for code in codes}
    out.update({code.lstrip("_"): value for code, value in custom.items()})
    return dict(sorted(out.items()))


def operation(
    operation_id: str,
    tag: str,
    summary: str,
    *,
    body: Json | None = None,
    resp: Json | None = None,
    secured: bool = True,
    parameters: list[Json] | None = None,
) -> Json:
    op: Json = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "servers": SERVERS_US_ONLY,
        "security": SECURITY if secured else [],
    }
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": body}}}
    op["responses"] = resp or responses("200", "401")
    return op


IDENTIFIER_PARAM = {
    "name": "identifier",
    "in": "path",
    "required": True,
    "description": "A person's id, email or cio_id (prefixed `cio_`).",
    "schema": {
        "oneOf": [
            {"title": "id", "type": "string"},
            {"title": "email", "type": "string"},
            {"title": "cio_id", "type": "string", "format": "cio_[a-zA-Z0-9]*"},
        ]
    },
}
SEGMENT_PARAMS = [
    {"name": "segment_id", "in": "path", "required": True, "schema": {"type": "integer"}},
    {
        "name": "id_type",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["id", "email", "cio_id"]},
    },
]
IDS_BODY = {
    "type": "object",
    "required": ["ids"],
    "properties": {
        "ids": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1000,
            "items": {"type": "string"},
        }
    },
}

BATCH_BODY: Json = {
    "type": "object",
    # As published: no `required: [batch]`, no `minItems`.
    "properties": {
        "batch": {
            "type": "array",
            "description": "Operations, each one a person, object or delivery operation.",
            "items": {
                "anyOf": [
                    {
                        "title": "Person",
                        "anyOf": [ref(name) for name in PERSON_OPS],
                        "discriminator": {"propertyName": "action"},
                    },
                    {
                        "title": "Object",
                        "anyOf": [ref(name) for name in OBJECT_OPS],
                        "discriminator": {"propertyName": "action"},
                    },
                    ref("delivery_operations"),
                ]
            },
        }
    },
    "example": {
        "batch": [
            {
                "type": "person",
                "identifiers": {"id": "42"},
                "action": "identify",
                "attributes": {"first_name": "Jane", "last_name": "Doe", "plan": "premium"},
            }
        ]
    },
}
BATCH_ERROR_ITEMS = {
    "type": "object",
    "properties": {
        "batch_index": {"type": "integer"},
        "reason": {"type": "string"},
        "field": {"type": "string"},
        "message": {"type": "string"},
    },
}
V2_400 = {
    "description": "The entire request was malformed or invalid.",
    "content": {
        "application/json": {"schema": {"type": "object", "properties": {"errors": ref("errors")}}}
    },
}

PATHS: Json = {
    "/api/v1/accounts/region": {
        "get": operation(
            "getRegion",
            "trackRegion",
            "Find your account region",
            resp=responses(
                "401",
                _200={
                    "description": "Your credentials are valid.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "url": {"type": "string", "enum": [US, EU]},
                                    "region": {"type": "string", "enum": ["us", "eu"]},
                                    "environment_id": {"type": "integer"},
                                },
                            }
                        }
                    },
                },
            ),
        )
    },
    "/api/v1/customers/{identifier}": {
        "put": operation(
            "identify",
            "Track Customers",
            "Add or update a customer",
            parameters=[IDENTIFIER_PARAM],
            body={
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "email": {"type": "string", "format": "email"},
                    "anonymous_id": ref("anonymous_id"),
                    "created_at": ref("timestamp"),
                    "_timestamp": ref("timestamp"),
                    "_update": {"type": "boolean"},
                    "cio_relationships": ref("v1_cio_relationships"),
                    "unsubscribed": {"type": "boolean"},
                },
                "additionalProperties": {
                    "oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]
                },
            },
        ),
        "delete": operation(
            "delete", "Track Customers", "Delete a customer", parameters=[IDENTIFIER_PARAM]
        ),
    },
    "/api/v1/customers/{identifier}/devices": {
        "parameters": [IDENTIFIER_PARAM],
        "put": operation(
            "add_device",
            "Track Customers",
            "Add or update a customer device",
            body={
                "type": "object",
                "required": ["device"],
                "properties": {"device": ref("device_object")},
            },
            resp=responses("200", "400", "401"),
        ),
    },
    "/api/v1/customers/{identifier}/devices/{device_id}": {
        "parameters": [
            IDENTIFIER_PARAM,
            {"name": "device_id", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "delete": operation(
            "delete_device",
            "Track Customers",
            "Delete a customer device",
            resp=responses("200", "400", "401"),
        ),
    },
    "/api/v1/customers/{identifier}/suppress": {
        "parameters": [IDENTIFIER_PARAM],
        "post": operation("suppress", "Track Customers", "Suppress a customer profile"),
    },
    "/api/v1/customers/{identifier}/unsuppress": {
        "parameters": [IDENTIFIER_PARAM],
        "post": operation("unsuppress", "Track Customers", "Unsuppress a customer profile"),
    },
    "/unsubscribe/{delivery_id}": {
        "parameters": [
            {"name": "delivery_id", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "post": operation(
            "unsubscribe",
            "Track Customers",
            "Custom unsubscribe handling",
            secured=False,
            body={"type": "object", "properties": {"unsubscribe": {"type": "boolean"}}},
            resp=responses("200", _400={"description": "The delivery_id is malformed."}),
        ),
    },
    "/api/v1/customers/{identifier}/events": {
        "parameters": [IDENTIFIER_PARAM],
        "post": operation(
            "track",
            "Track Events",
            "Track a customer event",
            body=ref("eventsRequest"),
            resp=responses("200", "400", "401"),
        ),
    },
    "/api/v1/events": {
        "post": operation(
            "trackAnonymous",
            "Track Events",
            "Track an anonymous event",
            body=ref("anonymousEventsRequest"),
            resp=responses("200", "400", "401"),
        )
    },
    "/api/v1/forms/{form_id}/submit": {
        "post": operation(
            "submitForm",
            "Forms",
            "Submit a form",
            parameters=[
                {"name": "form_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            body={
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {
                        "oneOf": [
                            {
                                "title": "identify by email",
                                "type": "object",
                                "required": ["email"],
                                "properties": {"email": ref("email_address")},
                                "additionalProperties": {"type": "string"},
                            },
                            {
                                "title": "identify by id",
                                "type": "object",
                                "required": ["id"],
                                "properties": {"id": ref("customer_id")},
                                "additionalProperties": {"type": "string"},
                            },
                        ]
                    }
                },
            },
            resp={"204": {"description": "Submitted."}, "400": RESPONSES["400"]},
        )
    },
    "/api/v1/merge_customers": {
        "post": operation(
            "merge",
            "Track Customers",
            "Merge duplicate people",
            body={
                "type": "object",
                "required": ["primary", "secondary"],
                "properties": {"primary": MERGE_TARGET, "secondary": MERGE_TARGET},
            },
            resp=responses("200", "400", "401"),
        )
    },
    "/api/v1/metrics": {
        "post": operation(
            "metrics",
            "Track Events",
            "Report metrics",
            secured=False,
            body={
                "oneOf": [
                    {
                        "title": channel,
                        "allOf": [
                            ref("track-metrics"),
                            {
                                "type": "object",
                                "required": ["metric"],
                                "properties": {
                                    "metric": {"type": "string", "enum": metrics},
                                    "recipient": {"type": "string"},
                                    "reason": {"type": "string"},
                                    "href": {"type": "string"},
                                },
                            },
                        ],
                    }
                    for channel, metrics in (
                        (
                            "Email",
                            [
                                "bounced",
                                "clicked",
                                "converted",
                                "deferred",
                                "delivered",
                                "dropped",
                                "opened",
                                "spammed",
                            ],
                        ),
                        ("In-app", ["clicked", "converted", "opened"]),
                        ("Push", ["converted", "delivered", "opened"]),
                        ("Slack", ["clicked", "converted", "delivered", "opened"]),
                        ("SMS", ["bounced", "clicked", "delivered", "opened"]),
                        (
                            "Webhook",
                            [
                                "bounced",
                                "clicked",
                                "converted",
                                "deferred",
                                "delivered",
                                "dropped",
                                "opened",
                                "spammed",
                            ],
                        ),
                    )
                ]
            },
            resp={"200": {"description": "The request was received."}},
        ),
    },
    "/api/v1/push/events": {
        "post": {
            **operation(
                "pushMetrics",
                "Track Events",
                "Report push metrics",
                secured=False,
                body={
                    "type": "object",
                    "properties": {
                        "delivery_id": {"type": "string"},
                        "event": {"type": "string", "enum": ["opened", "converted", "delivered"]},
                        "device_id": {"type": "string"},
                        "timestamp": ref("timestamp"),
                    },
                },
                resp={"200": {"description": "The request was received."}},
            ),
            "deprecated": True,
        }
    },
    "/api/v1/segments/{segment_id}/add_customers": {
        "parameters": SEGMENT_PARAMS,
        "post": operation(
            "add_to_segment",
            "Track Segments",
            "Add people to a manual segment",
            body=IDS_BODY,
            resp=responses("200", "400", "401"),
        ),
    },
    "/api/v1/segments/{segment_id}/remove_customers": {
        "parameters": SEGMENT_PARAMS,
        "post": operation(
            "remove_from_segment",
            "Track Segments",
            "Remove people from a manual segment",
            body=IDS_BODY,
            resp=responses("200", "400", "401"),
        ),
    },
    "/api/v2/entity": {
        "post": operation(
            "entity",
            "track_v2",
            "Make a single request",
            body={
                "oneOf": [
                    ref("person_operations"),
                    ref("object_operations"),
                    ref("delivery_operations"),
                ]
            },
            resp=responses("200", "401", _400=V2_400),
        )
    },
    "/api/v2/batch": {
        "post": operation(
            "batch",
            "track_v2",
            "Send multiple requests",
            body=BATCH_BODY,
            resp=responses(
                "200",
                "401",
                _207={
                    "description": "At least one operation was invalid; the others were accepted.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "errors": {"type": "array", "items": BATCH_ERROR_ITEMS}
                                },
                            }
                        }
                    },
                },
                _400=V2_400,
            ),
        )
    },
}

DOCUMENT: Json = {
    "openapi": "3.1.0",
    "info": {
        "title": "Track API (reconstruction)",
        "version": "1.0.0",
        "description": (
            "A reconstruction of Customer.io's Track API OpenAPI document for benchmarks: same "
            "paths, operations and batch modelling, rewritten schemas. See "
            "bench/data/README.md."
        ),
    },
    "servers": [
        {"url": US, "description": "US region."},
        {"url": EU, "description": "EU region."},
    ],
    "tags": [
        {"name": "track_v2"},
        {"name": "trackRegion"},
        {"name": "Track Customers"},
        {"name": "Track Events"},
        {"name": "Track Segments"},
        {"name": "Forms"},
    ],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"Tracking-API-Key": {"type": "http", "scheme": "basic"}},
        "responses": RESPONSES,
        "schemas": SCHEMAS,
    },
}


def main() -> None:
    OUT.write_text(json.dumps(DOCUMENT, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    operations = sum(
        1
        for item in PATHS.values()
        for method in item
        if method in ("get", "put", "post", "delete")
    )
    print(f"wrote {OUT} ({len(PATHS)} paths, {operations} operations, {len(SCHEMAS)} schemas)")


if __name__ == "__main__":
    main()
