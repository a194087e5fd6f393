"""Demo data hooks: `manage.py seed_demo` creates the customers and users, then runs every
seeder other apps registered here (billing adds Stripe accounts and months of activity).

Seeders must be idempotent, like the command.
"""

from __future__ import annotations

from collections.abc import Callable

from storefront.models import Customer

# A seeder gets the demo customers by name and a `say` function for progress lines.
Seeder = Callable[[dict[str, Customer], Callable[[str], None]], None]
SEEDERS: list[Seeder] = []


def register_seeder(seeder: Seeder) -> Seeder:
    if seeder not in SEEDERS:
        SEEDERS.append(seeder)
    return seeder
