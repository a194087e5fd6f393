"""Error pages: HTML for people, the API's JSON envelope for anything under /api/."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.views import defaults

from storefront.api import error_response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _page(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    try:
        return render(request, "error.html", {"title": title, "message": message}, status=status)
    except TemplateDoesNotExist:  # pragma: no cover - the template ships with the project
        return HttpResponse(message, status=status, content_type="text/plain")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return error_response(400, "BAD_REQUEST", "The request could not be understood.")
    return _page(request, 400, "Bad request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else "You may not do that here."
    if _is_api(request):
        return error_response(403, "FORBIDDEN", message)
    return _page(request, 403, "Not allowed", message)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return error_response(404, "NOT_FOUND", f"No endpoint at {request.path}.")
    return _page(request, 404, "Not found", "There is nothing here, or it is not yours to see.")


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side.")
    # Rendered without context processors: the failure may be in one of them.
    return defaults.server_error(request, template_name="500.html")
