"""Inventory sources that need a credential start PENDING; a background check calls their agent
with it and activates the source when the agent answers. Tested against a stand-in agent this
test starts on 127.0.0.1 (never an outside address)."""

from __future__ import annotations

import json
import socket

import pytest

from storefront import agents
from storefront.models import InventorySource, SourceCheck
from tests.local_http import QuietHandler, serve_in_background

from .test_storefront_api import SOURCES, a_source, data, error
from .test_storefront_api import parent_api as parent_api  # noqa: F401 - a fixture

GOOD_KEY = "agent-key-good"


class StandInAgent:
    """An MCP-ish agent: answers 200 to a request carrying the good key, 401 otherwise."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.redirect_to: str | None = None
        agent = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                agent.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(self.rfile.read(length) or b"null"),
                    }
                )
                if agent.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", agent.redirect_to)
                    self.end_headers()
                    return
                if self.headers.get("Authorization") != f"Bearer {GOOD_KEY}":
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"serverInfo": {}}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

        self.server, base_url = serve_in_background(Handler)
        self.url = f"{base_url}/mcp"

    def __enter__(self) -> StandInAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def agent():
    with StandInAgent() as running:
        yield running


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mcp"


@pytest.fixture
def create(parent_api, django_capture_on_commit_callbacks):
    """POST a source and run the background check it queues (the test backend runs tasks at
    once, on commit); return the API's answer to the POST."""

    def post(**overrides):
        with django_capture_on_commit_callbacks(execute=True):
            return data(parent_api.post(SOURCES, a_source(**overrides)), 201)

    return post


def reread(parent_api, source_id: str = "ctv-sales-agent") -> dict:
    return data(parent_api.get(f"{SOURCES}/{source_id}"))


def test_a_no_auth_source_is_active_at_once_and_its_agent_is_not_called(create, agent):
    source = create(endpointUrl=agent.url, authenticationType="NO_AUTH")
    assert source["status"] == "ACTIVE"
    assert source["lastCheck"]["outcome"] == "NOT_CHECKED"
    assert agent.requests == []


def test_a_source_whose_agent_answers_with_the_credential_becomes_active(create, agent, parent_api):
    created = create(endpointUrl=agent.url, authenticationType="API_KEY", auth={"apiKey": GOOD_KEY})
    # The answer to the POST: waiting for the check.
    assert (created["status"], created["lastCheck"]["outcome"]) == ("PENDING", "QUEUED")
    source = reread(parent_api)
    assert source["status"] == "ACTIVE"
    assert source["lastCheck"]["outcome"] == "PASSED"
    assert source["lastCheck"]["error"] is None
    assert source["lastCheck"]["checkedAt"]
    (call,) = agent.requests
    assert call["path"] == "/mcp"
    assert call["headers"]["Authorization"] == f"Bearer {GOOD_KEY}"
    assert call["body"]["method"] == "initialize"


def test_a_refused_credential_keeps_it_pending_with_the_error_until_a_good_one_arrives(
    create, agent, parent_api, client_as, cast, django_capture_on_commit_callbacks
):
    create(endpointUrl=agent.url, authenticationType="API_KEY", auth={"apiKey": "wrong"})
    source = reread(parent_api)
    assert source["status"] == "PENDING"
    assert source["lastCheck"]["outcome"] == "FAILED"
    assert source["lastCheck"]["error"] == "The agent refused the credential (HTTP 401)."
    # The storefront page shows it too.
    page = client_as(cast.parent_owner).get(f"/c/{cast.parent.pk}/storefront/").content.decode()
    assert "The agent refused the credential (HTTP 401)." in page
    with django_capture_on_commit_callbacks(execute=True):
        data(parent_api.put(f"{SOURCES}/ctv-sales-agent", {"auth": {"apiKey": GOOD_KEY}}))
    source = reread(parent_api)
    assert (source["status"], source["lastCheck"]["outcome"]) == ("ACTIVE", "PASSED")
    assert source["lastCheck"]["error"] is None


def test_an_unreachable_agent_keeps_the_source_pending(create, closed_port_url, parent_api):
    create(endpointUrl=closed_port_url, authenticationType="JWT", auth={"token": "t"})
    source = reread(parent_api)
    assert source["status"] == "PENDING"
    assert source["lastCheck"]["outcome"] == "FAILED"
    assert source["lastCheck"]["error"].startswith("Could not reach the agent")
    err = error(parent_api.put(f"{SOURCES}/ctv-sales-agent", {"status": "ACTIVE"}), 409, "CONFLICT")
    assert "Could not reach the agent" in err["message"]


def test_redirects_are_not_followed(create, agent, parent_api):
    agent.redirect_to = "http://169.254.169.254/latest/meta-data/"
    create(endpointUrl=agent.url, authenticationType="API_KEY", auth={"apiKey": GOOD_KEY})
    source = reread(parent_api)
    assert source["status"] == "PENDING"
    assert "redirect" in source["lastCheck"]["error"]
    assert len(agent.requests) == 1


def test_internal_addresses_are_refused_outside_development(create, agent, parent_api, settings):
    settings.AGENT_CHECK_ALLOW_PRIVATE_ADDRESSES = False
    create(endpointUrl=agent.url, authenticationType="API_KEY", auth={"apiKey": GOOD_KEY})
    source = reread(parent_api)
    assert source["status"] == "PENDING"
    assert "internal address (127.0.0.1)" in source["lastCheck"]["error"]
    assert agent.requests == []


def test_only_http_and_https_endpoints_are_called(db, cast):
    source = InventorySource(
        endpoint_url="file:///etc/passwd", authentication_type="API_KEY", credentials={"k": "v"}
    )
    with pytest.raises(agents.AgentCheckFailed, match="Only http and https"):
        agents.check(source)


def test_a_disabled_source_that_never_answered_cannot_be_enabled(
    create, closed_port_url, parent_api
):
    create(endpointUrl=closed_port_url, authenticationType="JWT", auth={"token": "t"})
    data(parent_api.put(f"{SOURCES}/ctv-sales-agent", {"status": "DISABLED"}))
    err = error(parent_api.put(f"{SOURCES}/ctv-sales-agent", {"status": "ACTIVE"}), 409, "CONFLICT")
    assert err["field"] == "status"
    source = InventorySource.objects.get()
    assert source.status == "DISABLED"
    assert source.check_outcome != SourceCheck.PASSED


def test_asking_to_enable_a_source_whose_agent_never_answered_checks_it_again(
    create, agent, parent_api, django_capture_on_commit_callbacks
):
    # A source from before checks existed: ACTIVE with credentials, never checked.
    create(endpointUrl=agent.url, authenticationType="NO_AUTH")
    InventorySource.objects.update(
        authentication_type="API_KEY", credentials={"apiKey": GOOD_KEY}, status="DISABLED"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = parent_api.put(f"{SOURCES}/ctv-sales-agent", {"status": "ACTIVE"})
    error(response, 409, "CONFLICT")
    # The agent answered the check that refusal queued: enabling now works.
    assert InventorySource.objects.get().check_outcome == SourceCheck.PASSED
    assert (
        data(parent_api.put(f"{SOURCES}/ctv-sales-agent", {"status": "ACTIVE"}))["status"]
        == "ACTIVE"
    )
