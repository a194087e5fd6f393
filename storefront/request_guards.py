"""Refuse requests no view could serve safely, before any view sees them.

A NUL character in the URL, a query parameter or a posted form reaches the database as a
lookup or a value, and PostgreSQL refuses NUL in text (a 500). Rather than guard every field
of every view, such requests are refused here: under /api/ with a 400 in the API's envelope
naming the parameter, elsewhere with the site's 400 page. Form values and query strings cannot
carry lone surrogates (Django decodes them with `errors="replace"`); JSON bodies can, and the
API's parser (`storefront.json_input`) refuses those.

API bodies over `API_MAX_BODY_BYTES` are a 413 here, before anything reads them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse

from storefront.api import error_response, issue

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def nul_parameter(request: HttpRequest) -> str | None:
    """The name of a query (or form) parameter holding a NUL, or "path" for the URL itself."""
    if "\x00" in request.path:
        return "path"
    sources = [request.GET]
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        sources.append(request.POST)
    for data in sources:
        for name, values in data.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return name.replace("\x00", "?")
    return None


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        is_api = request.path.startswith("/api/")
        if is_api:
            too_large = _body_too_large(request)
            if too_large is not None:
                return too_large
        parameter = nul_parameter(request)
        if parameter is not None:
            if not is_api:
                # Rendered by handler400, the site's own 400 page.
                raise BadRequest("The request contains a NUL character.")
            message = "The request contains a NUL character, which no field accepts."
            location = "path" if parameter == "path" else "query"
            return error_response(
                400,
                "VALIDATION_ERROR",
                message,
                field=parameter,
                details={"issues": [issue(location, parameter, message)]},
            )
        return self.get_response(request)


def _body_too_large(request: HttpRequest) -> HttpResponse | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response(400, "BAD_REQUEST", "Content-Length is not a number.")
    limit: int = settings.API_MAX_BODY_BYTES
    if length > limit:
        return error_response(
            413,
            # The documented code table has no 413 code: the closest is BAD_REQUEST.
            "BAD_REQUEST",
            f"The request body is {length:,} bytes; the API accepts at most {limit:,}.",
        )
    return None
