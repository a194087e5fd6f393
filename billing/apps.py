from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Importing registers the checks, and the task queueing stored webhook events.
        from billing import checks, demo, tasks  # noqa: F401
        from billing.models import Notification
        from billing.notifications import forget_unread_counts
        from billing.readiness import billing_setup
        from storefront.demo import register_seeder
        from storefront.models import Customer
        from storefront.readiness import register_check

        register_seeder(demo.seed)
        register_check("billing_setup", billing_setup)
        # A notice written, changed or deleted, or a customer's family changed (a parent's
        # bell counts its children's notices): the cached unread counts go.
        for model in (Notification, Customer):
            for signal in (post_save, post_delete):
                signal.connect(forget_unread_counts, sender=model, dispatch_uid=f"unread-{model}")
