from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from storefront.api import documented_code, error_response


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
            # A status the documented code table lacks (405) gets its closest code, BAD_REQUEST.
            wrapped = error_response(status, documented_code(status, ""), message)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    wrapped[header] = response[header]
            return wrapped
        return response
