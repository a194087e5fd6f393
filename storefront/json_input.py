"""What the API accepts as a request body: a JSON object whose text a database can store.

PostgreSQL text cannot hold NUL characters, and UTF-8 cannot encode lone surrogates (which JSON
carries as escapes such as `"\\ud800"`); either reaching the database is a 500. `JsonObjectParser`
is the API's body parser, so every endpoint with a body gets these rules after ninja has
matched the method and checked the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BodyRefused(Exception):
    """A request body the API will not read; answered in the envelope with `status`/`code`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def unstorable_paths(value: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Dotted paths (`fees.0.name`) of strings, keys included, that cannot be stored."""
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            yield ".".join(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if UNSTORABLE.search(key):
                yield ".".join((*path, UNSTORABLE.sub("?", key)))
            else:
                yield from unstorable_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable_paths(item, (*path, str(index)))


def is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"


class JsonObjectParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if not is_json(request.content_type or ""):
            raise BodyRefused(
                415,
                # The documented code table has no 415 code: the closest is BAD_REQUEST.
                "BAD_REQUEST",
                "Send the body as JSON with `Content-Type: application/json`, "
                f"not {request.content_type or 'no content type'}.",
            )
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise BodyRefused(400, "BAD_REQUEST", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise BodyRefused(
                400,
                "VALIDATION_ERROR",
                f"The request body must be a JSON object, not {_kind(body)}.",
            )
        for field in unstorable_paths(body):
            raise BodyRefused(
                400,
                "VALIDATION_ERROR",
                "Text may not contain NUL characters or unpaired surrogates (\\ud800–\\udfff).",
                field=field or None,
            )
        return body
