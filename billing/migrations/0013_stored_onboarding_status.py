"""Store each Connect account's onboarding status in an indexed column, derived once when the
account is written, and fill it in for the accounts we already have."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from billing.status import derive_onboarding_status


def backfill(apps: Any, schema_editor: Any) -> None:
    ConnectAccount = apps.get_model("billing", "ConnectAccount")
    for account in ConnectAccount.objects.only(
        "details_submitted", "charges_enabled", "payouts_enabled", "disabled_reason", "past_due"
    ).iterator():
        account.onboarding_status = derive_onboarding_status(account).value
        account.save(update_fields=["onboarding_status"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0012_notifications")]

    operations = [
        migrations.AddField(
            model_name="connectaccount",
            name="onboarding_status",
            field=models.CharField(
                choices=[
                    ("none", "Not set up"),
                    ("pending", "Onboarding pending"),
                    ("complete", "Complete"),
                    ("restricted", "Restricted"),
                ],
                db_index=True,
                default="pending",
                editable=False,
                max_length=20,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
