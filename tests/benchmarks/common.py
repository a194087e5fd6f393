"""What several benchmark scripts share: starting Django on a scratch database, a scratch
PostgreSQL database, a free port, and an onboarded Express account in an emulator.

Each script is run on its own (``python tests/benchmarks/bench_x.py``) after putting the
checkout on ``sys.path``; nothing here imports Django before ``setup_django`` runs.
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
import stripe

# An Express account as the product provisions one: the platform pays fees and covers losses.
EXPRESS_ACCOUNT = {
    "country": "US",
    "controller": {
        "stripe_dashboard": {"type": "express"},
        "fees": {"payer": "application"},
        "losses": {"payments": "application"},
    },
    "capabilities": {
        "card_payments": {"requested": True},
        "transfers": {"requested": True},
    },
}


def setup_django(database_url: str, **env: str) -> None:
    """Point the settings at `database_url` (plus any other settings in `env`) and start
    Django in this process, as the benches that drive the product in-process need."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="storefront.settings",
        DATABASE_URL=database_url,
        DJANGO_ALLOWED_HOSTS="testserver",
        **env,
    )
    import django

    django.setup()


def free_port() -> int:
    """A TCP port on localhost that nothing listens on, for a server the bench starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin_connection(server_url: str) -> Any:
    import psycopg  # only the benches run with --postgres need it

    return psycopg.connect(server_url.replace("postgres://", "postgresql://"), autocommit=True)


def create_scratch_database(server_url: str, name: str) -> str:
    """Create database `name` on the PostgreSQL server at `server_url`; its URL."""
    with _admin_connection(server_url) as pg:
        pg.execute(f'CREATE DATABASE "{name}"')
    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


def drop_scratch_database(server_url: str, name: str) -> None:
    """Drop what `create_scratch_database` made, even with connections still open to it."""
    with _admin_connection(server_url) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def onboarded_express_account(client: stripe.StripeClient, emulator_base_url: str) -> str:
    """Create an Express account in the emulator and complete its onboarding; its ID."""
    account = client.v1.accounts.create(EXPRESS_ACCOUNT)
    requests.post(
        f"{emulator_base_url}/_emulator/accounts/{account.id}/onboarding",
        json={"action": "complete"},
        timeout=30,
    ).raise_for_status()
    return account.id
