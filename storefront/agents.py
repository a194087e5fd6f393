"""Checking that an inventory source's agent answers with its credential.

The one place the application calls agents. The check sends one JSON-RPC request (MCP
`initialize`, or A2A's authenticated agent card) to the source's endpoint, with its credential
in the headers, and counts any 2xx answer as "the agent answers". 401/403 means the agent
refused the credential; anything else is reported as it happened.

Calling a URL a customer typed is a server-side request forgery risk, so:
- only `http` and `https` URLs are called, redirects are never followed and no proxy from the
  environment is used;
- every call has a timeout (`AGENT_CHECK_TIMEOUT_SECONDS`) and reads at most
  `MAX_ANSWER_BYTES` of the answer, which is never stored or shown (only its status);
- unless `AGENT_CHECK_ALLOW_PRIVATE_ADDRESSES` is on (development and tests, where agents run
  on localhost), a host that resolves to a loopback, private, link-local, multicast or
  reserved address (cloud metadata services among them) is refused before any call.
The address is checked when the check starts and resolved again by the connection, so a
hostile DNS server could still rebind between the two: production should also send this
traffic through an egress firewall or proxy that refuses internal networks.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from storefront.models import AuthenticationType, InventorySource, SourceProtocol

AGENT_CHECK_TIMEOUT_SECONDS = 10
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "storefront-billing-agent-check/1"

# Where each authentication type's secret may be in `credentials` (the dashboard stores
# {"secret": …}; API clients send the shape of their type).
_SECRET_KEYS = ("secret", "apiKey", "api_key", "key", "token", "accessToken", "access_token", "jwt")


class AgentCheckFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check(source: InventorySource) -> None:
    """Call the source's agent once with its credential; AgentCheckFailed says why not."""
    url = source.endpoint_url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AgentCheckFailed("Only http and https endpoints can be checked.")
    _refuse_internal_addresses(
        parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    )
    request = urllib.request.Request(
        url,
        data=json.dumps(_probe(source)).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "User-Agent": USER_AGENT,
            **credential_headers(source),
        },
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())
    try:
        with opener.open(request, timeout=AGENT_CHECK_TIMEOUT_SECONDS) as answer:
            answer.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise AgentCheckFailed(f"The agent refused the credential (HTTP {exc.code}).") from None
        if 300 <= exc.code < 400:
            raise AgentCheckFailed(
                f"The agent answered with a redirect (HTTP {exc.code}); redirects are not "
                "followed: use the final URL."
            ) from None
        raise AgentCheckFailed(f"The agent answered HTTP {exc.code}.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AgentCheckFailed(f"Could not reach the agent: {reason}.") from None


def credential_headers(source: InventorySource) -> dict[str, str]:
    credentials: dict[str, Any] = source.credentials or {}
    kind = source.authentication_type
    if kind == AuthenticationType.NO_AUTH:
        return {}
    if kind == AuthenticationType.BASIC_AUTH and "username" in credentials:
        pair = f"{credentials.get('username', '')}:{credentials.get('password', '')}"
        return {"Authorization": f"Basic {base64.b64encode(pair.encode()).decode()}"}
    secret = next((str(credentials[k]) for k in _SECRET_KEYS if credentials.get(k)), "")
    if kind == AuthenticationType.BASIC_AUTH:
        return {"Authorization": f"Basic {base64.b64encode(secret.encode()).decode()}"}
    headers = {"Authorization": f"Bearer {secret}"}
    if kind == AuthenticationType.API_KEY:
        # AdCP agents read their key from x-adcp-auth.
        headers["x-adcp-auth"] = secret
    return headers


def _probe(source: InventorySource) -> dict[str, Any]:
    if source.protocol == SourceProtocol.A2A:
        return {"jsonrpc": "2.0", "id": 1, "method": "agent/getAuthenticatedExtendedCard"}
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "storefront-billing", "version": "1"},
        },
    }


def _refuse_internal_addresses(host: str, port: int) -> None:
    if getattr(settings, "AGENT_CHECK_ALLOW_PRIVATE_ADDRESSES", False):
        return
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise AgentCheckFailed(f"Could not reach the agent: {host} does not resolve.") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise AgentCheckFailed(
                f"{host} resolves to an internal address ({address}); agents must be on the "
                "public internet."
            )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
