"""What a web server process does before it serves: refuse to start on a serious system check.

Django runs its system checks for management commands only; gunicorn never would. A missing
production secret (say STRIPE_WEBHOOK_SECRET) then shows up as a failed start, not as every
webhook answered 400 for days.
"""

from __future__ import annotations

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def refuse_to_start_on_errors() -> None:
    serious = [message for message in checks.run_checks() if message.is_serious()]
    if serious:
        raise ImproperlyConfigured(
            "System checks failed:\n"
            + "\n".join(f"{m.id}: {m.msg} {m.hint or ''}" for m in serious)
        )
