"""The Content-Security-Policy, with the Stripe sources taken from the settings in force.

The base policy is `CONTENT_SECURITY_POLICY` in settings. Connect embedded components need
connect.js, its frames and its calls: against the emulator (development, tests, the demo) that
is the emulator's origin; against real Stripe, the hosts Stripe's CSP guide for Connect
embedded components lists. Computed per response so a changed `STRIPE_API_BASE` (tests run
the emulator on a free port) is honoured.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

STRIPE_SCRIPT_HOSTS = ("https://connect-js.stripe.com", "https://js.stripe.com")
# The one inline style Stripe's connect.js adds to the page, by the hash Stripe's guide gives.
STRIPE_STYLE_HASH = "'sha256-0hAheEzaMe6uXIKV4EehS9pu1am1lj/KnnzrOYqckXk='"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def stripe_sources() -> dict[str, list[str]]:
    """Directive → sources connect.js needs, added to the base policy."""
    connect_js = _origin(settings.STRIPE_CONNECT_JS_URL) if settings.STRIPE_CONNECT_JS_URL else ""
    if settings.STRIPE_API_BASE:
        # A Stripe stand-in (the emulator) serves connect.js, its frames, the hosted
        # onboarding pages our forms redirect to, and the calls connect.js makes.
        hosts = sorted({_origin(settings.STRIPE_API_BASE), connect_js} - {""})
        return {
            "script-src": hosts,
            "frame-src": hosts,
            "connect-src": hosts,
            "form-action": hosts,
        }
    scripts = sorted({*STRIPE_SCRIPT_HOSTS, connect_js} - {""})
    return {
        "script-src": scripts,
        "style-src": [STRIPE_STYLE_HASH],
        "frame-src": scripts,
        # api, merchant-ui-api and r.stripe.com (connect.js's own reporting).
        "connect-src": ["https://*.stripe.com"],
        "img-src": ["https://*.stripe.com"],
        # Hosted onboarding, the Express dashboard and the billing portal are redirects to
        # connect.stripe.com and billing.stripe.com after a form post.
        "form-action": ["https://*.stripe.com"],
    }


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            update = {key: list(value) for key, value in (parts.update or {}).items()}
            for directive, sources in stripe_sources().items():
                update[directive] = [*update.get(directive, []), *sources]
            parts.update = update
        return parts
