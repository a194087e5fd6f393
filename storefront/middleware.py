from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from storefront.api import error_response

_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class ApiErrorEnvelopeMiddleware:
    """A safety net: an error answered under /api/ without our JSON envelope (Django's 405 or
    CSRF pages, say) is rewritten into it, so programs never receive an HTML error page. The
    Billing API's own XML error documents are left alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith(
                ("application/json", "application/xml")
            )
        ):
            status = response.status_code
            message = {
                405: f"{request.method} is not allowed here; use {response.get('Allow', 'another method')}.",
            }.get(status, response.reason_phrase)
            wrapped = error_response(status, _CODES.get(status, "BAD_REQUEST"), message)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    wrapped[header] = response[header]
            return wrapped
        return response
